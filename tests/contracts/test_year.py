"""A whole year adds up: the monthly statements of a contract, summed, equal the verified visits
times their prices, counted independently by plain SQL over the visit tables.

The year's visits are written straight into the tables (the visit API accepts nothing older than
30 days): every kind a month holds, including visits at local midnight on month boundaries,
visits by another provider, to an uncovered household, unfinished, rejected, unapproved, or with
a serious flag. A mid-year amendment changes a price, so the sum must price each visit by its day.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter, defaultdict

from carepact.dates import SHANGHAI, day_start, local_today
from tests.contracts.helpers import account_id, new_contract, new_households, organisation_id

PRICES = {"home_verification": 3000, "cleaning": 6000, "personal_care": 8000, "psychological_comfort": 5000}
NEW_CLEANING_PRICE = 6500  # from the amendment's effective date
SERVICES = [*PRICES, "environment_improvement"]  # the last one is performed but never bought


def _kinds(rng: random.Random) -> dict:
    """One visit's facts, drawn so that every exclusion rule is exercised."""
    presence, review = rng.choice(
        [("qr", "not_required")] * 6
        + [("manual", "approved")] * 2
        + [("manual", "awaiting_approval"), ("manual", "rejected"), ("qr_failed", "approved"), ("qr", "rejected")]
    )
    return {
        "presence": presence,
        "review": review,
        "status": "completed" if rng.random() > 0.05 else "in_progress",
        "serious": rng.random() < 0.1,
        "services": rng.sample(SERVICES, rng.randint(1, 3)),
    }


def _moments(year: int, today: dt.date, rng: random.Random) -> list[dt.datetime]:
    """Check-in times through the year so far, with the hardest ones: just before and just after
    local midnight at each month's turn (UTC puts them on the other side of the month)."""
    moments = []
    day = dt.date(year, 1, 1)
    while day <= today:
        for _ in range(rng.choice([0, 0, 1, 2])):
            moments.append(dt.datetime.combine(day, dt.time(rng.randint(7, 18), rng.randint(0, 59)), SHANGHAI))
        following = day + dt.timedelta(days=1)
        if following.day == 1 and following <= today:
            moments.append(dt.datetime.combine(day, dt.time(23, 50), SHANGHAI))
            moments.append(dt.datetime.combine(following, dt.time(0, 10), SHANGHAI))
        day = following
    now = dt.datetime.now(SHANGHAI)
    return [m for m in moments if m < now - dt.timedelta(minutes=5)]


async def _seed(visits: list[dict]) -> None:
    from providers.tables import Visit, VisitFlag, VisitService

    for chunk in range(0, len(visits), 200):
        part = visits[chunk : chunk + 200]
        await Visit.insert(
            *[
                Visit(
                    id=v["id"],
                    household=v["household"],
                    worker=v["worker"],
                    organisation=v["organisation"],
                    status=v["status"],
                    presence=v["presence"],
                    review=v["review"],
                    checkin_at=v["at"],
                    checkin_device_at=v["at"],
                    checkin_received_at=v["at"],
                    checkout_at=v["at"] + dt.timedelta(minutes=50) if v["status"] == "completed" else None,
                    duration_minutes=50 if v["status"] == "completed" else None,
                    checkin_digest="seeded",
                )
                for v in part
            ]
        )
        services = [
            VisitService(visit=v["id"], service=s) for v in part if v["status"] == "completed" for s in v["services"]
        ]
        if services:
            await VisitService.insert(*services)
        flags = [
            VisitFlag(
                visit=v["id"],
                code="impossible_travel" if v["serious"] else "no_photo",
                severity="serious" if v["serious"] else "warning",
                message="seeded",
            )
            for v in part
        ]
        await VisitFlag.insert(*flags)


def _expected(visits: list[dict], covered: set[int], supplier: int, change_on: dt.date) -> Counter:
    """Per local month, what the contract owes: computed here from the seeds, not by the platform."""
    owed: Counter = Counter()
    for v in visits:
        proven = v["presence"] == "qr" or (v["presence"] == "manual" and v["review"] == "approved")
        if not (
            v["status"] == "completed"
            and v["review"] != "rejected"
            and proven
            and not v["serious"]
            and v["household"] in covered
            and v["organisation"] == supplier
        ):
            continue
        day = v["at"].astimezone(SHANGHAI).date()
        for s in v["services"]:
            if s == "cleaning" and day >= change_on:
                owed[f"{day:%Y-%m}"] += NEW_CLEANING_PRICE
            elif s in PRICES:
                owed[f"{day:%Y-%m}"] += PRICES[s]
    return owed


