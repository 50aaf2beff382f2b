"""Logging in and out: session cookies with CSRF, bearer tokens, failed-login limits, headers."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from carepact.accounts.services import create_account, issue_api_token, token_digest
from carepact.accounts.tables import ApiToken, Role, Session
from carepact.audit.tables import AuditEvent
from carepact.privacy import digest
from carepact.registry.tables import Household, Region
from carepact.settings import get_settings
from tests.support import household_body, villages

DEMO_PASSWORD = "carepact-demo"
CJK = re.compile(r"[\u4e00-\u9fff]")
_addresses = itertools.count(10)


@pytest.fixture
async def browser(app, client) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """New browsers, each with its own cookie jar and its own client address (the failed-login
    limit also counts per address, so tests must not share one)."""
    opened: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{next(_addresses)}", 40000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


async def login(c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    return await c.post("/api/auth/login", json={"username": username, "password": password})


async def dedicated_account(password: str = "Pass-for-tests-1") -> str:
    """An account of its own, so locking it out disturbs no demo account."""
    username = f"t_{uuid.uuid4().hex[:10]}"
    region = await Region.select(Region.id).where(Region.code == "610302").first()
    await create_account(
        username, password, role=Role.county_auditor, display_name="测试审核员", region_id=region["id"]
    )
    return username


async def new_household_id(api) -> int:
    r = await api("weibin_auditor").post("/api/households", json=household_body((await villages("610302"))[9]))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_login_sets_an_httponly_session_cookie_and_returns_the_csrf_token(browser) -> None:
    c = browser()
    r = await login(c, "weibin_auditor")
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["username"] == "weibin_auditor" and me["role"] == "county_auditor" and me["region_name"] == "渭滨区"
    assert len(me["csrf_token"]) >= 20
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("carepact_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    # Only a digest of the cookie is stored.
    value = c.cookies["carepact_session"]
    assert await Session.exists().where(Session.token_digest == token_digest(value))
    assert not await Session.exists().where(Session.token_digest == value)
    # The cookie alone authenticates reads, and /me hands the page its CSRF token again.
    r = await c.get("/api/auth/me")
    assert r.status_code == 200 and r.json()["csrf_token"] == me["csrf_token"]


async def test_cookie_writes_need_the_csrf_token(api, browser) -> None:
    hid = await new_household_id(api)
    c = browser()
    csrf = (await login(c, "weibin_auditor")).json()["csrf_token"]

    r = await c.patch(f"/api/households/{hid}", json={"address": "无令牌的修改"})
    assert (r.status_code, r.json()["code"]) == (403, "auth.csrf_failed")
    assert CJK.search(r.json()["message"])
    r = await c.patch(
        f"/api/households/{hid}", json={"address": "错误令牌的修改"}, headers={"X-CSRF-Token": "x" + csrf}
    )
    assert (r.status_code, r.json()["code"]) == (403, "auth.csrf_failed")
    before = await Household.count()
    r = await c.post("/api/households", json=household_body((await villages("610302"))[9]))
    assert (r.status_code, r.json()["code"]) == (403, "auth.csrf_failed")
    assert await Household.count() == before
    address = (await Household.select(Household.address).where(Household.id == hid).first())["address"]
    assert address != "无令牌的修改"

    r = await c.patch(f"/api/households/{hid}", json={"address": "带令牌的修改"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert (await Household.select(Household.address).where(Household.id == hid).first())["address"] == "带令牌的修改"


async def test_another_sessions_csrf_token_does_not_work(api, browser) -> None:
    hid = await new_household_id(api)
    mine, theirs = browser(), browser()
    await login(mine, "weibin_auditor")
    their_csrf = (await login(theirs, "weibin_auditor")).json()["csrf_token"]
    r = await mine.patch(f"/api/households/{hid}", json={"address": "别人的令牌"}, headers={"X-CSRF-Token": their_csrf})
    assert (r.status_code, r.json()["code"]) == (403, "auth.csrf_failed")


async def test_bearer_tokens_need_no_csrf_token(api) -> None:
    hid = await new_household_id(api)
    r = await api("weibin_auditor").patch(f"/api/households/{hid}", json={"address": "令牌客户端的修改"})
    assert r.status_code == 200, r.text


async def test_bad_or_revoked_bearer_tokens_are_refused(api, client, tokens) -> None:
    r = await client.get("/api/households", headers={"Authorization": "Bearer cpt_not-a-real-token"})
    assert (r.status_code, r.json()["code"]) == (401, "auth.invalid_token")
    username = await dedicated_account()
    from carepact.accounts.services import account_id_for

    token = await issue_api_token(await account_id_for(username), "to revoke")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    await ApiToken.update({ApiToken.revoked_at: dt.datetime.now(dt.UTC)}).where(
        ApiToken.token_digest == token_digest(token)
    )
    r = await client.get("/api/auth/me", headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "auth.invalid_token")


@pytest.mark.parametrize("who", ["wrong password", "unknown user"])
async def test_failed_login_is_refused_and_logged_without_the_password(browser, who: str) -> None:
    username = await dedicated_account() if who == "wrong password" else f"nobody_{uuid.uuid4().hex[:8]}"
    password = f"Secret-{uuid.uuid4().hex}-密码"
    start = (await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first())["seq"]
    r = await login(browser(), username, password)
    # The same answer whether or not the account exists.
    assert (r.status_code, r.json()["code"]) == (401, "auth.invalid_credentials")
    assert r.json()["message"] == "用户名或密码不正确。"
    assert "set-cookie" not in r.headers
    rows = await AuditEvent.select().where(AuditEvent.seq > start)
    # An account's name is logged; a name that is no account may be a password typed in the
    # wrong box, so only its keyed digest is (the same name gives the same digest).
    logged = username if who == "wrong password" else f"unknown:{digest(username, purpose='login-username')[:16]}"
    assert [(e["action"], e["actor_name"], e["object_id"]) for e in rows] == [("auth.login_failed", logged, logged)]
    everything = await AuditEvent.select()
    if who == "unknown user":
        assert not any(username in str(value) for row in everything for value in row.values())
    assert not any(password in str(value) for row in everything for value in row.values())
    assert not any(password[7:39] in str(value) for row in everything for value in row.values())


async def test_repeated_failures_lock_the_account_even_with_the_right_password(browser) -> None:
    limit = get_settings().login_max_failures
    password = "Right-password-1"
    username = await dedicated_account(password)
    c = browser()
    for _ in range(limit):
        r = await login(c, username, "wrong-password")
        assert r.status_code == 401
    start = (await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first())["seq"]
    r = await login(c, username, password)
    assert (r.status_code, r.json()["code"]) == (429, "auth.rate_limited")
    assert CJK.search(r.json()["message"]) and "分钟" in r.json()["message"]
    assert int(r.headers["retry-after"]) == get_settings().login_window_seconds
    assert "set-cookie" not in r.headers
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.actor_name).where(AuditEvent.seq > start)
    assert rows == [{"action": "auth.login_blocked", "actor_name": username}]
    # From another address too: the limit is the account's.
    assert (await login(browser(), username, password)).status_code == 429
    # Other people at the same address can still log in.
    assert (await login(c, await dedicated_account("Other-pass-22"), "Other-pass-22")).status_code == 200


async def test_failures_below_the_limit_are_forgotten_after_a_success(browser) -> None:
    limit = get_settings().login_max_failures
    password = "Right-password-2"
    username = await dedicated_account(password)
    c = browser()
    for _ in range(limit - 1):
        assert (await login(c, username, "wrong")).status_code == 401
    assert (await login(c, username, password)).status_code == 200
    for _ in range(limit - 1):
        assert (await login(c, username, "wrong")).status_code == 401
    assert (await login(c, username, password)).status_code == 200


async def test_one_address_guessing_many_accounts_is_stopped(browser) -> None:
    limit = get_settings().login_max_failures
    password = "Right-password-3"
    username = await dedicated_account(password)
    c = browser()
    for n in range(limit * 4):
        assert (await login(c, f"guess_{n}_{uuid.uuid4().hex[:6]}", "wrong")).status_code == 401
    assert (await login(c, username, password)).status_code == 429
    assert (await login(browser(), username, password)).status_code == 200


async def test_logout_ends_the_session(browser) -> None:
    c = browser()
    csrf = (await login(c, "weibin_auditor")).json()["csrf_token"]
    cookie = c.cookies["carepact_session"]
    r = await c.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert "carepact_session=" in r.headers["set-cookie"] and "max-age=0" in r.headers["set-cookie"].lower()
    assert not await Session.exists().where(Session.token_digest == token_digest(cookie))
    # The old cookie, replayed, no longer works.
    stale = browser()
    r = await stale.get("/api/auth/me", headers={"Cookie": f"carepact_session={cookie}"})
    assert (r.status_code, r.json()["code"]) == (401, "auth.session_expired")


async def test_logout_needs_the_csrf_token(browser) -> None:
    """Otherwise any page on the web could log a user out."""
    c = browser()
    await login(c, "weibin_auditor")
    r = await c.post("/api/auth/logout")
    assert (r.status_code, r.json()["code"]) == (403, "auth.csrf_failed")
    assert (await c.get("/api/auth/me")).status_code == 200


async def test_expired_sessions_are_refused(browser) -> None:
    c = browser()
    await login(c, "weibin_auditor")
    cookie = c.cookies["carepact_session"]
    await Session.update({Session.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)}).where(
        Session.token_digest == token_digest(cookie)
    )
    r = await c.get("/api/households")
    assert (r.status_code, r.json()["code"]) == (401, "auth.session_expired")
    assert CJK.search(r.json()["message"])


@pytest.mark.parametrize("path", ["/api/households", "/api/auth/me", "/api/audit/events", "/api/regions"])
async def test_unauthenticated_api_requests_get_401_in_chinese(client, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 401
    assert r.json()["code"] == "auth.required"
    assert r.json()["message"] == "请先登录。"


@pytest.mark.parametrize(
    "path",
    ["/", "/api/health", "/api/households", "/api/households/999999", "/api/no-such-thing", "/schema/openapi.json"],
)
async def test_security_headers_on_every_kind_of_response(api, client, path: str) -> None:
    for r in (await client.get(path), await api("weibin_auditor").get(path)):
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, (path, r.status_code, dict(r.headers))
        assert "default-src 'self'" in csp
        assert r.headers.get("x-content-type-options") == "nosniff"
