"""Failed-login limits hold under parallel guessing: every attempt is counted before its password is
checked, atomically, in memory and on Redis; and the typed name is logged only when it is an account."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from carepact.accounts.services import LoginLimiter
from carepact.audit.tables import AuditEvent
from carepact.settings import get_settings
from tests.platform.test_auth import browser, dedicated_account, login  # noqa: F401 (browser is a fixture)
from tests.support import need, redis_url


async def test_parallel_wrong_passwords_from_many_addresses_are_counted_each(browser) -> None:  # noqa: F811
    limit = get_settings().login_max_failures
    password = "Right-password-9"
    username = await dedicated_account(password)
    guesses = 4 * limit
    answers = await asyncio.gather(*(login(browser(), username, f"guess-{n}") for n in range(guesses)))
    # Exactly `limit` guesses reached the password check; all the others were refused unchecked.
    assert Counter(r.status_code for r in answers) == {401: limit, 429: guesses - limit}
    assert {r.json()["code"] for r in answers} == {"auth.invalid_credentials", "auth.rate_limited"}
    # The right password is refused too now, from yet another address.
    assert (await login(browser(), username, password)).status_code == 429


async def test_parallel_guesses_from_one_address_stop_at_its_limit(browser) -> None:  # noqa: F811
    limit = get_settings().login_max_failures * 4
    c = browser()
    names = [f"nobody_{uuid.uuid4().hex[:8]}" for _ in range(limit + 10)]
    answers = await asyncio.gather(*(login(c, name, "wrong") for name in names))
    assert Counter(r.status_code for r in answers) == {401: limit, 429: 10}
    # The address is used up; the accounts are not: they log in from elsewhere.
    username = await dedicated_account("Right-password-8")
    assert (await login(c, username, "Right-password-8")).status_code == 429
    assert (await login(browser(), username, "Right-password-8")).status_code == 200


async def test_successful_logins_do_not_use_up_a_shared_address(browser) -> None:  # noqa: F811
    """A township office behind one address logs in all day: only failures count against it."""
    c = browser()
    username = await dedicated_account("Right-password-7")
    for _ in range(get_settings().login_max_failures * 4 + 2):
        assert (await login(c, username, "Right-password-7")).status_code == 200


async def _concurrent_attempts(limiter: LoginLimiter, username: str, count: int) -> list[bool]:
    return list(await asyncio.gather(*(limiter.attempt(username, f"203.0.113.{n}") for n in range(count))))


async def test_the_in_process_count_is_atomic() -> None:
    limiter = LoginLimiter(MemoryStore())
    allowed = await _concurrent_attempts(limiter, "someone", 50)
    assert allowed.count(True) == get_settings().login_max_failures
    assert await limiter.failures("someone") == get_settings().login_max_failures


@pytest.mark.redis
async def test_the_shared_count_on_redis_is_atomic() -> None:
    """Several web processes share the count through Redis; one Lua script checks and counts."""
    url = redis_url()
    need(url is not None, "set TEST_REDIS_URL to run Redis tests on a real Redis")
    store = RedisStore.with_client(url=url, namespace=f"carepact-test-{uuid.uuid4().hex}")
    try:
        try:
            await asyncio.wait_for(store._redis.ping(), timeout=5)
        except Exception as exc:  # any failure to connect means "no Redis here"
            need(False, f"Redis at {url} is not reachable: {exc}")
        # Two limiters over one store: two web processes.
        first, second = LoginLimiter(store), LoginLimiter(store)
        allowed = await asyncio.gather(
            _concurrent_attempts(first, "someone@redis", 30), _concurrent_attempts(second, "someone@redis", 30)
        )
        assert sum(a.count(True) for a in allowed) == get_settings().login_max_failures
        assert await first.failures("someone@redis") == get_settings().login_max_failures
        # What Redis holds names neither the username nor anything typed.
        keys = [k.decode() for k in await store._redis.keys(f"{store.namespace}:*")]
        assert keys and not any("someone" in k for k in keys)
        # A success forgets the username's failures and gives its address attempt back.
        await first.succeeded("someone@redis", "203.0.113.1")
        assert await second.failures("someone@redis") == 0
        assert await store.get("login-fail:ip:203.0.113.1") is None
    finally:
        await store.delete_all()
        await store._redis.aclose()


async def test_a_name_that_is_no_account_is_logged_as_a_digest(browser) -> None:  # noqa: F811
    typed = f"Pa55-{uuid.uuid4().hex}"  # a password typed into the username box
    start = (await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first())["seq"]
    c = browser()
    for _ in range(get_settings().login_max_failures + 1):
        await login(c, typed, "anything")
    rows = await AuditEvent.select().where(AuditEvent.seq > start).order_by(AuditEvent.seq)
    assert [r["action"] for r in rows][-2:] == ["auth.login_failed", "auth.login_blocked"]
    # The same typed name gives the same digest, so an attack on one name can still be followed.
    assert len({r["actor_name"] for r in rows}) == 1 and rows[0]["actor_name"].startswith("unknown:")
    assert not any(typed in str(value) for row in rows for value in row.values())
