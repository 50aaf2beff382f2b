"""What notifications store: a message for a role in a region (or one account), and who read it."""

from __future__ import annotations

import enum

from piccolo.columns import ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.accounts.tables import Account
from carepact.registry.tables import Region


class NotificationSeverity(enum.StrEnum):
    info = "info"
    warning = "warning"
    serious = "serious"


class Notification(Table):
    """One message shown on the home page of the accounts it addresses.

    Addressed either to one account, or to every account of ``role`` (all roles when empty)
    whose region subtree holds ``region``: a serious incident in a 金台区 facility reaches the
    金台区 county auditors without anyone choosing them by name, and whoever joins later sees it.
    """

    # What the message is about ("incident:<uuid>:county_auditor"): notifying twice stores once.
    key = Varchar(length=120, unique=True)
    kind = Varchar(length=40, index=True)  # e.g. "resident.incident_serious"
    severity = Varchar(length=16, choices=NotificationSeverity, default=NotificationSeverity.info.value)
    title = Varchar(length=200)
    body = Varchar(length=500, default="")
    link = Varchar(length=200, default="")  # a browser-app route, e.g. "#/residents/12/incidents/<id>"
    role = Varchar(length=20, default="")
    region = ForeignKey(Region, null=True, default=None, index=True)
    account = ForeignKey(Account, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class NotificationRead(Table):
    """That one account has read one notification (a scope message is read per person)."""

    key = Varchar(length=40, unique=True)  # "<notification>:<account>"
    notification = ForeignKey(Notification, index=True)
    account = ForeignKey(Account, index=True)
    read_at = Timestamptz(default=TimestamptzNow())
