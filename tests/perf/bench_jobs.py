"""Benchmark: jobs on arq and Redis, against a bare Redis round trip and the work called directly.

- an arq no-op job's enqueue-to-done time (carepact's WorkerSettings: its poll delay, its Redis) against
  a bare Redis round trip (SET then GET) on the same connection settings: reported;
- a carepact job through arq (Job row, dispatch, claim, heartbeat, finish) whose handler does nothing,
  against the arq no-op: the platform's own bookkeeping per job, reported.

Needs Redis: REDIS_URL or BENCH_REDIS_URL (default redis://127.0.0.1:6379/15, a database of its own).
Run with ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

from common import Figure, Report

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
ROUNDS = 50
DONE = ("succeeded", "failed")
QUEUE = f"bench:{uuid.uuid4().hex}"
# Read once by carepact's settings: jobs go to arq on this Redis, on a queue of this run's own.
os.environ["REDIS_URL"] = REDIS_URL
os.environ["CAREPACT_ARQ_QUEUE"] = QUEUE


async def noop(ctx: dict) -> str:
    return "ok"


async def main() -> None:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from carepact import db
    from carepact.jobs import services as jobs
    from carepact.jobs.tables import Job
    from carepact.worker import WorkerSettings, run_job

    settings = RedisSettings.from_dsn(REDIS_URL)
    try:
        pool = await create_pool(settings)
        await pool.ping()
    except Exception as exc:
        raise SystemExit(f"bench_jobs needs Redis at {REDIS_URL}: {exc}") from exc
    report = Report("jobs")
    queue = QUEUE
    poll = getattr(WorkerSettings, "poll_delay", 0.5)
    print(f"jobs on arq ({ROUNDS} rounds each, worker poll delay {poll} s)", flush=True)

    trips = []
    for n in range(ROUNDS):
        began = time.perf_counter()
        await pool.set(f"{queue}:k{n}", "v")
        await pool.get(f"{queue}:k{n}")
        trips.append(time.perf_counter() - began)
    await pool.delete(*[f"{queue}:k{n}" for n in range(ROUNDS)])

    await db.migrate()
    await db.start()
    jobs.register({"bench_noop": lambda ctx: noop({})})
    worker = Worker(
        functions=[noop, run_job],
        queue_name=queue,
        redis_pool=pool,
        poll_delay=poll,
        on_startup=None,
        handle_signals=False,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        arq_times = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            job = await pool.enqueue_job("noop", _queue_name=queue)
            assert await job.result(timeout=30, poll_delay=0.005) == "ok"
            arq_times.append(time.perf_counter() - began)
        platform_times = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            job_id = await jobs.submit("bench_noop", {})
            while (await Job.select(Job.status).where(Job.id == job_id).first())["status"] not in DONE:  # noqa: ASYNC110
                await asyncio.sleep(0.005)  # as a page polls the job's row
            platform_times.append(time.perf_counter() - began)
    finally:
        running.cancel()
        await worker.close()
        await db.stop()
    trip, arq_done, platform_done = (statistics.median(t) for t in (trips, arq_times, platform_times))
    report.add(Figure("arq no-op job, enqueue to done (median) vs a bare Redis round trip", arq_done, trip, "s", ""))
    report.add(
        Figure("carepact job through arq, submit to done (median) vs the arq no-op", platform_done, arq_done, "s", "")
    )
    report.write()


if __name__ == "__main__":
    asyncio.run(main())
