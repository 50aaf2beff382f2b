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


class AuditAnchor(Table):
    """A keyed witness of one row of the chain: ``mac`` = HMAC-SHA256(key from SECRET_KEY, seq:hash).

    Written with every append, in the same transaction. The chain alone proves only that rows
    agree with each other: someone with write access to the database could rewrite a row and
    re-hash every row after it, or delete the newest rows, and the chain would still verify.
    Without SECRET_KEY no valid anchor can be made, so a re-hashed row no longer matches its
    anchor and a deleted row leaves its anchor behind. (A database role for the web processes
    may be granted INSERT and SELECT only on this table.)
    """

    seq = Integer(unique=True)
    hash = Varchar(length=64)
    mac = Varchar(length=64)
