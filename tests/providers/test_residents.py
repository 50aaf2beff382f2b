"""Residents in centralised care: admission and discharge, care plans, bedside records and ward
rounds, the medication record, incidents that reach the county auditor, shift handovers, wristband
QR codes and the monthly summary — through the real API, on the real database."""

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
    new_ward,
    now,
    other_facility,
    record_body,
    today,
    wristband_token,
)


@pytest.fixture(scope="module")
async def rehab(world, tokens) -> dict:
    """A second facility, in 陈仓区, with its own staff and one resident."""
    facility = await other_facility(tokens)
    return facility


# --- admission and discharge --------------------------------------------------------------------


async def test_admission_then_discharge_with_reason(api) -> None:
    staff = api("kangning_staff")
    resident = await admit(api, contract_code="BJMZ-TEST-01", diagnosis="双相情感障碍（测试）")
    assert resident["present"] is True and resident["discharged_on"] is None
    assert resident["contract_code"] == "BJMZ-TEST-01"
    assert resident["diagnosis"] == "双相情感障碍（测试）" and resident["health_shown"] is True
    assert resident["id_number_masked"].count("*") == 8
    assert {a["code"] for a in resident["alerts"]} >= {"new_admission"}
    rid = resident["id"]

    # The same person cannot be admitted twice while in hospital.
    from carepact.registry.tables import Person

    person = await Person.select(Person.name).where(Person.id == resident["person_id"]).first()
    again = await staff.post(
        f"/api/facilities/{resident['facility_id']}/residents",
        json={
            "person": {"source": "returning", "person_id": resident["person_id"]},
            "ward": "一病区",
            "bed": "99床",
            "admitted_on": str(today()),
        },
    )
    assert (again.status_code, again.json()["code"]) == (409, "resident.already_admitted")
    assert person["name"] == "测试住院人"

    r = await staff.post(
        f"/api/residents/{rid}/medications",
        json={
            "drug": "碳酸锂缓释片",
            "dose": "300 mg",
            "route": "oral",
            "times": ["08:00", "20:00"],
            "starts_on": str(today()),
        },
    )
    assert r.status_code == 201, r.text

    # A discharge needs a reason, in Chinese field errors.
    r = await staff.post(f"/api/residents/{rid}/discharge", json={"discharged_on": str(today())})
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "reason"
    r = await staff.post(
        f"/api/residents/{rid}/discharge",
        json={"discharged_on": str(today() - dt.timedelta(days=10)), "reason": "病情稳定出院"},
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident.discharge_before_admission")
    r = await staff.post(
        f"/api/residents/{rid}/discharge", json={"discharged_on": str(today()), "reason": "病情稳定，家属接回"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["discharged_on"] == str(today()) and out["discharge_reason"] == "病情稳定，家属接回"
    assert out["can_write"] is False
    # Standing orders end with the stay (the discharge day's doses are still given).
    [order] = (await staff.get(f"/api/residents/{rid}/medications")).json()
    assert order["ends_on"] == str(today())
    r = await staff.post(f"/api/residents/{rid}/discharge", json={"discharged_on": str(today()), "reason": "再次出院"})
    assert (r.status_code, r.json()["code"]) == (409, "resident.discharged")
    events = await audit_events("resident.discharge", 0, str(rid))
    assert events and events[-1]["after"]["reason"] == "病情稳定，家属接回"

    # A former resident is admitted again as a new stay of the same person.
    back = await staff.post(
        f"/api/facilities/{resident['facility_id']}/residents",
        json={
            "person": {"source": "returning", "person_id": resident["person_id"]},
            "ward": new_ward(),
            "bed": "01床",
            "admitted_on": str(today()),
        },
    )
    assert back.status_code == 201, back.text
    assert back.json()["person_id"] == resident["person_id"] and back.json()["id"] != rid


async def test_admission_checks_bed_dates_and_identity(api) -> None:
    staff = api("kangning_staff")
    facility_id = await hospital_id()
    first = await admit(api)
    body = {
        "person": {
            "source": "new",
            "name": "另一人",
            "gender": "female",
            "birth_year": 1987,
            "id_number": "610399198701010000",
            "care_level": "able",
        },
        "ward": first["ward"],
        "bed": first["bed"],
        "admitted_on": str(today()),
    }
    from tests.support import new_id_number

    body["person"]["id_number"] = new_id_number(1987)
    r = await staff.post(f"/api/facilities/{facility_id}/residents", json=body)
    assert (r.status_code, r.json()["code"]) == (409, "resident.bed_taken")
    r = await staff.post(
        f"/api/facilities/{facility_id}/residents",
        json=body | {"bed": "88床", "admitted_on": str(today() + dt.timedelta(days=1))},
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident.admission_date")
    wrong_year = body | {"bed": "88床", "person": body["person"] | {"birth_year": 1990}}
    r = await staff.post(f"/api/facilities/{facility_id}/residents", json=wrong_year)
    assert r.status_code == 400 and r.json()["fields"][0]["code"] == "person.birth_year_mismatch"
    # A person registered at home (dispersed support) is admitted as themselves, by ID number.
    household = await api("jintai_auditor").post(
        "/api/households",
        json={
            "village_code": (await _a_village("610303")),
            "address": "测试路2号",
            "person": {
                "name": "居家转入",
                "gender": "male",
                "birth_year": 1988,
                "id_number": new_id_number(1988),
                "care_level": "unable",
            },
        },
    )
    assert household.status_code == 201, household.text
    person = household.json()["persons"][0]
    from carepact.registry.tables import Person

    number = await _id_number(person["id"])
    moved = await staff.post(
        f"/api/facilities/{facility_id}/residents",
        json=body
        | {"bed": "87床", "person": body["person"] | {"name": "居家转入", "birth_year": 1988, "id_number": number}},
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["person_id"] == person["id"]
    assert (await Person.select(Person.support_mode).where(Person.id == person["id"]).first())[
        "support_mode"
    ] == "centralised"
    mismatch = await staff.post(
        f"/api/facilities/{facility_id}/residents",
        json=body
        | {"bed": "86床", "person": body["person"] | {"name": "别的名字", "birth_year": 1988, "id_number": number}},
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (409, "resident.id_number_name_mismatch")


async def _a_village(county: str) -> str:
    from tests.support import villages

    return (await villages(county))[3]


async def _id_number(person_id: int) -> str:
    from carepact.privacy import reveal
    from carepact.registry.services import ID_CONTEXT
    from carepact.registry.tables import Person

    row = await Person.select(Person.id_number_protected).where(Person.id == person_id).first()
    return reveal(row["id_number_protected"], context=ID_CONTEXT)


async def test_moving_bed_and_naming_the_paying_contract(api) -> None:
    staff = api("kangning_staff")
    resident = await admit(api)
    r = await staff.patch(f"/api/residents/{resident['id']}", json={"bed": "新床", "contract_code": "BJMZ-2026-JZ-01"})
    assert r.status_code == 200, r.text
    assert (r.json()["bed"], r.json()["contract_code"]) == ("新床", "BJMZ-2026-JZ-01")
    r = await staff.patch(f"/api/residents/{resident['id']}", json={"contract_code": "合同 一"})
    assert r.status_code == 400
    r = await api("jintai_auditor").patch(f"/api/residents/{resident['id']}", json={"bed": "X"})
    assert (r.status_code, r.json()["code"]) == (403, "permission.denied")


# --- care plan ------------------------------------------------------------------------------------


async def test_care_plan_review_overdue_alert(api) -> None:
    from providers.tables import CareGoal

    staff = api("kangning_staff")
    resident = await admit(api)
    rid = resident["id"]
    r = await staff.post(
        f"/api/residents/{rid}/care-plan/goals",
        json={"kind": "rehabilitation", "goal": "每周参加工娱治疗 4 次", "review_due_on": str(today())},
    )
    assert (r.status_code, r.json()["code"]) == (400, "care_goal.review_in_past")
    r = await staff.post(
        f"/api/residents/{rid}/care-plan/goals",
        json={
            "kind": "rehabilitation",
            "goal": "每周参加工娱治疗 4 次",
            "review_due_on": str(today() + dt.timedelta(days=1)),
        },
    )
    assert r.status_code == 201, r.text
    [goal] = r.json()["goals"]
    assert goal["overdue"] is False and r.json()["overdue_reviews"] == 0

    # Time passes: the review date is now behind us.
    await CareGoal.update({CareGoal.review_due_on: today() - dt.timedelta(days=3)}).where(CareGoal.id == goal["id"])
    plan = (await staff.get(f"/api/residents/{rid}/care-plan")).json()
    assert plan["overdue_reviews"] == 1 and plan["goals"][0]["days_overdue"] == 3
    listing = (
        await staff.get(f"/api/facilities/{resident['facility_id']}/residents", params={"ward": resident["ward"]})
    ).json()
    assert "review_overdue" in {a["code"] for a in listing[0]["alerts"]}
    overview = (await staff.get(f"/api/facilities/{resident['facility_id']}/overview")).json()
    assert goal["id"] in {x["goal_id"] for x in overview["reviews_overdue"]}
    preview = (
        await staff.get(
            f"/api/facilities/{resident['facility_id']}/handovers/preview", params={"ward": resident["ward"]}
        )
    ).json()
    assert any("护理计划评估逾期" in a["reasons"] for a in preview["summary"]["attention"])

    r = await staff.post(f"/api/care-goals/{goal['id']}/reviews", json={"outcome": "continued"})
    assert (r.status_code, r.json()["code"]) == (400, "care_goal.next_review_required")
    r = await staff.post(
        f"/api/care-goals/{goal['id']}/reviews",
        json={
            "outcome": "continued",
            "note": "参加 3 次，继续",
            "next_review_on": str(today() + dt.timedelta(days=30)),
        },
    )
    assert r.status_code == 201, r.text
    [reviewed] = r.json()["goals"]
    assert reviewed["overdue"] is False and reviewed["last_reviewed_on"] == str(today())
    assert reviewed["reviews"][0]["note"] == "参加 3 次，继续"
    r = await staff.post(f"/api/care-goals/{goal['id']}/reviews", json={"outcome": "achieved"})
    assert r.status_code == 201 and r.json()["goals"][0]["status"] == "achieved"
    r = await staff.post(f"/api/care-goals/{goal['id']}/reviews", json={"outcome": "achieved"})
    assert (r.status_code, r.json()["code"]) == (409, "care_goal.closed")


# --- daily records and ward rounds ------------------------------------------------------------------


async def test_a_bedside_record_is_stored_once(api) -> None:
    from providers.tables import CareRecord

    staff = api("kangning_staff")
    resident = await admit(api)
    rid = resident["id"]
    body = record_body(
        "mood_behaviour", "日间观察", observation="agitated", details="午后兴奋话多，经安抚好转", concern=True
    )
    first = await staff.post(f"/api/residents/{rid}/records", json=body)
    assert first.status_code == 201, first.text
    out = first.json()
    assert (
        out["observation_label"] == "兴奋激越"
        and out["service"] is None
        and out["details"] == "午后兴奋话多，经安抚好转"
    )
    replay = await staff.post(f"/api/residents/{rid}/records", json=body)
    assert replay.status_code == 200 and replay.json()["id"] == out["id"]
    assert await CareRecord.count().where(CareRecord.id == uuid.UUID(out["id"])) == 1
    changed = await staff.post(f"/api/residents/{rid}/records", json=body | {"details": "改了"})
    assert (changed.status_code, changed.json()["code"]) == (409, "care_record.conflict")

    # Ratings belong to meals, sleep and mood; a meal needs one.
    r = await staff.post(f"/api/residents/{rid}/records", json=record_body("meal", "午餐"))
    assert (r.status_code, r.json()["code"]) == (400, "care_record.observation_required")
    assert "全部进食" in r.json()["message"]
    r = await staff.post(f"/api/residents/{rid}/records", json=record_body("treatment", "医生查房", observation="good"))
    assert (r.status_code, r.json()["code"]) == (400, "care_record.observation_not_allowed")
    r = await staff.post(
        f"/api/residents/{rid}/records",
        json=record_body("treatment", "医生查房", performed_at=(now() + dt.timedelta(hours=1)).isoformat()),
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident.time_in_future")
    r = await staff.post(
        f"/api/residents/{rid}/records",
        json=record_body("treatment", "医生查房", performed_at=(now() - dt.timedelta(days=5)).isoformat()),
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident.not_in_stay")  # admitted 3 days ago
    r = await staff.post(f"/api/residents/{rid}/records", json=record_body("treatment", "医生查房"))
    assert r.status_code == 201 and r.json()["service"] == "treatment"

    page = (await staff.get(f"/api/residents/{rid}/records")).json()
    assert page["total"] == 2 and {i["kind"] for i in page["items"]} == {"mood_behaviour", "treatment"}
    listing = (
        await staff.get(f"/api/facilities/{resident['facility_id']}/residents", params={"ward": resident["ward"]})
    ).json()
    assert set(listing[0]["recorded_today"]) == {"treatment", "mood_behaviour"}
    assert "concern" in {a["code"] for a in listing[0]["alerts"]}


async def test_a_ward_round_records_everyone_at_once_and_a_replay_stores_once(api, rehab) -> None:
    from providers.tables import CareRecord, WardRound

    staff = api("kangning_staff")
    ward = new_ward()
    residents = [await admit(api, ward=ward) for _ in range(3)]
    facility_id = residents[0]["facility_id"]
    body = {
        "id": str(uuid.uuid4()),
        "ward": ward,
        "kind": "rehabilitation",
        "activity": "工娱治疗",
        "performed_at": (now() - dt.timedelta(minutes=30)).isoformat(),
        "resident_ids": [r["id"] for r in residents],
    }
    first = await staff.post(f"/api/facilities/{facility_id}/ward-rounds", json=body)
    assert first.status_code == 201, first.text
    out = first.json()
    assert sorted(out["resident_ids"]) == sorted(r["id"] for r in residents) and len(out["record_ids"]) == 3
    replay = await staff.post(
        f"/api/facilities/{facility_id}/ward-rounds", json=body | {"resident_ids": body["resident_ids"][::-1]}
    )
    assert replay.status_code == 200 and replay.json()["record_ids"] == out["record_ids"]
    round_id = uuid.UUID(out["id"])
    assert await WardRound.count().where(WardRound.id == round_id) == 1
    assert await CareRecord.count().where(CareRecord.ward_round == round_id) == 3
    changed = await staff.post(f"/api/facilities/{facility_id}/ward-rounds", json=body | {"activity": "音乐治疗"})
    assert (changed.status_code, changed.json()["code"]) == (409, "ward_round.conflict")
    # Each resident's own record shows the round's entry.
    page = (await staff.get(f"/api/residents/{residents[1]['id']}/records")).json()
    assert page["items"][0]["ward_round_id"] == out["id"] and page["items"][0]["service"] == "rehabilitation"

    # All or nothing: one resident of another facility spoils the round, and nothing is stored.
    stranger = await admit(api, staff=rehab["staff"], facility_id=rehab["facility_id"])
    bad = body | {"id": str(uuid.uuid4()), "resident_ids": [residents[0]["id"], stranger["id"]]}
    r = await staff.post(f"/api/facilities/{facility_id}/ward-rounds", json=bad)
    assert (r.status_code, r.json()["code"]) == (400, "ward_round.invalid")
    assert r.json()["fields"][0]["field"] == "resident_ids[1]"
    assert await WardRound.count().where(WardRound.id == uuid.UUID(bad["id"])) == 0
    # Another facility's staff cannot record a round in this hospital at all.
    r = await api(rehab["staff"]).post(f"/api/facilities/{facility_id}/ward-rounds", json=bad)
    assert (r.status_code, r.json()["code"]) == (404, "facility.not_found")


# --- medication administration -----------------------------------------------------------------------


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment:%H:%M}"


async def test_doses_given_refused_overdue_and_recorded_once(api) -> None:
    from providers.tables import DoseRecord

    staff = api("kangning_staff")
    resident = await admit(api)
    rid, facility_id = resident["id"], resident["facility_id"]
    t = now().replace(second=0, microsecond=0)
    late, recent, coming = t - dt.timedelta(hours=3), t - dt.timedelta(minutes=30), t + dt.timedelta(hours=1)
    r = await staff.post(
        f"/api/residents/{rid}/medications",
        json={
            "drug": "利培酮片",
            "dose": "2 mg",
            "route": "oral",
            "times": [_hhmm(late), _hhmm(recent), _hhmm(coming)],
            "starts_on": str(today() - dt.timedelta(days=1)),
            "prescribed_by": "测试医生",
        },
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["active"] is True and order["drug"] == "利培酮片"

    due = (await staff.get(f"/api/facilities/{facility_id}/doses/due", params={"ward": resident["ward"]})).json()
    mine = sorted((d for d in due if d["order_id"] == order["id"]), key=lambda d: d["scheduled_for"])
    assert [d["overdue"] for d in mine] == [True, False, False], due
    overdue, second, _ = mine
    assert overdue["drug"] == "利培酮片" and overdue["resident_id"] == rid
    only_overdue = (
        await staff.get(
            f"/api/facilities/{facility_id}/doses/due", params={"ward": resident["ward"], "overdue_only": True}
        )
    ).json()
    assert [d["scheduled_for"] for d in only_overdue if d["order_id"] == order["id"]] == [overdue["scheduled_for"]]

    given = {"order_id": order["id"], "scheduled_for": overdue["scheduled_for"], "outcome": "given"}
    first = await staff.post("/api/doses", json=given)
    assert first.status_code == 201, first.text
    assert first.json()["outcome_label"] == "已服药" and first.json()["overdue"] is False
    replay = await staff.post("/api/doses", json=given)
    assert replay.status_code == 200
    assert await DoseRecord.count().where(DoseRecord.order == order["id"]) == 1
    clash = await staff.post("/api/doses", json=given | {"outcome": "missed", "reason": "记错了"})
    assert (clash.status_code, clash.json()["code"]) == (409, "dose.already_recorded")
    assert "已服药" in clash.json()["message"]

    refused = {"order_id": order["id"], "scheduled_for": second["scheduled_for"], "outcome": "refused"}
    r = await staff.post("/api/doses", json=refused)
    assert (r.status_code, r.json()["code"]) == (400, "dose.reason_required")
    assert r.json()["message"] == "记录“拒服”时请填写原因。" and r.json()["fields"][0]["field"] == "reason"
    r = await staff.post("/api/doses", json=refused | {"reason": "患者拒绝服药，劝说无效"})
    assert r.status_code == 201 and r.json()["reason"] == "患者拒绝服药，劝说无效"
    assert await DoseRecord.count().where(DoseRecord.order == order["id"]) == 2

    r = await staff.post(
        "/api/doses",
        json={"order_id": order["id"], "scheduled_for": (t - dt.timedelta(minutes=7)).isoformat(), "outcome": "given"},
    )
    assert (r.status_code, r.json()["code"]) == (400, "dose.not_scheduled")

    # The rest of the list: what is left is the coming dose, not overdue.
    due = (await staff.get(f"/api/facilities/{facility_id}/doses/due", params={"ward": resident["ward"]})).json()
    left = [d for d in due if d["order_id"] == order["id"]]
    assert len(left) == 1 and left[0]["overdue"] is False
    day = (await staff.get(f"/api/residents/{rid}/doses")).json()
    outcomes = sorted((d["outcome"] or "") for d in day if d["order_id"] == order["id"])
    assert outcomes.count("given") == 1 and outcomes.count("refused") == 1

    # The handover names the refusal; the shift's home screen counts what is still due.
    preview = (
        await staff.get(f"/api/facilities/{facility_id}/handovers/preview", params={"ward": resident["ward"]})
    ).json()
    assert [d["outcome"] for d in preview["summary"]["doses_not_given"]] == ["refused"]

    stop = await staff.post(
        f"/api/medications/{order['id']}/stop", json={"ends_on": str(today()), "reason": "医嘱停药"}
    )
    assert stop.status_code == 200 and stop.json()["ends_on"] == str(today())


# --- incidents --------------------------------------------------------------------------------------


def incident_body(resident_id: int, severity: str = "serious", kind: str = "self_harm_risk") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "resident_id": resident_id,
        "kind": kind,
        "severity": severity,
        "occurred_at": (now() - dt.timedelta(minutes=15)).isoformat(),
        "description": "言语流露轻生念头（测试）",
        "actions": "专人看护，医生会诊",
    }


async def test_a_serious_incident_reaches_the_county_auditor_and_stays(api) -> None:
    from carepact.notifications.tables import Notification
    from providers.tables import Incident

    staff = api("kangning_staff")
    resident = await admit(api)
    body = incident_body(resident["id"])
    r = await staff.post("/api/incidents", json=body)
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["auditor_notified"] is True and incident["severity_label"] == "严重"
    assert (await staff.post("/api/incidents", json=body)).status_code == 200  # a replay
    assert await Incident.count().where(Incident.id == uuid.UUID(body["id"])) == 1
    assert await Notification.count().where(Notification.key == f"incident:{body['id']}:county_auditor") == 1

    # The 金台区 auditor sees it on their home page; the link opens the incident.
    page = (await api("jintai_auditor").get("/api/notifications", params={"unread_only": True})).json()
    [note] = [n for n in page["items"] if body["id"] in n["link"]]
    assert note["severity"] == "serious" and note["title"].startswith("严重事件：自伤自杀风险")
    assert resident["ward"] in note["title"] and "测试住院人" not in note["title"]  # no name on the home page
    assert note["link"] == f"#/residents/{resident['id']}/incidents/{body['id']}"
    unread = page["unread"]
    assert (await api("jintai_auditor").post(f"/api/notifications/{note['id']}/read")).status_code == 204
    after = (await api("jintai_auditor").get("/api/notifications")).json()
    assert after["unread"] == unread - 1 and next(n for n in after["items"] if n["id"] == note["id"])["read"] is True
    shown = (await api("jintai_auditor").get(f"/api/incidents/{body['id']}")).json()
    assert shown["description"] == "言语流露轻生念头（测试）"
    # Nobody outside 金台区's auditors is notified, and nobody can open another's notification.
    for username in ("weibin_auditor", "city_admin", "kangning_staff", "jintai_township"):
        items = (await api(username).get("/api/notifications", params={"page_size": 200})).json()["items"]
        assert all(body["id"] not in n["link"] for n in items), username
    r = await api("weibin_auditor").post(f"/api/notifications/{note['id']}/read")
    assert (r.status_code, r.json()["code"]) == (404, "notification.not_found")

    # Incidents are never deleted or edited.
    for method in ("DELETE", "PATCH", "PUT"):
        r = await staff.request(method, f"/api/incidents/{body['id']}", json={})
        assert r.status_code == 405, (method, r.text)
    assert await Incident.count().where(Incident.id == uuid.UUID(body["id"])) == 1

    # A minor incident notifies nobody.
    minor = incident_body(resident["id"], "minor", "fall")
    r = await staff.post("/api/incidents", json=minor)
    assert r.status_code == 201 and r.json()["auditor_notified"] is False
    assert await Notification.count().where(Notification.key == f"incident:{minor['id']}:county_auditor") == 0
    listing = (
        await staff.get(f"/api/facilities/{resident['facility_id']}/incidents", params={"page_size": 200})
    ).json()
    ours = [i for i in listing["items"] if i["resident_id"] == resident["id"]]
    assert len(ours) == 2 and all(i["description"] == "有记录" for i in ours)


async def test_the_demo_hospital_has_a_serious_incident_on_the_auditors_page(api, world) -> None:
    items = (await api("jintai_auditor").get("/api/notifications", params={"page_size": 200})).json()["items"]
    assert any(n["kind"] == "resident.incident_serious" for n in items)
    assert not any(
        n["kind"] == "resident.incident_serious"
        for n in (await api("weibin_auditor").get("/api/notifications", params={"page_size": 200})).json()["items"]
    )


# --- handover ---------------------------------------------------------------------------------------


async def test_handover_summarises_the_ward_since_the_last_one(api) -> None:
    staff = api("kangning_staff")
    ward = new_ward()
    calm, troubled = await admit(api, ward=ward, admitted_on=today()), await admit(api, ward=ward, admitted_on=today())
    facility_id = calm["facility_id"]
    await staff.post("/api/incidents", json=incident_body(troubled["id"], "moderate", "aggression"))
    await staff.post(
        f"/api/residents/{troubled['id']}/records",
        json=record_body("mood_behaviour", "日间观察", observation="agitated", concern=True),
    )
    await staff.post(f"/api/residents/{calm['id']}/records", json=record_body("nursing_hygiene", "晨间护理"))

    r = await staff.post(f"/api/facilities/{facility_id}/handovers", json={"ward": ward, "note": "三床夜间加强巡视"})
    assert r.status_code == 201, r.text
    handover = r.json()
    s = handover["summary"]
    assert s["residents_present"] == 2 and handover["note"] == "三床夜间加强巡视"
    assert [i["kind"] for i in s["incidents"]] == ["aggression"]
    assert s["records_by_kind"]["mood_behaviour"] == 1 and s["records_by_kind"]["nursing_hygiene"] == 1
    attention = {a["resident_id"]: a["reasons"] for a in s["attention"]}
    assert any(r.startswith("发生事件：冲动伤人") for r in attention[troubled["id"]])
    assert "标记需关注：情绪与行为" in attention[troubled["id"]]
    assert {a["resident_id"] for a in s["admissions"]} == {calm["id"], troubled["id"]}

    # The next handover starts where this one ended, and a snapshot does not change afterwards.
    preview = (await staff.get(f"/api/facilities/{facility_id}/handovers/preview", params={"ward": ward})).json()
    assert preview["period_start"] == handover["period_end"] and preview["summary"]["incidents"] == []
    listed = (await staff.get(f"/api/facilities/{facility_id}/handovers", params={"ward": ward})).json()
    assert listed[0]["id"] == handover["id"] and listed[0]["summary"] == s
    assert (await api("jintai_auditor").get(f"/api/facilities/{facility_id}/handovers", params={"ward": ward})).json()[
        0
    ]["note"] == "三床夜间加强巡视"
    assert (await api("city_admin").get(f"/api/facilities/{facility_id}/handovers", params={"ward": ward})).json()[0][
        "note"
    ] == "有记录"
    r = await staff.get(f"/api/facilities/{facility_id}/handovers/preview", params={"ward": "没有这个病区"})
    assert (r.status_code, r.json()["code"]) == (404, "ward.not_found")
    r = await api("jintai_auditor").post(f"/api/facilities/{facility_id}/handovers", json={"ward": ward})
    assert r.status_code == 403


async def test_the_demo_hospital_hands_over_every_ward_every_day(api, world) -> None:
    from providers.tables import Handover

    facility_id = await hospital_id()
    listed = (await api("kangning_staff").get(f"/api/facilities/{facility_id}/handovers", params={"limit": 100})).json()
    wards = {h["ward"] for h in listed}
    assert wards >= {"一病区", "二病区", "三病区", "四病区"}
    assert await Handover.count().where(Handover.facility == facility_id) >= 4 * 6


# --- wristband QR -------------------------------------------------------------------------------------


async def test_the_wristband_qr_opens_the_record_and_an_old_card_is_refused(api, client, rehab) -> None:
    staff = api("kangning_staff")
    resident = await demo_resident(2)
    token = await wristband_token(api, resident["id"])
    assert token.split(".")[1] == "r"
    check = (await staff.get("/api/cards/resident-check", params={"token": token})).json()
    assert check["ok"] is True and check["resident_id"] == resident["id"]
    assert "*" in check["name_masked"] and check["ward"] == resident["ward"]
    # The camera opens /c/<token>: a wristband goes to the resident page, not the household check-in.
    r = await client.get(f"/c/{token}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == f"/#/residents/scan?card={token}"
    opened = await staff.get(f"/api/residents/{check['resident_id']}")
    assert opened.status_code == 200 and opened.json()["card_version"] >= 1

    r = await staff.post(f"/api/residents/{resident['id']}/card", json={"reason": "腕带磨损，补发"})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == opened.json()["card_version"] + 1
    old = (await staff.get("/api/cards/resident-check", params={"token": token})).json()
    assert old["ok"] is False and old["code"] == "card.revoked" and "已作废" in old["message"]
    new = await wristband_token(api, resident["id"])
    assert (await staff.get("/api/cards/resident-check", params={"token": f"http://x/c/{new}"})).json()["ok"] is True

    # A door card is not a wristband; another facility's staff learn nothing from a scan.
    from carepact.cards.tables import CardSubject
    from carepact.cards.tokens import sign

    door = sign(CardSubject.household, 1, 1)
    assert (await staff.get("/api/cards/resident-check", params={"token": door})).json()["code"] == "card.wrong_kind"
    foreign = (await api(rehab["staff"]).get("/api/cards/resident-check", params={"token": new})).json()
    assert foreign == {
        "ok": False,
        "code": "card.not_in_scope",
        "message": foreign["message"],
        "resident_id": None,
        "name_masked": None,
        "ward": None,
        "bed": None,
    }
    # Only the facility's staff make wristbands.
    assert (await api("jintai_auditor").get(f"/api/residents/{resident['id']}/card.png")).status_code == 403


# --- monthly summary -----------------------------------------------------------------------------------


async def test_monthly_summary_and_its_printable_page(api) -> None:
    staff = api("kangning_staff")
    resident = await demo_resident(1)
    month = f"{today():%Y-%m}"
    seq = await head_seq()
    r = await staff.get(f"/api/residents/{resident['id']}/summary", params={"month": month})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["bed_days"] == today().day and s["month_complete"] is False  # admitted long before this month
    assert s["contract_code"] == resident["contract_code"] != ""
    services = {x["service"]: x for x in s["services"]}
    assert set(services) == {"treatment", "rehabilitation", "custodial_nursing"}
    # The demo's last week of records: daily nursing and treatment on every day recorded so far.
    assert services["custodial_nursing"]["days"] >= min(today().day, 6)
    assert s["doses"]["scheduled"] >= s["doses"]["given"] > 0
    assert {k["kind"] for k in s["records_by_kind"] if k["count"]} >= {"meal", "nursing_hygiene", "treatment"}
    assert len(s["goals"]) == 3

    page = await staff.get(f"/api/residents/{resident['id']}/summary/print", params={"month": month})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "集中供养人员月度照护小结" in text and '<link rel="stylesheet" href="/print.css">' in text
    assert "<style" not in text and "<script" not in text and " style=" not in text
    assert f"本月在院 {s['bed_days']} 个床日" in text
    views = [e["detail"]["view"] for e in await audit_events("resident.read", seq, str(resident["id"]))]
    assert views == ["summary", "summary_print"]

    r = await staff.get(f"/api/residents/{resident['id']}/summary", params={"month": "2026-13"})
    assert r.status_code == 400


async def test_vocabulary_lists_the_choices_in_chinese(api) -> None:
    v = (await api("kangning_staff").get("/api/residents/vocabulary")).json()
    assert {c["label"] for c in v["care_kinds"]} >= {"治疗", "康复", "进餐", "睡眠"}
    assert "工娱治疗" in v["activities"]["rehabilitation"]
    assert {o["code"] for o in v["dose_outcomes"]} == {"given", "refused", "held", "missed"}
    assert {o["code"] for o in v["incident_kinds"]} >= {"fall", "aggression", "self_harm_risk", "absconding"}


async def test_the_demo_hospital_has_a_week_of_records_for_every_resident(api, world) -> None:
    from providers.tables import CareRecord, DoseRecord

    facility_id = await hospital_id()
    residents = (await api("kangning_staff").get(f"/api/facilities/{facility_id}/residents")).json()
    assert len(residents) >= world.residents
    since = today() - dt.timedelta(days=6)
    from carepact.dates import day_start

    for r in residents[: world.residents]:
        if r["admitted_on"] > str(since):
            continue
        kinds = {
            row["kind"]
            for row in await CareRecord.select(CareRecord.kind).where(
                (CareRecord.resident == r["id"]) & (CareRecord.performed_at >= day_start(since))
            )
        }
        assert kinds >= {"nursing_hygiene", "meal", "sleep", "treatment", "mood_behaviour"}, r
        assert await DoseRecord.count().where(DoseRecord.resident == r["id"]) > 0
