"""Accounts: creating them, logging in and out, sessions, bearer tokens, failed-login limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import msgspec
from litestar.stores.base import Store
from piccolo.apps.user.tables import BaseUser

from carepact.accounts.access import Principal, load_principal
from carepact.accounts.tables import Account, ApiToken, Role, Session
from carepact.audit.services import SYSTEM, Actor, record
from carepact.db import atomic
from carepact.errors import Problem
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
    row = (
        await ApiToken.select(ApiToken.account)
        .where((ApiToken.token_digest == token_digest(token)) & ApiToken.revoked_at.is_null())
        .first()
    )
    return await load_principal(row["account"], via="token") if row else None


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


class LoginLimiter:
    """Counts failed logins per username and per client address in a Litestar store
    (memory in-process, Redis when configured, so several web processes share the count)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _keys(username: str, ip: str) -> list[str]:
        return [f"login-fail:user:{username.lower()}", f"login-fail:ip:{ip}"]

    async def blocked(self, username: str, ip: str) -> bool:
        limit = get_settings().login_max_failures
        for key in self._keys(username, ip):
            value = await self.store.get(key)
            # The per-address limit is looser: a township office may share one address.
            if value is not None and int(value) >= (limit if ":user:" in key else limit * 4):
                return True
        return False

    async def failed(self, username: str, ip: str) -> None:
        window = get_settings().login_window_seconds
        for key in self._keys(username, ip):
            value = await self.store.get(key)
            await self.store.set(key, str(int(value or 0) + 1), expires_in=window)

    async def succeeded(self, username: str) -> None:
        await self.store.delete(self._keys(username, "")[0])


async def login(username: str, password: str, ip: str, limiter: LoginLimiter) -> tuple[str, Principal]:
    """Check the password (BaseUser.login); on success open a session and return its cookie value."""
    if await limiter.blocked(username, ip):
        await record(Actor(id=None, name=username[:100], ip=ip), "auth.login_blocked", "user", username[:64])
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
        await limiter.failed(username, ip)
        # The password is never written anywhere; the username is, so attacks can be traced.
        await record(Actor(id=None, name=username[:100], ip=ip), "auth.login_failed", "user", username[:64])
        raise Problem(401, "auth.invalid_credentials", "用户名或密码不正确。")
    await limiter.succeeded(username)
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
