"""Contracts: the demo programme, amendments as history, coverage that moves, who sees what."""

from __future__ import annotations

import datetime as dt

import pytest

from carepact.dates import local_today
from tests.contracts.helpers import new_contract, new_households, organisation_id, region

PROGRAMME_FEN = 335_000_000


async def contracts_of(api, username: str, **params) -> list[dict]:
    r = await api(username).get("/api/contracts", params={"page_size": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def demo_contract(api, supplier: str, county_code: str) -> dict:
    area = await region(county_code)
    [found] = [
        c
        for c in await contracts_of(api, "city_admin", supplier_id=await organisation_id(supplier))
        if c["service_area"]["id"] == area["id"] and c["code"].startswith("BJMZ-")
    ]
    return found


async def test_the_demo_programme_is_three_point_three_five_million_yuan(api, world) -> None:
    year = local_today().year
    home_care = await contracts_of(api, "city_admin", kind="home_care")
    demo = [c for c in home_care if c["code"].startswith(f"BJMZ-{year}-JJ-")]
    assert len(demo) == 12  # five providers, one contract per county each serves
    assert sum(c["value_fen"] for c in demo) == PROGRAMME_FEN
    assert {c["service_area"]["name"] for c in demo} == {
        "渭滨区", "金台区", "陈仓区", "凤翔区", "岐山县", "扶风县", "眉县", "陇县", "千阳县", "麟游县", "凤县", "太白县"
    }  # fmt: skip
    assert all(c["status"] == "active" and c["currency"] == "CNY" for c in demo)
    [centralised] = [
        c for c in await contracts_of(api, "city_admin", kind="centralised_care") if c["code"].startswith("BJMZ-")
    ]
    assert centralised["supplier"]["name"] == "宝鸡市康宁精神康复医院"

    # The budget says the same, per county, and the hospital's contract is counted city-wide.
    budget = (await api("city_admin").get("/api/budget", params={"year": year, "group": "county"})).json()
    counties = {row["key"]: row for row in budget["rows"]}
    assert sum(row["committed_fen"] for key, row in counties.items() if key != "city") >= PROGRAMME_FEN
    assert counties["city"]["label"].startswith("市本级")
    # And straight from the tables: each contract's value is what its items add up to.
    from contracts.procurement.services import versions_of
    from contracts.procurement.terms import state_on

    versions = await versions_of(c["id"] for c in demo)
    assert sum(state_on(v, local_today()).value_fen for v in versions.values()) == PROGRAMME_FEN
    detail = (await api("city_admin").get(f"/api/contracts/{demo[0]['id']}")).json()
    assert detail["value_fen"] == sum(i["amount_fen"] for i in detail["items"])
    assert {i["unit_name"] for i in detail["items"]} == {"次"}


async def test_the_demo_amendment_shows_the_old_value_before_it_took_effect(api, world) -> None:
    contract = await demo_contract(api, "宝鸡市仁和社会工作服务中心", "610302")
    detail = (await api("city_admin").get(f"/api/contracts/{contract['id']}")).json()
    [original, amendment] = detail["amendments"]
    assert original["kind"] == "original" and amendment["kind"] == "amendment"
    assert amendment["value_after_fen"] > amendment["value_before_fen"] == original["value_after_fen"]
    assert "家政保洁" in amendment["description"] and "合同金额" in amendment["description"]
    assert amendment["rationale"] and amendment["author_name"]
    assert detail["value_fen"] == amendment["value_after_fen"]
    before = dt.date.fromisoformat(amendment["effective_on"]) - dt.timedelta(days=1)
    earlier = (await api("city_admin").get(f"/api/contracts/{contract['id']}", params={"state_on": str(before)})).json()
    assert earlier["value_fen"] == amendment["value_before_fen"]
    assert earlier["is_current"] is False and earlier["state_on"] == str(before)
    assert [a["in_force"] for a in earlier["amendments"]] == [True, False]


async def test_an_amendment_changes_the_current_value_and_keeps_the_old_one_on_earlier_dates(api, world) -> None:
    households = await new_households(api, "610331", 2, worker="qinling_w001")
    contract = await new_contract(
        api, supplier="秦岭山区助老服务中心", county_code="610331", households=households, prices={"cleaning": 6000}
    )
    assert contract["value_fen"] == 1000 * 6000 and contract["coverage"]["households"] == 2
    today = local_today()
    r = await api("city_admin").post(
        f"/api/contracts/{contract['id']}/amendments",
        json={
            "date": str(today),
            "effective_on": str(today),
            "rationale": "服务对象增加，追加保洁服务次数",
            "changes": {
                "items": [
                    {"classification": "cleaning", "quantity": 1500, "unit_value_fen": 6000},
                    {"classification": "psychological_comfort", "quantity": 100, "unit_value_fen": 5000},
                ]
            },
        },
    )
    assert r.status_code == 201, r.text
    amendment = r.json()
    assert amendment["seq"] == 1 and amendment["value_before_fen"] == 6_000_000
    assert amendment["value_after_fen"] == 1500 * 6000 + 100 * 5000
    assert amendment["author_name"] == "市局管理员"
    now = (await api("city_admin").get(f"/api/contracts/{contract['id']}")).json()
    assert now["value_fen"] == 9_500_000 and len(now["items"]) == 2
    yesterday = today - dt.timedelta(days=1)
    then = (await api("city_admin").get(f"/api/contracts/{contract['id']}", params={"state_on": str(yesterday)})).json()
    assert then["value_fen"] == 6_000_000 and len(then["items"]) == 1
    # The history is rows, never edits: the original terms are still there as they were.
    from contracts.tables import Amendment

    rows = await Amendment.select(Amendment.seq, Amendment.changes).where(Amendment.contract == contract["id"])
    assert sorted(r["seq"] for r in rows) == [0, 1]
    assert '"quantity":1000' in next(r["changes"] for r in rows if r["seq"] == 0)
    # Logged with before and after.
    events = (
        await api("city_admin").get("/api/audit/events", params={"action": "contract.amend", "page_size": 50})
    ).json()
    assert any(e["object_id"] == str(contract["id"]) for e in events["items"])
    # Before signing there were no terms at all.
    r = await api("city_admin").get(f"/api/contracts/{contract['id']}", params={"state_on": "2000-01-01"})
    assert r.status_code == 400 and r.json()["code"] == "contract.not_in_force"


async def test_amendments_that_make_no_sense_are_refused_in_chinese(api, world) -> None:
    contract = await new_contract(api, supplier="秦岭山区助老服务中心", county_code="610331")
    url = f"/api/contracts/{contract['id']}/amendments"
    admin = api("city_admin")
    today = str(local_today())
    base = {"date": today, "effective_on": today, "rationale": "测试"}

    r = await admin.post(url, json=base | {"changes": {}})
    assert r.status_code == 400 and r.json()["code"] == "amendment.empty" and "变更内容为空" in r.json()["message"]
    r = await admin.post(url, json=base | {"effective_on": "2000-01-01", "changes": {"title": "新名称"}})
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "effective_on"
    future = str(local_today() + dt.timedelta(days=3))
    r = await admin.post(url, json=base | {"date": future, "changes": {"title": "新名称"}})
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "date"
    r = await admin.post(url, json=base | {"changes": {"status": "pending"}})
    assert r.status_code == 409 and r.json()["code"] == "contract.status_transition"
    assert "履行中" in r.json()["message"]
    r = await admin.post(
        url, json=base | {"changes": {"items": [{"classification": "treatment", "quantity": 1, "unit_value_fen": 1}]}}
    )
    assert r.status_code == 400 and r.json()["fields"][0]["code"] == "contract.service_not_for_kind"
    r = await admin.post(
        url, json=base | {"changes": {"items": [{"classification": "cleaning", "quantity": 1, "unit_value_fen": -1}]}}
    )
    assert r.status_code == 400 and r.json()["code"] == "request.invalid"
    # There is no way to edit a contract in place.
    assert (await admin.patch(f"/api/contracts/{contract['id']}", json={"title": "x"})).status_code == 405
    # Termination is an amendment too, and final.
    r = await admin.post(url, json=base | {"rationale": "服务机构违约，解除合同", "changes": {"status": "terminated"}})
    assert r.status_code == 201 and "已终止" in r.json()["description"]
    r = await admin.post(url, json=base | {"changes": {"status": "active"}})
    assert r.status_code == 409


async def test_a_new_contract_is_checked_before_it_is_recorded(api, world) -> None:
    admin = api("city_admin")
    good = {
        "code": "T-CHECK-001",
        "title": "校验测试合同",
        "kind": "home_care",
        "buyer_id": await organisation_id("宝鸡市民政局"),
        "supplier_id": await organisation_id("秦岭山区助老服务中心"),
        "service_area_id": (await region("610331"))["id"],
        "date_signed": "2026-01-01",
        "period": {"start_date": "2026-01-01", "end_date": "2026-12-31"},
        "items": [{"classification": "cleaning", "quantity": 10, "unit_value_fen": 6000}],
    }
    r = await admin.post("/api/contracts", json=good | {"supplier_id": await organisation_id("宝鸡市民政局")})
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "supplier_id"
    r = await admin.post("/api/contracts", json=good | {"kind": "centralised_care"})
    fields = {f["field"] for f in r.json()["fields"]}
    assert r.status_code == 400 and "supplier_id" in fields
    [weibin_household] = (await api("weibin_auditor").get("/api/households", params={"page_size": 1})).json()["items"]
    r = await admin.post("/api/contracts", json=good | {"coverage": {"add_households": [weibin_household["id"]]}})
    assert r.status_code == 400 and r.json()["code"] == "coverage.subject_invalid"
    tomorrow = str(local_today() + dt.timedelta(days=1))
    r = await admin.post("/api/contracts", json=good | {"date_signed": tomorrow})
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "date_signed"
    # Signed after its period began: the terms hold from the start of the period.
    r = await admin.post("/api/contracts", json=good | {"date_signed": "2026-01-20"})
    assert r.status_code == 201, r.text
    start = await admin.get(f"/api/contracts/{r.json()['id']}", params={"state_on": "2026-01-01"})
    assert start.status_code == 200 and start.json()["value_fen"] == 60_000
    good["code"] = "T-CHECK-003"
    r = await admin.post("/api/contracts", json=good)
    assert r.status_code == 201, r.text
    again = await admin.post("/api/contracts", json=good)
    assert again.status_code == 409 and again.json()["code"] == "contract.code_taken"
    r = await api("weibin_auditor").post("/api/contracts", json=good | {"code": "T-CHECK-002"})
    assert r.status_code == 403


async def test_a_household_moves_between_providers_and_keeps_its_history(api, world) -> None:
    [household] = await new_households(api, "610331", 1, worker="qinling_w001")
    first = await new_contract(api, supplier="秦岭山区助老服务中心", county_code="610331", households=[household])
    second = await new_contract(api, supplier="陇州乐龄养老服务中心", county_code="610331")
    admin = api("city_admin")
    today = local_today()
    move_in = {
        "date": str(today),
        "effective_on": str(today),
        "rationale": "服务对象申请更换服务机构",
        "changes": {"coverage": {"add_households": [household]}},
    }
    # One household, one contract at a time: the second cannot take it while the first covers it.
    r = await admin.post(f"/api/contracts/{second['id']}/amendments", json=move_in)
    assert r.status_code == 409 and r.json()["code"] == "coverage.overlap"
    assert first["code"] in r.json()["message"]
    r = await admin.post(
        f"/api/contracts/{first['id']}/amendments",
        json=move_in | {"changes": {"coverage": {"remove_households": [household]}}},
    )
    assert r.status_code == 201 and "终止覆盖 1 户" in r.json()["description"]
    r = await admin.post(f"/api/contracts/{second['id']}/amendments", json=move_in)
    assert r.status_code == 201, r.text
    # The workers follow: a worker of the new provider from the same day.
    from tests.contracts.helpers import account_id

    r = await admin.post(
        "/api/assignments",
        json={"household_id": household, "worker_id": await account_id("leling_w001"), "starts_on": str(today)},
    )
    assert r.status_code == 201, r.text

    history = (await admin.get("/api/coverage", params={"household_id": household})).json()["items"]
    assert [(c["contract_code"], c["ends_on"], c["added_by_seq"], c["ended_by_seq"]) for c in history] == [
        (first["code"], str(today - dt.timedelta(days=1)), 0, 1),
        (second["code"], None, 1, None),
    ]
    today_only = (await admin.get("/api/coverage", params={"household_id": household, "on": str(today)})).json()
    assert [c["contract_code"] for c in today_only["items"]] == [second["code"]]
    # Removing a household the contract does not cover says so.
    r = await admin.post(
        f"/api/contracts/{first['id']}/amendments",
        json=move_in | {"changes": {"coverage": {"remove_households": [household]}}},
    )
    assert r.status_code == 400 and r.json()["code"] == "coverage.not_covered"


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("city_admin", 200),
        ("weibin_auditor", 200),
        ("renhe_manager", 200),
        ("jintai_auditor", 404),
        ("kangle_manager", 404),
        ("weibin_worker", 404),
        ("weibin_township", 404),
        ("kangning_staff", 404),
    ],
)
async def test_who_sees_a_weibin_only_contract(api, world, username: str, status: int) -> None:
    contract = await demo_contract(api, "宝鸡市仁和社会工作服务中心", "610302")
    r = await api(username).get(f"/api/contracts/{contract['id']}")
    assert r.status_code == status, (username, r.text)
    listed = {c["id"] for c in await contracts_of(api, username)}
    assert (contract["id"] in listed) == (status == 200)
    if status == 404:
        assert r.json()["code"] == "contract.not_found"
        month = {"month": f"{local_today():%Y-%m}"}
        assert (await api(username).post(f"/api/contracts/{contract['id']}/statements", json=month)).status_code == 404


