"""Who is calling: a session cookie (browser, with CSRF check) or a bearer token (API clients)."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from carepact.accounts.services import principal_from_session, principal_from_token
from carepact.errors import Problem

SESSION_COOKIE = "carepact_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Bearer tokens are not sent by browsers on their own, so they need no CSRF token; a
    session cookie is, so every state-changing request made with one must echo the session's
    CSRF token in a header (synchronizer-token pattern). Litestar's CSRF middleware is
    double-submit and path-based, and cannot exempt token-authenticated requests."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        authorization = connection.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            principal = await principal_from_token(authorization[7:].strip())
            if principal is None:
                raise Problem(401, "auth.invalid_token", "访问令牌无效或已撤销。")
            return AuthenticationResult(user=principal, auth="token")
        cookie = connection.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Problem(401, "auth.required", "请先登录。")
        principal = await principal_from_session(cookie)
        if principal is None:
            raise Problem(401, "auth.session_expired", "登录已过期，请重新登录。")
        if connection.scope.get("method", "GET") not in SAFE_METHODS:
            sent = connection.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, principal.csrf_token):
                raise Problem(403, "auth.csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试。")
        return AuthenticationResult(user=principal, auth=cookie)
