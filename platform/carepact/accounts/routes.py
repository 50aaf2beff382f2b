"""Login, logout and who-am-I."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie

from carepact.accounts.access import ROLE_LABELS, CurrentPrincipal
from carepact.accounts.middleware import SESSION_COOKIE
from carepact.accounts.schemas import LoginIn, Me
from carepact.accounts.services import LoginLimiter, login, logout
from carepact.api import client_ip
from carepact.settings import get_settings


def me_of(principal: CurrentPrincipal) -> Me:
    return Me(
        account_id=principal.account_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role,
        role_label=ROLE_LABELS[principal.role],
        region_id=principal.region_id,
        region_name=principal.region_name,
        organisation_id=principal.organisation_id,
        organisation_name=principal.organisation_name,
        csrf_token=principal.csrf_token,
    )


class AuthController(Controller):
    path = "/api/auth"
    tags = ["登录 auth"]

    @post(
        "/login",
        operation_id="login",
        summary="登录并建立会话",
        description="用户名和密码正确时设置会话 Cookie，并返回当前账号与 CSRF 令牌。连续失败会被限流 (429)。",
        exclude_from_auth=True,
        status_code=200,
    )
    async def login(self, request: Request, data: LoginIn) -> Response[Me]:
        settings = get_settings()
        limiter = LoginLimiter(request.app.stores.get("login_limits"))
        cookie, principal = await login(data.username, data.password, client_ip(request), limiter)
        return Response(
            me_of(principal),
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value=cookie,
                    httponly=True,
                    secure=settings.production,
                    samesite="lax",
                    path="/",
                    max_age=settings.session_hours * 3600,
                )
            ],
        )

    @post("/logout", operation_id="logout", summary="退出登录", status_code=200)
    async def logout(self, request: Request, principal: CurrentPrincipal) -> Response[None]:
        await logout(request.cookies.get(SESSION_COOKIE, ""), principal)
        return Response(None, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True)])

    @get("/me", operation_id="getMe", summary="当前登录账号")
    async def me(self, principal: CurrentPrincipal) -> Me:
        return me_of(principal)