async def test_providers_read_their_own_contracts_and_change_nothing(api, world) -> None:
    own = await contracts_of(api, "renhe_manager")
    renhe = await organisation_id("宝鸡市仁和社会工作服务中心")
    assert own and all(c["supplier"]["id"] == renhe for c in own)
    contract = own[0]
    manager = api("renhe_manager")
    detail = (await manager.get(f"/api/contracts/{contract['id']}")).json()
    assert detail["can_amend"] is False and detail["can_settle"] is False
    today = str(local_today())
    r = await manager.post(
        f"/api/contracts/{contract['id']}/amendments",
        json={"date": today, "effective_on": today, "rationale": "自行修改", "changes": {"title": "自行修改的名称"}},
    )
    assert r.status_code == 403 and r.json()["code"] == "permission.denied"
    assert (await manager.patch(f"/api/contracts/{contract['id']}", json={})).status_code == 405
    assert (
        await manager.post(f"/api/contracts/{contract['id']}/statements", json={"month": today[:7]})
    ).status_code == 403
    # Field workers see no contracts at all.
    assert await contracts_of(api, "weibin_worker") == []


async def test_contract_documents_are_kept_and_served_as_downloads(api, world) -> None:
    contract = await demo_contract(api, "宝鸡市仁和社会工作服务中心", "610302")
    admin = api("city_admin")
    pdf = b"%PDF-1.4\n% scanned contract\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = await admin.post(
        f"/api/contracts/{contract['id']}/documents",
        files={"file": ("合同.pdf", pdf, "application/pdf")},
        data={"title": "合同文本（盖章）", "document_type": "contractSigned"},
    )
    assert r.status_code == 201, r.text
    document = r.json()
    assert document["media_type"] == "application/pdf" and document["size_bytes"] == len(pdf)
    assert document["document_type_label"].startswith("合同文本")
    got = await api("renhe_manager").get(document["url"])
    assert got.status_code == 200 and got.content == pdf
    assert got.headers["content-disposition"].startswith("attachment")
    assert (await api("jintai_auditor").get(document["url"])).status_code == 404
    r = await admin.post(
        f"/api/contracts/{contract['id']}/documents",
        files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")},
    )
    assert r.status_code == 415 and r.json()["code"] == "document.unsupported"
    r = await api("renhe_manager").post(
        f"/api/contracts/{contract['id']}/documents", files={"file": ("合同.pdf", pdf, "application/pdf")}
    )
    assert r.status_code == 403
    detail = (await admin.get(f"/api/contracts/{contract['id']}")).json()
    assert document["id"] in [d["id"] for d in detail["documents"]]
