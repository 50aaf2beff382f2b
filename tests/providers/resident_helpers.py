"""Building blocks for resident tests: the demo hospital, fresh admissions through the real API,
a second facility with its own staff, wristband tokens read back from the real QR image."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import uuid

import msgspec
import zxingcpp
from PIL import Image

from tests.support import new_id_number

SH = dt.timezone(dt.timedelta(hours=8))
HOSPITAL = "宝鸡市康宁精神康复医院"
_beds = itertools.count(1)


def now() -> dt.datetime:
    return dt.datetime.now(SH)


def today() -> dt.date:
    return now().date()


async def hospital_id() -> int:
    from carepact.registry.tables import Organisation

    return (await Organisation.select(Organisation.id).where(Organisation.name == HOSPITAL).first())["id"]


async def demo_resident(index: int = 0) -> dict:
    """One of the demo hospital's residents (admitted long ago, covered by the hospital's contract)."""
    from carepact.registry.tables import Resident

    rows = (
        await Resident.select(Resident.id, Resident.person, Resident.ward, Resident.bed, Resident.contract_code)
        .where((Resident.facility == await hospital_id()) & (Resident.contract_code != ""))
        .order_by(Resident.id)
    )
    return rows[index]


def new_ward() -> str:
    return f"测试{uuid.uuid4().hex[:6]}"


def person_body(**extra: object) -> dict:
    return {
        "source": "new",
        "name": "测试住院人",
        "gender": "male",
        "birth_year": 1986,
        "id_number": new_id_number(1986),
        "care_level": "partly_unable",
        "diagnosis": "精神分裂症（测试）",
    } | extra


async def admit(
    api,
    *,
    staff: str = "kangning_staff",
    facility_id: int | None = None,
    ward: str | None = None,
    admitted_on: dt.date | None = None,
    contract_code: str = "",
    **person: object,
) -> dict:
    """A new person admitted through POST /api/facilities/{id}/residents; returns the resident detail."""
    facility_id = facility_id or await hospital_id()
    body = {
        "person": person_body(**person),
        "ward": ward or new_ward(),
        "bed": f"{next(_beds):02d}床",
        "admitted_on": str(admitted_on or today() - dt.timedelta(days=3)),
        "contract_code": contract_code,
    }
    r = await api(staff).post(f"/api/facilities/{facility_id}/residents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def record_body(kind: str = "rehabilitation", activity: str = "工娱治疗", **extra: object) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "activity": activity,
        "performed_at": (now() - dt.timedelta(minutes=10)).isoformat(),
    } | extra


def decode_qr(png: bytes) -> str:
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return result.text


async def wristband_token(api, resident_id: int, staff: str = "kangning_staff") -> str:
    """The token printed on the resident's wristband, read back from the real QR image."""
    r = await api(staff).get(f"/api/residents/{resident_id}/card.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    url = decode_qr(r.content)
    assert "/c/" in url
    return url.rsplit("/c/", 1)[1]


async def audit_events(action: str, after_seq: int, object_id: str | None = None) -> list[dict]:
    from carepact.audit.tables import AuditEvent

    where = (AuditEvent.seq > after_seq) & (AuditEvent.action == action)
    if object_id is not None:
        where &= AuditEvent.object_id == object_id
    rows = await AuditEvent.select(AuditEvent.payload).where(where).order_by(AuditEvent.seq)
    return [msgspec.json.decode(r["payload"]) for r in rows]


async def head_seq() -> int:
    from carepact.audit.tables import AuditEvent

    row = await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first()
    return row["seq"] if row else 0


async def other_facility(tokens: dict[str, str], county: str = "610304") -> dict:
    """A second facility (another county) with one staff account and one resident of its own."""
    from carepact.accounts.services import create_account, issue_api_token
    from carepact.accounts.tables import Role
    from carepact.registry.tables import Organisation, OrganisationKind, Region

    suffix = uuid.uuid4().hex[:8]
    region = await Region.select(Region.id).where(Region.code == county).first()
    facility = Organisation(
        name=f"测试精神康复中心-{suffix}", kind=OrganisationKind.facility.value, region=region["id"]
    )
    await facility.save()
    username = f"rehab_staff_{suffix}"
    account_id = await create_account(
        username, "staff-pass-123", role=Role.care_home_staff, display_name="康复中心护士", organisation_id=facility.id
    )
    tokens[username] = await issue_api_token(account_id, "tests")
    return {"facility_id": facility.id, "staff": username, "region_id": region["id"]}
