"""Retention (PIPL): `carepact purge` counts, then deletes, personal data older than
CAREPACT_RETENTION_DAYS — photos' files and EXIF positions, visits' exact positions, expired
sessions, files made by jobs — keeps what the visits proved, and logs every batch."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import secrets
import subprocess
import sys
import uuid

import msgspec

from carepact.accounts.services import account_id_for, token_digest
from carepact.accounts.tables import Session
from carepact.audit.tables import AuditEvent
from carepact.jobs.tables import Job
from carepact.media import storage
from carepact.media.tables import Photo
from providers.tables import Visit, VisitPhoto
from tests.images import encode, exif, scene
from tests.platform.test_audit import carepact_cli, head_seq
from tests.platform.test_photos_api import BAOJI, settled, upload

LONG_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(days=4 * 365)
WORKER = "weibin_worker"


def counts(out: str) -> dict[str, int]:
    """The command's count lines, by their label's first words."""
    return {m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"^  (\S+?)[（：].*：([\d,]+)$", out, re.M)}


async def old_visit_with_photos(api) -> tuple[dict, list[uuid.UUID]]:
    """A visit with two photos (EXIF with GPS) and a phone position, all four years old."""
    household = (await api(WORKER).get("/api/visits/today")).json()[0]["household_id"]
    photos = []
    for seed in (71, 72):
        data = encode(scene(seed, (900, 700)), quality=88, exif=exif(taken="2022:11:02 09:00:00", gps=BAOJI))
        photo_id, r = await upload(api, WORKER, household, data)
        assert r.status_code == 201, r.text
        assert (await settled(api, WORKER, photo_id))["status"] == "ready"
        photos.append(photo_id)
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    r = await api(WORKER).post(
        "/api/visits/checkin",
        json={
            "id": str(uuid.uuid4()),
            "household_id": household,
            "device_time": now.isoformat(),
            "sent_at": now.isoformat(),
            "manual_reason": "card_damaged",
            "position": {"latitude": BAOJI[0], "longitude": BAOJI[1], "accuracy_m": 12},
            "photo_ids": [str(p) for p in photos],
        },
    )
    assert r.status_code == 201, r.text
    visit = r.json()
    await Visit.update({Visit.checkin_at: LONG_AGO}).where(Visit.id == visit["id"])
    await Photo.update({Photo.created_at: LONG_AGO}).where(Photo.id.is_in(photos))
    return visit, photos


async def old_card_sheet(api) -> str:
    from carepact.registry.tables import Household

    h = await Household.select(Household.village).where(Household.village._.path.like("%/610302/%")).first()
    r = await api("weibin_auditor").post("/api/cards/sheets", json={"region_id": h["village"]})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(200):
        job = (await api("weibin_auditor").get(f"/api/jobs/{job_id}")).json()
        if job["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "succeeded", job
    await Job.update({Job.finished_at: LONG_AGO}).where(Job.id == job_id)
    return job_id


async def session_expired_long_ago() -> str:
    digest = token_digest(secrets.token_urlsafe(32))
    await Session.insert(
        Session(
            token_digest=digest,
            account=await account_id_for("weibin_auditor"),
            csrf_token="x",
            expires_at=LONG_AGO,
            ip="198.51.100.77",
        )
    )
    return digest


async def test_purge_counts_first_then_deletes_what_is_past_retention_and_keeps_the_evidence(api, world) -> None:
    visit, old_photos = await old_visit_with_photos(api)
    household = visit["household_id"]
    recent_id, r = await upload(api, WORKER, household, encode(scene(73, (900, 700)), quality=88))
    assert r.status_code == 201 and (await settled(api, WORKER, recent_id))["status"] == "ready"
    job_id = await old_card_sheet(api)
    session = await session_expired_long_ago()
    files = [
        storage.path_of(row[k])
        for row in await Photo.select().where(Photo.id.is_in(old_photos))
        for k in ("original_key", "display_key", "thumb_key")
    ]
    job_file = storage.path_of(
        msgspec.json.decode((await Job.select().where(Job.id == job_id).first())["result"])["file_key"]
    )
    assert all(f.exists() for f in [*files, job_file])
    start = await head_seq()

    # A dry run by default: it counts and changes nothing.
    code, out, err = await carepact_cli("purge")
    assert code == 0, err
    assert "试运行" in out and "--apply" in out and "1095 天" in out
    planned = counts(out)
    assert planned["照片文件与拍摄定位"] >= 2 and planned["服务记录中手机签到/签退的精确定位"] >= 1
    assert planned["已过期的登录会话"] >= 1 and planned["后台任务生成的文件"] >= 1
    assert all(f.exists() for f in [*files, job_file])
    assert await head_seq() == start

    code, out, err = await carepact_cli("purge", "--apply")
    assert code == 0, err
    assert counts(out) == planned and "已记入审计日志" in out

    # Photos: no file left, nothing of where they were taken; the rows stay, marked purged.
    assert not any(f.exists() for f in files)
    rows = await Photo.select().where(Photo.id.is_in(old_photos))
    assert {r["status"] for r in rows} == {"purged"} and all(r["purged_at"] for r in rows)
    assert {(r["exif_latitude"], r["exif_longitude"], r["filename"]) for r in rows} == {(None, None, "")}
    r = await api(WORKER).get(f"/api/photos/{old_photos[0]}/display")
    assert (r.status_code, r.json()["code"]) == (410, "photo.purged")
    assert "保存期限" in r.json()["message"]
    # The visit still has the photos it had, so its evidence is counted as before.
    assert await VisitPhoto.count().where(VisitPhoto.visit == visit["id"]) == 2
    detail = (await api(WORKER).get(f"/api/visits/{visit['id']}")).json()
    assert [p["status"] for p in detail["photos"]] == ["purged", "purged"]
    # The visit: no exact position, the distance measured at check-in kept.
    row = await Visit.select().where(Visit.id == visit["id"]).first()
    assert (row["checkin_latitude"], row["checkin_longitude"], row["checkin_accuracy_m"]) == (None, None, None)
    assert row["checkin_distance_m"] == visit["checkin_distance_m"]
    # The expired session and the old file are gone; the job answers that its file was cleared.
    assert not await Session.exists().where(Session.token_digest == session)
    assert not job_file.exists()
    r = await api("weibin_auditor").get(f"/api/jobs/{job_id}/file")
    assert (r.status_code, r.json()["code"]) == (410, "job.file_gone")
    # What is younger than the retention period is untouched.
    assert (await api(WORKER).get(f"/api/photos/{recent_id}/display")).status_code == 200

    # Every batch is in the audit log, with its cutoff.
    events = await AuditEvent.select().where((AuditEvent.seq > start) & (AuditEvent.action == "retention.purge"))
    logged = {}
    for e in events:
        detail = msgspec.json.decode(e["payload"])["detail"]
        logged[e["object_type"]] = logged.get(e["object_type"], 0) + detail["count"]
        assert detail["retention_days"] == 1095 and detail["cutoff"][:10] < f"{dt.date.today():%Y-%m-%d}"
    assert logged == {
        "photo": planned["照片文件与拍摄定位"],
        "visit": planned["服务记录中手机签到/签退的精确定位"],
        "session": planned["已过期的登录会话"],
        "job": planned["后台任务生成的文件"],
    }
    code, _out, err = await carepact_cli("audit", "verify")
    assert code == 0, err

    # Done once: a second run finds nothing.
    code, out, _err = await carepact_cli("purge")
    assert code == 0 and set(counts(out).values()) == {0}


def test_a_retention_shorter_than_a_year_is_refused(world) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "carepact.cli", "purge"],
        env={**os.environ, "CAREPACT_RETENTION_DAYS": "90"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "CAREPACT_RETENTION_DAYS" in out.stderr and "365" in out.stderr
