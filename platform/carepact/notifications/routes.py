"""Notifications over HTTP: the caller's own, for the home page."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Paging
from carepact.notifications import services
from carepact.notifications.schemas import NotificationPage


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["通知 notifications"]

    @get("/", operation_id="listNotifications", summary="我的通知（最新在前，含未读数）")
    async def list_notifications(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        unread_only: Annotated[bool, Parameter(description="只看未读")] = False,
    ) -> NotificationPage:
        return await services.list_notifications(principal, paging, unread_only)

    @post("/{notification_id:int}/read", operation_id="markNotificationRead", summary="标记为已读", status_code=204)
    async def mark_read(self, principal: CurrentPrincipal, notification_id: FromPath[int]) -> None:
        await services.mark_read(principal, notification_id)
