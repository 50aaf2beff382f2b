"""Monthly settlement from visits made through the real visit API: priced exactly, confirmed,
then locked; corrections as adjusting statements; payment; CSV and print."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from carepact.dates import local_today
from tests.contracts.helpers import new_contract, new_households, this_month, visit

SUPPLIER = "秦岭山区助老服务中心"
WORKER = "qinling_w001"
MANAGER = "qinling_manager"
PRICES = {"home_verification": 3000, "cleaning": 6000, "psychological_comfort": 5000}  # personal care not bought


async def far_away(api, household_id: int) -> dict:
    """Give the household a location, and return a check-in position 5 km from it."""
    r = await api("city_admin").patch(f"/api/households/{household_id}", json={"latitude": 34.06, "longitude": 107.32})
    assert r.status_code == 200, r.text
    return {"latitude": 34.06 + 0.045, "longitude": 107.32, "accuracy_m": 10}


@pytest.fixture(scope="module")
async def month_of_visits(api, world) -> dict:
    """A contract over three new households and a month of visits of every kind."""
    h1, h2, h3 = await new_households(api, "610331", 3, worker=WORKER)
    contract = await new_contract(api, supplier=SUPPLIER, county_code="610331", households=[h1, h2, h3], prices=PRICES)
    paid = [
        await visit(api, WORKER, h1, ["cleaning", "psychological_comfort"]),
        await visit(api, WORKER, h1, ["cleaning"]),
        await visit(api, WORKER, h2, ["home_verification", "personal_care"], how="manual", approve_as=MANAGER),
    ]
    unpaid = [
        await visit(api, WORKER, h2, ["cleaning"], how="manual"),  # never reviewed
        await visit(api, WORKER, h3, ["cleaning"], how="manual", reject_as=MANAGER),
    ]
    # A door-card scan from 5 km away raises a serious flag: scanned, but not paid.
    import uuid

    from tests.contracts.helpers import card_token, now

    position = await far_away(api, h3)
    t = now()
    r = await api(WORKER).post(
        "/api/visits/checkin",
        json={
            "id": str(uuid.uuid4()),
            "household_id": h3,
            "device_time": (t - dt.timedelta(minutes=40)).isoformat(),
            "sent_at": t.isoformat(),
            "card_token": await card_token(api, h3),
            "position": position,
        },
    )
    assert r.status_code == 201 and any(f["severity"] == "serious" for f in r.json()["flags"]), r.text
    r = await api(WORKER).post(
        f"/api/visits/{r.json()['id']}/checkout",
        json={"device_time": now().isoformat(), "sent_at": now().isoformat(), "services": ["cleaning"]},
    )
    assert r.status_code == 200
    unpaid.append(r.json())
    month = dt.datetime.fromisoformat(paid[0]["checkin_at"]).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return {"contract": contract, "households": [h1, h2, h3], "month": f"{month:%Y-%m}", "paid": paid, "unpaid": unpaid}


async def compute(api, username: str, contract_id: int, month: str):
    return await api(username).post(f"/api/contracts/{contract_id}/statements", json={"month": month})


async def test_a_month_is_priced_exactly_from_verified_visits(api, month_of_visits) -> None:
    contract, month = month_of_visits["contract"], month_of_visits["month"]
    r = await compute(api, "taibai_auditor", contract["id"], month)
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["status"] == "draft" and s["kind"] == "original" and s["revision"] == 1
    assert [(line["service"], line["quantity"], line["unit_value_fen"], line["amount_fen"]) for line in s["lines"]] == [
        ("home_verification", 1, 3000, 3000),
        ("cleaning", 2, 6000, 12000),
        ("psychological_comfort", 1, 5000, 5000),
    ]
    assert [line["description"] for line in s["lines"]] == ["入户核查", "家政保洁", "心理慰藉"]
    assert s["deductions"] == [] and s["deductions_fen"] == 0
    assert s["gross_fen"] == s["total_fen"] == 20_000
    basis = s["basis"]
    assert basis["verified_visits"] == 3 and basis["excluded_visits"] == 3
    assert basis["covered"] == 3 and basis["served"] == 2
    assert basis["unpriced_services"] == {"personal_care": 1}
    # Computing again replaces the draft (same statement, next revision), it never adds one.
    again = await compute(api, "taibai_auditor", contract["id"], month)
    assert again.status_code == 200 and again.json()["id"] == s["id"] and again.json()["revision"] == 2
    assert again.json()["total_fen"] == 20_000


async def test_confirmed_statements_never_change_and_corrections_are_adjustments(api, month_of_visits) -> None:
    contract, month = month_of_visits["contract"], month_of_visits["month"]
    h1 = month_of_visits["households"][0]
    draft = (await compute(api, "city_admin", contract["id"], month)).json()
    auditor = api("taibai_auditor")
    url = f"/api/statements/{draft['id']}"

    stale = await auditor.post(f"{url}/confirm", json={"revision": draft["revision"] - 1})
    assert stale.status_code == 409 and stale.json()["code"] == "settlement.stale"
    assert (await api(MANAGER).post(f"{url}/confirm", json={"revision": draft["revision"]})).status_code == 403
    r = await auditor.post(f"{url}/confirm", json={"revision": draft["revision"]})
    assert r.status_code == 200, r.text
    confirmed = r.json()
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by_name"] == "太白县审核员"
    assert confirmed["seal_intact"] is True and len(confirmed["digest"]) == 64

    # A visit the provider records afterwards does not touch the confirmed statement.
    await visit(api, WORKER, h1, ["cleaning"])
    for attempt in (
        compute(api, "city_admin", contract["id"], month),
        auditor.post(f"{url}/recompute"),
        auditor.patch(url, json={"note": "改一下"}),
        auditor.post(f"{url}/confirm", json={"revision": confirmed["revision"]}),
    ):
        refused = await attempt
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["code"] == "settlement.locked"
        assert "已于" in body["message"] and "不能再修改" in body["message"] and "调整结算单" in body["message"]
    unchanged = (await auditor.get(url)).json()
    assert unchanged["total_fen"] == 20_000 and unchanged["lines"] == confirmed["lines"]
    assert unchanged["seal_intact"] is True

    # The correction: an adjusting statement holding only the difference.
    r = await auditor.post(f"{url}/adjust", json={"rationale": "补录月末服务记录"})
    assert r.status_code == 201, r.text
    adjustment = r.json()
    assert adjustment["kind"] == "adjustment" and adjustment["adjusts_id"] == draft["id"]
    assert adjustment["code"] == f"{confirmed['code']}-A1" and adjustment["rationale"] == "补录月末服务记录"
    assert [(x["service"], x["quantity"], x["amount_fen"]) for x in adjustment["lines"]] == [("cleaning", 1, 6000)]
    assert adjustment["total_fen"] == 6000
    assert [c["id"] for c in adjustment["chain"]] == [draft["id"], adjustment["id"]]
    again = await auditor.post(f"{url}/adjust", json={"rationale": "补录月末服务记录"})
    assert again.status_code == 200 and again.json()["id"] == adjustment["id"]  # the pending one, recomputed
    r = await auditor.post(f"/api/statements/{adjustment['id']}/confirm", json={"revision": again.json()["revision"]})
    assert r.status_code == 200 and r.json()["settled_total_fen"] == 26_000
    nothing = await auditor.post(f"{url}/adjust", json={"rationale": "再核一次"})
    assert nothing.status_code == 409 and nothing.json()["code"] == "settlement.nothing_to_adjust"

    # Payment: the city pays confirmed statements, once.
    pay = {"paid_on": str(local_today()), "payment_reference": "BJCZ-TEST-0001"}
    assert (await auditor.post(f"{url}/pay", json=pay)).status_code == 403
    r = await api("city_admin").post(f"{url}/pay", json=pay)
    assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["payment_reference"] == "BJCZ-TEST-0001"
    twice = await api("city_admin").post(f"{url}/pay", json=pay)
    assert twice.status_code == 409 and twice.json()["code"] == "settlement.already_paid"
    early = await api("city_admin").post(
        f"/api/statements/{adjustment['id']}/pay", json=pay | {"paid_on": "2001-01-01"}
    )
    assert early.status_code == 400 and early.json()["fields"][0]["field"] == "paid_on"

    # The contract's budget now counts the month: delivered 260.00, paid 200.00.
    detail = (await api("city_admin").get(f"/api/contracts/{contract['id']}")).json()
    assert detail["budget"]["delivered_fen"] == 26_000 and detail["budget"]["paid_fen"] == 20_000
    assert detail["budget"]["remaining_fen"] == detail["budget"]["committed_fen"] - 26_000
    # Every step is in the audit log.
    events = (await api("city_admin").get("/api/audit/events", params={"page_size": 200})).json()["items"]
    actions = {e["action"] for e in events if e["object_id"] in (str(draft["id"]), str(adjustment["id"]))}
    assert {"settlement.compute", "settlement.confirm", "settlement.adjust", "settlement.pay"} <= actions


async def test_csv_export_has_a_bom_chinese_headers_and_the_totals(api, month_of_visits) -> None:
    contract, month = month_of_visits["contract"], month_of_visits["month"]
    [statement] = [
        s
        for s in (await api("qinling_manager").get(f"/api/contracts/{contract['id']}/statements")).json()["items"]
        if s["kind"] == "original"
    ]
    r = await api("qinling_manager").get(f"/api/statements/{statement['id']}/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header = rows.index(["序号", "服务项目", "服务代码", "单位", "单价（元）", "数量", "金额（元）"])
    lines = rows[header + 1 : header + 4]
    assert [(x[1], x[4], x[5], x[6]) for x in lines] == [
        ("入户核查", "30.00", "1", "30.00"),
        ("家政保洁", "60.00", "2", "120.00"),
        ("心理慰藉", "50.00", "1", "50.00"),
    ]
    totals = {row[0]: row[1] for row in rows if len(row) == 2}
    assert totals["服务金额合计（元）"] == "200.00" and totals["扣减合计（元）"] == "0.00"
    assert totals["应付金额（元）"] == "200.00" and totals["结算月份"] == month


async def test_the_printed_statement_is_a_chinese_a4_page_under_the_csp(api, month_of_visits) -> None:
    contract = month_of_visits["contract"]
    [statement, *_] = (await api("taibai_auditor").get(f"/api/contracts/{contract['id']}/statements")).json()["items"]
    r = await api("taibai_auditor").get(f"/api/statements/{statement['id']}/print")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "style-src 'self'" in r.headers["content-security-policy"]
    page = r.text
    assert '<html lang="zh-CN">' in page and 'href="/print.css"' in page
    assert "<style" not in page and "<script" not in page and " style=" not in page
    for text in (
        "宝鸡市民政局",
        "购买服务结算单",
        SUPPLIER,
        "家政保洁",
        "¥120.00",
        "应付金额",
        "¥200.00",
        "贰佰元整",
        "县区民政局审核",
    ):
        assert text in page, text
    css = await api("taibai_auditor").client.get("/print.css")
    assert css.status_code == 200 and "size: A4" in css.text


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("jintai_auditor", 404),
        ("kangle_manager", 404),
        ("qinling_w001", 404),
        ("weibin_township", 404),
        ("qinling_manager", 200),
    ],
)
async def test_statements_are_scoped_like_their_contracts(api, month_of_visits, username: str, status: int) -> None:
    [statement, *_] = (
        await api("city_admin").get(f"/api/contracts/{month_of_visits['contract']['id']}/statements")
    ).json()["items"]
    for path in ("", "/print", "/export.csv"):
        r = await api(username).get(f"/api/statements/{statement['id']}{path}")
        assert r.status_code == status, (username, path)
    r = await api(username).post(f"/api/statements/{statement['id']}/confirm", json={"revision": 1})
    assert r.status_code == (404 if status == 404 else 403)


async def test_a_month_not_begun_or_outside_the_period_is_not_settled(api, world) -> None:
    contract = await new_contract(
        api,
        supplier=SUPPLIER,
        county_code="610331",
        start=local_today().replace(day=1),
        end=local_today().replace(day=1) + dt.timedelta(days=3),
    )
    next_month = (local_today().replace(day=28) + dt.timedelta(days=5)).strftime("%Y-%m")
    r = await compute(api, "city_admin", contract["id"], next_month)
    assert r.status_code == 400 and r.json()["code"] == "settlement.month_in_future"
    last_month = (local_today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    r = await compute(api, "city_admin", contract["id"], last_month)
    assert (
        r.status_code == 409
        and r.json()["code"] == "settlement.not_in_service"
        and "不在履行期内" in r.json()["message"]
    )
    r = await compute(api, "city_admin", contract["id"], "2026-13")
    assert r.status_code == 400 and r.json()["code"] == "request.invalid"
    r = await compute(api, "city_admin", contract["id"], this_month())
    assert r.status_code == 201 and r.json()["basis"]["service_days"] <= 4
