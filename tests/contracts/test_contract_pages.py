"""The contract pages, driven as the bureaus and a provider drive them: headless Chromium against a
live `carepact serve`, under the server's real Content-Security-Policy, on a phone and on a desk.

A contract opened from the list, its terms as they stood before the demo amendment, a month's
statement generated from a real visit, confirmed, then refused a second time in Chinese, printed;
a provider reading its own contract with nothing to press; a county that never sees another's."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.chromium import Phone, log_in, open_site, phone_page
from tests.contracts.helpers import organisation_id, region, visit

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False, "device_scale_factor": 1}
RENHE = "宝鸡市仁和社会工作服务中心"
KANGLE = "陈仓区康乐居家养老服务有限公司"
SHOTS = "/tmp/carepact-{}.png"


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def date_label(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def contracts_of(api, username: str, **params) -> list[dict]:
    r = await api(username).get("/api/contracts", params={"page_size": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def demo_contract(api, supplier: str, county_code: str) -> dict:
    area = await region(county_code)
    supplier_id = await organisation_id(supplier)
    [found] = [
        c
        for c in await contracts_of(api, "city_admin", supplier_id=supplier_id)
        if c["service_area"]["id"] == area["id"] and c["code"].startswith("BJMZ-")
    ]
    return found


def cleaning(items: list[dict]) -> dict:
    return next(i for i in items if i["classification"] == "cleaning")


def tile(page, title: str):
    return page.locator(".tile", has=page.get_by_text(title, exact=True))


async def signed_in(phone: Phone, base_url: str, username: str) -> None:
    from playwright.async_api import expect

    await open_site(phone, base_url)
    await log_in(phone, username)
    await expect(phone.page.get_by_role("heading", name=re.compile("^您好"))).to_be_visible()


async def test_city_admin_reads_a_contract_and_confirms_its_statement_once(browser, live_server, api, phone):
    from playwright.async_api import expect

    admin = api("city_admin")
    contract = await demo_contract(api, RENHE, "610302")
    detail = (await admin.get(f"/api/contracts/{contract['id']}")).json()
    [original, amendment] = detail["amendments"]
    day_before = dt.date.fromisoformat(amendment["effective_on"]) - dt.timedelta(days=1)
    before = (await admin.get(f"/api/contracts/{contract['id']}", params={"state_on": str(day_before)})).json()
    assert cleaning(before["items"])["quantity"] < cleaning(detail["items"])["quantity"]
    everything = await contracts_of(api, "city_admin")
    weibin = await region("610302")
    in_weibin = await contracts_of(api, "city_admin", county_id=weibin["id"], supplier_id=contract["supplier"]["id"])

    # A verified visit this month (door-card check-in), so the month's statement has lines: the
    # last of the worker's households, as the phone tests take the first ones.
    day = (await api("weibin_worker").get("/api/visits/today")).json()
    household = [h for h in day if not h["visited_today"] and h["open_visit_id"] is None][-1]
    await visit(api, "weibin_worker", household["household_id"], ["cleaning", "psychological_comfort"])

    page = phone.page
    await signed_in(phone, live_server, "city_admin")
    for title in ("购买服务合同", "结算单", "预算执行", "覆盖情况"):
        await expect(tile(page, title)).to_be_visible()

    # The list: every contract in view and what they are worth together; then filtered.
    await tile(page, "购买服务合同").click()
    await expect(page.get_by_role("heading", name="购买服务合同", exact=True)).to_be_visible()
    await expect(page.locator(".results-total")).to_have_text(f"共 {len(everything)} 份合同")
    await expect(page.locator(".programme-value")).to_have_text(yuan(sum(c["value_fen"] for c in everything)))
    await page.screenshot(path=SHOTS.format("contract-list"), full_page=True)
    await page.get_by_label("县（区）").select_option(label="渭滨区")
    await page.get_by_label("服务机构").select_option(label=RENHE)
    await page.get_by_role("button", name="筛选").click()
    await expect(page.locator(".results-total")).to_have_text(f"共 {len(in_weibin)} 份合同")
    await expect(page.locator(".programme-value")).to_have_text(yuan(sum(c["value_fen"] for c in in_weibin)))
    await page.locator(f'a.contract-row[href="#/contracts/{contract["id"]}"]').click()

    # The contract: its terms today, items, amendment history.
    await expect(page.get_by_role("heading", level=1)).to_have_text(detail["title"])
    await expect(page.locator(".contract-value")).to_have_text(yuan(detail["value_fen"]))
    items = page.locator("table.contract-items tbody tr")
    await expect(items).to_have_count(len(detail["items"]))
    today_cleaning = items.filter(has_text="家政保洁")
    await expect(today_cleaning).to_contain_text(f"{cleaning(detail['items'])['quantity']:,}")
    await expect(today_cleaning).to_contain_text(yuan(cleaning(detail["items"])["amount_fen"]))
    history = page.locator("ol.amendments > li")
    await expect(history).to_have_count(2)
    await expect(history.first).to_contain_text("第 1 次变更")
    await expect(history.first).to_contain_text(amendment["rationale"])
    await expect(history.first).to_contain_text(amendment["author_name"])
    await expect(history.first).to_contain_text(
        f"{yuan(amendment['value_before_fen'])} → {yuan(amendment['value_after_fen'])}"
    )
    await expect(history.last).to_contain_text("原始合同")
    await expect(page.locator(".gauge-committed")).to_contain_text(yuan(detail["budget"]["committed_fen"]))
    await expect(page.locator(".coverage-figure")).to_have_count(3)
    await expect(page.locator(".coverage-served dd")).not_to_have_text("—")
    await page.screenshot(path=SHOTS.format("contract"), full_page=True)

    # An amendment the server refuses: its reason under the field, and nothing recorded.
    await page.get_by_text("登记合同变更", exact=True).click()
    await page.get_by_label("家政保洁数量").fill(str(cleaning(detail["items"])["quantity"] + 10))
    await page.get_by_label("变更理由").fill("x")
    await page.get_by_role("button", name="登记变更").click()
    await expect(page.locator("#amend-rationale-error")).to_have_text("长度不能少于 2")
    await expect(page.locator(".amend-form .notice-error")).to_contain_text("提交的内容有误")
    await page.locator(".amend-form").screenshot(path=SHOTS.format("contract-amend-refused"))
    assert len((await admin.get(f"/api/contracts/{contract['id']}/amendments")).json()) == 2

    # The terms as they stood the day before the amendment: the smaller cleaning order.
    await page.get_by_label("查看某日状态").fill(str(day_before))
    await page.get_by_role("button", name="查看", exact=True).click()
    await expect(page.get_by_text(f"正在查看 {date_label(day_before)} 的合同条款")).to_be_visible()
    old_cleaning = page.locator("table.contract-items tbody tr").filter(has_text="家政保洁")
    await expect(old_cleaning).to_contain_text(f"{cleaning(before['items'])['quantity']:,}")
    await expect(old_cleaning).to_contain_text(yuan(cleaning(before["items"])["amount_fen"]))
    await expect(page.locator(".contract-value")).to_have_text(yuan(original["value_after_fen"]))
    await expect(history.first).to_contain_text("所选日期尚未生效")
    await expect(page.locator(".amend-form")).to_have_count(0)  # no amending a past day's terms
    await page.get_by_role("link", name="回到今天", exact=True).click()
    await expect(page.locator(".contract-value")).to_have_text(yuan(detail["value_fen"]))

    # This month's statement: generated from the visit, its lines and total.
    await page.get_by_role("button", name="生成本月结算单").click()
    await expect(page).to_have_url(re.compile(r"#/statements/\d+"))
    statement_id = int(re.search(r"#/statements/(\d+)", page.url)[1])
    statement = (await admin.get(f"/api/statements/{statement_id}")).json()
    assert statement["status"] == "draft" and statement["total_fen"] > 0
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"{statement['month_label']}结算单")
    await expect(page.get_by_text("已生成本月结算单")).to_be_visible()
    lines = page.locator("table.statement-lines tbody tr")
    await expect(lines).to_have_count(len(statement["lines"]))
    line = next(x for x in statement["lines"] if x["service"] == "cleaning")
    await expect(lines.filter(has_text="家政保洁")).to_contain_text(yuan(line["unit_value_fen"]))
    await expect(lines.filter(has_text="家政保洁")).to_contain_text(yuan(line["amount_fen"]))
    await expect(page.locator(".statement-total")).to_have_text(yuan(statement["total_fen"]))
    if statement["deductions"]:  # upheld findings of the month (another test may have upheld one)
        await expect(page.locator("#statement-deductions")).to_be_visible()
        await expect(page.get_by_text(f"-{yuan(statement['deductions_fen'])}").first).to_be_visible()
    else:
        await expect(page.get_by_text("本月无扣减")).to_be_visible()
    await expect(page.locator(".statement-row-badges, .visit-badges").first).to_contain_text("草稿")
    await page.screenshot(path=SHOTS.format("statement"), full_page=True)

    # A second auditor's tab, opened on the draft before it is confirmed.
    other = Phone(await page.context.new_page())
    await other.page.goto(page.url)
    await expect(other.page.get_by_role("button", name="确认结算单")).to_be_visible()

    # Confirmed once, quoting the revision looked at; then locked.
    await page.get_by_role("button", name="确认结算单").click()
    await expect(page.get_by_role("alertdialog")).to_contain_text(yuan(statement["total_fen"]))
    await page.get_by_role("button", name="确认无误").click()
    await expect(page.get_by_text("结算单已确认")).to_be_visible()
    await expect(page.locator(".visit-badges")).to_contain_text("已确认")
    await expect(page.get_by_role("button", name="确认结算单")).to_have_count(0)
    await expect(page.get_by_role("button", name="重新核算")).to_have_count(0)
    await page.screenshot(path=SHOTS.format("statement-confirmed"), full_page=True)
    confirmed = (await admin.get(f"/api/statements/{statement_id}")).json()
    assert confirmed["status"] == "confirmed" and confirmed["revision"] == statement["revision"]

    # The stale tab tries again: refused, in the server's Chinese words.
    locked = re.compile(rf"结算单 {re.escape(statement['code'])} 已于 .+ 确认，不能再修改或重新核算")
    await other.page.get_by_role("button", name="确认结算单").click()
    await other.page.get_by_role("button", name="确认无误").click()
    await expect(other.page.locator(".statement-actions .notice-error")).to_have_text(locked)
    await other.page.get_by_role("button", name="重新核算").click()
    await expect(other.page.locator(".statement-actions .notice-error")).to_have_text(locked)
    await other.page.locator(".statement-actions").screenshot(path=SHOTS.format("statement-refused"))
    assert (await admin.get(f"/api/statements/{statement_id}")).json()["digest"] == confirmed["digest"]
    # The contract page no longer offers to compute the month: it says where a correction goes.
    await other.page.goto(f"{live_server}/#/contracts/{contract['id']}")
    await expect(other.page.locator(".month-locked")).to_contain_text("本月结算单已确认")
    await expect(other.page.get_by_role("button", name=re.compile("本月结算单"))).to_have_count(0)

    # 导出 CSV downloads the statement; 打印 opens the A4 page in Chinese in a new tab.
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="导出 CSV").click()
    download = await download_info.value
    assert download.suggested_filename == f"{statement['code']}.csv"
    exported = (await download.path()).read_bytes().decode("utf-8")
    assert exported.startswith("\ufeff") and "家政保洁" in exported
    async with page.expect_popup() as popup_info:
        await page.get_by_role("link", name="打印").click()
    printed = await popup_info.value
    await printed.wait_for_load_state()
    assert printed.url == f"{live_server}{statement['print_url']}"
    await expect(printed.get_by_role("heading", level=1)).to_contain_text(f"{statement['month_label']}购买服务结算单")
    await expect(printed.locator("table.info").first).to_contain_text(statement["code"])
    await expect(printed.locator("table.info").first).to_contain_text("已确认")
    await expect(printed.locator("table.lines tbody tr").filter(has_text="家政保洁")).to_contain_text(
        yuan(line["amount_fen"])
    )
    await expect(printed.locator("table.total")).to_contain_text(yuan(statement["total_fen"]))
    assert phone.problems == [] and other.problems == []


async def test_a_provider_reads_its_own_contract_with_nothing_to_press(browser, live_server, api, phone):
    from playwright.async_api import expect

    contract = await demo_contract(api, RENHE, "610302")
    theirs = await demo_contract(api, KANGLE, "610304")
    own = await contracts_of(api, "renhe_manager")
    statements = (await api("renhe_manager").get(f"/api/contracts/{contract['id']}/statements")).json()["items"]
    page = phone.page
    await signed_in(phone, live_server, "renhe_manager")

    await tile(page, "购买服务合同").click()
    await expect(page.locator(".results-total")).to_have_text(f"共 {len(own)} 份合同")
    rows = page.locator("a.contract-row")
    await expect(rows).to_have_count(len(own))
    for text in await rows.all_inner_texts():
        assert RENHE in text
    await expect(page.get_by_label("服务机构")).to_have_count(0)  # one supplier: nothing to choose

    await page.locator(f'a.contract-row[href="#/contracts/{contract["id"]}"]').click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(contract["title"])
    await expect(page.locator("table.contract-items tbody tr").filter(has_text="家政保洁")).to_be_visible()
    await expect(page.locator("ol.amendments > li")).to_have_count(2)
    await expect(page.locator("#contract-statements")).to_be_visible()
    await expect(page.get_by_text("尚无结算单").or_(page.locator(".statement-row").first)).to_be_visible()
    for write in ("登记变更", "上传文件", "生成本月结算单", "确认结算单", "重新核算", "登记支付"):
        await expect(page.get_by_role("button", name=write)).to_have_count(0)
    await expect(page.locator(".amend-form, .upload-form")).to_have_count(0)
    await page.screenshot(path=SHOTS.format("contract-provider"), full_page=True)

    if statements:
        await page.locator(f'a.statement-row[href="#/statements/{statements[0]["id"]}"]').click()
        await expect(page.get_by_role("link", name="打印")).to_be_visible()
        for write in ("确认结算单", "重新核算", "登记支付", "生成调整结算单"):
            await expect(page.get_by_role("button", name=write)).to_have_count(0)

    # Another provider's contract, by its address: not found, as if it did not exist.
    await page.goto(f"{live_server}/#/contracts/{theirs['id']}")
    await expect(page.get_by_role("alert")).to_have_text("未找到该合同，或您无权查看。")
    await expect(page.get_by_role("heading", name=theirs["title"])).to_have_count(0)
    assert phone.problems == []


async def test_a_county_sees_its_own_contracts_budget_and_coverage(browser, live_server, api, phone):
    from playwright.async_api import expect

    weibin_only = await demo_contract(api, RENHE, "610302")
    jintai = await demo_contract(api, RENHE, "610303")
    listed = await contracts_of(api, "jintai_auditor")
    assert weibin_only["id"] not in {c["id"] for c in listed}
    budget = (await api("jintai_auditor").get("/api/budget", params={"group": "county"})).json()
    figures = (await api("jintai_auditor").get("/api/coverage/figures", params={"group": "county"})).json()
    page = phone.page
    await signed_in(phone, live_server, "jintai_auditor")

    await tile(page, "购买服务合同").click()
    await expect(page.locator(".results-total")).to_have_text(f"共 {len(listed)} 份合同")
    await expect(page.locator(f'a.contract-row[href="#/contracts/{jintai["id"]}"]')).to_be_visible()
    await expect(page.locator(f'a.contract-row[href="#/contracts/{weibin_only["id"]}"]')).to_have_count(0)
    await expect(page.get_by_text(weibin_only["code"])).to_have_count(0)
    await page.goto(f"{live_server}/#/contracts/{weibin_only['id']}")
    await expect(page.get_by_role("alert")).to_have_text("未找到该合同，或您无权查看。")

    # The budget: a card of bars per county, with the numbers in words beside them.
    await page.goto(f"{live_server}/#/")
    await tile(page, "预算执行").click()
    await expect(page.get_by_role("heading", name="预算执行", exact=True)).to_be_visible()
    row = next(r for r in budget["rows"] if r["key"] == "610303")  # and the city-wide hospital contract
    card = page.locator(".budget-row", has=page.get_by_role("heading", name=row["label"]))
    await expect(card.locator(".gauge-committed")).to_contain_text(yuan(row["committed_fen"]))
    await expect(card.locator(".gauge-delivered")).to_contain_text(yuan(row["delivered_fen"]))
    await expect(card.locator(".gauge-paid")).to_contain_text(yuan(row["paid_fen"]))
    await expect(card.locator("meter")).to_have_count(3)
    await page.screenshot(path=SHOTS.format("budget"), full_page=True)

    # Coverage this month: covered, served, not served, per county.
    await page.goto(f"{live_server}/#/")
    await tile(page, "覆盖情况").click()
    await expect(page.get_by_role("heading", name="覆盖情况", exact=True)).to_be_visible()
    [county] = figures["rows"]  # only 金台区's people, whichever contracts cover them
    shown = page.locator("table.coverage-figures-table tbody tr").filter(has_text=county["label"])
    await expect(shown).to_contain_text(str(county["covered"]))
    await expect(shown).to_contain_text(str(county["not_served"]))
    await page.screenshot(path=SHOTS.format("coverage"), full_page=True)
    assert phone.problems == []


async def test_the_pages_read_well_on_a_desk(browser, live_server, api):
    from playwright.async_api import expect

    contract = await demo_contract(api, RENHE, "610302")
    [hospital] = [
        c for c in await contracts_of(api, "city_admin", kind="centralised_care") if c["code"].startswith("BJMZ-")
    ]
    [statement, *_] = (await api("city_admin").get(f"/api/contracts/{hospital['id']}/statements")).json()["items"]
    covered = (await api("city_admin").get("/api/coverage", params={"contract_id": contract["id"]})).json()
    paid = (await api("city_admin").get("/api/statements", params={"status": "paid"})).json()
    desk = await phone_page(browser, **DESK)
    page = desk.page
    await signed_in(desk, live_server, "city_admin")

    await page.goto(f"{live_server}/#/contracts")
    await expect(page.locator(".contract-rows-header")).to_be_visible()  # a table header on a desk
    await page.screenshot(path=SHOTS.format("contract-list-desk"), full_page=True)

    await page.goto(f"{live_server}/#/contracts/{contract['id']}")
    await expect(page.get_by_role("columnheader", name="单价", exact=True)).to_be_visible()
    await expect(page.locator("ol.amendments > li")).to_have_count(2)
    await expect(page.locator(".coverage-figure")).to_have_count(3)
    await expect(page.get_by_text("登记合同变更", exact=True)).to_be_visible()
    await page.screenshot(path=SHOTS.format("contract-desk"), full_page=True)

    # A day before the contract existed: said next to the date, today's terms shown meanwhile.
    await page.goto(f"{live_server}/#/contracts/{contract['id']}?on=2020-01-01")
    await expect(page.locator("#contract-state-on-error")).to_have_text("早于合同生效日期")
    await expect(page.locator(".day-picker .notice-error")).to_contain_text("所选日期合同尚未生效")
    await expect(page.locator(".contract-value")).to_have_text(yuan(contract["value_fen"]))
    await page.locator(".day-picker").screenshot(path=SHOTS.format("contract-day-refused-desk"))

    # The hospital's contract: bed-days, and residents rather than households.
    await page.goto(f"{live_server}/#/contracts/{hospital['id']}")
    await expect(page.locator("table.contract-items tbody tr").filter(has_text="养护")).to_contain_text("床日")
    await expect(page.locator(".coverage-figure").first).to_contain_text("名住院人员")
    await page.screenshot(path=SHOTS.format("contract-hospital-desk"), full_page=True)

    # Who it covers, each household a link to its page.
    await page.goto(f"{live_server}/#/contracts/{contract['id']}")
    await page.get_by_role("link", name="查看覆盖对象名单 ›").click()
    await expect(page.get_by_role("heading", name="覆盖对象", exact=True)).to_be_visible()
    await expect(page.locator("table.coverage-table tbody tr")).to_have_count(covered["total"])
    first = covered["items"][0]
    await expect(page.locator(f'a[href="#/households/{first["household_id"]}"]')).to_have_text(
        "、".join(first["names"])
    )
    await page.screenshot(path=SHOTS.format("contract-coverage-desk"), full_page=True)

    # Statements across contracts, filtered by state.
    await page.goto(f"{live_server}/#/statements")
    await page.get_by_label("状态").select_option("paid")
    await page.get_by_role("button", name="筛选").click()
    await expect(page.locator(".results-total")).to_have_text(f"共 {paid['total']} 份")
    await expect(page.locator("a.statement-row")).to_have_count(min(paid["total"], 20))
    await page.screenshot(path=SHOTS.format("statement-list-desk"), full_page=True)

    await page.goto(f"{live_server}/#/statements/{statement['id']}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(statement["month_label"])
    await expect(page.get_by_role("columnheader", name="金额", exact=True)).to_be_visible()
    await expect(page.locator(".statement-total")).to_have_text(yuan(statement["total_fen"]))
    await page.screenshot(path=SHOTS.format("statement-desk"), full_page=True)

    for address, name in (("/#/budget?group=contract", "budget-desk"), ("/#/coverage", "coverage-desk")):
        await page.goto(live_server + address)
        await expect(page.locator(".results .loading")).to_have_count(0)
        await page.screenshot(path=SHOTS.format(name), full_page=True)
    assert desk.problems == []
    await page.context.close()
