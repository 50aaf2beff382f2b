"""Home-care visits: card scans, idempotent check-in/out, clock skew and trust flags."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import uuid

import pytest
import zxingcpp
from PIL import Image

SH = dt.timezone(dt.timedelta(hours=8))


def now() -> dt.datetime:
    return dt.datetime.now(SH)


async def my_households(api, worker: str) -> list[dict]:
    """The worker's list for today, least recently visited first, without the households other
    tests registered (they have no home location to check in at)."""
    from carepact.registry.tables import Household

    r = await api(worker).get("/api/visits/today")
    assert r.status_code == 200, r.text
    located = {h["id"] for h in await Household.select(Household.id).where(Household.latitude.is_not_null())}
    return [h for h in r.json() if h["household_id"] in located]


async def household_location(household_id: int) -> tuple[float, float]:
    from carepact.registry.tables import Household

    row = await Household.select(Household.latitude, Household.longitude).where(Household.id == household_id).first()
    return row["latitude"], row["longitude"]


def decode_qr(png: bytes) -> str:
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return result.text


async def card_token(api, household_id: int) -> str:
    """The token printed on the household's door card, read back from the real QR image."""
    r = await api("city_admin").get(f"/api/households/{household_id}/card.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    url = decode_qr(r.content)
    assert "/c/" in url
    return url.rsplit("/c/", 1)[1]


def checkin_body(household_id: int, **extra) -> dict:
    t = now()
    body = {
        "id": str(uuid.uuid4()),
        "household_id": household_id,
        "device_time": t.isoformat(),
        "sent_at": t.isoformat(),
    }
    body.update(extra)
    return body


async def test_card_png_decodes_to_a_token_that_checks_out(api) -> None:
    [first, *_] = await my_households(api, "weibin_worker")
    token = await card_token(api, first["household_id"])
    check = (await api("weibin_worker").get("/api/cards/check", params={"token": token})).json()
    assert check["ok"] is True and check["household_id"] == first["household_id"]
    assert all("*" in n for n in check["names_masked"])
    # The same card is refused to a worker the household is not assigned to.
    other = (await api("jintai_worker").get("/api/cards/check", params={"token": token})).json()
    assert other["ok"] is False and other["code"] == "card.not_assigned"


async def test_visit_with_qr_is_stored_once_and_replays_are_idempotent(api) -> None:
    households = await my_households(api, "weibin_worker")
    h = households[1]
    lat, lng = await household_location(h["household_id"])
    token = await card_token(api, h["household_id"])
    body = checkin_body(
        h["household_id"], card_token=token, position={"latitude": lat, "longitude": lng, "accuracy_m": 10}
    )
    # Checked in 45 minutes ago without signal; the phone sends it now.
    body["device_time"] = (now() - dt.timedelta(minutes=45)).isoformat()
    worker = api("weibin_worker")
    first = await worker.post("/api/visits/checkin", json=body)
    assert first.status_code == 201, first.text
    visit = first.json()
    assert visit["presence"] == "qr" and visit["review"] == "not_required"
    assert visit["checkin_distance_m"] == 0
    # The answer is built from what was stored, without reading it back: it is what a read gives.
    assert (await worker.get(f"/api/visits/{visit['id']}")).json() == visit
    # A retry from the phone (new sent_at, same content) finds the stored visit.
    retry = await worker.post("/api/visits/checkin", json=body | {"sent_at": now().isoformat()})
    assert retry.status_code == 200 and retry.json()["id"] == visit["id"]
    # The same id with different content is refused, not merged.
    changed = await worker.post("/api/visits/checkin", json=body | {"manual_note": "不同内容"})
    assert changed.status_code == 409 and changed.json()["code"] == "visit.conflict"
    from providers.tables import Visit

    assert await Visit.count().where(Visit.id == uuid.UUID(visit["id"])) == 1

    out = {
        "device_time": now().isoformat(),
        "sent_at": now().isoformat(),
        "services": ["cleaning", "psychological_comfort"],
        "notes": "打扫卫生，陪聊半小时",
    }
    done = await worker.post(f"/api/visits/{visit['id']}/checkout", json=out)
    assert done.status_code == 200, done.text
    detail = done.json()
    assert detail["status"] == "completed" and detail["duration_minutes"] >= 44
    assert [s["label"] for s in detail["services"]] == ["家政保洁", "心理慰藉"]
    codes = {f["code"] for f in detail["flags"]}
    assert "short_visit" not in codes and "no_photo" in codes  # no photos were taken in this test
    again = await worker.post(f"/api/visits/{visit['id']}/checkout", json=out | {"sent_at": now().isoformat()})
    assert again.status_code == 200
    assert (await worker.post(f"/api/visits/{visit['id']}/checkout", json=out | {"notes": "改了"})).status_code == 409


async def test_reissued_card_makes_the_old_card_fail_with_a_clear_message(api) -> None:
    households = await my_households(api, "weibin_worker")
    h = households[2]
    old = await card_token(api, h["household_id"])
    township = api("city_admin")
    r = await township.post(f"/api/households/{h['household_id']}/card", json={"reason": "卡片丢失，补发"})
    assert r.status_code == 201, r.text
    assert r.json()["version"] >= 2
    check = (await api("weibin_worker").get("/api/cards/check", params={"token": old})).json()
    assert check["ok"] is False and check["code"] == "card.revoked" and "作废" in check["message"]
    # A visit submitted (say, from offline) with the old card is kept, but flagged and sent for review.
    visit = (
        await api("weibin_worker").post("/api/visits/checkin", json=checkin_body(h["household_id"], card_token=old))
    ).json()
    assert visit["presence"] == "qr_failed" and visit["review"] == "awaiting_approval"
    assert any(f["code"] == "qr_revoked" and f["severity"] == "serious" for f in visit["flags"])


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "card.token_forged"),
        (lambda t: t[:20], "card.token_malformed"),
        (lambda t: t + "x" * 200, "card.token_malformed"),
    ],
)
async def test_tampered_tokens_are_refused(api, mangle, code) -> None:
    [h, *_] = await my_households(api, "weibin_worker")
    token = await card_token(api, h["household_id"])
    check = (await api("weibin_worker").get("/api/cards/check", params={"token": mangle(token)})).json()
    assert check["ok"] is False and check["code"] == code


