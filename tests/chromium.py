"""Driving the browser app as a user does: Debian's headless Chromium (never a downloaded one)
on a phone-sized screen, remembering every script error and Content-Security-Policy refusal."""

from __future__ import annotations

import asyncio
import importlib.util

from tests.support import chromium_path, need

DEMO_PASSWORD = "carepact-demo"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# A time zone far from Beijing: the app must still show Asia/Shanghai times.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "zh-CN",
    "timezone_id": "America/Los_Angeles",
}


def playwright_available() -> None:
    need(importlib.util.find_spec("playwright") is not None, "Playwright is not installed: pip install -e '.[dev]'")
    need(chromium_path() is not None, "no Chromium: apt-get install -y chromium fonts-noto-cjk, or set CHROMIUM_PATH")


async def launch(playwright, *extra_args: str):
    """The system Chromium, headless, with any extra command-line switches."""
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)  # a login hashes a password; a loaded CI machine is slow
    return await playwright.chromium.launch(executable_path=chromium_path(), args=[*CHROMIUM_ARGS, *extra_args])


class Phone:
    """A phone-sized tab that remembers uncaught script errors and CSP refusals."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        text = message.text.lower()
        if "content security policy" in text or "refused to" in text:
            self.problems.append(f"CSP: {message.text}")
        elif message.type == "error" and not _network_noise(text):
            self.problems.append(f"console error: {message.text}")


def _network_noise(text: str) -> bool:
    # The browser's own line for a failed or refused request ("Failed to load resource: the
    # server responded with a status of 404", or net::ERR_INTERNET_DISCONNECTED offline): the
    # app shows those to the user in its own words, so they are not script problems.
    return "failed to load resource" in text or "net::err_" in text


async def phone_page(browser, **overrides) -> Phone:
    context = await browser.new_context(**(PHONE | overrides))
    return Phone(await context.new_page())


async def open_site(phone: Phone, base_url: str, path: str = "/") -> None:
    response = await phone.page.goto(base_url + path)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, "the app page must carry the CSP"


async def log_in(phone: Phone, username: str, password: str = DEMO_PASSWORD) -> None:
    from playwright.async_api import expect

    page = phone.page
    await expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录", exact=True).click()


async def wait_until(page, expression: str, seconds: float = 30.0) -> None:
    """Wait until ``expression`` is true in the page, checked from here with page.evaluate.

    Playwright's wait_for_function re-checks its predicate inside the page with eval, which the
    app's Content Security Policy (script-src 'self', no unsafe-eval) refuses whenever the first
    check is not already true; page.evaluate runs over the DevTools protocol and is not refused.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while not await page.evaluate(expression):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {seconds:.0f} s: {expression}")
        await asyncio.sleep(0.1)
