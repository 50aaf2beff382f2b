"""The agreement's pages, driven as the county and the provider drive them: headless Chromium against a
live `carepact serve` on the demo city, under the server's Content-Security-Policy, on a phone.

The pilot household in 渭滨区 whose caregiver skipped a week: its calendar shows the missed days, the
county auditor finds the gap in the queue by township, clause, state and month, the provider
explains it with a reason, the auditor upholds it, and it shows as upheld with its deduction. Around
it, the API the pages need (Chinese names and measures, the township filter, visits recorded but not
proven) and a county that never sees another county's findings."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from carepact.dates import SHANGHAI, local_today
from carepact.privacy import mask_name
from tests.chromium import Phone, log_in, open_site, phone_page
from tests.contracts.agreement_helpers import (
    AUDITOR,
    MANAGER,
    WORKER,
    at,
    findings,
    new_household,
    sign,
    this_monday,
    visit_on,
)
from tests.contracts.helpers import region

OTHER_AUDITOR = "jintai_auditor"  # 金台区
OTHER_MANAGER = "kangle_manager"  # a provider that does not care for the pilot
SKIPPED = this_monday() - dt.timedelta(days=14)  # the Monday of the week the demo caregiver skipped
SHOTS = "/tmp/carepact-{}.png"


def yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"¥{whole:,}.{cents:02d}"


def month_text(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


def months_between(earlier: str, later: str) -> int:
    (y1, m1), (y2, m2) = (map(int, earlier.split("-")), map(int, later.split("-")))
    return (y2 * 12 + m2) - (y1 * 12 + m1)


@pytest.fixture(scope="module")
async def pilot(world) -> list[dict]:
    """The demo's pilot households in 渭滨区 by code: skipped a week, ill, hospitalised, a short visit, ..."""
    from contracts.tables import Agreement

    rows = (
        await Agreement.select(Agreement.household, Agreement.household._.code)
        .where(Agreement.starts_on == this_monday() - dt.timedelta(weeks=5))
        .order_by(Agreement.household._.code)
    )
    return [{"id": r["household"], "code": r["household.code"]} for r in rows]


@pytest.fixture(scope="module")
async def skipper(pilot) -> dict:
    """The first pilot household: its caregiver skipped the week before last."""
    return pilot[0]


async def townships_of(api, user: str = AUDITOR) -> list[dict]:
    r = await api(user).get("/api/regions", params={"level": "township", "page_size": 200})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def gap_of_the_skipped_week(api, household: int) -> dict:
    """The 上门间隔 finding the skipped week left (its overdue days lie in that week)."""
    [gap, *_] = [
        f
        for f in await findings(api, household, clause_id="longest_gap")
        if SKIPPED <= dt.date.fromisoformat(f["period_start"]) <= SKIPPED + dt.timedelta(days=6)
    ]
    return gap


# --- the API the pages read ---------------------------------------------------------------------


async def test_findings_speak_chinese_and_filter_by_township(api, skipper) -> None:
    vocabulary = (await api(MANAGER).get("/api/findings/vocabulary")).json()
    assert vocabulary["clauses"]["visits_per_week"] == "上门照料频次"
    assert vocabulary["clauses"]["longest_gap"] == "上门间隔"
    assert vocabulary["reasons"]["person_away"] == "服务对象外出（走亲访友等）"
    assert vocabulary["services"]["cleaning"] == "家政保洁"
    assert vocabulary["evidence_problems"]["photos_short"] == "照片不足"

    week = next(
        f for f in await findings(api, skipper["id"], clause_id="visits_per_week") if f["period_start"] == str(SKIPPED)
    )
    assert week["clause_title"] == "上门照料频次"
    assert re.fullmatch(r"每周上门不少于 \d 天", week["expected_text"]) and week["actual_text"] == "上门 0 天"
    household = (await api(AUDITOR).get(f"/api/households/{skipper['id']}")).json()
    name = household["persons"][0]["name"]
    assert week["person_name_masked"] == mask_name(name) and "*" in week["person_name_masked"]
    gap = await gap_of_the_skipped_week(api, skipper["id"])
    assert gap["expected_text"] == f"两次上门间隔不超过 {gap['expected']} 天"
    assert gap["actual_text"] == f"最长 {gap['actual']} 天无人上门"

    # The township filter: the skipper's township holds the finding, another township of the county not.
    townships = await townships_of(api)
    own = next(t for t in townships if t["name"] == household["township_name"])
    other = next(t for t in townships if t["id"] != own["id"])
    listed = (
        await api(AUDITOR).get(
            "/api/findings", params={"township_id": own["id"], "clause_id": "longest_gap", "page_size": 200}
        )
    ).json()
    assert gap["id"] in [f["id"] for f in listed["items"]]
    assert all(f["household_code"].startswith(own["code"]) for f in listed["items"])
    elsewhere = (await api(AUDITOR).get("/api/findings", params={"township_id": other["id"], "page_size": 200})).json()
    assert gap["id"] not in [f["id"] for f in elsewhere["items"]]


