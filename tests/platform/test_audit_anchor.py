"""The audit chain's anchors: re-hashing from a row to the end, deleting the newest rows, forging
anchors without SECRET_KEY — each found by `carepact audit verify`, which names the row; and writers
in several processes at once still make one anchored chain."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec

from carepact.audit import services as audit
from carepact.audit.tables import AuditAnchor, AuditEvent
from tests.platform.test_audit import carepact_cli, head_seq


async def write_events(count: int) -> list[int]:
    tag = uuid.uuid4().hex
    return [
        await audit.record(audit.Actor(id=None, name="anchor-test"), "test.anchor", "test", tag, detail={"n": n})
        for n in range(count)
    ]


@asynccontextmanager
async def tampering(from_seq: int) -> AsyncIterator[None]:
    """Lets a test damage rows and anchors from ``from_seq`` on, then puts both back exactly."""
    events = await AuditEvent.select().where(AuditEvent.seq >= from_seq).order_by(AuditEvent.seq)
    anchors = await AuditAnchor.select().where(AuditAnchor.seq >= from_seq).order_by(AuditAnchor.seq)
    try:
        yield
    finally:
        await AuditEvent.delete().where((AuditEvent.seq >= from_seq) | (AuditEvent.seq < 0))
        await AuditAnchor.delete().where(AuditAnchor.seq >= from_seq)
        await AuditEvent.insert(*[AuditEvent(**row) for row in events])
        await AuditAnchor.insert(*[AuditAnchor(**row) for row in anchors])
    code, _out, err = await carepact_cli("audit", "verify")
    assert code == 0, f"chain not restored: {err}"


async def rehash_from(seq: int) -> None:
    """What a careful forger does: rewrite one row, then recompute every hash after it so that
    every row agrees with the one before it again."""
    rows = await AuditEvent.select().where(AuditEvent.seq >= seq - 1).order_by(AuditEvent.seq)
    prev = rows[0]["hash"]
    for row in rows[1:]:
        payload = row["payload"]
        if row["seq"] == seq:
            event = msgspec.json.decode(payload)
            payload = audit._canonical(event | {"detail": {"n": "改过的"}})
        new_hash = audit.chain_hash(prev, payload)
        await AuditEvent.raw(
            "UPDATE audit_event SET payload = {}, prev_hash = {}, hash = {} WHERE seq = {}",
            payload,
            prev,
            new_hash,
            row["seq"],
        )
        prev = new_hash


async def verify_fails_at(seq: int, *args: str) -> str:
    code, _out, err = await carepact_cli("audit", "verify", *args)
    assert code == 1, err
    assert f"seq={seq}" in err and "篡改" in err, err
    return err


async def test_rehashing_from_a_row_to_the_end_is_found_at_that_row(world) -> None:
    seqs = await write_events(4)
    async with tampering(seqs[0]):
        await rehash_from(seqs[1])
        assert (await audit.verify()).first_break.seq == seqs[1]  # every link holds, the anchor does not
        err = await verify_fails_at(seqs[1])
        assert "re-hashed" in err


async def test_rewriting_the_anchors_too_needs_the_secret_key(world) -> None:
    seqs = await write_events(3)
    async with tampering(seqs[0]):
        await rehash_from(seqs[1])
        # The forger signs new anchors with a key of their own making.
        wrong_key = hashlib.sha256(b"a guess at the key").digest()
        for row in await AuditEvent.select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq >= seqs[1]):
            mac = hmac.new(wrong_key, f"{row['seq']}:{row['hash']}".encode(), hashlib.sha256).hexdigest()
            await AuditAnchor.update({AuditAnchor.hash: row["hash"], AuditAnchor.mac: mac}).where(
                AuditAnchor.seq == row["seq"]
            )
        err = await verify_fails_at(seqs[1])
        assert "invalid signature" in err


async def test_deleting_the_newest_rows_is_found(world) -> None:
    seqs = await write_events(3)
    async with tampering(seqs[0]):
        await AuditEvent.delete().where(AuditEvent.seq >= seqs[1])
        err = await verify_fails_at(seqs[1])
        assert "deleted" in err
        r = await audit.verify()
        assert (r.head_seq, r.first_break.seq) == (seqs[0], seqs[1])


async def test_deleting_a_rows_anchor_is_found(world) -> None:
    seqs = await write_events(3)
    async with tampering(seqs[0]):
        await AuditAnchor.delete().where(AuditAnchor.seq == seqs[1])
        err = await verify_fails_at(seqs[1])
        assert "no anchor" in err


async def test_deleting_the_newest_rows_with_their_anchors_is_found_against_a_recorded_head(world) -> None:
    """What the database alone cannot show, the head kept outside it (printed here, logged each
    night) can: the row it names must still be there, unchanged."""
    seqs = await write_events(3)
    code, out, err = await carepact_cli("audit", "verify")
    assert code == 0, err
    [recorded] = re.findall(r"(\d+:[0-9a-f]{64})", out)
    assert recorded.startswith(f"{seqs[-1]}:")
    code, _out, err = await carepact_cli("audit", "verify", "--expect", recorded)
    assert code == 0, err
    async with tampering(seqs[0]):
        await AuditEvent.delete().where(AuditEvent.seq >= seqs[1])
        await AuditAnchor.delete().where(AuditAnchor.seq >= seqs[1])
        code, _out, err = await carepact_cli("audit", "verify")
        assert code == 0, err  # consistent as far as the database can tell
        err = await verify_fails_at(seqs[-1], "--expect", recorded)
        assert "newest rows were deleted" in err
    code, _out, err = await carepact_cli("audit", "verify", "--expect", "12:not-a-hash")
    assert code == 2 and "SEQ:HASH" in err


async def test_rows_from_before_anchors_existed_are_anchored_once_by_migrate(world) -> None:
    """A database from before anchoring: `carepact migrate` signs its intact chain once, and says so
    in the log."""
    first_kept = await head_seq() + 1
    await write_events(2)
    async with tampering(1):
        await AuditAnchor.delete().where(AuditAnchor.seq < first_kept)
        code, _out, err = await carepact_cli("audit", "verify")
        assert code == 1 and "seq=1 " in err and "no anchor" in err
        code, out, err = await carepact_cli("migrate")
        assert code == 0, err
        assert "补写签名锚点" in out and f" {first_kept - 1} 行" in out
        code, _out, err = await carepact_cli("audit", "verify")
        assert code == 0, err
        [event] = await AuditEvent.select().where(AuditEvent.action == "audit.anchor_existing")
        assert msgspec.json.decode(event["payload"])["detail"] == {"rows": first_kept - 1, "up_to_seq": first_kept - 1}
        # Once: a second migrate finds every row anchored.
        code, out, _err = await carepact_cli("migrate")
        assert code == 0 and "补写" not in out


_APPENDER = """
import asyncio, sys
from carepact import db
from carepact.audit.services import Actor, record

