"""Evidence bundles: the ZIP a job builds opens as a spreadsheet user needs it (UTF-8 with BOM,
Chinese headers, Beijing times, masked names), its photos decode, carry no location and match the
visits' photos one for one, and only what the requester may see goes in; the download is for the
requester alone, while the subject is still in their scope, and is audited."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import time
import uuid
import zipfile
from collections import Counter

import pytest
from PIL import Image

from carepact.dates import SHANGHAI, day_start, local_today
from tests.contracts.agreement_helpers import AUDITOR, MANAGER, RENHE, WORKER
from tests.contracts.helpers import organisation_id, region

BOM = b"\xef\xbb\xbf"
WEIBIN = "610302"
GPS_IFD = 0x8825


def period(days: int = 40) -> dict:
    today = local_today()
    return {"first_day": str(today - dt.timedelta(days=days)), "last_day": str(today)}


async def pilot_household() -> int:
    """The agreement pilot's household (渭滨区, the auditor's county) with the most photographed visits
    in the period, every photo processed. The pilot's visits are the ones stored with digest "demo"."""
    from providers.tables import Visit, VisitPhoto

    since = day_start(local_today() - dt.timedelta(days=40))
    rows = await VisitPhoto.select(VisitPhoto.visit._.household, VisitPhoto.photo._.status).where(
        (VisitPhoto.visit._.checkin_at >= since) & (VisitPhoto.visit._.checkin_digest == "demo")
    )
    unfinished = {r["visit.household"] for r in rows if r["photo.status"] != "ready"}
    counts = Counter(r["visit.household"] for r in rows if r["visit.household"] not in unfinished)
    household, _ = counts.most_common(1)[0]
    assert await Visit.count().where(Visit.household == household) > 3
    return household


