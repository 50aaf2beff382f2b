"""The care home's pages in headless Chromium against a live `carepact serve`: a nurse scans a
resident's real wristband QR image, records doses, runs a ward round, reports a serious incident
and hands over; the county auditor sees the incident's notification on the home page."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from tests.chromium import Phone, launch, log_in, open_site, phone_page, playwright_available
from tests.providers.resident_helpers import admit, new_ward, now, today, wristband_token

pytestmark = pytest.mark.browser

RESIDENT_SCREENSHOT = "/tmp/carepact-resident.png"
CARE_HOME_SCREENSHOT = "/tmp/carepact-care-home.png"
ROUND_SCREENSHOT = "/tmp/carepact-ward-round.png"
AUDITOR_SCREENSHOT = "/tmp/carepact-auditor-notifications.png"
DRUG = "奥氮平片"


@pytest.fixture(scope="module")
async def playwright() -> AsyncIterator[object]:
    playwright_available()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="module")
async def browser(playwright) -> AsyncIterator[object]:
    chromium = await launch(playwright)
    yield chromium
    await chromium.close()


def two_dose_times() -> list[str]:
    """Two times today (Beijing) that may be recorded now: this minute and its neighbour."""
    moment = now().replace(second=0, microsecond=0)
    other = moment - dt.timedelta(minutes=1) if moment.hour or moment.minute else moment + dt.timedelta(minutes=1)
    return [f"{m:%H:%M}" for m in sorted([moment, other])]


async def signed_in(browser, base_url: str, username: str) -> Phone:
    phone = await phone_page(browser)
    await open_site(phone, base_url)
    await log_in(phone, username)
    return phone


async def test_nurse_scans_records_rounds_reports_and_the_auditor_is_told(browser, live_server, api):
    from playwright.async_api import expect

    staff = api("kangning_staff")
    ward = new_ward()
    first = await admit(api, ward=ward)
    second = await admit(api, ward=ward)
    rid = first["id"]
    times = two_dose_times()
    r = await staff.post(
        f"/api/residents/{rid}/medications",
        json={"drug": DRUG, "dose": "5 mg", "route": "oral", "times": times, "starts_on": str(today())},
    )
    assert r.status_code == 201, r.text
    card = await staff.get(f"/api/residents/{rid}/card.png")
    assert card.status_code == 200 and card.headers["content-type"] == "image/png"

    phone = await signed_in(browser, live_server, "kangning_staff")
    page = phone.page
    await expect(page.get_by_role("link", name="扫腕带", exact=True)).to_be_visible()
    await expect(page.locator(".ward", has=page.get_by_text(ward, exact=True))).to_be_visible()
    await page.screenshot(path=CARE_HOME_SCREENSHOT, full_page=True)

    # 扫腕带 → 拍照识别: the wristband's real QR image, decoded by jsQR inside the page.
    await page.get_by_role("link", name="扫腕带", exact=True).click()
    await page.get_by_label("拍照识别").set_input_files(
        files=[{"name": "wristband.png", "mimeType": "image/png", "buffer": card.content}]
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("测***人")
    assert page.url.endswith(f"#/residents/{rid}")
    await expect(page.locator(".resident-place")).to_contain_text(first["bed"])

    # A dose given; another refused without a reason is refused by the server, in Chinese.
    given_at, refused_at = times
    await page.get_by_role("button", name=f"{given_at} {DRUG} 给药").click()
    await expect(page.get_by_text(f"已记录：{given_at} {DRUG} 给药。")).to_be_visible()
    await page.get_by_role("button", name=f"{refused_at} {DRUG} 拒服").click()
    await expect(page.get_by_text("请填写未服药的原因")).to_be_visible()
    doses = {d["scheduled_for"][11:16]: d for d in (await staff.get(f"/api/residents/{rid}/doses")).json()}
    assert doses[given_at]["outcome"] == "given" and doses[given_at]["recorded_by_name"]
    assert doses[refused_at]["outcome"] is None

    # A serious incident, which the county auditor is told of.
    await page.get_by_label("事件类别").select_option(label="跌倒")
    await page.get_by_label("严重程度").select_option(label="严重")
    await page.get_by_label("经过").fill("午餐后在走廊跌倒，右膝擦伤，已消毒包扎。")
    await page.get_by_role("button", name="提交事件报告").click()
    await expect(page.get_by_text("事件已上报：跌倒（严重）。已通知县区审核员。")).to_be_visible()
    [incident] = (await staff.get(f"/api/residents/{rid}/incidents")).json()
    assert incident["severity"] == "serious" and incident["auditor_notified"] is True
    await page.screenshot(path=RESIDENT_SCREENSHOT, full_page=True)

    # 病区查房: everyone ticked, one record each; pressing again saves nothing more.
    await page.get_by_role("link", name="‹ 首页").click()
    await page.get_by_role("link", name="病区查房", exact=True).click()
    await page.get_by_label("病区", exact=True).select_option(ward)
    await expect(page.get_by_role("checkbox")).to_have_count(2)
    for box in await page.get_by_role("checkbox").all():
        await expect(box).to_be_checked()
    await page.get_by_label("记录类别").select_option(label="康复")
    await page.get_by_label("项目").select_option("手工作业训练")
    await page.get_by_label("详细情况").fill("折纸、串珠，配合良好。")
    save = page.get_by_role("button", name="保存查房记录")
    async with page.expect_response(lambda r: "/ward-rounds" in r.url) as answer:
        await save.click()
    assert (await answer.value).status == 201
    await expect(page.get_by_text("已保存查房记录：康复 · 手工作业训练，共 2 人")).to_be_visible()
    await page.screenshot(path=ROUND_SCREENSHOT, full_page=True)
    async with page.expect_response(lambda r: "/ward-rounds" in r.url) as answer:
        await save.click()
    assert (await answer.value).status == 200  # the same round again: stored once
    for resident in (first, second):
        items = (await staff.get(f"/api/residents/{resident['id']}/records")).json()["items"]
        rounds = [x for x in items if x["ward_round_id"] is not None]
        assert [(x["activity"], x["details"]) for x in rounds] == [("手工作业训练", "折纸、串珠，配合良好。")]

    # 交班: the preview names the incident; confirming saves it.
    await page.get_by_role("link", name="‹ 首页").click()
    await page.locator(".ward", has=page.get_by_text(ward, exact=True)).get_by_role("link", name="交班").click()
    await expect(page.get_by_role("heading", name="交班预览")).to_be_visible()
    await expect(page.locator(".handover")).to_contain_text("跌倒（严重）")
    await page.get_by_role("button", name="确认交班").click()
    await expect(page.get_by_text(f"已交班：{ward}")).to_be_visible()

    # An old wristband (reissued since) is refused in plain Chinese.
    old = await wristband_token(api, second["id"])
    r = await staff.post(f"/api/residents/{second['id']}/card", json={"reason": "腕带损坏"})
    assert r.status_code == 201, r.text
    await page.goto(f"{live_server}/#/residents/scan?card={old}")
    await expect(page.get_by_text("此腕带无法使用")).to_be_visible()
    assert phone.problems == []
    await page.context.close()

    # The county auditor of 金台区 sees the notification and follows it to the incident.
    link = f"#/residents/{rid}/incidents/{incident['id']}"
    auditor = await signed_in(browser, live_server, "jintai_auditor")
    page = auditor.page
    notification = page.locator(".notification", has=page.locator(f'a[href="{link}"]'))
    await expect(notification).to_contain_text("严重事件：跌倒")
    await page.screenshot(path=AUDITOR_SCREENSHOT, full_page=True)
    await notification.get_by_role("link").click()
    await expect(page.locator(".incident-target")).to_contain_text("午餐后在走廊跌倒")
    await page.get_by_role("link", name="‹ 首页").click()
    notification = page.locator(".notification", has=page.locator(f'a[href="{link}"]'))
    await notification.get_by_role("button", name="标为已读").click()
    await expect(notification).to_have_count(0)
    unread = (await api("jintai_auditor").get("/api/notifications?unread_only=true&page_size=200")).json()["items"]
    assert link not in [n["link"] for n in unread]
    assert auditor.problems == []
    await page.context.close()

    # The auditor of another district is not.
    other = await signed_in(browser, live_server, "weibin_auditor")
    page = other.page
    await expect(page.get_by_role("heading", name="通知")).to_be_visible()
    await expect(page.locator(".notifications .loading")).to_have_count(0)
    await expect(page.locator(f'a[href="{link}"]')).to_have_count(0)
    assert other.problems == []
    await page.context.close()
