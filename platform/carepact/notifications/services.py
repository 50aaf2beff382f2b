"""Notifications: sending one to a role in a region or to an account, and reading one's own."""

from __future__ import annotations

from piccolo.columns.combination import Where

from carepact.accounts.access import Principal
from carepact.accounts.tables import Role
from carepact.api import PageRequest
from carepact.db import atomic
from carepact.errors import not_found
from carepact.notifications.schemas import NotificationOut, NotificationPage
from carepact.notifications.tables import Notification, NotificationRead, NotificationSeverity


def visible_notifications(principal: Principal) -> Where:
    """Those addressed to the caller, and those addressed to their role in a region of their subtree."""
    mine = Notification.account == principal.account_id
    if not principal.region_path:
        return mine
    in_scope = (
        Notification.account.is_null()
        & Notification.region._.path.like(f"{principal.region_path}%")
        & ((Notification.role == principal.role.value) | (Notification.role == ""))
    )
    return mine | in_scope


async def notify(
    key: str,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    severity: NotificationSeverity = NotificationSeverity.info,
    role: Role | None = None,
    region_id: int | None = None,
    account_id: int | None = None,
) -> int:
    """Store a notification inside the caller's transaction; the same ``key`` twice stores once."""
    if (region_id is None) == (account_id is None):
        raise ValueError("a notification goes to a region (with a role) or to one account")
    async with atomic():
        existing = await Notification.select(Notification.id).where(Notification.key == key).first()
        if existing is not None:
            return existing["id"]
        row = Notification(
            key=key,
            kind=kind,
            severity=severity.value,
            title=title[:200],
            body=body[:500],
            link=link[:200],
            role=role.value if role else "",
            region=region_id,
            account=account_id,
        )
        await row.save()
        return row.id


async def list_notifications(principal: Principal, page: PageRequest, unread_only: bool) -> NotificationPage:
    where = visible_notifications(principal)
    read_ids = NotificationRead.select(NotificationRead.notification).where(
        NotificationRead.account == principal.account_id
    )
    unread = await Notification.count().where(where & Notification.id.not_in(read_ids))
    if unread_only:
        where &= Notification.id.not_in(read_ids)
    total = await Notification.count().where(where)
    rows = (
        await Notification.select(
            Notification.id,
            Notification.kind,
            Notification.severity,
            Notification.title,
            Notification.body,
            Notification.link,
            Notification.created_at,
        )
        .where(where)
        .order_by(Notification.created_at, ascending=False)
        .order_by(Notification.id, ascending=False)
        .offset(page.offset)
        .limit(page.page_size)
    )
    ids = [r["id"] for r in rows]
    read = (
        {
            r["notification"]
            for r in await NotificationRead.select(NotificationRead.notification).where(
                NotificationRead.notification.is_in(ids) & (NotificationRead.account == principal.account_id)
            )
        }
        if ids
        else set()
    )
    items = [
        NotificationOut(
            id=r["id"],
            kind=r["kind"],
            severity=NotificationSeverity(r["severity"]),
            title=r["title"],
            body=r["body"],
            link=r["link"],
            created_at=r["created_at"],
            read=r["id"] in read,
        )
        for r in rows
    ]
    return NotificationPage(items=items, total=total, unread=unread, page=page.page, page_size=page.page_size)


async def mark_read(principal: Principal, notification_id: int) -> None:
    """Idempotent: reading a notification twice keeps the first time."""
    async with atomic():
        row = (
            await Notification.select(Notification.id)
            .where((Notification.id == notification_id) & visible_notifications(principal))
            .first()
        )
        if row is None:
            raise not_found("notification", "通知")
        key = f"{notification_id}:{principal.account_id}"
        if not await NotificationRead.exists().where(NotificationRead.key == key):
            await NotificationRead.insert(
                NotificationRead(key=key, notification=notification_id, account=principal.account_id)
            )
