"""The agreement through the API: templates, signing, printing, sick episodes, evaluation on the
demo city and on households made here, re-runs, late visits, the calendar, and a new version."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from carepact.dates import local_today
from contracts.agreement.rules import bundled_source
from tests.contracts.agreement_helpers import (
    AUDITOR,
    MANAGER,
    TOWNSHIP,
    WORKER,
    at,
    evaluate,
    findings,
    new_household,
    sign,
    this_monday,
    visit_on,
    week_key,
)

# --- the demo city ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def pilot(world) -> list[dict]:
    """The demo's pilot households in 渭滨区 (agreements from five weeks back), by code:
    skipped a week, ill with no visit, hospitalised, a short visit, a manual visit, a brief illness."""
    from contracts.tables import Agreement

    rows = (
        await Agreement.select(Agreement.household, Agreement.household._.code, Agreement.starts_on)
        .where(Agreement.starts_on == this_monday() - dt.timedelta(weeks=5))
        .order_by(Agreement.household._.code)
    )
    assert len(rows) == 6
    return rows


async def test_every_demo_household_has_an_agreement_under_version_one(api, world) -> None:
    from carepact.registry.tables import Household
    from contracts.tables import Agreement

    assert await Agreement.count() == await Household.count()
    page = (await api("city_admin").get("/api/agreements", params={"template_version": 1, "page_size": 1})).json()
    assert page["total"] == await Household.count()
    weibin = (await api(AUDITOR).get("/api/agreements", params={"page_size": 200})).json()
    assert weibin["total"] and all(a["household_code"].startswith("610302") for a in weibin["items"])


async def test_the_demo_caregiver_who_skipped_a_week_shows_the_missing_days(api, pilot) -> None:
    skipper = pilot[0]["household"]
    rerun = await evaluate(api, skipper)
    # The demo already ran the engine: running it again adds and removes nothing.
    assert rerun["created"] == 0 and rerun["removed"] == 0 and rerun["findings"] >= 1
    skipped = this_monday() - dt.timedelta(days=14)
    weekly = [f for f in await findings(api, skipper, clause_id="visits_per_week")]
    [week] = [f for f in weekly if f["period_start"] == str(skipped)]
    assert week["actual"] == 0 and week["expected"] >= 1 and week["state"] == "open"
    detail = (await api(AUDITOR).get(f"/api/findings/{week['id']}")).json()
    assert detail["evidence"]["missing_days"] == [str(skipped + dt.timedelta(days=n)) for n in range(7)]
    assert "这一周上门 0 天" in detail["summary"] and detail["clause_title"] == "上门照料频次"
    assert detail["amount_fen"] == detail["monthly_fee_fen"] * 500 * detail["units"] // 10_000


async def test_a_reported_illness_with_no_visit_in_the_window_is_a_finding(api, pilot) -> None:
    ill = pilot[1]["household"]
    await evaluate(api, ill)
    found = await findings(api, ill, clause_id="ill_at_home")
    [first] = [f for f in found if f["expected"] == 24 and f["units"] == 1 and f["actual"] is None]
    detail = (await api(AUDITOR).get(f"/api/findings/{first['id']}")).json()
    reported = dt.datetime.fromisoformat(detail["evidence"]["reported_at"])
    assert dt.datetime.fromisoformat(detail["evidence"]["deadline"]) - reported == dt.timedelta(hours=24)
    assert "24 小时内无人上门" in detail["summary"] and detail["visits"] == []
    daily = [f for f in found if f["id"] != first["id"]]
    assert daily and sum(f["units"] for f in daily) == 2  # the two whole days since the report
    # The calendar shows those days as sick and missed.
    month = f"{local_today() - dt.timedelta(days=1):%Y-%m}"
    days = {
        d["date"]: d for d in (await api(AUDITOR).get(f"/api/households/{ill}/compliance?month={month}")).json()["days"]
    }
    yesterday = days[str(local_today() - dt.timedelta(days=1))]
    assert yesterday["sick"] == "ill_at_home" and yesterday["required"] and yesterday["status"] == "missed"


async def test_the_hospital_stay_with_accompaniment_and_the_other_pilots(api, pilot) -> None:
    _, _, hospital, short, manual, recovered = (p["household"] for p in pilot)
    for household in (hospital, short, manual, recovered):
        await evaluate(api, household)
    assert not await findings(api, hospital, clause_id="hospitalised")
    assert [f["clause_id"] for f in await findings(api, short)] == ["shortest_visit"]
    assert await findings(api, manual) == [] and await findings(api, recovered) == []
    episodes = (await api(AUDITOR).get("/api/sick-episodes", params={"household_id": hospital})).json()["items"]
    assert [(e["kind"], e["end_reason"]) for e in episodes] == [("hospitalised", "recovered")]


async def test_the_compliance_calendar_of_the_skipped_week(api, pilot) -> None:
    skipper = pilot[0]["household"]
    skipped = this_monday() - dt.timedelta(days=14)
    r = await api(AUDITOR).get(f"/api/households/{skipper}/compliance", params={"month": f"{skipped:%Y-%m}"})
    assert r.status_code == 200, r.text
    calendar = r.json()
    days = {d["date"]: d for d in calendar["days"]}
    assert calendar["agreement"]["template_version"] == 1
    assert days[str(skipped)]["week_short"] and days[str(skipped)]["status"] in ("week_short", "missed")
    assert any(d["status"] == "visited" for d in calendar["days"])
    assert {f["clause_id"] for f in calendar["findings"]} >= {"visits_per_week"}
    assert (await api("jintai_auditor").get(f"/api/households/{skipper}/compliance")).status_code == 404


# --- templates -------------------------------------------------------------------------------------


async def test_templates_are_read_by_everyone_and_published_only_by_the_city(api, world) -> None:
    listed = (await api(WORKER).get("/api/agreement-templates")).json()
    assert [t["version"] for t in listed][-1] == 1
    v1 = (await api(MANAGER).get("/api/agreement-templates/1")).json()
    assert [c["kind"] for c in v1["clauses"]] == [
        "visits_per_week",
        "longest_gap",
        "ill_at_home",
        "hospitalised",
        "services_per_month",
        "visit_evidence",
        "shortest_visit",
    ]
    assert v1["clauses"][0]["rule"]["per_week"] == {"able": 1, "partly_unable": 3, "unable": 7}
    assert v1["fees_fen"]["unable"] == 120000 and v1["per_breach_bp"] == 500
    source = await api(WORKER).get(v1["source_url"])
    assert source.status_code == 200 and source.text == bundled_source(1)
    refused = await api(AUDITOR).post("/api/agreement-templates", json={"source": bundled_source(1)})
    assert refused.status_code == 403
    again = await api("city_admin").post("/api/agreement-templates", json={"source": bundled_source(1)})
    assert again.status_code == 409 and again.json()["code"] == "agreement.template_version"


async def test_a_malformed_template_is_refused_with_its_line(api, world) -> None:
    source = bundled_source(1).replace("version = 1", "version = 99").replace("unable = 7", "unable = 8")
    line = source.splitlines().index("unable = 8") + 1
    r = await api("city_admin").post("/api/agreement-templates", json={"source": source})
    assert r.status_code == 400 and r.json()["code"] == "agreement.template_invalid"
    assert f"第 {line} 行" in r.json()["message"] and r.json()["fields"][0]["field"] == "source"
    check = (await api("city_admin").post("/api/agreement-templates/check", json={"source": source})).json()
    assert (check["ok"], check["line"], check["path"]) == (False, line, "clauses[0].per_week.unable")
    broken = (await api("city_admin").post("/api/agreement-templates/check", json={"source": "version = ["})).json()
    assert broken["ok"] is False and broken["line"] == 1 and broken["code"] == "syntax"


# --- signing and printing --------------------------------------------------------------------------


async def test_only_the_township_signs_and_re_signing_ends_the_old_agreement(api, world) -> None:
    household = await new_household(api, "partly_unable")
    start = this_monday() - dt.timedelta(weeks=3)
    assert (await sign(api, household, start, as_user="city_admin")).status_code == 403
    assert (await sign(api, household, start, as_user=AUDITOR)).status_code == 403
    assert (await sign(api, household, start, as_user="jintai_township")).status_code == 404
    r = await sign(api, household, start)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["care_level"] == "partly_unable" and first["monthly_fee_fen"] == 60000
    assert first["caregiver_kind"] == "provider" and first["status"] == "in_force"
    assert "不少于3天" in first["clauses"][0]["text"] and first["per_breach_fen"] == 3000
    assert (await sign(api, household, start)).status_code == 409  # starts no later than the one in force
    r = await sign(
        api,
        household,
        local_today(),
        caregiver={"kind": "person", "name": "王秀英", "phone": "13800000000"},
    )
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["caregiver_name"] == "王秀英" and second["code"].endswith("-02")
    old = (await api(TOWNSHIP).get(f"/api/agreements/{first['id']}")).json()
    assert old["status"] == "superseded" and old["ends_on"] == str(local_today() - dt.timedelta(days=1))
    assert old["superseded_by_id"] == second["id"]
    now = (await api(WORKER).get(f"/api/households/{household}/agreement")).json()
    assert now["id"] == second["id"]
    bad = await sign(api, household, local_today() + dt.timedelta(days=5), caregiver={"kind": "person", "name": "x"})
    assert bad.status_code == 400 and bad.json()["fields"][0]["field"] == "caregiver.name"


async def test_the_signed_agreement_prints_as_a_chinese_a4_page(api, pilot) -> None:
    agreement = (await api(AUDITOR).get(f"/api/households/{pilot[0]['household']}/agreement")).json()
    r = await api(AUDITOR).get(agreement["print_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<link rel="stylesheet" href="/print.css">' in html and "style=" not in html and "<script" not in html
    assert "宝鸡市分散供养特困人员照料服务协议" in html and agreement["code"] in html
    assert "第一条" in html and "上门照料频次" in html and "甲方（乡镇人民政府 / 街道办事处）（盖章）" in html
    assert agreement["person_id_masked"] in html and "*" in agreement["person_id_masked"]
    assert re.search(r"照料护理费为每月¥[\d,]+\.\d\d", html)
    assert (await api("jintai_auditor").get(agreement["print_url"])).status_code == 404


# --- sick episodes ---------------------------------------------------------------------------------


async def test_sick_episodes_switch_and_close(api, world) -> None:
    household = await new_household(api)
    for user, status in [("jintai_worker", 404), ("jintai_township", 404), (MANAGER, 403), (AUDITOR, 403)]:
        r = await api(user).post(f"/api/households/{household}/sick-episodes", json={"kind": "ill_at_home"})
        assert r.status_code == status, (user, r.text)
    reported = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    r = await api(WORKER).post(
        f"/api/households/{household}/sick-episodes", json={"kind": "ill_at_home", "started_at": reported.isoformat()}
    )
    assert r.status_code == 201, r.text
    ill = r.json()
    assert ill["open"] and ill["kind_label"] == "居家患病"
    again = await api(WORKER).post(f"/api/households/{household}/sick-episodes", json={"kind": "ill_at_home"})
    assert again.status_code == 409 and again.json()["code"] == "sick_episode.already_open"
    r = await api(TOWNSHIP).post(
        f"/api/households/{household}/sick-episodes", json={"kind": "hospitalised", "hospital": "宝鸡市中心医院"}
    )
    assert r.status_code == 201, r.text
    stay = r.json()
    listed = (await api(WORKER).get("/api/sick-episodes", params={"household_id": household})).json()["items"]
    assert [(e["kind"], e["end_reason"], e["open"]) for e in listed] == [
        ("hospitalised", None, True),
        ("ill_at_home", "hospitalised", False),
    ]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    assert (
        await api(WORKER).post(f"/api/sick-episodes/{stay['id']}/recover", json={"ended_at": future})
    ).status_code == 400
    r = await api(WORKER).post(f"/api/sick-episodes/{stay['id']}/recover", json={"note": "出院回家"})
    assert r.status_code == 200 and r.json()["end_reason"] == "recovered" and not r.json()["open"]
    assert (await api(WORKER).post(f"/api/sick-episodes/{stay['id']}/recover", json={})).status_code == 409
    assert (await api("jintai_auditor").get("/api/sick-episodes", params={"household_id": household})).json()[
        "total"
    ] == 0


# --- evaluation: re-runs, late visits, jobs, a new version -----------------------------------------


@pytest.fixture(scope="module")
async def unvisited(api, world) -> int:
    """A household (self-care: able) under agreement for three whole weeks, never visited."""
    household = await new_household(api, "able")
    r = await sign(api, household, this_monday() - dt.timedelta(weeks=3))
    assert r.status_code == 201, r.text
    return household


async def test_rerunning_finds_the_same_findings_and_a_late_visit_resolves_one(api, unvisited) -> None:
    first = await evaluate(api, unvisited)
    weekly = {f["period_start"]: f for f in await findings(api, unvisited, clause_id="visits_per_week")}
    weeks = [str(this_monday() - dt.timedelta(weeks=n)) for n in (3, 2, 1)]
    assert set(weekly) == set(weeks)
    again = await evaluate(api, unvisited)
    assert (again["created"], again["updated"], again["removed"], again["resolved"]) == (0, 0, 0, 0)
    assert again["unchanged"] == again["findings"] == first["findings"]
    assert len(await findings(api, unvisited)) == first["findings"]
    # The provider explains the middle week; then visits made offline that week and the next arrive.
    middle, last = weekly[weeks[1]], weekly[weeks[2]]
    r = await api(MANAGER).post(
        f"/api/findings/{middle['id']}/explain",
        json={"reason": "records_delayed", "text": "手机没有信号，记录稍后上传"},
    )
    assert r.status_code == 200 and r.json()["state"] == "explained"
    await visit_on(api, unvisited, at(this_monday() - dt.timedelta(weeks=2) + dt.timedelta(days=2)), ["cleaning"])
    await visit_on(api, unvisited, at(this_monday() - dt.timedelta(days=3)), ["cleaning"])
    after = await evaluate(api, unvisited)
    assert after["resolved"] == 1 and after["removed"] >= 1
    resolved = (await api(AUDITOR).get(f"/api/findings/{middle['id']}")).json()
    assert resolved["state"] == "resolved" and resolved["explanation"] and resolved["resolved_at"]
    assert (await api(AUDITOR).get(f"/api/findings/{last['id']}")).status_code == 404  # open, never acted on: gone
    kept = {f["period_start"] for f in await findings(api, unvisited, clause_id="visits_per_week", state="open")}
    assert kept == {weeks[0]}
    final = await evaluate(api, unvisited)
    assert (final["created"], final["updated"], final["removed"], final["resolved"]) == (0, 0, 0, 0)


async def test_a_county_is_evaluated_as_a_job(api, world) -> None:
    from carepact.registry.tables import Region

    weibin = await Region.select(Region.id).where(Region.code == "610302").first()
    assert (
        await api("jintai_auditor").post("/api/agreement-evaluations", json={"county_id": weibin["id"]})
    ).status_code == 404
    assert (await api(WORKER).post("/api/agreement-evaluations", json={"county_id": weibin["id"]})).status_code == 404
    both = await api(AUDITOR).post("/api/agreement-evaluations", json={"county_id": weibin["id"], "household_id": 1})
    assert both.status_code == 400
    r = await api(AUDITOR).post("/api/agreement-evaluations", json={"county_id": weibin["id"]})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(200):
        job = (await api(AUDITOR).get(f"/api/jobs/{job['id']}")).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["result"]["agreements"] >= 6 and job["result"]["findings"] >= 3
    assert job["result"]["scope"] == "渭滨区"


async def test_a_new_version_leaves_old_agreements_judged_as_before(api, unvisited) -> None:
    before = [
        (f["clause_id"], f["period_start"], f["expected"], f["units"], f["amount_fen"])
        for f in await findings(api, unvisited)
    ]
    source = (
        bundled_source(1)
        .replace("version = 1", "version = 2")
        .replace("able = 1\npartly_unable = 3", "able = 2\npartly_unable = 3")
        .replace("able = 30000", "able = 40000")
        .replace("min_minutes = 30", "min_minutes = 45")
    )
    r = await api("city_admin").post("/api/agreement-templates", json={"source": source, "note": "全自理每周两次"})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["agreements"] == 0
    await evaluate(api, unvisited)
    after = [
        (f["clause_id"], f["period_start"], f["expected"], f["units"], f["amount_fen"])
        for f in await findings(api, unvisited)
    ]
    assert after == before
    # A household signed under version 2 is held to its numbers: two visit days a week, a higher fee,
    # and visits shorter than 45 minutes are flagged at check-out.
    household = await new_household(api, "able")
    r = await sign(api, household, this_monday() - dt.timedelta(weeks=1), version=None)
    assert r.status_code == 201 and r.json()["template_version"] == 2 and r.json()["monthly_fee_fen"] == 40000
    visited = await visit_on(api, household, at(this_monday() - dt.timedelta(days=5)), ["cleaning"], minutes=40)
    assert any(f["code"] == "short_visit" and f["evidence"]["limit_minutes"] == 45 for f in visited["flags"])
    await evaluate(api, household)
    [week] = await findings(api, household, clause_id="visits_per_week")
    assert (week["expected"], week["actual"]) == (2, 1)
    assert week_key(dt.date.fromisoformat(week["period_start"])) == week_key(this_monday() - dt.timedelta(days=7))
