"""Building blocks for agreement tests: households in the demo township, agreements signed through
the API, visits made through the visit API on past days (offline, sent now), evaluations."""

from __future__ import annotations

import datetime as dt
import uuid

from carepact.dates import SHANGHAI, local_today
from tests.contracts.helpers import account_id, card_token, organisation_id
from tests.support import household_body, villages

TOWNSHIP = "weibin_township"  # a township officer of 渭滨区
WORKER = "weibin_worker"  # a field worker of 仁和 in 渭滨区
MANAGER = "renhe_manager"
AUDITOR = "weibin_auditor"
RENHE = "宝鸡市仁和社会工作服务中心"


def this_monday() -> dt.date:
    today = local_today()
    return today - dt.timedelta(days=today.weekday())


def at(day: dt.date, hour: int = 15, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


async def township_village() -> str:
    from carepact.accounts.tables import Account

    row = await Account.select(Account.region._.code).where(Account.user._.username == TOWNSHIP).first()
    return (await villages(row["region.code"]))[0]


async def new_household(api, care_level: str = "able", *, assign_to: str | None = WORKER) -> int:
    """A household registered by the township officer in their township, assigned to a worker."""
    r = await api(TOWNSHIP).post(
        "/api/households", json=household_body(await township_village(), care_level=care_level)
    )
    assert r.status_code == 201, r.text
    household = r.json()["id"]
    if assign_to:
        starts = local_today() - dt.timedelta(days=60)
        r = await api("city_admin").post(
            "/api/assignments",
            json={"household_id": household, "worker_id": await account_id(assign_to), "starts_on": str(starts)},
        )
        assert r.status_code == 201, r.text
    return household


async def sign(api, household: int, starts_on: dt.date, *, version: int | None = 1, as_user: str = TOWNSHIP, **extra):
    body = {
        "household_id": household,
        "caregiver": {"kind": "provider", "organisation_id": await organisation_id(RENHE)},
        "starts_on": str(starts_on),
    } | extra
    if version is not None:
        body["template_version"] = version
    return await api(as_user).post("/api/agreements", json=body)


async def visit_on(
    api, household: int, moment: dt.datetime, services: list[str], *, minutes: int = 45, worker: str = WORKER
) -> dict:
    """A visit made at ``moment`` with the door card and sent now from the phone's offline queue."""
    now = dt.datetime.now(SHANGHAI)
    body = {
        "id": str(uuid.uuid4()),
        "household_id": household,
        "device_time": moment.isoformat(),
        "sent_at": now.isoformat(),
        "card_token": await card_token(api, household),
    }
    r = await api(worker).post("/api/visits/checkin", json=body)
    assert r.status_code == 201, r.text
    out = {
        "device_time": (moment + dt.timedelta(minutes=minutes)).isoformat(),
        "sent_at": now.isoformat(),
        "services": services,
    }
    r = await api(worker).post(f"/api/visits/{r.json()['id']}/checkout", json=out)
    assert r.status_code == 200, r.text
    return r.json()


async def evaluate(api, household: int, *, as_user: str = AUDITOR, since: str | None = None) -> dict:
    body: dict = {"household_id": household}
    if since:
        body["since"] = since
    else:
        # Far enough back for any test's agreement (they start at most five weeks ago).
        body["since"] = f"{local_today() - dt.timedelta(days=40):%Y-%m}"
    r = await api(as_user).post("/api/agreement-evaluations", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def findings(api, household: int, *, as_user: str = AUDITOR, **filters) -> list[dict]:
    r = await api(as_user).get("/api/findings", params={"household_id": household, "page_size": 200} | filters)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def week_key(day: dt.date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"
