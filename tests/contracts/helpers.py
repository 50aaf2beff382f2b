"""Building blocks for contract tests: fresh households with a worker, a contract covering them,
and visits made through the real visit API (door-card QR or manual entry with approval)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import uuid

import zxingcpp
from PIL import Image

from tests.support import household_body, villages

SH = dt.timezone(dt.timedelta(hours=8))
_codes = itertools.count(1)


def now() -> dt.datetime:
    return dt.datetime.now(SH)


def this_month() -> str:
    return f"{now():%Y-%m}"


def new_code(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}-{next(_codes):03d}"


async def account_id(username: str) -> int:
    from carepact.accounts.services import account_id_for

    return await account_id_for(username)


async def organisation_id(name: str) -> int:
    from carepact.registry.tables import Organisation

    return (await Organisation.select(Organisation.id).where(Organisation.name == name).first())["id"]


async def region(code: str) -> dict:
    from carepact.registry.tables import Region

    return await Region.select(Region.id, Region.path, Region.name).where(Region.code == code).first()


async def city_bureau_id() -> int:
    return await organisation_id("宝鸡市民政局")


async def new_households(api, county_code: str, count: int, *, worker: str | None = None) -> list[int]:
    """Households registered now in the county (uncovered by any contract), assigned to ``worker``
    from the start of last month when given."""
    admin = api("city_admin")
    [village, *_] = await villages(county_code)
    ids = []
    for _ in range(count):
        r = await admin.post("/api/households", json=household_body(village))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    if worker:
        starts = (now().date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        for household in ids:
            r = await admin.post(
                "/api/assignments",
                json={"household_id": household, "worker_id": await account_id(worker), "starts_on": str(starts)},
            )
            assert r.status_code == 201, r.text
    return ids


def items(**prices_fen: int) -> list[dict]:
    return [{"classification": code, "quantity": 1000, "unit_value_fen": fen} for code, fen in prices_fen.items()]


async def new_contract(
    api,
    *,
    supplier: str,
    county_code: str,
    households: list[int] = (),
    residents: list[int] = (),
    prices: dict[str, int] | None = None,
    kind: str = "home_care",
    start: dt.date | None = None,
    end: dt.date | None = None,
    signed: dt.date | None = None,
) -> dict:
    """A contract signed by the city bureau, covering the given households or stays."""
    today = now().date()
    start = start or today.replace(month=1, day=1)
    area = await region(county_code)
    coverage = {}
    if households:
        coverage["add_households"] = list(households)
    if residents:
        coverage["add_residents"] = list(residents)
    body = {
        "code": new_code(),
        "title": "测试合同",
        "kind": kind,
        "buyer_id": await city_bureau_id(),
        "supplier_id": await organisation_id(supplier),
        "service_area_id": area["id"],
        "date_signed": str(signed or start - dt.timedelta(days=10)),
        "period": {"start_date": str(start), "end_date": str(end or start.replace(month=12, day=31))},
        "items": items(**(prices or {"cleaning": 6000, "psychological_comfort": 5000})),
        "coverage": coverage,
    }
    r = await api("city_admin").post("/api/contracts", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def decode_qr(png: bytes) -> str:
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return result.text


async def card_token(api, household_id: int) -> str:
    r = await api("city_admin").get(f"/api/households/{household_id}/card.png")
    assert r.status_code == 200, r.text
    return decode_qr(r.content).rsplit("/c/", 1)[1]


async def visit(
    api,
    worker: str,
    household_id: int,
    services: list[str],
    *,
    how: str = "qr",
    approve_as: str | None = None,
    reject_as: str | None = None,
) -> dict:
    """One visit through the visit API: checked in by door card (``qr``) or by hand (``manual``),
    checked out with ``services``; a manual one is then approved or rejected when asked."""
    t = now()
    body = {
        "id": str(uuid.uuid4()),
        "household_id": household_id,
        "device_time": (t - dt.timedelta(minutes=45)).isoformat(),
        "sent_at": t.isoformat(),
    }
    if how == "qr":
        body["card_token"] = await card_token(api, household_id)
    else:
        body["manual_reason"] = "card_damaged"
    client = api(worker)
    r = await client.post("/api/visits/checkin", json=body)
    assert r.status_code == 201, r.text
    visit_id = r.json()["id"]
    out = {"device_time": now().isoformat(), "sent_at": now().isoformat(), "services": services}
    r = await client.post(f"/api/visits/{visit_id}/checkout", json=out)
    assert r.status_code == 200, r.text
    if approve_as or reject_as:
        decision = {"decision": "approve"} if approve_as else {"decision": "reject", "comment": "未能核实"}
        r = await api(approve_as or reject_as).post(f"/api/visits/{visit_id}/review", json=decision)
        assert r.status_code == 200, r.text
    return r.json()
