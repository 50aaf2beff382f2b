"""The audit sample and evidence bundle pages, driven as a county auditor drives them on a phone:
headless Chromium against a live `carepact serve`, under the server's real Content-Security-Policy.

A sample drawn in the browser with a seed, a visit's call-back recorded as contradicted, the finding
it became; a household's bundle requested, its progress followed, the ZIP downloaded and opened;
another county's auditor told the sample is not there."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from carepact.dates import local_today
from tests.chromium import Phone, log_in, open_site, phone_page
from tests.contracts.agreement_helpers import AUDITOR, RENHE, at, new_household, sign, visit_on
from tests.contracts.test_evidence import BOM, photo_count, pilot_household, visits_of

pytestmark = pytest.mark.browser
SHOTS = "/tmp/carepact-{}.png"


@pytest.fixture
async def phone(browser) -> AsyncIterator[Phone]:
    phone = await phone_page(browser, accept_downloads=True)
    yield phone
    assert phone.problems == []
    await phone.page.context.close()


async def signed_in(phone: Phone, base_url: str, username: str) -> None:
    from playwright.async_api import expect

    await open_site(phone, base_url)
    await log_in(phone, username)
    await expect(phone.page.get_by_role("heading", name=re.compile("^您好"))).to_be_visible()


async def test_an_auditor_draws_a_sample_and_a_contradicted_call_back_becomes_a_finding(
    browser, live_server, api, phone
) -> None:
    from playwright.async_api import expect

    household = await new_household(api, "able")
    day = local_today() - dt.timedelta(days=4)
    assert (await sign(api, household, day - dt.timedelta(days=10))).status_code == 201
    visit = await visit_on(api, household, at(day, 9, 30), ["cleaning"])
    code = (await api(AUDITOR).get(f"/api/households/{household}")).json()["code"]

    page = phone.page
    await signed_in(phone, live_server, AUDITOR)
    await page.locator(".tile", has=page.get_by_text("抽查回访", exact=True)).click()
    await expect(page.get_by_role("heading", name="抽查回访", exact=True)).to_be_visible()
    await page.get_by_label(RENHE).check()
    await page.get_by_label("开始日期").fill(str(day))
    await page.get_by_label("结束日期").fill(str(day))
    await page.get_by_label("每家服务机构抽取条数").fill("100")
    await page.get_by_label("随机种子").fill("browser-seed-1")
    await page.screenshot(path=SHOTS.format("sampling-form"), full_page=True)
    await page.get_by_role("button", name="抽取", exact=True).click()
    await expect(page).to_have_url(re.compile(r"#/sampling/\d+$"))
    sample_id = int(re.search(r"#/sampling/(\d+)", page.url)[1])
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"抽查 #{sample_id}")
    await expect(page.locator(".sample-seed")).to_have_text("browser-seed-1")

    # The drawn visit: a link to its detail, and the call-back's outcome recorded on it.
    item = page.locator(f'li.sample-visit[data-visit="{visit["id"]}"]')
    await expect(item).to_contain_text(code)
    await expect(item.locator(f'a.visit-row[href="#/visits/{visit["id"]}"]')).to_be_visible()
    await expect(item.locator(".outcome")).to_have_text("未核实")
    await item.get_by_label("与记录不符", exact=True).check()
    await item.get_by_label("核实方式").select_option(label="电话回访")
    await item.get_by_role("button", name="保存核实结果").click()
    await expect(item.locator("#outcome-" + visit["id"] + "-note-error")).to_contain_text("请写明核实情况")
    await item.get_by_label("核实情况").fill("老人称当天无人上门")
    await item.get_by_role("button", name="保存核实结果").click()
    await expect(item.get_by_text(re.compile(r"已形成违约发现 #\d+"))).to_be_visible()
    await expect(item.locator(".outcome")).to_have_text("与记录不符")
    await expect(page.locator(".sample-checked")).to_have_text("1 条，其中与记录不符 1 条")
    link = item.locator("a.finding-link")
    await expect(link).to_contain_text("待说明")
    await page.screenshot(path=SHOTS.format("sample"), full_page=True)

    sample = (await api(AUDITOR).get(f"/api/samples/{sample_id}")).json()
    assert sample["seed"] == "browser-seed-1" and sample["contradicted_count"] == 1
    [mine] = [v for v in sample["visits"] if v["visit_id"] == visit["id"]]
    finding = (await api(AUDITOR).get(f"/api/findings/{mine['finding_id']}")).json()
    assert finding["clause_id"] == "sample_contradicted" and finding["summary"].endswith("老人称当天无人上门")

    # The finding, as the findings workflow shows it, in Chinese.
    await link.click()
    await expect(page).to_have_url(re.compile(rf"#/findings/{mine['finding_id']}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("抽查核实与服务记录不符")
    await page.screenshot(path=SHOTS.format("sample-finding"), full_page=True)

    # Another county's auditor is told there is no such sample.
    other = await phone_page(browser)
    await signed_in(other, live_server, "jintai_auditor")
    await other.page.goto(f"{live_server}/#/sampling/{sample_id}")
    await expect(other.page.get_by_text("未找到该抽查，或您无权查看。")).to_be_visible()
    assert other.problems == []
    await other.page.context.close()


async def test_a_households_bundle_is_built_with_a_progress_bar_and_downloaded(live_server, api, phone) -> None:
    from playwright.async_api import expect

    from providers.tables import Visit

    household = await pilot_household()
    in_db = await visits_of(Visit.household == household)
    page = phone.page
    await signed_in(phone, live_server, AUDITOR)
    await page.goto(f"{live_server}/#/households/{household}")
    section = page.locator("section.bundle")
    await expect(section.get_by_role("heading", name="证据包")).to_be_visible()
    await section.get_by_label("开始日期").fill(str(local_today() - dt.timedelta(days=40)))
    await section.get_by_label("结束日期").fill(str(local_today()))
    await section.get_by_role("button", name="生成证据包").click()
    await expect(section.locator("progress.job-bar")).to_be_visible()
    download_link = section.get_by_role("link", name="下载证据包（ZIP）")
    await expect(download_link).to_be_visible(timeout=60_000)
    await expect(section.locator(".job-outcome")).to_contain_text(f"服务记录 {len(in_db)} 条")
    await page.screenshot(path=SHOTS.format("bundle"), full_page=True)
    async with page.expect_download() as download_info:
        await download_link.click()
    download = await download_info.value
    assert download.suggested_filename.startswith("证据包-") and download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO((await download.path()).read_bytes()))

    data = archive.read("visits.csv")
    assert data.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))
    assert [r["服务记录编号"] for r in rows] == [str(v["id"]) for v in in_db]
    photos = [n for n in archive.namelist() if n.startswith("photos/")]
    assert len(photos) == await photo_count([v["id"] for v in in_db]) > 0
    for name in photos:
        Image.open(io.BytesIO(archive.read(name))).load()
    assert "证据包摘要" in archive.read("summary.html").decode()


async def test_a_provider_sees_the_bundle_on_its_contract_page(live_server, api, phone) -> None:
    from playwright.async_api import expect

    renhe = (await api("renhe_manager").get("/api/contracts", params={"page_size": 1})).json()["items"][0]
    await signed_in(phone, live_server, "renhe_manager")
    await phone.page.goto(f"{live_server}/#/contracts/{renhe['id']}")
    section = phone.page.locator("section.bundle")
    await expect(section.get_by_role("button", name="生成证据包")).to_be_visible()
    # No sampling for a provider: the tile is not offered and the page says why.
    await phone.page.goto(f"{live_server}/#/sampling")
    await expect(phone.page.get_by_text("只有县区民政局审核员和市民政局可以抽查服务记录。")).to_be_visible()
