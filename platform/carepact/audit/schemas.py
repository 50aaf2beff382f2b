"""What crosses the wire for the audit log."""

from __future__ import annotations

import datetime as dt

import msgspec


class AuditEventOut(msgspec.Struct, kw_only=True):
    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_id: str


class VerifyOut(msgspec.Struct, kw_only=True):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None
