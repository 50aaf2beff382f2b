"""The county audit's pages, driven as an auditor and a provider drive them: headless Chromium against a
live `carepact serve`, under the server's real Content-Security-Policy, on a phone.

The auditor of 渭滨区 opens the dashboard (the month's figures with their targets, the trend and the
providers side by side drawn as SVG), follows a provider to its scorecard (its score and what pulled
it down), sees the ranking, and has the monthly report made and downloaded; the provider's manager
finds its own scorecard on its home page and no dashboard."""

from __future__ import annotations

import re

import pytest

from tests.chromium import Phone, log_in, open_site

pytestmark = pytest.mark.browser

RENHE = "宝鸡市仁和社会工作服务中心"
SHOTS = "/tmp/carepact-{}.png"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}".removesuffix(".0") + "%"


def tile(page, title: str):
    return page.locator(".tile", has=page.get_by_text(title, exact=True))


async def signed_in(phone: Phone, base_url: str, username: str) -> None:
    from playwright.async_api import expect

    await open_site(phone, base_url)
    await log_in(phone, username)
    await expect(phone.page.get_by_role("heading", name=re.compile("^您好"))).to_be_visible()


async def test_an_auditor_reads_the_dashboard_a_scorecard_and_the_report(browser, live_server, api, phone):
    from playwright.async_api import expect

    d = (await api("weibin_auditor").get("/api/oversight/dashboard")).json()
    renhe = next(p for p in d["providers"] if p["name"] == RENHE)
    assert renhe["score"] is not None and renhe["reasons"], "the demo's pilot gives 仁和 a score and reasons"

    page = phone.page
    await signed_in(phone, live_server, "weibin_auditor")
    await tile(page, "审核看板").click()
    await expect(page.get_by_role("heading", name="审核看板", exact=True)).to_be_visible()
    await expect(page.locator('[data-figure="coverage"] .figure-value')).to_have_text(percent(d["totals"]["coverage"]))
    await expect(page.locator('[data-figure="verified"] .figure-value')).to_have_text(
        percent(d["totals"]["verified_rate"])
    )
    await expect(page.locator('[data-figure="verified"] .figure-target')).to_contain_text("≥ 80%")
    # What each figure means is on the screen, a tap away.
    await page.locator('[data-figure="coverage"] summary').click()
    await expect(page.locator('[data-figure="coverage"] .figure-definition p')).to_contain_text("应上门天数")
    # Charts: the trend's lines and the providers' bars, drawn as SVG with their names.
    await expect(page.get_by_role("img", name="逐月趋势：覆盖率、电子核验率、按时上门率")).to_be_visible()
    await expect(page.locator(".chart-line circle").first).to_be_attached()
    bars = page.get_by_role("img", name="各服务机构本月综合得分")
    await expect(bars).to_be_visible()
    await expect(bars.locator("rect.chart-bar, rect.chart-bar-below")).to_have_count(
        sum(1 for p in d["providers"] if p["score"] is not None)
    )
    await expect(page.locator("table.provider-table")).to_contain_text(RENHE)
    await page.screenshot(path=SHOTS.format("oversight"), full_page=True)

    # The monthly report: made in the background with a progress bar, then downloaded.
    await page.get_by_role("button", name="生成月度报告").click()
    download_link = page.get_by_role("link", name="下载报告（可打印网页）")
    await expect(download_link).to_be_visible(timeout=30_000)
    await expect(page.locator(".job-percent")).to_have_text("100%")
    async with page.expect_download() as download_info:
        await download_link.click()
    report = (await (await download_info.value).path()).read_text(encoding="utf-8")
    assert "渭滨区" in report and "审核报告" in report and RENHE in report and "<svg" in report

    # From the table to the provider's scorecard: its score and what pulled it down.
    await page.locator("table.provider-table").get_by_role("link", name=RENHE).click()
    await expect(page).to_have_url(re.compile(rf"#/scorecards/{renhe['organisation_id']}\?"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(RENHE)
    await expect(page.locator(".scorecard-score-big")).to_have_text(f"{renhe['score']:g} 分")
    await expect(page.locator(".scorecard-head")).to_contain_text(f"排第 {renhe['rank']} 名")
    await expect(page.locator(".scorecard-head .reason")).to_have_count(len(renhe["reasons"]))
    await expect(page.locator(".scorecard-head .reason").first).to_contain_text(renhe["reasons"][0]["label"])
    await expect(page.get_by_role("img", name="逐月综合得分")).to_be_visible()
    findings = page.get_by_role("link", name="本月违约发现")
    await expect(findings).to_have_attribute(
        "href", re.compile(rf"#/findings\?.*organisation_id={renhe['organisation_id']}")
    )
    await page.screenshot(path=SHOTS.format("scorecard"), full_page=True)

    # The ranking: every provider with its place and reasons.
    await page.get_by_role("link", name="‹ 服务机构评分").click()
    await expect(page.get_by_role("heading", name="服务机构评分", exact=True)).to_be_visible()
    first = page.locator(".scorecard-row").first
    await expect(first.locator(".scorecard-rank")).to_have_text("第 1 名")
    await expect(first.locator(".scorecard-name")).to_have_text(d["providers"][0]["name"])
    assert phone.problems == []


async def test_a_provider_finds_its_own_scorecard_and_no_dashboard(browser, live_server, api, phone):
    from playwright.async_api import expect

    page = phone.page
    await signed_in(phone, live_server, "renhe_manager")
    await tile(page, "本机构评分卡").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(RENHE)
    await expect(page.get_by_text("本机构全市范围", exact=False)).to_be_visible()
    await expect(page.locator(".scorecard-score-big")).to_contain_text("分")
    await expect(page.get_by_text(re.compile("排第"))).to_have_count(0)  # not where the others stand
    await page.goto(f"{live_server}/#/oversight")
    await expect(page.get_by_text("审核看板由市、县（区）民政局和乡镇（街道）查看。")).to_be_visible()
    assert phone.problems == []
