"""Accounts: creating them, logging in and out, sessions, bearer tokens, failed-login limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets

import msgspec
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from piccolo.apps.user.tables import BaseUser
from piccolo.querystring import QueryString

from carepact.accounts.access import Principal, load_principal, principal_where
from carepact.accounts.tables import Account, ApiToken, Role, Session
from carepact.audit.services import SYSTEM, Actor, record
from carepact.db import atomic
from carepact.errors import Problem
from carepact.privacy import digest
from carepact.settings import get_settings

TOKEN_PREFIX = "cpt_"


def token_digest(token: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_account(
    username: str,
    password: str,
    *,
    role: Role,
    display_name: str,
    region_id: int | None = None,
    organisation_id: int | None = None,
    phone: str = "",
    actor: Actor = SYSTEM,
    password_hash: str | None = None,
) -> int:
    """A BaseUser (Piccolo hashes the password) plus its Account profile, audited."""
    if role in (Role.city_admin, Role.county_auditor, Role.township_officer) and region_id is None:
        raise Problem(400, "account.region_required", "该角色必须绑定行政区域。")
    if role in (Role.provider_manager, Role.field_worker, Role.care_home_staff) and organisation_id is None:
        raise Problem(400, "account.organisation_required", "该角色必须绑定所属机构。")
    async with atomic():
        if await BaseUser.exists().where(BaseUser.username == username):
            raise Problem(409, "account.username_taken", f"用户名 {username} 已存在。")
        if password_hash is None:
            try:
                BaseUser._validate_password(password)
            except ValueError as exc:
                raise Problem(400, "account.password_invalid", f"密码不符合要求：{exc}") from exc
        user = BaseUser(
            username=username,
            password=password_hash or password,
            email=f"{username}@carepact.invalid",
            active=True,
        )
        await user.save()
        account = Account(
            user=user.id,
            display_name=display_name,
            role=role,
            region=region_id,
            organisation=organisation_id,
            phone=phone,
        )
        await account.save()
        await record(
            actor,
            "account.create",
            "account",
            account.id,
            after={"username": username, "role": role.value, "region": region_id, "organisation": organisation_id},
        )
        return account.id


async def account_id_for(username: str) -> int | None:
    row = await Account.select(Account.id).where(Account.user._.username == username).first()
    return row["id"] if row else None


async def issue_api_token(account_id: int, label: str = "", actor: Actor = SYSTEM) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with atomic():
        await ApiToken.insert(ApiToken(token_digest=token_digest(token), account=account_id, label=label))
        await record(actor, "api_token.issue", "account", account_id, detail={"label": label})
    return token


async def principal_from_token(token: str) -> Principal | None:
    bearer = QueryString(
        "account.id IN (SELECT api_token.account FROM api_token"
        " WHERE api_token.token_digest = {} AND api_token.revoked_at IS NULL)",
        token_digest(token),
    )
    return await principal_where(bearer, via="token")


async def principal_from_session(cookie: str) -> Principal | None:
    row = (
        await Session.select(Session.account, Session.csrf_token, Session.expires_at)
        .where(Session.token_digest == token_digest(cookie))
        .first()
    )
    if row is None or row["expires_at"] < dt.datetime.now(dt.UTC):
        return None
    return await load_principal(row["account"], via="session", csrf_token=row["csrf_token"])


# --- login and its rate limit -------------------------------------------------------------

# Reserve one attempt for the username and the address, unless either is at its limit; both keys
# in one atomic step, so parallel guesses cannot all pass the check before any of them counts.
# KEYS: username key, address key. ARGV: username limit, address limit, window in seconds.
_RESERVE_LUA = """
local user = tonumber(redis.call('GET', KEYS[1]) or '0')
local address = tonumber(redis.call('GET', KEYS[2]) or '0')
if user >= tonumber(ARGV[1]) or address >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], user + 1, 'EX', ARGV[3])
redis.call('SET', KEYS[2], address + 1, 'EX', ARGV[3])
return 1
"""
# A successful login gives its reserved address attempt back (the address key keeps its expiry).
_RELEASE_LUA = """
if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
return 0
"""
_memory_lock: asyncio.Lock | None = None


class LoginLimiter:
    """Counts login attempts per username and per client address in a Litestar store (memory
    in-process, Redis when configured, so several web processes share the count).

    An attempt is counted before its password is checked, by one atomic check-and-increment
    (a Lua script on Redis, a lock around the in-process store): twenty guesses sent at once
    cannot all read "0 failures" and all be tried. A success forgets the username's failures
    and gives its address attempt back; a failure keeps what it reserved.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str]:
        # A digest, not the typed name: what is typed into the username box is sometimes a password.
        return f"login-fail:user:{_typed_name_digest(username)}", f"login-fail:ip:{ip}"

    async def attempt(self, username: str, ip: str) -> bool:
        """Count this attempt; False (counting nothing) when the username or the address is at its limit."""
        settings = get_settings()
        # The per-address limit is looser: a township office may share one address.
        limits = (settings.login_max_failures, settings.login_max_failures * 4)
        user_key, address_key = self._keys(username, ip)
        if isinstance(self.store, RedisStore):
            reserve = self.store._redis.register_script(_RESERVE_LUA)
            keys = [self.store._make_key(user_key), self.store._make_key(address_key)]
            return bool(await reserve(keys=keys, args=[*limits, settings.login_window_seconds]))
        async with _lock():
            counts = [int(await self.store.get(key) or 0) for key in (user_key, address_key)]
            if counts[0] >= limits[0] or counts[1] >= limits[1]:
                return False
            for key, count in zip((user_key, address_key), counts, strict=True):
                await self.store.set(key, str(count + 1), expires_in=settings.login_window_seconds)
            return True

    async def succeeded(self, username: str, ip: str) -> None:
        user_key, address_key = self._keys(username, ip)
        if isinstance(self.store, RedisStore):
            await self.store.delete(user_key)
            release = self.store._redis.register_script(_RELEASE_LUA)
            await release(keys=[self.store._make_key(address_key)])
            return
        async with _lock():
            await self.store.delete(user_key)
            count = int(await self.store.get(address_key) or 0)
            if count <= 1:
                await self.store.delete(address_key)
            else:
                await self.store.set(address_key, str(count - 1), expires_in=await self.store.expires_in(address_key))

    async def failures(self, username: str) -> int:
        """How many attempts of this username are counted now."""
        return int(await self.store.get(self._keys(username, "")[0]) or 0)