async def test_token_for_another_household_is_flagged(api) -> None:
    hs = await my_households(api, "weibin_worker")
    token_of_other = await card_token(api, hs[3]["household_id"])
    visit = (
        await api("weibin_worker").post(
            "/api/visits/checkin", json=checkin_body(hs[4]["household_id"], card_token=token_of_other)
        )
    ).json()
    assert any(f["code"] == "qr_wrong_household" for f in visit["flags"])


async def test_manual_entry_needs_reason_and_approval_then_locks(api) -> None:
    hs = await my_households(api, "weibin_worker")
    worker = api("weibin_worker")
    missing = await worker.post("/api/visits/checkin", json=checkin_body(hs[5]["household_id"]))
    assert missing.status_code == 400 and missing.json()["code"] == "visit.presence_required"
    visit = (
        await worker.post("/api/visits/checkin", json=checkin_body(hs[5]["household_id"], manual_reason="card_damaged"))
    ).json()
    assert visit["presence"] == "manual" and visit["review"] == "awaiting_approval"
    assert any(f["code"] == "manual_entry" for f in visit["flags"])
    assert (await worker.post(f"/api/visits/{visit['id']}/review", json={"decision": "approve"})).status_code == 403
    queue = (await api("renhe_manager").get("/api/visits", params={"review": "awaiting_approval"})).json()
    assert visit["id"] in [v["id"] for v in queue["items"]]
    assert (
        await api("kangle_manager").post(f"/api/visits/{visit['id']}/review", json={"decision": "approve"})
    ).status_code == 404
    approved = await api("renhe_manager").post(
        f"/api/visits/{visit['id']}/review", json={"decision": "approve", "comment": "已电话核实"}
    )
    assert approved.status_code == 200 and approved.json()["review"] == "approved"
    again = await api("renhe_manager").post(
        f"/api/visits/{visit['id']}/review", json={"decision": "reject", "comment": "x"}
    )
    assert again.status_code == 409