async def test_another_county_and_another_provider_get_nothing(api, skipper) -> None:
    gap = await gap_of_the_skipped_week(api, skipper["id"])
    weibin = await region("610302")
    theirs = api(OTHER_AUDITOR)
    assert (await theirs.get("/api/findings", params={"county_id": weibin["id"]})).json()["total"] == 0
    every = (await theirs.get("/api/findings", params={"page_size": 200})).json()["items"]
    assert not any(f["household_code"].startswith("610302") for f in every)
    for path in (
        f"/api/findings/{gap['id']}",
        f"/api/households/{skipper['id']}/compliance",
        f"/api/households/{skipper['id']}/agreement",
    ):
        r = await theirs.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["message"]  # said in Chinese
    r = await theirs.post(f"/api/findings/{gap['id']}/decide", json={"decision": "uphold", "comment": "越权审核"})
    assert r.status_code == 404
    r = await api(OTHER_MANAGER).post(
        f"/api/findings/{gap['id']}/explain", json={"reason": "other", "text": "不是本机构的户"}
    )
    assert r.status_code == 404
    assert (await api(OTHER_MANAGER).get("/api/findings", params={"household_id": skipper["id"]})).json()["total"] == 0
    # Nothing was changed by the refused attempts.
    assert (await api(AUDITOR).get(f"/api/findings/{gap['id']}")).json()["state"] == gap["state"]


async def test_the_calendar_tells_a_visit_not_yet_proven_from_no_visit(api, world) -> None:
    household = await new_household(api, "able")
    start = local_today() - dt.timedelta(days=20)
    assert (await sign(api, household, start)).status_code == 201
    proven_day, manual_day = local_today() - dt.timedelta(days=10), local_today() - dt.timedelta(days=5)
    proven = await visit_on(api, household, at(proven_day), ["personal_care"])
    # Entered by hand (the card was damaged): it waits for the manager's approval and does not count.
    manual_id = str(uuid.uuid4())
    now = dt.datetime.now(SHANGHAI)
    r = await api(WORKER).post(
        "/api/visits/checkin",
        json={
            "id": manual_id,
            "household_id": household,
            "device_time": at(manual_day).isoformat(),
            "sent_at": now.isoformat(),
            "manual_reason": "card_damaged",
        },
    )
    assert r.status_code == 201, r.text
    r = await api(WORKER).post(
        f"/api/visits/{manual_id}/checkout",
        json={
            "device_time": (at(manual_day) + dt.timedelta(minutes=45)).isoformat(),
            "sent_at": now.isoformat(),
            "services": ["personal_care"],
        },
    )
    assert r.status_code == 200, r.text

    async def days(user: str, day: dt.date) -> tuple[dict, dict]:
        r = await api(user).get(f"/api/households/{household}/compliance", params={"month": f"{day:%Y-%m}"})
        assert r.status_code == 200, r.text
        calendar = r.json()
        return {d["date"]: d for d in calendar["days"]}, calendar

    by_date, calendar = await days(AUDITOR, manual_day)
    manual = by_date[str(manual_day)]
    assert manual["unverified_visit_ids"] == [manual_id] and not manual["visited"] and manual["visit_ids"] == []
    assert calendar["can_evaluate"]
    by_date, calendar = await days(MANAGER, proven_day)
    assert by_date[str(proven_day)]["visit_ids"] == [proven["id"]]
    assert by_date[str(proven_day)]["unverified_visit_ids"] == [] and by_date[str(proven_day)]["status"] == "visited"
    assert not calendar["can_evaluate"]  # the provider cannot re-run the engine
    # Approved by the manager, it counts: the day turns visited and nothing is left unproven.
    r = await api(MANAGER).post(
        f"/api/visits/{manual_id}/review", json={"decision": "approve", "comment": "已电话核实"}
    )
    assert r.status_code == 200, r.text
    by_date, _ = await days(AUDITOR, manual_day)
    assert by_date[str(manual_day)]["visit_ids"] == [manual_id]
    assert by_date[str(manual_day)]["unverified_visit_ids"] == [] and by_date[str(manual_day)]["status"] == "visited"


