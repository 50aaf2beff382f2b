"""Findings after the engine: who sees them, the provider explains, the county decides, and an
upheld finding is deducted from the month's settlement at the template's amount, within the cap."""

from __future__ import annotations

import datetime as dt

import pytest

from carepact.dates import local_today
from tests.contracts.agreement_helpers import (
    AUDITOR,
    MANAGER,
    RENHE,
    WORKER,
    at,
    evaluate,
    findings,
    new_household,
    sign,
    this_monday,
    visit_on,
)
from tests.contracts.helpers import new_contract

SKIPPED = this_monday() - dt.timedelta(weeks=2)  # the week nobody came
MONTH = SKIPPED + dt.timedelta(days=6)  # a finding belongs to the month of its last day
PRICES = {"cleaning": 60_000, "psychological_comfort": 50_000}  # dear enough to pay for the deductions


@pytest.fixture(scope="module")
async def month_of_care(api, world) -> dict:
    """Under one contract of 仁和: ``able`` skipped a week, ``unable`` was never visited at all,
    ``paid`` (no agreement) was visited every day of that week so the month has money to deduct from."""
    able = await new_household(api, "able")
    unable = await new_household(api, "unable")
    paid = await new_household(api, "able")
    start = min(local_today().replace(month=1, day=1), SKIPPED - dt.timedelta(days=7))
    contract = await new_contract(
        api,
        supplier=RENHE,
        county_code="610302",
        households=[able, unable, paid],
        prices=PRICES,
        start=start,
        end=local_today().replace(month=12, day=31),
    )
    for household in (able, unable):
        r = await sign(api, household, SKIPPED - dt.timedelta(weeks=1))
        assert r.status_code == 201, r.text
    await visit_on(api, able, at(SKIPPED - dt.timedelta(days=4)), ["cleaning", "psychological_comfort"])
    await visit_on(api, able, at(SKIPPED + dt.timedelta(days=9)), ["cleaning"])
    for n in range(7):
        await visit_on(api, paid, at(SKIPPED + dt.timedelta(days=n), 10), ["cleaning", "psychological_comfort"])
    for household in (able, unable):
        await evaluate(api, household, since=f"{SKIPPED - dt.timedelta(weeks=1):%Y-%m}")
    return {"contract": contract, "able": able, "unable": unable, "paid": paid, "month": f"{MONTH:%Y-%m}"}


async def weekly(api, household: int) -> dict:
    [finding] = [
        f for f in await findings(api, household, clause_id="visits_per_week") if f["period_start"] == str(SKIPPED)
    ]
    return finding


async def statement(api, contract_id: int, month: str) -> dict:
    r = await api(AUDITOR).post(f"/api/contracts/{contract_id}/statements", json={"month": month})
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_who_sees_a_finding(api, month_of_care) -> None:
    finding = await weekly(api, month_of_care["able"])
    for user, status in [
        ("city_admin", 200),
        (AUDITOR, 200),
        (MANAGER, 200),
        (WORKER, 200),
        ("weibin_township", 200),
        ("jintai_auditor", 404),
        ("kangle_manager", 404),
        ("jintai_worker", 404),
        ("kangning_staff", 404),
    ]:
        r = await api(user).get(f"/api/findings/{finding['id']}")
        assert r.status_code == status, (user, r.text)
    jintai = (await api("jintai_auditor").get("/api/findings", params={"page_size": 200})).json()
    assert not [f for f in jintai["items"] if f["household_code"].startswith("610302")]
    assert (await api("kangle_manager").get("/api/findings", params={"household_id": month_of_care["able"]})).json()[
        "total"
    ] == 0
    queue = (await api(AUDITOR).get("/api/findings", params={"state": "open", "month": month_of_care["month"]})).json()
    assert finding["id"] in [f["id"] for f in queue["items"]]


