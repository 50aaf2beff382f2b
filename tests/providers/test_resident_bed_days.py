"""Bed-days: the admission day counts, the discharge day does not; a month's bed-days per stay and
the services recorded on them; and the same bed-days reach the contract's settlement."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.delivery import present_on as settled_present_on
from providers.residents.services import present_on
from tests.providers.resident_helpers import hospital_id, other_facility, today


def last_month() -> dt.date:
    return (today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@pytest.fixture(scope="module")
async def stays(world, tokens) -> dict:
    """A facility of its own with stays that start and end around last month's edges."""
    from carepact.privacy import digest, mask_id_number, protect
    from carepact.registry.services import ID_CONTEXT
    from carepact.registry.tables import Person, Resident
    from tests.support import new_id_number

    facility = await other_facility(tokens, county="610305")
    first = last_month()
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    plan = {
        # name: (admitted_on, discharged_on, bed-days last month)
        "mid_month": (first + dt.timedelta(days=9), first + dt.timedelta(days=19), 10),
        "all_month": (first - dt.timedelta(days=40), None, last.day),
        "last_night": (last, last + dt.timedelta(days=2), 1),
        "same_day": (first + dt.timedelta(days=14), first + dt.timedelta(days=14), 0),
        "left_on_the_first": (first - dt.timedelta(days=30), first, 0),
        "one_night": (first + dt.timedelta(days=4), first + dt.timedelta(days=5), 1),
    }
    ids = {}
    for n, (name, (admitted, discharged, _)) in enumerate(plan.items()):
        number = new_id_number(1984)
        person = Person(
            name=f"床日{n}",
            gender="female",
            birth_year=1984,
            id_number_protected=protect(number, context=ID_CONTEXT),
            id_number_digest=digest(number, purpose="id_number"),
            id_number_masked=mask_id_number(number),
            care_level="unable",
            support_mode="centralised",
        )
        await person.save()
        stay = Resident(
            person=person.id,
            facility=facility["facility_id"],
            ward="一病区",
            bed=f"{n + 1:02d}床",
            admitted_on=admitted,
            discharged_on=discharged,
            discharge_reason="测试出院" if discharged else "",
            contract_code="BJMZ-TEST-BD" if n % 2 == 0 else "",
        )
        await stay.save()
        ids[name] = stay.id
    return facility | {"ids": ids, "expected": {name: p[2] for name, p in plan.items()}, "plan": plan}


async def test_month_bed_days_count_the_admission_day_but_not_the_discharge_day(api, stays) -> None:
    from providers.residents.services import bed_days

    month = last_month()
    counted = await bed_days(stays["facility_id"], month)
    expected = {stays["ids"][name]: n for name, n in stays["expected"].items() if n}
    assert counted == expected

    r = await api(stays["staff"]).get(
        f"/api/facilities/{stays['facility_id']}/bed-days", params={"month": f"{month:%Y-%m}"}
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["month_complete"] is True and report["days_counted"] == len(
        [d for d in range(40) if (month + dt.timedelta(days=d)).month == month.month]
    )
    assert {line["resident_id"]: line["bed_days"] for line in report["residents"]} == expected
    assert report["bed_days"] == sum(expected.values())
    assert report["by_contract"] == {
        "BJMZ-TEST-BD": sum(n for name, n in stays["expected"].items() if list(stays["ids"]).index(name) % 2 == 0),
        "": sum(n for name, n in stays["expected"].items() if list(stays["ids"]).index(name) % 2 == 1),
    }


async def test_services_delivered_are_counted_on_bed_days_only(api, stays) -> None:
    """A treatment recorded on each of the mid-month stay's days, plus one on its discharge day:
    the discharge-day record is a record, but not a bed-day with treatment."""
    from carepact.dates import SHANGHAI
    from providers.tables import CareRecord

    month = last_month()
    staff_id = await _staff_account(stays["staff"])
    stay_id = stays["ids"]["mid_month"]
    admitted, discharged, _ = stays["plan"]["mid_month"]
    days = [admitted + dt.timedelta(days=n) for n in range((discharged - admitted).days + 1)]
    await CareRecord.insert(
        *[
            CareRecord(
                id=uuid.uuid4(),
                resident=stay_id,
                kind="treatment",
                service="treatment",
                activity="医生查房",
                performed_at=dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI),
                recorded_by=staff_id,
            )
            for day in days
        ],
        CareRecord(
            id=uuid.uuid4(),
            resident=stay_id,
            kind="meal",
            service="custodial_nursing",
            activity="午餐",
            observation="all",
            performed_at=dt.datetime.combine(admitted, dt.time(11, 30), tzinfo=SHANGHAI),
            recorded_by=staff_id,
        ),
    )
    report = (
        await api(stays["staff"]).get(
            f"/api/facilities/{stays['facility_id']}/bed-days", params={"month": f"{month:%Y-%m}"}
        )
    ).json()
    [line] = [x for x in report["residents"] if x["resident_id"] == stay_id]
    assert line["records"]["treatment"] == 11 and line["service_days"]["treatment"] == 10
    assert line["service_days"]["custodial_nursing"] == 1 and line["service_days"]["rehabilitation"] == 0
    services = {s["service"]: s for s in report["services"]}
    assert services["treatment"]["days"] == 10
    assert services["treatment"]["days_without"] == report["bed_days"] - 10


async def _staff_account(username: str) -> int:
    from carepact.accounts.services import account_id_for

    return await account_id_for(username)


async def test_this_months_bed_days_reach_the_settlement(api, world) -> None:
    """The hospital's running month, as the county auditor computes its statement, counts the same
    bed-days as the hospital's own report for the stays the contract pays for."""
    facility_id = await hospital_id()
    contracts = (await api("city_admin").get("/api/contracts", params={"kind": "centralised_care"})).json()["items"]
    [contract] = [c for c in contracts if c["code"].startswith("BJMZ-")]
    month = f"{today():%Y-%m}"
    report = (
        await api("jintai_auditor").get(f"/api/facilities/{facility_id}/bed-days", params={"month": month})
    ).json()
    assert report["month_complete"] is False and report["days_counted"] == today().day
    r = await api("jintai_auditor").post(f"/api/contracts/{contract['id']}/statements", json={"month": month})
    assert r.status_code in (200, 201), r.text
    assert r.json()["basis"]["bed_days"] == report["by_contract"][contract["code"]] > 0
    # Each covered demo stay has been in the hospital every day so far, with care recorded daily.
    covered = [x for x in report["residents"] if x["contract_code"] == contract["code"]]
    assert all(x["bed_days"] <= today().day for x in covered)
    nursing = {s["service"]: s for s in report["services"]}["custodial_nursing"]
    assert nursing["records"] > 0 and nursing["days"] > 0


@settings(deadline=None)
@given(
    day=st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    admitted=st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    length=st.none() | st.integers(0, 400),
)
def test_the_bed_day_rule_is_the_one_settlement_uses(day: dt.date, admitted: dt.date, length: int | None) -> None:
    """providers' present_on and contracts' are to become one function; until then they agree."""
    discharged = None if length is None else admitted + dt.timedelta(days=length)
    assert present_on(day, admitted, discharged) == settled_present_on(day, admitted, discharged)
    if discharged is not None:
        assert present_on(admitted, admitted, discharged) == (discharged > admitted)
        assert not present_on(discharged, admitted, discharged)