async def main(process: str, tag: str) -> None:
    await db.start()
    try:
        actor = Actor(id=None, name=f"process-{process}")
        await asyncio.gather(*(record(actor, "test.concurrent_process", "test", tag, detail={"i": i}) for i in range(25)))
    finally:
        await db.stop()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_writers_in_several_processes_keep_one_anchored_chain(world) -> None:
    """Four processes, each with 25 appends in flight at once (on PostgreSQL, 25 connections
    each): one chain, no seq twice or skipped, every row anchored."""
    start = await head_seq()
    tag = uuid.uuid4().hex
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _APPENDER, str(n), tag, env=dict(os.environ), stderr=asyncio.subprocess.PIPE
        )
        for n in range(4)
    ]
    for process in processes:
        _, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, err.decode()
    rows = await AuditEvent.select(AuditEvent.seq, AuditEvent.actor_name).where(AuditEvent.object_id == tag)
    assert len(rows) == 100 and {r["actor_name"] for r in rows} == {f"process-{n}" for n in range(4)}
    assert sorted(r["seq"] for r in rows) == list(range(start + 1, start + 101))
    assert await AuditAnchor.count().where(AuditAnchor.seq > start) == 100
    result = await audit.verify()
    assert result.first_break is None and result.head_seq == start + 100
