"""What crosses the wire for staff and assignments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta


class StaffOut(msgspec.Struct, kw_only=True):
    account_id: int
    username: str
    display_name: str
    role: str
    role_label: str
    phone: str
    active: bool
    household_count: int


class StaffIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=3, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    display_name: Annotated[str, Meta(min_length=1, max_length=32)]
    password: Annotated[str, Meta(min_length=8, max_length=128)]
    phone: Annotated[str, Meta(max_length=20, pattern=r"^[0-9+\- ]*$")] = ""


class AssignmentOut(msgspec.Struct, kw_only=True):
    id: int
    household_id: int
    household_code: str
    worker_id: int
    worker_name: str
    organisation_id: int
    organisation_name: str
    starts_on: dt.date
    ends_on: dt.date | None


class AssignmentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    household_id: Annotated[int, Meta(ge=1)]
    worker_id: Annotated[int, Meta(ge=1)]
    starts_on: dt.date


class AssignmentEnd(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ends_on: dt.date
