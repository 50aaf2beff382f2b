"""Benchmark: the visit API against a bare Litestar endpoint doing only the database work.

Both servers run as `uvicorn` processes with the same settings (one process, proxy headers, info log),
on the same database file and driver, and are loaded by the same client (16 concurrent connections):

- visit submission: POST /api/visits/checkin with a bearer token and a signed door-card token (auth,
  token check, idempotent insert keyed by the phone's UUID, trust flags, audit row) against POST
  /bare/visits doing one plain INSERT: throughput ratio, target ≥ 0.35;
- visit detail: GET /api/visits/{id} with object-level authorization (the worker's own visit) against
  GET /bare/visits/{id} reading the same row: throughput ratio, target ≥ 0.5.

The two servers take turns, ROUNDS times, and each figure is the best rate of each: a shared
machine's slow moments (the bare server's rate varied from 420 to 670 req/s in runs minutes apart)
fall on one side or the other of a single pass.

Run with ``make bench``; not part of ``make test``. BENCH_DATABASE_URL runs it on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid

import httpx
from common import ROOT, TMP, Figure, Report  # sets the environment first

CONCURRENCY = 16
REQUESTS = 1_500
ROUNDS = 3
SERVER = [
    "--host",
    "127.0.0.1",
    "--proxy-headers",
    "--log-level",
    "info",
    "--factory",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT), str(ROOT / "tests" / "perf")])
    }
    log = (TMP / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, *SERVER, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{target} did not start; see {log.name}")


async def load(base: str, requests: list[tuple[str, str, dict | None]], headers: dict[str, str]) -> float:
    """Requests per second for the list, sent over CONCURRENCY connections; every answer must be 2xx."""
    queue: asyncio.Queue = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    failures: list[str] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:

        async def drain() -> None:
            while not queue.empty():
                method, path, body = queue.get_nowait()
                r = await client.request(method, path, json=body)
                if r.status_code >= 300:
                    failures.append(f"{method} {path}: {r.status_code} {r.text[:200]}")

        began = time.perf_counter()
        await asyncio.gather(*(drain() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return len(requests) / seconds


async def setup() -> tuple[str, list[tuple[int, str]]]:
    """A migrated small demo city; the worker's bearer token and signed cards for its households."""
    from carepact import db
    from carepact.accounts.services import account_id_for, issue_api_token
    from carepact.accounts.tables import Assignment
    from carepact.audit.services import SYSTEM
    from carepact.cards.services import token_for
    from carepact.cards.tables import CardSubject
    from carepact.demo.build import build_demo
    from contracts.demo import build_programme

    await db.migrate()
    await db.start()
    await build_demo(households=120, residents=0)
    await build_programme()
    worker = await account_id_for("weibin_worker")
    assert worker is not None
    token = await issue_api_token(worker, "bench")
    households = [
        r["household"] for r in await Assignment.select(Assignment.household).where(Assignment.worker == worker)
    ]
    cards = [(h, await token_for(CardSubject.household, h, SYSTEM)) for h in households]
    await db.engine().run_ddl(
        "CREATE TABLE bench_plain (id TEXT PRIMARY KEY, household INTEGER, device_time TEXT, sent_at TEXT)"
    )
    await db.stop()
    return token, cards


def checkin(household: int, card: str | None) -> dict:
    now = dt.datetime.now(dt.UTC).isoformat()
    body: dict = {"id": str(uuid.uuid4()), "household_id": household, "device_time": now, "sent_at": now}
    if card:
        body["card_token"] = card
    return body


async def main() -> None:
    report = Report("web")
    token, cards = await setup()
    print(f"visit API against a bare endpoint ({REQUESTS} requests, {CONCURRENCY} connections)", flush=True)
    app, app_base = serve("carepact.app:create_app")
    bare, bare_base = serve("bare_app:create_app")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        # Warm both (imports, caches, connections), then measure, bare first and last to even out drift.
        await load(bare_base, [("POST", "/bare/visits", checkin(h, None)) for h, _ in cards], {})
        await load(app_base, [("POST", "/api/visits/checkin", checkin(h, c)) for h, c in cards], auth)
        # Taking turns, best of ROUNDS for each: what a shared machine disturbs least (common.best_of).
        bare_rates, app_rates, first = [], [], None
        for _ in range(ROUNDS):
            bodies = [checkin(*cards[n % len(cards)]) for n in range(REQUESTS)]
            first = first or bodies
            plain = [
                ("POST", "/bare/visits", {k: b[k] for k in ("id", "household_id", "device_time", "sent_at")})
                for b in bodies
            ]
            bare_rates.append(await load(bare_base, plain, {}))
            app_rates.append(await load(app_base, [("POST", "/api/visits/checkin", b) for b in bodies], auth))
        report.add(
            Figure(
                "visit submission (auth, card token, idempotent insert, audit) vs plain insert",
                max(app_rates),
                max(bare_rates),
                "req/s",
                "≥ 0.35",
                f"(best of {ROUNDS} each, taking turns)",
            )
        )
        ids = [b["id"] for b in first[: REQUESTS // 3]] * 3
        bare_reads, app_reads = [], []
        for _ in range(ROUNDS):
            bare_reads.append(await load(bare_base, [("GET", f"/bare/visits/{i}", None) for i in ids], {}))
            app_reads.append(await load(app_base, [("GET", f"/api/visits/{i}", None) for i in ids], auth))
        report.add(
            Figure(
                "visit detail with object-level authorization vs plain row read",
                max(app_reads),
                max(bare_reads),
                "req/s",
                "≥ 0.5",
                f"(best of {ROUNDS} each, taking turns)",
            )
        )
    finally:
        for process in (app, bare):
            process.terminate()
            process.wait(timeout=10)
    report.write()


if __name__ == "__main__":
    asyncio.run(main())
