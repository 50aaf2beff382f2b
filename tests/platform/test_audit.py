"""The audit log: every write and every sensitive read leaves a row; tampering is found by the CLI."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest

from carepact.audit import services as audit
from carepact.audit.tables import AuditEvent
from carepact.registry.tables import Household, Person
from tests.support import csv_file, csv_row, household_body, upload, villages

CAREPACT = pathlib.Path(sys.executable).parent / "carepact"


async def head_seq() -> int:
    row = await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first()
    return row["seq"] if row else 0


async def events_after(seq: int, **where: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
    events = []
    for row in rows:
        event = msgspec.json.decode(row["payload"])
        if all(event.get(k) == v for k, v in where.items()):
            events.append(event | {"row": row})
    return events


async def account_id(username: str) -> int:
    from carepact.accounts.services import account_id_for

    return await account_id_for(username)


async def new_household(api, username: str = "weibin_auditor", county: str = "610302") -> dict:
    r = await api(username).post("/api/households", json=household_body((await villages(county))[7]))
    assert r.status_code == 201, r.text
    return r.json()


async def carepact_cli(*args: str) -> tuple[int, str, str]:
    """The real command in its own process, configured exactly as this test session."""
    proc = await asyncio.create_subprocess_exec(
        str(CAREPACT),
        *args,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


# --- what gets written --------------------------------------------------------------------


async def test_creating_a_household_is_logged_with_actor_and_object(api, world) -> None:
    start = await head_seq()
    detail = await new_household(api)
    [event] = await events_after(start, action="household.create")
    assert event["row"]["actor_id"] == await account_id("weibin_auditor")
    assert event["actor"]["name"] == event["row"]["actor_name"] == "weibin_auditor"
    assert event["actor"]["role"] == "county_auditor"
    assert (event["object_type"], event["object_id"]) == ("household", str(detail["id"]))
    assert event["after"]["code"] == detail["code"]
    assert event["after"]["person_id"] == detail["persons"][0]["id"]
    assert event["before"] is None


async def test_changing_a_household_logs_before_and_after(api, world) -> None:
    detail = await new_household(api)
    start = await head_seq()
    r = await api("weibin_auditor").patch(
        f"/api/households/{detail['id']}", json={"address": "新地址9号", "latitude": 34.3712, "longitude": 107.1499}
    )
    assert r.status_code == 200, r.text
    [event] = await events_after(start)
    assert event["action"] == "household.update"
    assert (event["object_type"], event["object_id"]) == ("household", str(detail["id"]))
    assert event["before"]["address"] == detail["address"]
    assert event["after"]["address"] == "新地址9号"
    # Exact coordinates are sensitive: the log says they changed, never where to.
    assert "34.3712" not in event["row"]["payload"] and event["after"]["latitude"] == "(已更改)"

    # Saving the same values again changes nothing and logs nothing.
    start = await head_seq()
    r = await api("weibin_auditor").patch(f"/api/households/{detail['id']}", json={"address": "新地址9号"})
    assert r.status_code == 200
    assert await head_seq() == start


async def test_changing_a_person_logs_what_changed_but_not_health_notes(api, world) -> None:
    detail = await new_household(api)
    pid = detail["persons"][0]["id"]
    start = await head_seq()
    r = await api("weibin_auditor").patch(f"/api/persons/{pid}", json={"care_level": "unable", "illness": "糖尿病足"})
    assert r.status_code == 200, r.text
    [event] = await events_after(start)
    assert (event["action"], event["object_type"], event["object_id"]) == ("person.update", "person", str(pid))
    assert event["row"]["actor_name"] == "weibin_auditor"
    assert event["before"] == {"care_level": "able"}
    assert event["after"]["care_level"] == "unable"
    assert sorted(event["after"]["changed"]) == ["care_level", "illness"]
    assert "糖尿病足" not in event["row"]["payload"]


async def test_an_import_logs_one_row_per_household(api, world) -> None:
    weibin = await villages("610302")
    start = await head_seq()
    r = await api("weibin_township").post(
        "/api/households/import",
        files=upload(csv_file([csv_row(v) for v in (await villages("610302010"))[:2]] + [csv_row(weibin[-1])])),
    )
    assert r.status_code == 201, r.text
    events = await events_after(start, action="household.create")
    assert sorted(int(e["object_id"]) for e in events) == sorted(r.json()["household_ids"])
    assert {e["row"]["actor_name"] for e in events} == {"weibin_township"}


async def test_a_refused_write_leaves_no_row(api, world) -> None:
    start = await head_seq()
    r = await api("weibin_auditor").post("/api/households", json=household_body((await villages("610303"))[0]))
    assert r.status_code == 400
    assert await head_seq() == start


async def test_every_sensitive_read_is_logged(api, world) -> None:
    detail = await new_household(api)
    pid = detail["persons"][0]["id"]
    start = await head_seq()
    for username in ("weibin_auditor", "weibin_auditor", "city_admin"):
        assert (await api(username).get(f"/api/persons/{pid}/sensitive")).status_code == 200
    events = await events_after(start)
    assert [(e["action"], e["object_id"], e["row"]["actor_name"]) for e in events] == [
        ("person.read_sensitive", str(pid), "weibin_auditor"),
        ("person.read_sensitive", str(pid), "weibin_auditor"),
        ("person.read_sensitive", str(pid), "city_admin"),
    ]
    assert "id_number" in events[0]["detail"]["fields"]
    # A field worker is shown the masked number, and the row says so.
    worker_household = min(
        h["id"] for h in (await api("weibin_worker").get("/api/households?page_size=200")).json()["items"]
    )
    worker_pid = (await Person.select(Person.id).where(Person.household == worker_household).first())["id"]
    start = await head_seq()
    assert (await api("weibin_worker").get(f"/api/persons/{worker_pid}/sensitive")).status_code == 200
    [event] = await events_after(start)
    assert event["action"] == "person.read_sensitive" and "id_number" not in event["detail"]["fields"]
    # The city bureau finds those reads in the log over HTTP.
    r = await api("city_admin").get(f"/api/audit/events?action=person.read_sensitive&object_id={pid}")
    assert r.status_code == 200
    assert [e["actor_name"] for e in r.json()["items"]] == ["city_admin", "weibin_auditor", "weibin_auditor"]


async def test_masked_reads_are_not_logged_as_sensitive(api, world) -> None:
    detail = await new_household(api)
    start = await head_seq()
    await api("weibin_auditor").get(f"/api/households/{detail['id']}")
    await api("weibin_auditor").get("/api/households")
    assert await head_seq() == start


# --- tampering, found by `carepact audit verify` ---------------------------------------------


@asynccontextmanager
async def tampering(from_seq: int) -> AsyncIterator[None]:
    """Lets a test damage rows from ``from_seq`` on, then puts them back exactly, so the rest of
    the suite still sees one valid chain."""
    saved = await AuditEvent.select().where(AuditEvent.seq >= from_seq).order_by(AuditEvent.seq)
    try:
        yield
    finally:
        await AuditEvent.delete().where((AuditEvent.seq >= from_seq) | (AuditEvent.seq < 0))
        await AuditEvent.insert(*[AuditEvent(**row) for row in saved])
    code, _out, err = await carepact_cli("audit", "verify")
    assert code == 0, f"chain not restored: {err}"


async def middle_seq(api) -> int:
    # A row with a sensitive read in it, followed by more rows.
    pid = (await new_household(api))["persons"][0]["id"]
    assert (await api("weibin_auditor").get(f"/api/persons/{pid}/sensitive")).status_code == 200
    seq = await head_seq()
    await new_household(api)
    await new_household(api)
    return seq


async def test_verify_passes_on_the_untouched_chain(api, world) -> None:
    await new_household(api)
    code, out, err = await carepact_cli("audit", "verify")
    assert code == 0, err
    assert f"seq={await head_seq()}" in out and "完整" in out
    r = await api("city_admin").get("/api/audit/verify")
    assert r.json()["ok"] is True and r.json()["head_seq"] == await head_seq()


@pytest.mark.parametrize("how", ["payload", "column", "payload, columns and hash"])
async def test_altering_a_row_is_found_and_named(api, world, how: str) -> None:
    seq = await middle_seq(api)
    row = await AuditEvent.select().where(AuditEvent.seq == seq).first()
    event = msgspec.json.decode(row["payload"])
    assert "id_number" in event["detail"]["fields"]
    # Someone hides that the full ID number was shown (a part of the payload with no column copy)...
    hidden = audit._canonical(event | {"detail": {"fields": ["illness"]}})
    # ...or who looked at the record.
    forged = audit._canonical(event | {"actor": event["actor"] | {"id": None, "name": "system"}})
    async with tampering(seq):
        if how == "payload":
            await AuditEvent.raw("UPDATE audit_event SET payload = {} WHERE seq = {}", hidden, seq)
        elif how == "column":
            await AuditEvent.raw("UPDATE audit_event SET actor_name = {} WHERE seq = {}", "system", seq)
        else:  # a careful forger also fixes the copies and the row's own hash
            await AuditEvent.raw(
                "UPDATE audit_event SET payload = {}, actor_name = {}, actor_id = NULL, hash = {} WHERE seq = {}",
                forged,
                "system",
                audit.chain_hash(row["prev_hash"], forged),
                seq,
            )
        code, _out, err = await carepact_cli("audit", "verify")
        assert code == 1
        # The re-hashed row is consistent by itself and with its successor's link, but not with
        # its anchor, which nobody without SECRET_KEY can remake: the altered row itself is named.
        named = seq
        assert f"seq={named}" in err, err
        assert "篡改" in err
        r = await api("city_admin").get("/api/audit/verify")
        assert (r.json()["ok"], r.json()["broken_seq"]) == (False, named)


async def test_deleting_a_row_names_the_missing_seq(api, world) -> None:
    seq = await middle_seq(api)
    async with tampering(seq):
        await AuditEvent.raw("DELETE FROM audit_event WHERE seq = {}", seq)
        code, _out, err = await carepact_cli("audit", "verify")
        assert code == 1
        assert f"seq={seq}" in err and "missing" in err


async def test_inserting_a_forged_row_in_the_middle_is_found(api, world) -> None:
    seq = await middle_seq(api)
    before = await AuditEvent.select().where(AuditEvent.seq == seq).first()
    async with tampering(seq + 1):
        # Make room after `seq` (two steps, as seq is unique), then slip in a self-consistent row.
        await AuditEvent.raw("UPDATE audit_event SET seq = -seq - 1 WHERE seq > {}", seq)
        await AuditEvent.raw("UPDATE audit_event SET seq = -seq WHERE seq < 0")
        at = before["at"]
        payload = audit._canonical(
            {
                "seq": seq + 1,
                "at": at.isoformat(),
                "actor": {"id": None, "name": "system", "role": "system", "ip": ""},
                "action": "household.update",
                "object_type": "household",
                "object_id": "1",
                "before": None,
                "after": {"address": "伪造"},
                "detail": None,
            }
        )
        await AuditEvent.insert(
            AuditEvent(
                seq=seq + 1,
                at=at,
                actor_id=None,
                actor_name="system",
                action="household.update",
                object_type="household",
                object_id="1",
                payload=payload,
                prev_hash=before["hash"],
                hash=audit.chain_hash(before["hash"], payload),
            )
        )
        code, _out, err = await carepact_cli("audit", "verify")
        assert code == 1
        # The forged row links to its predecessor, but it is not the row its seq's anchor signed.
        assert f"seq={seq + 1}" in err and "anchor" in err, err


# --- one chain under concurrent writers ------------------------------------------------------


async def test_concurrent_writers_keep_one_chain(world) -> None:
    start = await head_seq()
    tag = uuid.uuid4().hex
    actors = [audit.Actor(id=None, name=f"writer-{i}") for i in range(20)]
    seqs = await asyncio.gather(
        *(audit.record(a, "test.concurrent", "test", tag, detail={"i": i}) for i, a in enumerate(actors))
    )
    assert sorted(seqs) == list(range(start + 1, start + 21))
    result = await audit.verify()
    assert result.first_break is None and result.head_seq == start + 20
    assert await AuditEvent.count().where(AuditEvent.object_id == tag) == 20


async def test_concurrent_requests_keep_one_chain(api, world) -> None:
    households = [await new_household(api) for _ in range(4)]
    start = await head_seq()
    responses = await asyncio.gather(
        *(
            api("weibin_auditor").patch(f"/api/households/{h['id']}", json={"address": f"并发地址{n}号"})
            for n in range(5)
            for h in households
        ),
        *(api("weibin_auditor").get(f"/api/persons/{h['persons'][0]['id']}/sensitive") for h in households),
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    code, _out, err = await carepact_cli("audit", "verify")
    assert code == 0, err
    # Every change that took effect and every read is in the log, each once.
    assert await head_seq() - start == len(await events_after(start)) >= len(households) * 2
    final = {
        h["id"]: h["address"] for h in await Household.select().where(Household.id.is_in([x["id"] for x in households]))
    }
    for h in households:
        [last] = [e for e in await events_after(start, action="household.update", object_id=str(h["id"]))][-1:]
        assert last["after"]["address"] == final[h["id"]]