# --- the browser ----------------------------------------------------------------------------------


async def signed_in(browser, live_server: str, username: str, **overrides) -> Phone:
    from playwright.async_api import expect

    phone = await phone_page(browser, **overrides)
    await open_site(phone, live_server)
    await log_in(phone, username)
    await expect(phone.page.get_by_role("heading", name=re.compile("^您好"))).to_be_visible()
    return phone


def tile(page, title: str):
    return page.locator(".tile", has=page.get_by_text(title, exact=True))


@pytest.mark.browser
async def test_a_skipped_week_from_the_calendar_to_an_upheld_deduction(
    browser, live_server, api, pilot, skipper
) -> None:
    from playwright.async_api import expect

    gap = await gap_of_the_skipped_week(api, skipper["id"])
    assert gap["state"] == "open"
    month = gap["month"]
    calendar = (await api(AUDITOR).get(f"/api/households/{skipper['id']}/compliance", params={"month": month})).json()
    missed = [d["date"] for d in calendar["days"] if d["status"] == "missed"]
    assert missed
    detail = (await api(AUDITOR).get(f"/api/findings/{gap['id']}")).json()
    assert set(detail["evidence"]["missing_days"]) <= set(missed)
    household = (await api(AUDITOR).get(f"/api/households/{skipper['id']}")).json()
    agreement = (await api(AUDITOR).get(f"/api/households/{skipper['id']}/agreement")).json()

    # The county auditor on a 360 px phone: from the household to its agreement and calendar.
    auditor = await signed_in(browser, live_server, AUDITOR, viewport={"width": 360, "height": 740})
    page = auditor.page
    await page.goto(f"{live_server}/#/households/{skipper['id']}")
    await page.get_by_role("link", name="服务协议与履约日历").click()
    await expect(page.get_by_role("heading", name="服务协议与履约", exact=True)).to_be_visible()
    await expect(page.locator(".facts").first).to_contain_text(agreement["code"])
    await expect(page.locator(".facts").first).to_contain_text("第 1 版")
    await expect(page.locator(".agreement-fee")).to_have_text(f"{yuan(agreement['monthly_fee_fen'])} / 月")
    await expect(page.locator(".facts").first).to_contain_text(agreement["township_office_name"])
    await expect(page.locator(".facts").first).to_contain_text(agreement["caregiver_name"])
    await expect(page.get_by_role("link", name="打印协议文本")).to_have_attribute("href", agreement["print_url"])
    for _ in range(months_between(month, f"{local_today():%Y-%m}")):
        await page.get_by_role("link", name="‹ 上月").click()
    await expect(page.locator(".month-nav-current")).to_have_text(month_text(month))
    cells = page.locator(".calendar button.day")
    await expect(cells).to_have_count(len(calendar["days"]))
    await expect(page.locator(".calendar .day-missed")).to_have_count(len(missed))
    for day in detail["evidence"]["missing_days"]:
        await expect(page.locator(f'.calendar [data-date="{day}"]')).to_have_class(re.compile(r"\bday-missed\b"))
    visited = [d["date"] for d in calendar["days"] if d["status"] == "visited"]
    await expect(page.locator(".calendar .day-visited")).to_have_count(len(visited))
    # Fits the phone: seven columns, nothing wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    box = await page.locator(".calendar").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360
    await page.locator(f'.calendar [data-date="{missed[0]}"]').click()
    await expect(page.locator(".day-detail")).to_contain_text("应上门未上门")
    await page.get_by_text("图例", exact=True).click()
    await expect(page.locator(".calendar-legend")).to_contain_text("应上门未上门")
    month_findings = page.locator("section", has=page.get_by_role("heading", name=re.compile("的违约发现"))).locator(
        ".finding-row"
    )
    await expect(month_findings).to_have_count(len(calendar["findings"]))
    await expect(page.locator(f'a.finding-row[href="#/findings/{gap["id"]}"]')).to_contain_text("上门间隔")
    await page.screenshot(path=SHOTS.format("agreement-calendar"), full_page=True)

    # Checked again on demand: the same findings, nothing new.
    await page.get_by_role("button", name="立即核查本月").click()
    await expect(page.locator(".notice-success")).to_contain_text(
        f"核查完成：本月违约发现 {len(calendar['findings'])} 条，与上次核查相同"
    )

    # The queue, filtered to the township, the clause, open findings and the month.
    await page.goto(f"{live_server}/#/")
    await tile(page, "违约发现").click()
    await expect(page.get_by_role("heading", name="违约发现", exact=True)).to_be_visible()
    await page.get_by_label("乡镇（街道）").select_option(label=household["township_name"])
    await page.get_by_label("协议条款").select_option(label="上门间隔")
    await page.get_by_label("处理状态").select_option(label="待说明")
    await page.get_by_label("所属月份").fill(month)
    await page.get_by_role("button", name="筛选").click()
    township = next(t for t in await townships_of(api) if t["name"] == household["township_name"])
    expected = (
        await api(AUDITOR).get(
            "/api/findings",
            params={"township_id": township["id"], "clause_id": "longest_gap", "state": "open", "month": month},
        )
    ).json()
    await expect(page.locator(".results-total")).to_have_text(f"共 {expected['total']} 条")
    row = page.locator(f'a.finding-row[href="#/findings/{gap["id"]}"]')
    await expect(row).to_contain_text(gap["person_name_masked"])
    await expect(row).to_contain_text(skipper["code"])
    await expect(row).to_contain_text(f"应达：{gap['expected_text']}；实际：{gap['actual_text']}")
    await expect(row).to_contain_text(f"如维持扣减 {yuan(gap['amount_fen'])}")
    assert household["persons"][0]["name"] not in await row.inner_text()
    await page.screenshot(path=SHOTS.format("findings-queue"), full_page=True)
    await row.click()
    await expect(page.get_by_role("heading", name="上门间隔", level=1)).to_be_visible()
    await expect(page.locator(".day-chips-missed li")).to_have_count(len(detail["evidence"]["missing_days"]))
    await expect(page.locator(".gaps")).to_contain_text("无人上门")
    await expect(page.get_by_role("heading", name="审核")).to_be_visible()  # an open finding may be decided
    await expect(page.get_by_role("heading", name="说明原因")).to_have_count(0)

    # The provider's manager: its own findings, the explanation with a reason.
    manager = await signed_in(browser, live_server, MANAGER)
    mpage = manager.page
    await tile(mpage, "违约发现").click()
    await expect(mpage.get_by_label("服务机构")).to_have_count(0)  # its own findings only
    await mpage.get_by_label("协议条款").select_option(label="上门间隔")
    await mpage.get_by_role("button", name="筛选").click()
    await mpage.locator(f'a.finding-row[href="#/findings/{gap["id"]}"]').click()
    await expect(mpage.get_by_role("heading", name="说明原因")).to_be_visible()
    await expect(mpage.get_by_role("heading", name="审核")).to_have_count(0)
    await mpage.get_by_role("button", name="提交说明").click()  # nothing chosen: said where it belongs
    await expect(mpage.locator("#explain-reason-error")).to_have_text("请选择原因")
    await mpage.get_by_label("原因类别").select_option(label="服务对象外出（走亲访友等）")
    await mpage.get_by_label("情况说明").fill("老人去女儿家住了一周，社工电话联系过，有通话记录。")
    await mpage.get_by_role("button", name="提交说明").click()
    await expect(mpage.locator(".notice-success")).to_have_text("说明已提交，等待县（区）民政局审核。")
    await expect(mpage.locator(".history")).to_contain_text("服务机构说明：服务对象外出（走亲访友等）")
    await expect(mpage.locator(".finding-badges")).to_contain_text("已说明，待审核")
    await mpage.screenshot(path=SHOTS.format("finding-explained"), full_page=True)
    # A finding about one visit links to that visit's record (photos, flags, times).
    [short] = await findings(api, pilot[3]["id"], as_user=MANAGER, clause_id="shortest_visit")
    [visit] = (await api(MANAGER).get(f"/api/findings/{short['id']}")).json()["visits"]
    await mpage.goto(f"{live_server}/#/findings/{short['id']}")
    await expect(mpage.locator(".evidence-visit")).to_contain_text(f"{visit['duration_minutes']} 分钟")
    await mpage.locator(f'.evidence-visit a[href="#/visits/{visit["id"]}"]').click()
    await expect(mpage.get_by_role("heading", name="疑点（1）")).to_be_visible()
    await mpage.go_back()
    await mpage.go_back()
    await expect(mpage.get_by_role("heading", name="上门间隔", level=1)).to_be_visible()

    # The auditor reads the explanation and upholds the finding.
    await page.reload()
    await expect(page.locator(".history")).to_contain_text("老人去女儿家住了一周")
    await expect(page.locator(".finding-badges")).to_contain_text("已说明，待审核")
    await page.get_by_label(f"属实，扣减（扣 {yuan(gap['amount_fen'])}）").check()
    await page.get_by_label("审核意见").fill("外出未提前报备，也未另行安排上门，维持扣减。")
    await page.get_by_role("button", name="提交审核结论").click()
    await expect(page.locator(".notice-success")).to_have_text("审核结论已保存：属实，扣减。")
    await expect(page.locator(".finding-badges")).to_contain_text("属实，扣减")
    await expect(page.locator(".finding-amount")).to_have_text(f"扣减 {yuan(gap['amount_fen'])}")
    await expect(page.get_by_role("heading", name="审核")).to_have_count(0)  # final
    await page.screenshot(path=SHOTS.format("finding-upheld"), full_page=True)
    decided = (await api(AUDITOR).get(f"/api/findings/{gap['id']}")).json()
    assert (
        decided["state"] == "upheld" and decided["decided_by_name"] and decided["explanation_reason"] == "person_away"
    )

    # The provider sees the decision, with nothing left to press; the queue shows it upheld.
    await mpage.reload()
    await expect(mpage.locator(".finding-badges")).to_contain_text("属实，扣减")
    await expect(mpage.locator(".history")).to_contain_text("维持扣减")
    await expect(mpage.get_by_role("heading", name="说明原因")).to_have_count(0)
    await page.goto(f"{live_server}/#/findings?state=upheld&clause_id=longest_gap&month={month}")
    await expect(page.locator(f'a.finding-row[href="#/findings/{gap["id"]}"]')).to_contain_text(
        f"扣减 {yuan(gap['amount_fen'])}"
    )
    assert auditor.problems == [] and manager.problems == []
    await auditor.page.context.close()
    await manager.page.context.close()