def _lock() -> asyncio.Lock:
    global _memory_lock
    if _memory_lock is None:
        _memory_lock = asyncio.Lock()
    return _memory_lock


def _typed_name_digest(username: str) -> str:
    return digest(username.strip().lower(), purpose="login-username")


async def _login_actor(username: str, ip: str) -> Actor:
    """Who tried, as the log records it: the account's name when it names one, otherwise a keyed
    digest of what was typed (people type their password into the username box; the digest still
    lets repeated attempts with one name be matched, without the log holding the name)."""
    if await BaseUser.exists().where(BaseUser.username == username):
        return Actor(id=None, name=username, ip=ip)
    return Actor(id=None, name=f"unknown:{_typed_name_digest(username)[:16]}", ip=ip)


async def login(username: str, password: str, ip: str, limiter: LoginLimiter) -> tuple[str, Principal]:
    """Check the password (BaseUser.login); on success open a session and return its cookie value."""
    if not await limiter.attempt(username, ip):
        actor = await _login_actor(username, ip)
        await record(actor, "auth.login_blocked", "user", actor.name[:64])
        minutes = get_settings().login_window_seconds // 60
        raise Problem(
            429,
            "auth.rate_limited",
            f"登录失败次数过多，请 {minutes} 分钟后再试。",
            headers={"Retry-After": str(get_settings().login_window_seconds)},
        )
    user_id = await BaseUser.login(username=username, password=password)
    account_id = None
    if user_id is not None:
        row = await Account.select(Account.id).where(Account.user == user_id).first()
        account_id = row["id"] if row else None
    principal = await load_principal(account_id, via="session") if account_id else None
    if principal is None:
        # The password is never written anywhere; the username only when it names an account.
        actor = await _login_actor(username, ip)
        await record(actor, "auth.login_failed", "user", actor.name[:64])
        raise Problem(401, "auth.invalid_credentials", "用户名或密码不正确。")
    await limiter.succeeded(username, ip)
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=get_settings().session_hours)
    async with atomic():
        await Session.insert(
            Session(token_digest=token_digest(cookie), account=account_id, csrf_token=csrf, expires_at=expires, ip=ip)
        )
        await record(
            Actor(id=account_id, name=username, role=principal.role, ip=ip), "auth.login", "account", account_id
        )
    return cookie, msgspec.structs.replace(principal, csrf_token=csrf)


async def logout(cookie: str, principal: Principal) -> None:
    async with atomic():
        await Session.delete().where(Session.token_digest == token_digest(cookie))
        await record(
            Actor(id=principal.account_id, name=principal.username, role=principal.role),
            "auth.logout",
            "account",
            principal.account_id,
        )
