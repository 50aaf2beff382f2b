"""The one audit writer, and the chain check behind `carepact audit verify`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

import msgspec

from carepact.audit.tables import AuditAnchor, AuditEvent
from carepact.db import atomic, fetch, insert_many, insert_row, is_postgres
from carepact.privacy import derive_key
from carepact.settings import get_settings

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


def anchor_mac(seq: int, row_hash: str) -> str:
    """The anchor's signature: only a holder of SECRET_KEY can make one."""
    key = derive_key(get_settings().secret_key, "carepact/audit-anchor/v1")
    return hmac.new(key, f"{seq}:{row_hash}".encode(), hashlib.sha256).hexdigest()


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
        found = await fetch("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
        last = found[0] if found else None
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
        row_hash = chain_hash(prev, payload)
        await insert_row(
            AuditEvent,
            {
                "seq": seq,
                "at": at,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "payload": payload,
                "prev_hash": prev,
                "hash": row_hash,
            },
        )
        await insert_row(AuditAnchor, {"seq": seq, "hash": row_hash, "mac": anchor_mac(seq, row_hash)})
        return seq


async def anchor_rows_from_before_anchors() -> int:
    """Anchor the rows a database held before anchors existed (rows older than its first anchor),
    once, at `carepact migrate`, provided their chain holds; the step is itself logged. A chain
    that does not hold is left for `carepact audit verify` to report."""
    first = await AuditAnchor.select(AuditAnchor.seq).order_by(AuditAnchor.seq).first()
    older = AuditEvent.seq < first["seq"] if first else AuditEvent.seq > 0
    rows = (
        await AuditEvent.select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.payload)
        .where(older)
        .order_by(AuditEvent.seq)
    )
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row["seq"] != expected_seq or row["prev_hash"] != prev or chain_hash(prev, row["payload"]) != row["hash"]:
            return 0
        prev = row["hash"]
    if not rows:
        return 0
    async with atomic():
        await insert_many(
            AuditAnchor,
            [{"seq": r["seq"], "hash": r["hash"], "mac": anchor_mac(r["seq"], r["hash"])} for r in rows],
        )
        await record(
            SYSTEM, "audit.anchor_existing", "audit", "", detail={"rows": len(rows), "up_to_seq": rows[-1]["seq"]}
        )
    return len(rows)


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    row_id: int | None
    reason: str


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    checked: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None


async def verify(batch: int = 5000, expect: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain in order; report the first row altered, missing, inserted or re-hashed, and
    rows deleted from the end while their anchors remain.

    ``expect`` is a head (seq, hash) recorded earlier outside the database (printed by this
    command, logged by the nightly check): the chain must still hold that row unchanged, which
    also finds the newest rows deleted together with their anchors.
    """
    expected_seq = 1
    prev = GENESIS
    checked = 0

    def broken(seq: int, row_id: int | None, reason: str) -> VerifyResult:
        return VerifyResult(
            checked=checked,
            head_seq=expected_seq - 1,
            head_hash=prev,
            first_break=ChainBreak(seq=seq, row_id=row_id, reason=reason),
        )

    while True:
        rows = await AuditEvent.select().where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
        if not rows:
            break
        anchors = {
            a["seq"]: a
            for a in await AuditAnchor.select().where(
                (AuditAnchor.seq >= rows[0]["seq"]) & (AuditAnchor.seq <= rows[-1]["seq"])
            )
        }
        for row in rows:
            problem = _row_problem(row, expected_seq, prev)
            if problem:
                return broken(expected_seq if problem.startswith("missing") else row["seq"], row["id"], problem)
            problem = _anchor_problem(row, anchors.get(row["seq"]))
            if problem:
                return broken(row["seq"], row["id"], problem)
            prev = row["hash"]
            expected_seq += 1
            checked += 1
    beyond = await AuditAnchor.select().where(AuditAnchor.seq >= expected_seq).order_by(AuditAnchor.seq).first()
    if beyond is not None:
        if hmac.compare_digest(beyond["mac"], anchor_mac(beyond["seq"], beyond["hash"])):
            reason = f"missing: rows from seq {expected_seq} on were deleted (the chain was anchored up to seq {beyond['seq']} at least)"
        else:
            reason = f"anchor for seq {beyond['seq']} beyond the last row has an invalid signature: it was forged"
        return broken(expected_seq, None, reason)
    if expect is not None:
        seq, head_hash = expect
        witness = await AuditEvent.select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.seq == seq).first()
        if witness is None:
            return broken(
                seq, None, f"missing: row seq {seq}, a head recorded earlier, is gone (the newest rows were deleted)"
            )
        if witness["hash"] != head_hash:
            return broken(seq, witness["id"], "row differs from the head recorded earlier: the chain was rewritten")
    return VerifyResult(checked=checked, head_seq=expected_seq - 1, head_hash=prev, first_break=None)


def _anchor_problem(row: dict[str, Any], anchor: dict[str, Any] | None) -> str | None:
    if anchor is None:
        return "no anchor: the row was written past the audit writer, or its anchor was deleted"
    if not hmac.compare_digest(anchor["mac"], anchor_mac(anchor["seq"], anchor["hash"])):
        return "the row's anchor has an invalid signature: the anchor was forged or altered"
    if anchor["hash"] != row["hash"]:
        return "hash differs from its anchor: the row was rewritten and the chain re-hashed"
    return None


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