async def test_only_the_caregiver_explains_and_only_the_county_decides(api, month_of_care) -> None:
    finding = await weekly(api, month_of_care["able"])
    url = f"/api/findings/{finding['id']}"
    body = {"reason": "worker_unavailable", "text": "护理员生病请假，未安排替班"}
    assert (await api("kangle_manager").post(f"{url}/explain", json=body)).status_code == 404
    for user in (WORKER, AUDITOR):
        assert (await api(user).post(f"{url}/explain", json=body)).status_code == 403
    bad = await api(MANAGER).post(f"{url}/explain", json={"reason": "no_such_reason", "text": "x"})
    assert bad.status_code == 400
    r = await api(MANAGER).post(f"{url}/explain", json=body)
    assert r.status_code == 200, r.text
    explained = r.json()
    assert explained["state"] == "explained" and explained["explanation_reason_label"] == "护理员临时缺岗"
    assert explained["can_explain"] and not explained["can_decide"]
    decision = {"decision": "uphold", "comment": "核实属实，缺岗未替班"}
    for user in (WORKER, MANAGER, "city_admin", "weibin_township"):
        assert (await api(user).post(f"{url}/decide", json=decision)).status_code == 403, user
    assert (await api("jintai_auditor").post(f"{url}/decide", json=decision)).status_code == 404
    assert (await api(AUDITOR).get(url)).json()["can_decide"]


async def test_an_upheld_finding_is_deducted_at_the_templates_amount(api, month_of_care) -> None:
    contract, month = month_of_care["contract"], month_of_care["month"]
    before = await statement(api, contract["id"], month)
    assert before["deductions_fen"] == 0 and before["gross_fen"] > 0
    finding = await weekly(api, month_of_care["able"])
    r = await api(AUDITOR).post(
        f"/api/findings/{finding['id']}/decide", json={"decision": "uphold", "comment": "核实属实，缺岗未替班"}
    )
    assert r.status_code == 200, r.text
    upheld = r.json()
    # Able: ¥300.00 a month; 5 % of it per missed visit day; one day was due that week.
    assert (upheld["state"], upheld["monthly_fee_fen"], upheld["units"], upheld["amount_fen"]) == (
        "upheld",
        30000,
        1,
        1500,
    )
    again = await api(AUDITOR).post(
        f"/api/findings/{finding['id']}/decide", json={"decision": "waive", "comment": "改判"}
    )
    assert again.status_code == 409 and again.json()["code"] == "finding.already_decided"
    after = await statement(api, contract["id"], month)
    [deduction] = after["deductions"]
    assert deduction["reference"] == f"finding:{finding['id']}" and deduction["source"] == "agreement"
    assert deduction["amount_fen"] == deduction["applied_fen"] == 1500
    assert after["gross_fen"] == before["gross_fen"] and after["total_fen"] == before["total_fen"] - 1500
    assert "上门照料频次" in deduction["reason"]


async def test_a_households_deductions_stop_at_the_monthly_cap(api, month_of_care) -> None:
    contract, month = month_of_care["contract"], month_of_care["month"]
    unable = [f for f in await findings(api, month_of_care["unable"]) if f["month"] == month]
    # Never visited, unable (¥1,200.00 a month, ¥60.00 a missed day): far more than the 30 % cap.
    assert sum(f["amount_fen"] for f in unable) > 36000
    for f in unable:
        r = await api(AUDITOR).post(f"/api/findings/{f['id']}/decide", json={"decision": "uphold", "comment": "属实"})
        assert r.status_code == 200, r.text
    s = await statement(api, contract["id"], month)
    ours = [d for d in s["deductions"] if int(d["reference"].split(":")[1]) in {f["id"] for f in unable}]
    assert sum(d["applied_fen"] for d in ours) == 36000  # 30 % of ¥1,200.00
    assert any("扣减已达上限" in d["reason"] for d in ours) or len(ours) < len(unable)
    assert s["deductions_fen"] == 36000 + 1500
    assert s["total_fen"] == s["gross_fen"] - s["deductions_fen"]


async def test_accepted_and_waived_findings_deduct_nothing(api, month_of_care) -> None:
    contract, month = month_of_care["contract"], month_of_care["month"]
    able = month_of_care["able"]
    others = [f for f in await findings(api, able, state="open") if f["month"] == month]
    if not others:
        pytest.skip("this month holds no other finding for the household")
    before = await statement(api, contract["id"], month)
    for f, decision in zip(others, ["accept", "waive"] * len(others), strict=False):
        r = await api(AUDITOR).post(
            f"/api/findings/{f['id']}/decide", json={"decision": decision, "comment": "情况属实"}
        )
        assert r.status_code == 200 and r.json()["state"] in ("accepted", "waived")
    assert (await statement(api, contract["id"], month))["deductions_fen"] == before["deductions_fen"]
