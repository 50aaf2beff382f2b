"""A statement printed from a real browser: Chromium, logged in through the app, opens the
statement's print page under the server's Content-Security-Policy and prints it to A4."""

from __future__ import annotations

import pytest

from tests.chromium import log_in, open_site, phone_page

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False, "device_scale_factor": 1}


async def test_a_statement_opens_and_prints_on_a4_in_chinese(browser, live_server, api) -> None:
    from playwright.async_api import expect

    [hospital] = [
        c
        for c in (await api("city_admin").get("/api/contracts", params={"kind": "centralised_care"})).json()["items"]
        if c["code"].startswith("BJMZ-")
    ]
    contract = (await api("city_admin").get(f"/api/contracts/{hospital['id']}")).json()
    statements = [
        s
        for s in (await api("city_admin").get(f"/api/contracts/{hospital['id']}/statements")).json()["items"]
        if s["kind"] == "original"
    ]
    if not statements:
        r = await api("city_admin").post(
            f"/api/contracts/{hospital['id']}/statements", json={"month": contract["period"]["start_date"][:7]}
        )
        statements = [r.json()]
    statement = (await api("city_admin").get(f"/api/statements/{statements[-1]['id']}")).json()

    tab = await phone_page(browser, **DESK)
    await open_site(tab, live_server)
    await log_in(tab, "city_admin")
    page = tab.page
    await expect(page.get_by_role("heading", name="您好，市局管理员")).to_be_visible()

    response = await page.goto(live_server + statement["print_url"])
    assert response.status == 200 and "style-src 'self'" in response.headers["content-security-policy"]
    await expect(page.get_by_role("heading", level=1)).to_contain_text("购买服务结算单")
    await expect(page.locator("table.info").first).to_contain_text(statement["code"])
    await expect(page.locator("table.info").first).to_contain_text(contract["title"])
    lines = page.locator("table.lines tbody tr")
    await expect(lines).to_have_count(len(statement["lines"]))
    await expect(lines.first).to_contain_text(statement["lines"][0]["description"])
    # The look comes from /print.css (an inline style would have been refused by the CSP).
    await expect(page.locator("table.signoff")).to_contain_text("确认")
    assert await page.locator("h1").evaluate("h => getComputedStyle(h).textAlign") == "center"
    pdf = await page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert tab.problems == []
    await page.context.close()
