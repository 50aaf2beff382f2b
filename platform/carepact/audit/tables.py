"""The append-only, hash-chained audit log."""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table):
    """One write, or one read of sensitive personal data.

    ``payload`` is the canonical JSON of the whole event (the columns beside it are copies
    for querying); ``hash`` = SHA-256(prev_hash + payload). ``seq`` numbers the chain without
    gaps, so a deleted row shows as a missing number even where ids skip.
    """

    seq = Integer(unique=True)
    at = Timestamptz()
    actor_id = Integer(null=True, default=None, index=True)
    actor_name = Varchar(length=100, default="")
    action = Varchar(length=64, index=True)
    object_type = Varchar(length=32, default="")
    object_id = Varchar(length=64, default="", index=True)
    payload = Text()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