async def test_offline_visit_keeps_device_time_and_measures_skew(api) -> None:
    hs = await my_households(api, "weibin_worker")
    # Captured two hours ago on a phone whose clock runs 10 minutes fast, sent now.
    skew = dt.timedelta(minutes=10)
    device_checkin = now() - dt.timedelta(hours=2) + skew
    body = checkin_body(hs[6]["household_id"], manual_reason="person_not_home")
    body |= {"device_time": device_checkin.isoformat(), "sent_at": (now() + skew).isoformat()}
    visit = (await api("weibin_worker").post("/api/visits/checkin", json=body)).json()
    assert abs(visit["clock_skew_seconds"] + 600) <= 5
    checkin_at = dt.datetime.fromisoformat(visit["checkin_at"])
    assert abs((checkin_at - (now() - dt.timedelta(hours=2))).total_seconds()) < 10
    assert any(f["code"] == "clock_skew" for f in visit["flags"])
    assert (await api("weibin_worker").get(f"/api/visits/{visit['id']}")).json() == visit


async def test_far_checkin_and_impossible_travel_are_flagged(api) -> None:
    hs = await my_households(api, "jintai_worker")
    worker = api("jintai_worker")
    lat, lng = await household_location(hs[0]["household_id"])
    far = checkin_body(
        hs[0]["household_id"], manual_reason="card_missing", position={"latitude": lat + 0.05, "longitude": lng}
    )
    v1 = (await worker.post("/api/visits/checkin", json=far)).json()
    assert any(f["code"] == "far_from_home" and f["evidence"]["distance_m"] > 5000 for f in v1["flags"])
    # Move the second household 50 km away, then check in there one minute later.
    from carepact.registry.tables import Household

    await Household.update({Household.latitude: lat + 0.45}).where(Household.id == hs[1]["household_id"])
    t = now() + dt.timedelta(minutes=1)
    v2 = (
        await worker.post(
            "/api/visits/checkin",
            json=checkin_body(hs[1]["household_id"], manual_reason="card_missing")
            | {"device_time": t.isoformat(), "sent_at": t.isoformat()},
        )
    ).json()
    travel = [f for f in v2["flags"] if f["code"] == "impossible_travel"]
    assert travel and travel[0]["evidence"]["previous_visit"] == v1["id"]
    for answer in (v1, v2):  # flags with their evidence, the household's names: as a read gives them
        assert (await worker.get(f"/api/visits/{answer['id']}")).json() == answer


async def test_visits_are_scoped(api) -> None:
    hs = await my_households(api, "weibin_worker")
    visit = (
        await api("weibin_worker").post(
            "/api/visits/checkin", json=checkin_body(hs[7]["household_id"], manual_reason="other", manual_note="测试")
        )
    ).json()
    for user, status in [
        ("jintai_auditor", 404),
        ("jintai_worker", 404),
        ("kangle_manager", 404),
        ("kangning_staff", 404),
        ("weibin_auditor", 200),
        ("renhe_manager", 200),
        ("city_admin", 200),
    ]:
        r = await api(user).get(f"/api/visits/{visit['id']}")
        assert r.status_code == status, (user, r.text)
    # A worker cannot check in for a household that is not theirs.
    theirs = (await my_households(api, "jintai_worker"))[2]
    r = await api("weibin_worker").post(
        "/api/visits/checkin", json=checkin_body(theirs["household_id"], manual_reason="other", manual_note="x")
    )
    assert r.status_code == 404


