"""Mental-health records are the most sensitive data in the platform: only the facility's staff and
the auditors of its region see them (everyone else: 404), health texts are masked where the screen
or the role does not need them, and every read of a resident's record leaves an audit row."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.providers.resident_helpers import (
    admit,
    audit_events,
    demo_resident,
    head_seq,
    hospital_id,
    now,
    other_facility,
    record_body,
    today,
)

READS = [
    "",
    "/records",
    "/care-plan",
    "/medications",
    "/doses",
    "/incidents",
    "/summary",
    "/summary/print",
]
SEES = ["kangning_staff", "jintai_auditor", "city_admin"]
NEVER = ["weibin_auditor", "chencang_auditor", "jintai_township", "renhe_manager", "weibin_worker", "jintai_worker"]


@pytest.fixture(scope="module")
async def rehab(world, tokens, api) -> dict:
    """Another facility (陈仓区) with its own staff and one resident of its own."""
    facility = await other_facility(tokens)
    facility["resident"] = await admit(api, staff=facility["staff"], facility_id=facility["facility_id"])
    return facility


@pytest.fixture(scope="module")
async def kangning(world, api) -> dict:
    """A hospital resident with something of every kind on record, and a serious incident."""
    resident = await admit(api, diagnosis="偏执性精神障碍（测试）")
    staff = api("kangning_staff")
    r = await staff.post(
        f"/api/residents/{resident['id']}/records",
        json=record_body("treatment", "个别心理治疗", details="谈及家人时情绪激动（测试）"),
    )
    assert r.status_code == 201, r.text
    r = await staff.post(
        f"/api/residents/{resident['id']}/medications",
        json={"drug": "奥氮平片", "dose": "10 mg", "route": "oral", "times": ["21:00"], "starts_on": str(today())},
    )
    assert r.status_code == 201, r.text
    r = await staff.post(
        f"/api/residents/{resident['id']}/care-plan/goals",
        json={
            "kind": "treatment",
            "goal": "夜间安静入睡（测试）",
            "review_due_on": str(today() + dt.timedelta(days=14)),
        },
    )
    assert r.status_code == 201, r.text
    incident = {
        "id": str(uuid.uuid4()),
        "resident_id": resident["id"],
        "kind": "absconding",
        "severity": "serious",
        "occurred_at": (now() - dt.timedelta(minutes=5)).isoformat(),
        "description": "趁送餐时离开病区（测试）",
    }
    r = await staff.post("/api/incidents", json=incident)
    assert r.status_code == 201, r.text
    return resident | {"incident_id": incident["id"]}


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("username", SEES)
async def test_the_facility_staff_and_the_region_auditors_read_and_every_read_is_logged(
    api, kangning, username: str, path: str
) -> None:
    seq = await head_seq()
    r = await api(username).get(f"/api/residents/{kangning['id']}{path}")
    assert r.status_code == 200, r.text
    [event] = await audit_events("resident.read", seq, str(kangning["id"]))
    assert event["actor"]["name"] == username and event["object_type"] == "resident"
    assert event["detail"]["view"] in {
        "detail",
        "records",
        "care_plan",
        "medications",
        "doses",
        "incidents",
        "summary",
        "summary_print",
    }


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("username", [*NEVER, "rehab"])
async def test_everyone_else_is_told_the_resident_does_not_exist(
    api, kangning, rehab, username: str, path: str
) -> None:
    username = rehab["staff"] if username == "rehab" else username
    seq = await head_seq()
    r = await api(username).get(f"/api/residents/{kangning['id']}{path}")
    assert (r.status_code, r.json()["code"]) == (404, "resident.not_found")
    assert await audit_events("resident.read", seq) == []


@pytest.mark.parametrize("username", ["kangning_staff", "jintai_auditor", "weibin_auditor", "weibin_worker"])
async def test_the_other_facilitys_resident_is_hidden_from_the_hospital_and_its_county(api, rehab, username) -> None:
    rid = rehab["resident"]["id"]
    r = await api(username).get(f"/api/residents/{rid}")
    assert (r.status_code, r.json()["code"]) == (404, "resident.not_found")
    assert (await api(rehab["staff"]).get(f"/api/residents/{rid}")).status_code == 200
    assert (await api("chencang_auditor").get(f"/api/residents/{rid}")).status_code == 200


FACILITY_READS = ["/overview", "/residents", "/doses/due", "/incidents", "/handovers", "/bed-days"]


@pytest.mark.parametrize("path", FACILITY_READS)
async def test_facility_views_follow_the_same_scope(api, kangning, rehab, path: str) -> None:
    facility_id = await hospital_id()
    for username in SEES:
        r = await api(username).get(f"/api/facilities/{facility_id}{path}")
        assert r.status_code == 200, (username, r.text)
    for username in [*NEVER, rehab["staff"]]:
        r = await api(username).get(f"/api/facilities/{facility_id}{path}")
        assert (r.status_code, r.json()["code"]) == (404, "facility.not_found"), username


async def test_facility_list_is_exactly_the_scope(api, rehab) -> None:
    hospital = await hospital_id()
    assert [f["id"] for f in (await api("kangning_staff").get("/api/facilities")).json()] == [hospital]
    assert [f["id"] for f in (await api(rehab["staff"]).get("/api/facilities")).json()] == [rehab["facility_id"]]
    assert hospital in {f["id"] for f in (await api("jintai_auditor").get("/api/facilities")).json()}
    assert rehab["facility_id"] not in {f["id"] for f in (await api("jintai_auditor").get("/api/facilities")).json()}
    assert {f["id"] for f in (await api("city_admin").get("/api/facilities")).json()} >= {
        hospital,
        rehab["facility_id"],
    }
    for username in NEVER:
        if username == "chencang_auditor":
            continue
        assert (await api(username).get("/api/facilities")).json() == [], username


async def test_auditors_read_but_never_write(api, kangning) -> None:
    rid, facility_id = kangning["id"], kangning["facility_id"]
    auditor = api("jintai_auditor")
    attempts = [
        auditor.post(f"/api/residents/{rid}/records", json=record_body()),
        auditor.post(f"/api/residents/{rid}/discharge", json={"discharged_on": str(today()), "reason": "测试出院"}),
        auditor.post(
            "/api/incidents",
            json={
                "id": str(uuid.uuid4()),
                "resident_id": rid,
                "kind": "fall",
                "severity": "minor",
                "occurred_at": now().isoformat(),
                "description": "测试",
            },
        ),
        auditor.post(
            f"/api/facilities/{facility_id}/ward-rounds",
            json={
                "id": str(uuid.uuid4()),
                "ward": kangning["ward"],
                "kind": "rehabilitation",
                "activity": "工娱治疗",
                "performed_at": now().isoformat(),
                "resident_ids": [rid],
            },
        ),
        auditor.post(f"/api/residents/{rid}/card", json={"reason": "补发测试"}),
    ]
    for attempt in attempts:
        r = await attempt
        assert (r.status_code, r.json()["code"]) == (403, "permission.denied"), r.text


async def test_another_facilitys_staff_cannot_write_here_either(api, kangning, rehab) -> None:
    other = api(rehab["staff"])
    r = await other.post(f"/api/residents/{kangning['id']}/records", json=record_body())
    assert (r.status_code, r.json()["code"]) == (404, "resident.not_found")
    r = await other.get(f"/api/incidents/{kangning['incident_id']}")
    assert (r.status_code, r.json()["code"]) == (404, "incident.not_found")
    r = await other.post(
        f"/api/facilities/{kangning['facility_id']}/residents",
        json={
            "person": {"source": "returning", "person_id": kangning["person_id"]},
            "ward": "一病区",
            "bed": "1床",
            "admitted_on": str(today()),
        },
    )
    assert (r.status_code, r.json()["code"]) == (404, "facility.not_found")
    # Re-admitting someone who was never in this facility's care is refused without naming them.
    r = await other.post(
        f"/api/facilities/{rehab['facility_id']}/residents",
        json={
            "person": {"source": "returning", "person_id": kangning["person_id"]},
            "ward": "一病区",
            "bed": "1床",
            "admitted_on": str(today()),
        },
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident.person_unknown")


async def test_health_texts_in_full_for_carers_and_county_auditors_masked_for_the_city(api, kangning) -> None:
    rid = kangning["id"]
    for username, full in (("kangning_staff", True), ("jintai_auditor", True), ("city_admin", False)):
        detail = (await api(username).get(f"/api/residents/{rid}")).json()
        assert detail["health_shown"] is full
        assert detail["diagnosis"] == ("偏执性精神障碍（测试）" if full else "有记录"), username
        assert detail["name"] == "测试住院人" and "*" in detail["id_number_masked"]
        records = (await api(username).get(f"/api/residents/{rid}/records")).json()["items"]
        assert records[0]["details"] == ("谈及家人时情绪激动（测试）" if full else "有记录")
        [order] = (await api(username).get(f"/api/residents/{rid}/medications")).json()
        assert order["drug"] == ("奥氮平片" if full else "有记录")
        plan = (await api(username).get(f"/api/residents/{rid}/care-plan")).json()
        assert plan["goals"][0]["goal"] == ("夜间安静入睡（测试）" if full else "有记录")
        incident = (await api(username).get(f"/api/incidents/{kangning['incident_id']}")).json()
        assert incident["description"] == ("趁送餐时离开病区（测试）" if full else "有记录")
    # Lists across residents never carry the notes, whoever reads them.
    listing = (
        await api("kangning_staff").get(
            f"/api/facilities/{kangning['facility_id']}/incidents", params={"page_size": 200}
        )
    ).json()
    assert {i["description"] for i in listing["items"]} == {"有记录"}


async def test_lists_log_one_row_naming_the_residents_shown(api, kangning) -> None:
    seq = await head_seq()
    facility_id = kangning["facility_id"]
    shown = (await api("jintai_auditor").get(f"/api/facilities/{facility_id}/residents")).json()
    [event] = await audit_events("resident.list", seq, str(facility_id))
    assert event["detail"]["view"] == "residents" and event["actor"]["name"] == "jintai_auditor"
    assert event["detail"]["residents"] == sorted(r["id"] for r in shown)
    assert kangning["id"] in event["detail"]["residents"]


async def test_a_wristband_scan_is_a_logged_read(api) -> None:
    from tests.providers.resident_helpers import wristband_token

    resident = await demo_resident(0)
    token = await wristband_token(api, resident["id"])
    seq = await head_seq()
    check = (await api("kangning_staff").get("/api/cards/resident-check", params={"token": token})).json()
    assert check["ok"] is True
    [event] = await audit_events("resident.read", seq, str(resident["id"]))
    assert event["detail"]["view"] == "card_scan"
    # Writes leave their own rows too (never the note itself).
    seq = await head_seq()
    r = await api("kangning_staff").post(
        f"/api/residents/{resident['id']}/records",
        json=record_body("sleep", "午休", observation="good", details="午休一小时（测试）"),
    )
    assert r.status_code == 201, r.text
    [event] = await audit_events("resident.care_record", seq, str(resident["id"]))
    assert event["after"]["kind"] == "sleep" and "午休一小时" not in str(event)
