"""Coverage figures (covered, served, not served) and coverage against assignments."""

from __future__ import annotations

from tests.contracts.helpers import new_contract, new_households, this_month, visit


async def test_covered_served_and_not_served_per_contract_county_and_city(api, world) -> None:
    households = await new_households(api, "610331", 3, worker="qinling_w001")
    contract = await new_contract(api, supplier="秦岭山区助老服务中心", county_code="610331", households=households)
    await visit(api, "qinling_w001", households[0], ["cleaning"])
    await visit(api, "qinling_w001", households[0], ["psychological_comfort"])
    await visit(api, "qinling_w001", households[1], ["cleaning"], how="manual", approve_as="qinling_manager")
    await visit(api, "qinling_w001", households[2], ["cleaning"], how="manual")  # not approved: not served

    params = {"month": this_month()}
    by_contract = (await api("city_admin").get("/api/coverage/figures", params=params | {"group": "contract"})).json()
    [row] = [r for r in by_contract["rows"] if r["key"] == contract["code"]]
    assert (row["covered"], row["served"], row["not_served"], row["verified_visits"]) == (3, 2, 1, 3)
    assert by_contract["total"]["covered"] == sum(r["covered"] for r in by_contract["rows"])

    by_county = (await api("taibai_auditor").get("/api/coverage/figures", params=params | {"group": "county"})).json()
    assert [r["label"] for r in by_county["rows"]] == ["太白县"]
    [taibai] = by_county["rows"]
    assert taibai["covered"] >= 3 and taibai["served"] >= 2
    assert taibai["covered"] == taibai["served"] + taibai["not_served"]

    city = (await api("city_admin").get("/api/coverage/figures", params=params | {"group": "city"})).json()
    [whole] = city["rows"]
    assert whole["label"] == "宝鸡市" and whole["covered"] == city["total"]["covered"]
    # Every demo household is covered, and every hospital resident.
    from carepact.registry.tables import Resident
    from tests.support import TEST_HOUSEHOLDS

    assert whole["covered"] >= TEST_HOUSEHOLDS + await Resident.count()

    # A county never counts another county's people.
    jintai = (await api("jintai_auditor").get("/api/coverage/figures", params=params | {"group": "county"})).json()
    assert {r["label"] for r in jintai["rows"]} <= {"金台区"}
    assert (await api("weibin_worker").get("/api/coverage/figures")).json()["rows"] == []


async def test_demo_coverage_agrees_with_assignments_and_disagreements_are_listed(api, world) -> None:
    from carepact.registry.tables import Household

    demo_households = {
        h["id"] for h in await Household.select(Household.id).order_by(Household.id).limit(world.households)
    }
    check = (await api("city_admin").get("/api/coverage/assignment-check")).json()
    assert not [m for m in check if m["household_id"] in demo_households]

    # Covered by 秦岭's contract but visited by a 仁和 worker: shown, with both sides named.
    [household] = await new_households(api, "610331", 1, worker="weibin_worker")
    contract = await new_contract(api, supplier="秦岭山区助老服务中心", county_code="610331", households=[household])
    check = (await api("taibai_auditor").get("/api/coverage/assignment-check")).json()
    [mismatch] = [m for m in check if m["household_id"] == household]
    assert mismatch["assigned_organisation"] == "宝鸡市仁和社会工作服务中心"
    assert mismatch["covering_supplier"] == "秦岭山区助老服务中心"
    assert mismatch["covering_contract_code"] == contract["code"]
    assert household not in {
        m["household_id"] for m in (await api("weibin_auditor").get("/api/coverage/assignment-check")).json()
    }
    assert (await api("renhe_manager").get("/api/coverage/assignment-check")).status_code == 403


async def test_a_providers_coverage_list_is_its_own(api, world) -> None:
    page = (await api("renhe_manager").get("/api/coverage", params={"page_size": 200})).json()
    assert page["total"] > 0
    assert {c["supplier_name"] for c in page["items"]} == {"宝鸡市仁和社会工作服务中心"}
    assert all(c["subject"] == "household" and c["names"] for c in page["items"])
    assert (await api("weibin_worker").get("/api/coverage")).json()["total"] == 0
