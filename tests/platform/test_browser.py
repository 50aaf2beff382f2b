"""The browser app, driven as a user drives it: headless Chromium on a phone-sized screen
against a live `carepact serve`, under the server's real Content-Security-Policy."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from carepact.privacy import reveal
from carepact.registry.services import ID_CONTEXT
from carepact.registry.tables import Person
from tests.chromium import log_in, open_site
from tests.support import csv_file, csv_row, villages

pytestmark = pytest.mark.browser

FULL_ID_NUMBER = re.compile(r"\d{17}[\dX]")
HOME_SCREENSHOT = "/tmp/carepact-home.png"
HOUSEHOLD_SCREENSHOT = "/tmp/carepact-household.png"


def tile(page, title: str):
    return page.locator(".tile", has=page.get_by_text(title, exact=True))


async def full_id_number(person_id: int) -> str:
    # From the table, not from the API: an API read would itself be the audit row we look for.
    row = await Person.select(Person.id_number_protected).where(Person.id == person_id).first()
    return reveal(row["id_number_protected"], context=ID_CONTEXT)


async def sensitive_reads(api, person_id: int) -> list[dict]:
    response = await api("city_admin").get("/api/audit/events?action=person.read_sensitive&page_size=200")
    assert response.status_code == 200
    return [e for e in response.json()["items"] if e["object_id"] == str(person_id)]


def shanghai_date_label(moment: dt.datetime) -> str:
    day = moment.astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{day.year}年{day.month}月{day.day}日"


async def test_auditor_finds_a_household_and_reads_its_sensitive_record_under_audit(browser, live_server, api, phone):
    from playwright.async_api import expect

    auditor = api("weibin_auditor")
    me = (await auditor.get("/api/auth/me")).json()
    everyone = (await auditor.get("/api/households?page_size=200")).json()
    target = max(everyone["items"], key=lambda h: len(h["names"][0]))
    given_name = target["names"][0][1:]  # part of a name (without the surname), as a clerk types it
    found = (await auditor.get(f"/api/households?q={quote(given_name)}&page_size=200")).json()
    detail = (await auditor.get(f"/api/households/{target['id']}")).json()
    person = detail["persons"][0]
    id_number = await full_id_number(person["id"])
    reads_before = await sensitive_reads(api, person["id"])
    page = phone.page

    await open_site(phone, live_server)
    await log_in(phone, "weibin_auditor")

    # Home: who I am, and what a county auditor can do.
    await expect(page.get_by_role("heading", name=f"您好，{me['display_name']}")).to_be_visible()
    await expect(page.get_by_text(me["role_label"], exact=True)).to_be_visible()
    await expect(page.get_by_text(f"管辖范围：{me['region_name']}")).to_be_visible()
    await expect(tile(page, "分散供养户")).to_contain_text(f"共 {everyone['total']} 户")
    await expect(tile(page, "CSV 导入")).to_be_visible()
    await page.screenshot(path=HOME_SCREENSHOT)

    # The list, then a search by part of a name.
    await tile(page, "分散供养户").click()
    await expect(page.get_by_role("heading", name="分散供养户", exact=True)).to_be_visible()
    await expect(page.locator(".results-total")).to_have_text(f"共 {everyone['total']} 户")
    await page.get_by_role("searchbox", name="搜索").fill(given_name)
    await page.get_by_role("button", name="搜索", exact=True).click()
    await expect(page.locator(".results-total")).to_have_text(f"共 {found['total']} 户")
    cards = page.locator("a.household")
    await expect(cards).to_have_count(min(found["total"], 20))
    for text in await cards.all_inner_texts():
        assert given_name in text, f"{text!r} does not match the search {given_name!r}"

    # The household: its code and masked ID number, never the full one.
    await page.locator(f'a.household[href="#/households/{target["id"]}"]').click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("、".join(target["names"]))
    await expect(page.get_by_text(target["code"], exact=True)).to_be_visible()
    await expect(page.get_by_text(person["id_number_masked"], exact=True)).to_be_visible()
    shown = await page.locator("main").inner_text()
    assert not FULL_ID_NUMBER.search(shown) and id_number not in shown

    # An address edit the server refuses shows its reason next to the field (and proves the
    # CSRF token travels: without it the answer would be 403, not a field error).
    await page.get_by_label("地址", exact=True).fill("x")
    await page.get_by_role("button", name="保存地址").click()
    await expect(page.locator("#household-address-error")).to_have_text("长度不能少于 2")
    assert (await auditor.get(f"/api/households/{target['id']}")).json()["address"] == detail["address"]

    # The sensitive read: warned first, then shown, then found in the audit log.
    await page.get_by_role("button", name="查看敏感信息").first.click()
    await expect(page.get_by_role("alertdialog")).to_contain_text("此操作将记入审计日志")
    assert id_number not in await page.locator("main").inner_text()
    before_click = dt.datetime.now(dt.UTC)
    await page.get_by_role("button", name="确认查看").click()
    await expect(page.get_by_text(id_number, exact=True)).to_be_visible()
    logged_note = page.locator(".sensitive-record .notice")
    await expect(logged_note).to_contain_text("记入审计日志")
    days = {shanghai_date_label(before_click), shanghai_date_label(dt.datetime.now(dt.UTC))}
    note = await logged_note.inner_text()
    assert any(day in note for day in days), f"the read time is shown in Beijing time: {note!r}"
    await page.screenshot(path=HOUSEHOLD_SCREENSHOT, full_page=True)

    reads_after = await sensitive_reads(api, person["id"])
    assert len(reads_after) == len(reads_before) + 1
    assert reads_after[0]["actor_name"] == "weibin_auditor"
    assert phone.problems == []


async def test_field_worker_sees_only_assigned_households_and_wrong_password_is_refused_in_chinese(
    browser, live_server, api, phone
):
    from playwright.async_api import expect

    worker = api("weibin_worker")
    me = (await worker.get("/api/auth/me")).json()
    assigned = (await worker.get("/api/households?page_size=200")).json()
    city = (await api("city_admin").get("/api/households?page_size=200")).json()
    not_mine = next(h for h in city["items"] if h["id"] not in {a["id"] for a in assigned["items"]})
    page = phone.page

    await open_site(phone, live_server)
    await log_in(phone, "weibin_worker", "not-the-password")
    await expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确。")
    await expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()

    await log_in(phone, "weibin_worker")
    await expect(page.get_by_role("heading", name=f"您好，{me['display_name']}")).to_be_visible()
    await expect(tile(page, "CSV 导入")).to_have_count(0)
    await tile(page, "我负责的户").click()
    await expect(page.get_by_role("heading", name="我负责的户")).to_be_visible()
    await expect(page.locator(".results-total")).to_have_text(f"共 {assigned['total']} 户")
    shown = {await a.get_attribute("href") for a in await page.locator("a.household").all()}
    assert shown == {f"#/households/{h['id']}" for h in assigned["items"][:20]}

    # A household not assigned to this worker does not open, even by its address.
    await page.goto(f"{live_server}/#/households/{not_mine['id']}")
    await expect(page.get_by_role("alert")).to_have_text("未找到该户，或您无权查看。")

    # The session ends behind the page's back (expired cookie): the next request leads to the
    # login page, and logging in again returns to where the worker was going.
    await page.context.clear_cookies()
    await page.get_by_role("link", name="返回列表").click()
    await log_in(phone, "weibin_worker")
    await expect(page.locator(".results-total")).to_have_text(f"共 {assigned['total']} 户")

    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    await page.goto(f"{live_server}/#/households")
    await expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    assert phone.problems == []


async def test_city_admin_pages_through_the_city_and_sees_why_an_import_was_refused(browser, live_server, api, phone):
    from playwright.async_api import expect

    admin = api("city_admin")
    first = (await admin.get("/api/households?page_size=20")).json()
    second = (await admin.get("/api/households?page_size=20&page=2")).json()
    pages = -(-first["total"] // 20)
    assert pages >= 2, "the demo city fills more than one page"
    village = (await villages("610302"))[0]
    refused = csv_file([csv_row(village), csv_row(village, 身份证号="123")])
    page = phone.page

    await open_site(phone, live_server)
    await log_in(phone, "city_admin")
    await tile(page, "分散供养户").click()
    await expect(page.locator(".results-total")).to_have_text(f"共 {first['total']} 户")
    await expect(page.get_by_text(f"第 1 / {pages} 页")).to_be_visible()
    await expect(page.locator(".pager [aria-disabled=true]")).to_have_text("上一页")
    await page.get_by_role("link", name="下一页").click()
    await expect(page.get_by_text(f"第 2 / {pages} 页")).to_be_visible()
    await expect(page.locator("a.household .household-code").first).to_have_text(second["items"][0]["code"])

    await page.get_by_role("link", name="特困人员照料服务平台").click()  # home
    await tile(page, "CSV 导入").click()
    await expect(page.get_by_role("link", name="下载导入模板")).to_have_attribute(
        "href", "/api/households/import-template.csv"
    )
    async with page.expect_file_chooser() as chooser:
        await page.get_by_text("选择文件", exact=True).click()
    await (await chooser.value).set_files(
        files=[{"name": "分散供养户.csv", "mimeType": "text/csv", "buffer": refused.encode()}]
    )
    await expect(page.get_by_text("分散供养户.csv")).to_be_visible()
    await page.get_by_role("button", name="上传并导入").click()
    await expect(page.get_by_role("alert")).to_contain_text("未导入任何记录")
    errors = page.locator("table.row-errors tbody tr")
    await expect(errors).to_have_count(1)
    await expect(errors.first.locator("td")).to_have_text(["3", "身份证号", "格式不正确"])
    assert (await admin.get("/api/households?page_size=1")).json()["total"] == first["total"]
    assert phone.problems == []
