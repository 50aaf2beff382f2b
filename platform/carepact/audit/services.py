"""The one audit writer, and the chain check behind `carepact audit verify`."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

import msgspec

from carepact.audit.tables import AuditEvent
from carepact.db import atomic, is_postgres

if TYPE_CHECKING:
    from carepact.accounts.access import Principal

GENESIS = "0" * 64
# Any constant works; it names the one lock that orders every append on PostgreSQL.
_CHAIN_LOCK = 0x0CA2E_A0D17


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who did it, as written into the log (a Principal, a CLI user or the system)."""

    id: int | None
    name: str
    role: str = ""
    ip: str = ""


SYSTEM = Actor(id=None, name="system", role="system")


def actor_of(principal: Principal | None, ip: str = "") -> Actor:
    if principal is None:
        return Actor(id=None, name="anonymous", ip=ip)
    return Actor(id=principal.account_id, name=principal.username, role=principal.role, ip=ip)


def _canonical(event: dict[str, Any]) -> str:
    return msgspec.json.encode(event, order="sorted").decode()


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


async def record(
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    *,
    before: Any = None,
    after: Any = None,
    detail: Any = None,
) -> int:
    """Append one event inside the caller's transaction (or its own); returns its seq.

    Appends are serialized (advisory lock on PostgreSQL, the write lock on SQLite) so that
    concurrent writers still produce one unbroken chain.
    """
    async with atomic():
        if is_postgres():
            await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", _CHAIN_LOCK)
        last = (
            await AuditEvent.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq, ascending=False).first()
        )
        seq = (last["seq"] + 1) if last else 1
        prev = last["hash"] if last else GENESIS
        at = dt.datetime.now(dt.UTC)
        payload = _canonical(
            {
                "seq": seq,
                "at": at.isoformat(),
                "actor": msgspec.to_builtins(actor),
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "before": msgspec.to_builtins(before),
                "after": msgspec.to_builtins(after),
                "detail": msgspec.to_builtins(detail),
            }
        )
        await AuditEvent.insert(
            AuditEvent(
                seq=seq,
                at=at,
                actor_id=actor.id,
                actor_name=actor.name,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                payload=payload,
                prev_hash=prev,
                hash=chain_hash(prev, payload),
            )
        )
        return seq


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    row_id: int | None
    reason: str


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    checked: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None


async def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first row altered, missing or inserted."""
    expected_seq = 1
    prev = GENESIS
    checked = 0
    while True:
        rows = await AuditEvent.select().where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
        if not rows:
            return VerifyResult(checked=checked, head_seq=expected_seq - 1, head_hash=prev, first_break=None)
        for row in rows:
            problem = _row_problem(row, expected_seq, prev)
            if problem:
                seq = expected_seq if problem.startswith("missing") else row["seq"]
                return VerifyResult(
                    checked=checked,
                    head_seq=expected_seq - 1,
                    head_hash=prev,
                    first_break=ChainBreak(seq=seq, row_id=row["id"], reason=problem),
                )
            prev = row["hash"]
            expected_seq += 1
            checked += 1


def _row_problem(row: dict[str, Any], expected_seq: int, prev: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"missing: row seq {expected_seq} is absent (next present is {row['seq']})"
    if row["prev_hash"] != prev:
        return "prev_hash does not match the previous row: a row before it was removed or replaced"
    if chain_hash(prev, row["payload"]) != row["hash"]:
        return "hash does not match the row's content: the payload or hash was altered"
    try:
        event = msgspec.json.decode(row["payload"])
    except msgspec.DecodeError:
        return "payload is not valid JSON"
    at = row["at"]
    at_text = at.astimezone(dt.UTC).isoformat() if isinstance(at, dt.datetime) else str(at)
    columns = {
        "seq": row["seq"],
        "at": at_text,
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "actor_id": row["actor_id"],
        "actor_name": row["actor_name"],
    }
    recorded = {
        "seq": event.get("seq"),
        "at": event.get("at"),
        "action": event.get("action"),
        "object_type": event.get("object_type"),
        "object_id": event.get("object_id"),
        "actor_id": (event.get("actor") or {}).get("id"),
        "actor_name": (event.get("actor") or {}).get("name"),
    }
    for name, value in columns.items():
        if recorded[name] != value:
            return f"column {name} differs from the signed payload"
    return None