async def finished(api, username: str, job: dict, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        r = await api(username).get(f"/api/jobs/{job['id']}")
        assert r.status_code == 200, r.text
        current = r.json()
        if current["status"] in ("succeeded", "failed"):
            return current
        assert time.monotonic() < deadline, f"bundle job still {current['status']} after {seconds} s"
        await asyncio.sleep(0.1)


async def bundle(api, username: str, **subject) -> tuple[dict, zipfile.ZipFile]:
    body = period() | subject
    r = await api(username).post("/api/evidence-bundles", json=body)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "build_evidence_bundle"
    done = await finished(api, username, job)
    assert done["status"] == "succeeded", done
    assert done["progress"] == 100 and done["download_url"] is None  # only the audited route serves it
    r = await api(username).get(done["result"]["download_url"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "filename*=utf-8''" in r.headers["content-disposition"].lower()
    return done, zipfile.ZipFile(io.BytesIO(r.content))


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    data = archive.read(name)
    assert data.startswith(BOM), f"{name} must start with a UTF-8 byte-order mark"
    assert b"\r\n" in data
    return list(csv.DictReader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


def photo_names(archive: zipfile.ZipFile) -> list[str]:
    return [n for n in archive.namelist() if n.startswith("photos/")]


async def visits_of(where) -> list[dict]:
    from providers.tables import Visit

    today = local_today()
    return (
        await Visit.select(Visit.id, Visit.checkin_at, Visit.organisation, Visit.household)
        .where(
            where
            & (Visit.checkin_at >= day_start(today - dt.timedelta(days=40)))
            & (Visit.checkin_at < day_start(today + dt.timedelta(days=1)))
        )
        .order_by(Visit.checkin_at)
        .order_by(Visit.id)
    )


async def photo_count(visit_ids: list) -> int:
    from providers.tables import VisitPhoto

    return await VisitPhoto.count().where(VisitPhoto.visit.is_in(visit_ids)) if visit_ids else 0


async def test_a_households_bundle_opens_with_chinese_csv_and_every_photo(api, world) -> None:
    from carepact.audit.tables import AuditEvent
    from carepact.registry.tables import Person
    from providers.tables import Visit

    household = await pilot_household()
    job, archive = await bundle(api, AUDITOR, household_id=household)
    names = archive.namelist()
    for expected in ("visits.csv", "flags.csv", "findings.csv", "summary.html", "print.css"):
        assert expected in names

    visits = read_csv(archive, "visits.csv")
    in_db = await visits_of(Visit.household == household)
    assert [v["服务记录编号"] for v in visits] == [str(r["id"]) for r in in_db]
    assert list(visits[0])[:4] == ["服务记录编号", "户编号", "村（社区）", "服务对象"]
    first = in_db[0]
    assert visits[0]["签到时间（北京时间）"] == f"{first['checkin_at'].astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"
    assert {v["服务机构"] for v in visits} == {RENHE}
    person = await Person.select(Person.name).where(Person.household == household).first()
    assert "*" in visits[0]["服务对象"] and person["name"] not in visits[0]["服务对象"]
    assert visits[0]["服务对象"][0] == person["name"][0]
    assert {v["计为有效服务"] for v in visits} <= {"是", "否"}

    # Photos: one file per photo of these visits, named by visit, each a real image without GPS.
    photos = photo_names(archive)
    expected_photos = await photo_count([r["id"] for r in in_db])
    assert expected_photos > 0
    assert len(photos) == expected_photos == sum(int(v["照片数"]) for v in visits) == job["result"]["photos"]
    listed = [p for v in visits for p in v["照片文件"].split()]
    assert sorted(listed) == sorted(photos)
    for v in visits:
        for name in v["照片文件"].split():
            assert v["服务记录编号"][:8] in name
    for name in photos:
        image = Image.open(io.BytesIO(archive.read(name)))
        image.load()
        assert image.format == "JPEG" and image.width > 0
        assert not image.getexif().get_ifd(GPS_IFD)

    flags = read_csv(archive, "flags.csv")
    assert {f["服务记录编号"] for f in flags} <= {v["服务记录编号"] for v in visits}
    findings = read_csv(archive, "findings.csv")
    r = await api(AUDITOR).get("/api/findings", params={"household_id": household, "page_size": 200})
    assert {int(f["编号"]) for f in findings} <= {f["id"] for f in r.json()["items"]}
    for f in findings:
        assert f["条款"] and f["处理状态"]

    agreements = [n for n in names if n.startswith("agreements/")]
    assert agreements
    text = archive.read(agreements[0]).decode()
    assert "第一条" in text and 'href="../print.css"' in text and person["name"] not in text

    summary = archive.read("summary.html").decode()
    assert "证据包摘要" in summary and f"照片</th><td>{len(photos)} 张" in summary
    assert f"{len(visits)} 条" in summary and 'href="print.css"' in summary

    for action in ("evidence.request", "evidence.download"):
        assert await AuditEvent.exists().where(
            (AuditEvent.action == action) & (AuditEvent.payload.like(f"%{job['id']}%"))
        ), action


async def test_a_provider_bundle_holds_only_what_the_requester_sees(api, world) -> None:
    from carepact.registry.tables import Household
    from providers.tables import Visit

    renhe = await organisation_id(RENHE)
    # The provider's manager: all of its own visits, in every county it serves.
    _, own = await bundle(api, MANAGER, organisation_id=renhe)
    rows = read_csv(own, "visits.csv")
    in_db = await visits_of(Visit.organisation == renhe)
    assert len(rows) == len(in_db) and {r["服务机构"] for r in rows} <= {RENHE}
    assert len(photo_names(own)) == await photo_count([r["id"] for r in in_db])
    # The county auditor: the same provider, only in the county.
    weibin = await region(WEIBIN)
    households = Household.select(Household.id).where(Household.village._.path.like(f"{weibin['path']}%"))
    _, county = await bundle(api, AUDITOR, organisation_id=renhe)
    in_county = await visits_of((Visit.organisation == renhe) & Visit.household.is_in(households))
    assert [r["服务记录编号"] for r in read_csv(county, "visits.csv")] == [str(r["id"]) for r in in_county]


async def test_a_contract_bundle_holds_its_suppliers_visits_on_covered_days(api, world) -> None:
    from contracts.tables import Contract, Coverage
    from providers.tables import Visit

    household = await pilot_household()
    cover = await Coverage.select(Coverage.contract, Coverage.starts_on).where(Coverage.household == household).first()
    contract = await Contract.select(Contract.supplier).where(Contract.id == cover["contract"]).first()
    job, archive = await bundle(api, AUDITOR, contract_id=cover["contract"])
    covered = Coverage.select(Coverage.household).where(Coverage.contract == cover["contract"])
    in_db = await visits_of((Visit.organisation == contract["supplier"]) & Visit.household.is_in(covered))
    rows = read_csv(archive, "visits.csv")
    assert {r["服务记录编号"] for r in rows} == {str(r["id"]) for r in in_db}
    assert job["result"]["visits"] == len(rows) > 0
    assert "合同" in job["result"]["title"]


async def test_other_counties_and_providers_get_404_for_the_bundle_and_its_job(api, world) -> None:
    household = await pilot_household()
    renhe = await organisation_id(RENHE)
    r = await api(AUDITOR).post("/api/evidence-bundles", json=period() | {"household_id": household})
    job = r.json()
    await finished(api, AUDITOR, job)
    for username in ("jintai_auditor", "kangle_manager", "city_admin", MANAGER):
        client = api(username)
        assert (await client.get(f"/api/evidence-bundles/{job['id']}/file")).status_code == 404, username
        if username != "city_admin":  # the city reads any job's progress, never the file
            assert (await client.get(f"/api/jobs/{job['id']}")).status_code == 404, username
    for username, subject in (
        ("jintai_auditor", {"household_id": household}),
        ("kangle_manager", {"household_id": household}),
        ("kangle_manager", {"organisation_id": renhe}),
    ):
        r = await api(username).post("/api/evidence-bundles", json=period() | subject)
        assert r.status_code == 404, (username, subject, r.text)
    # A field worker sees the household but does not make bundles.
    r = await api(WORKER).post("/api/evidence-bundles", json=period() | {"household_id": household})
    assert r.status_code == 403
    r = await api(AUDITOR).post(
        "/api/evidence-bundles", json=period() | {"household_id": household, "organisation_id": renhe}
    )
    assert r.status_code == 400 and r.json()["code"] == "evidence.one_subject"
    r = await api(AUDITOR).post(
        "/api/evidence-bundles", json={"household_id": household, "first_day": "2026-01-01", "last_day": "2027-06-01"}
    )
    assert r.status_code == 400 and r.json()["code"] == "period.invalid"
    r = await api(AUDITOR).get(f"/api/evidence-bundles/{uuid.uuid4()}/file")
    assert r.status_code == 404 and r.json()["code"] == "evidence_bundle.not_found"


async def test_the_download_checks_the_scope_again(api, client, world) -> None:
    """An auditor moved to another county can no longer fetch the bundle made in the old one."""
    from carepact.accounts.services import create_account, issue_api_token
    from carepact.accounts.tables import Account, Role

    weibin, jintai = await region(WEIBIN), await region("610303")
    account = await create_account(
        f"moving_auditor_{uuid.uuid4().hex[:6]}",
        "a-long-enough-password",
        role=Role.county_auditor,
        display_name="调动的审核员",
        region_id=weibin["id"],
    )
    headers = {"Authorization": f"Bearer {await issue_api_token(account, 'tests')}"}
    household = await pilot_household()
    r = await client.post("/api/evidence-bundles", json=period() | {"household_id": household}, headers=headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 60
    while (await client.get(f"/api/jobs/{job_id}", headers=headers)).json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert (await client.get(f"/api/evidence-bundles/{job_id}/file", headers=headers)).status_code == 200
    await Account.update({Account.region: jintai["id"]}).where(Account.id == account)
    r = await client.get(f"/api/evidence-bundles/{job_id}/file", headers=headers)
    assert r.status_code == 404 and r.json()["code"] == "evidence_bundle.not_found"


@pytest.mark.parametrize("name", ["visits.csv", "findings.csv"])
async def test_csv_headers_are_chinese(api, world, name) -> None:
    household = await pilot_household()
    _, archive = await bundle(api, AUDITOR, household_id=household)
    data = archive.read(name)
    header = data[len(BOM) :].split(b"\r\n", 1)[0].decode("utf-8")
    assert all("\u4e00" <= column[0] <= "\u9fff" for column in header.split(","))
