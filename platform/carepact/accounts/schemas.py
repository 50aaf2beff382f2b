"""What crosses the wire for accounts and login."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from carepact.accounts.tables import Role

Username = Annotated[str, Meta(min_length=1, max_length=100)]
Password = Annotated[str, Meta(min_length=1, max_length=128)]


class LoginIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Username
    password: Password


class Me(msgspec.Struct, kw_only=True):
    account_id: int
    username: str
    display_name: str
    role: Role
    role_label: str
    region_id: int | None
    region_name: str | None
    organisation_id: int | None
    organisation_name: str | None
    csrf_token: str = ""