async def _counted_by_sql(contract_id: int, supplier: int, start: dt.date, end: dt.date) -> dict[str, int]:
    """Verified visits' services, counted with plain SQL: the rules as written in the issue."""
    from providers.tables import Visit

    rows = await Visit.raw(
        """
        SELECT vs.service AS service, COUNT(*) AS n
        FROM visit_service vs JOIN visit v ON v.id = vs.visit
        WHERE v.organisation = {}
          AND v.household IN (SELECT c.household FROM coverage c WHERE c.contract = {})
          AND v.status = 'completed'
          AND v.review <> 'rejected'
          AND (v.presence = 'qr' OR (v.presence = 'manual' AND v.review = 'approved'))
          AND NOT EXISTS (SELECT 1 FROM visit_flag f WHERE f.visit = v.id AND f.severity = 'serious')
          AND v.checkin_at >= {} AND v.checkin_at < {}
        GROUP BY vs.service
        """,
        supplier,
        contract_id,
        day_start(start),
        day_start(end),
    )
    return {r["service"]: r["n"] for r in rows}


async def test_a_years_statements_add_up_to_the_visits_times_prices(api, world) -> None:
    today = local_today()
    year = today.year
    rng = random.Random(20260101)
    covered = await new_households(api, "610330", 4, worker="qinling_w001")
    [uncovered] = await new_households(api, "610330", 1)
    contract = await new_contract(
        api, supplier="秦岭山区助老服务中心", county_code="610330", households=covered, prices=PRICES
    )
    change_on = dt.date(year, max(2, (today.month + 1) // 2), 1)
    r = await api("city_admin").post(
        f"/api/contracts/{contract['id']}/amendments",
        json={
            "date": str(min(today, change_on)),
            "effective_on": str(change_on),
            "rationale": "保洁人工成本上涨，调整单价",
            "changes": {
                "items": [
                    {
                        "classification": c,
                        "quantity": 1000,
                        "unit_value_fen": NEW_CLEANING_PRICE if c == "cleaning" else p,
                    }
                    for c, p in PRICES.items()
                ]
            },
        },
    )
    assert r.status_code == 201, r.text

    supplier = await organisation_id("秦岭山区助老服务中心")
    other = await organisation_id("宝鸡市仁和社会工作服务中心")
    workers = {supplier: await account_id("qinling_w001"), other: await account_id("weibin_worker")}
    visits = []
    for at in _moments(year, today, rng):
        organisation = supplier if rng.random() > 0.1 else other
        household = rng.choice([*covered, *covered, uncovered])
        visits.append(
            {
                "id": uuid.uuid4(),
                "at": at,
                "household": household,
                "organisation": organisation,
                "worker": workers[organisation],
            }
            | _kinds(rng)
        )
    await _seed(visits)
    expected = _expected(visits, set(covered), supplier, change_on)
    assert sum(expected.values()) > 0

    # The platform: one statement per month, computed through the API.
    totals: dict[str, int] = {}
    quantities: Counter = Counter()
    for month in range(1, today.month + 1):
        label = f"{year}-{month:02d}"
        r = await api("city_admin").post(f"/api/contracts/{contract['id']}/statements", json={"month": label})
        assert r.status_code in (200, 201), r.text
        statement = r.json()
        assert statement["total_fen"] == statement["gross_fen"] - statement["deductions_fen"]
        assert statement["gross_fen"] == sum(x["amount_fen"] for x in statement["lines"])
        totals[label] = statement["total_fen"]
        for line in statement["lines"]:
            quantities[line["service"]] += line["quantity"]
    assert totals == {label: expected.get(label, 0) for label in totals}

    # And plain SQL, per price period, over the whole year at once.
    before = await _counted_by_sql(contract["id"], supplier, dt.date(year, 1, 1), change_on)
    after = await _counted_by_sql(contract["id"], supplier, change_on, dt.date(year + 1, 1, 1))
    by_sql = sum(n * PRICES.get(s, 0) for s, n in before.items()) + sum(
        n * (NEW_CLEANING_PRICE if s == "cleaning" else PRICES.get(s, 0)) for s, n in after.items()
    )
    assert sum(totals.values()) == by_sql == sum(expected.values())
    counted: defaultdict[str, int] = defaultdict(int)
    for part in (before, after):
        for s, n in part.items():
            if s in PRICES:
                counted[s] += n
    assert dict(quantities) == dict(counted)
