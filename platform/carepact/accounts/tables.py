"""What accounts and access store: profiles on BaseUser, sessions, API tokens, assignments."""

from __future__ import annotations

import enum

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.registry.tables import Household, Organisation, Region


class Role(enum.StrEnum):
    city_admin = "city_admin"
    county_auditor = "county_auditor"
    township_officer = "township_officer"
    provider_manager = "provider_manager"
    field_worker = "field_worker"
    care_home_staff = "care_home_staff"


class Account(Table):
    """A person who logs in: a BaseUser plus the role and the scope it acts in."""

    user = ForeignKey(BaseUser, unique=True)
    display_name = Varchar(length=32)
    role = Varchar(length=20, choices=Role, index=True)
    # The region subtree this account sees (bureaus and township offices).
    region = ForeignKey(Region, null=True, default=None)
    # The organisation it belongs to (providers and facilities; bureaus too, for the record).
    organisation = ForeignKey(Organisation, null=True, default=None)
    phone = Varchar(length=20, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Session(Table):
    """A browser login. Only a digest of the cookie value is stored."""

    token_digest = Varchar(length=64, unique=True)
    account = ForeignKey(Account, index=True)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    ip = Varchar(length=64, default="")


class ApiToken(Table):
    """A bearer token for API clients (`carepact users token NAME`). Only its digest is kept."""

    token_digest = Varchar(length=64, unique=True)
    account = ForeignKey(Account, index=True)
    label = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class Assignment(Table):
    """A field worker made responsible for a household's visits, from a date, by a provider.

    The table lives in the kernel because it decides visibility: a field worker sees exactly
    the households of their open assignments. Providers manage the rows.
    """

    household = ForeignKey(Household, index=True)
    worker = ForeignKey(Account, index=True)
    organisation = ForeignKey(Organisation, index=True)
    starts_on = Date()
    ends_on = Date(null=True, default=None)
