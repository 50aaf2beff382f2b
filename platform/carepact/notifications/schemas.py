"""What crosses the wire for notifications."""

from __future__ import annotations

import datetime as dt

import msgspec

from carepact.notifications.tables import NotificationSeverity


class NotificationOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    severity: NotificationSeverity
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read: bool


class NotificationPage(msgspec.Struct, kw_only=True):
    items: list[NotificationOut]
    total: int
    unread: int  # of all the caller's notifications, for the badge on the home page
    page: int
    page_size: int