async def test_card_sheet_job_makes_decodable_cards_for_a_village(api) -> None:
    import asyncio

    from carepact.registry.tables import Household

    h = await Household.select(Household.village).where(Household.village._.path.like("%/610302/%")).first()
    admin = api("weibin_auditor")
    r = await admin.post("/api/cards/sheets", json={"region_id": h["village"]})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(100):
        job = (await admin.get(f"/api/jobs/{job['id']}")).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert (await api("jintai_auditor").get(f"/api/jobs/{job['id']}")).status_code == 404
    html = (await admin.get(job["download_url"])).content.decode()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    count = await Household.count().where(Household.village == h["village"])
    assert len(images) == count == job["result"]["count"]
    from carepact.cards.services import verify
    from carepact.cards.tables import CardSubject

    for png in images:
        token = decode_qr(base64.b64decode(png)).rsplit("/c/", 1)[1]
        claim = await verify(token, CardSubject.household)
        assert await Household.exists().where((Household.id == claim.subject_id) & (Household.village == h["village"]))
    assert "*" in html and "户编号" in html


async def test_locked_visit_is_corrected_by_a_new_record_that_counts_instead(api) -> None:
    from contracts.delivery import verified_visit
    from providers.tables import Visit

    # A new worker with one household: no other visit of theirs can raise a travel flag.
    manager = api("renhe_manager")
    hs = await my_households(api, "weibin_worker")
    staff = await manager.post(
        "/api/staff",
        json={"username": f"fix_{uuid.uuid4().hex[:8]}", "display_name": "更正测试", "password": "pass-word-123"},
    )
    assert staff.status_code == 201, staff.text
    from carepact.accounts.services import issue_api_token
    from carepact.dates import local_today

    moved = await manager.post(
        "/api/assignments",
        json={
            "household_id": hs[8]["household_id"],
            "worker_id": staff.json()["account_id"],
            "starts_on": local_today().isoformat(),
        },
    )
    assert moved.status_code == 201, moved.text
    user_client = type(manager)  # the api fixture's client class, with another account's token
    worker = user_client(manager.client, await issue_api_token(staff.json()["account_id"], "tests"))
    body = checkin_body(hs[8]["household_id"], manual_reason="card_damaged")
    body["device_time"] = (now() - dt.timedelta(minutes=40)).isoformat()
    visit = (await worker.post("/api/visits/checkin", json=body)).json()
    out = {"device_time": now().isoformat(), "sent_at": now().isoformat(), "services": ["cleaning"]}
    assert (await worker.post(f"/api/visits/{visit['id']}/checkout", json=out)).status_code == 200
    # Awaiting review: it is approved or rejected, not corrected.
    early = await manager.post(
        f"/api/visits/{visit['id']}/corrections", json={"services": ["personal_care"], "reason": "漏记"}
    )
    assert early.status_code == 409 and early.json()["code"] == "visit.not_correctable"
    await manager.post(f"/api/visits/{visit['id']}/review", json={"decision": "approve"})
    assert (
        await worker.post(f"/api/visits/{visit['id']}/corrections", json={"services": ["cleaning"], "reason": "x" * 3})
    ).status_code == 403
    fix = await manager.post(
        f"/api/visits/{visit['id']}/corrections",
        json={"services": ["cleaning", "personal_care"], "reason": "漏记了照料护理"},
    )
    assert fix.status_code == 201, fix.text
    correction = fix.json()
    assert correction["corrects"] == visit["id"] and correction["id"] != visit["id"]
    assert {s["code"] for s in correction["services"]} == {"cleaning", "personal_care"}
    assert any(f["code"] == "manual_entry" for f in correction["flags"])  # the evidence carries over
    original = (await manager.get(f"/api/visits/{visit['id']}")).json()
    assert original["corrected_by"] == correction["id"] and original["can_correct"] is False
    assert [s["code"] for s in original["services"]] == ["cleaning"]  # the original is unchanged
    again = await manager.post(
        f"/api/visits/{visit['id']}/corrections", json={"services": ["cleaning"], "reason": "再次更正"}
    )
    assert again.status_code == 409 and again.json()["code"] == "visit.already_corrected"
    ids = [uuid.UUID(visit["id"]), uuid.UUID(correction["id"])]
    counted = await Visit.select(Visit.id).where(verified_visit() & Visit.id.is_in(ids))
    assert [r["id"] for r in counted] == [uuid.UUID(correction["id"])]
