"""Submitting, running and sweeping jobs, in-process or on arq workers.

Delivery is at least once (arq's promise, and the sweeper's); ``execute`` makes it exactly
once in effect: a job is claimed with a conditional UPDATE, a finished job is never run again,
and handlers write their outputs idempotently.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from carepact.db import atomic, on_commit
from carepact.jobs.tables import Job, JobStatus
from carepact.settings import get_settings

log = logging.getLogger("carepact.jobs")

MAX_ATTEMPTS = 5
STALE_AFTER = dt.timedelta(seconds=90)  # a running job with no heartbeat for this long is dead
QUEUED_GRACE = dt.timedelta(seconds=30)  # a queued job not started after this is re-dispatched
HEARTBEAT_EVERY = 15.0
ARQ_FUNCTION = "run_job"


class JobRefused(Exception):
    """The input can never succeed (a hostile photo, say): fail now with this zh-CN reason, no retry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class JobContext:
    """What a handler gets: its parameters and a way to report progress."""

    def __init__(self, job_id: uuid.UUID, kind: str, params: dict[str, Any], attempt: int) -> None:
        self.job_id = job_id
        self.kind = kind
        self.params = params
        self.attempt = attempt
        self._last_report = 0.0

    async def progress(self, done: int, total: int, note: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last_report < 0.5:
            return
        self._last_report = now
        percent = 100 if total <= 0 else min(99, int(done * 100 / total))
        await Job.update({Job.progress: percent, Job.note: note[:200], Job.heartbeat_at: _now()}).where(
            Job.id == self.job_id
        )


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
_handlers: dict[str, Handler] = {}
_tasks: set[asyncio.Task[Any]] = set()
_arq_pool: Any = None


def register(handlers: dict[str, Handler]) -> None:
    """The composition root (carepact.worker.JOBS) tells the kernel which jobs exist."""
    _handlers.update(handlers)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def submit(kind: str, params: dict[str, Any], *, owner: int | None = None, key: str | None = None) -> uuid.UUID:
    """Record a job and dispatch it once the caller's transaction commits."""
    if kind not in _handlers:
        raise ValueError(f"unknown job kind {kind!r}")
    async with atomic():
        if key is not None:
            existing = await Job.select(Job.id).where(Job.key == key).first()
            if existing:
                return existing["id"]
        job_id = uuid.uuid4()
        await Job.insert(Job(id=job_id, kind=kind, key=key, params=msgspec.json.encode(params).decode(), owner=owner))
        await on_commit(lambda: dispatch(job_id))
    return job_id


async def dispatch(job_id: uuid.UUID, attempt_tag: str = "") -> None:
    """Hand the job to arq (REDIS_URL) or to this process's runner. Never raises: if Redis is
    down, the job stays queued in the database and the sweeper dispatches it later."""
    if get_settings().redis_url:
        try:
            pool = await _pool()
            await pool.enqueue_job(ARQ_FUNCTION, str(job_id), _job_id=f"job:{job_id}{attempt_tag}")
        except Exception as exc:  # Redis down: the sweeper retries from the database
            log.warning("could not enqueue job %s (%s); the sweeper will retry", job_id, exc)
        return
    _spawn(execute(job_id))


def _spawn(coro: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


_slots: asyncio.Semaphore | None = None


async def _pool() -> Any:
    global _arq_pool
    if _arq_pool is None:
        from arq import create_pool
        from arq.connections import RedisSettings

        _arq_pool = await create_pool(RedisSettings.from_dsn(get_settings().redis_url or ""))
    return _arq_pool


async def close() -> None:
    global _arq_pool
    for task in list(_tasks):
        task.cancel()
    if _arq_pool is not None:
        await _arq_pool.aclose()
        _arq_pool = None


async def _claim(job_id: uuid.UUID) -> dict[str, Any] | None:
    """Take the job if nobody live holds it; None if it is finished or taken."""
    now = _now()
    async with atomic():
        row = await Job.select().where(Job.id == job_id).first()
        if row is None or row["status"] in (JobStatus.succeeded, JobStatus.failed):
            return None
        if row["status"] == JobStatus.running and row["heartbeat_at"] and row["heartbeat_at"] > now - STALE_AFTER:
            return None
        claimed = (
            await Job.update(
                {
                    Job.status: JobStatus.running.value,
                    Job.attempts: Job.attempts + 1,
                    Job.started_at: now,
                    Job.heartbeat_at: now,
                }
            )
            .where((Job.id == job_id) & (Job.attempts == row["attempts"]))
            .returning(Job.attempts)
        )
        if not claimed:
            return None
        return row | {"attempts": claimed[0]["attempts"]}


async def _heartbeat(job_id: uuid.UUID) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY)
        await Job.update({Job.heartbeat_at: _now()}).where(Job.id == job_id)


async def execute(job_id: uuid.UUID | str) -> str:
    """Run one job to an end state (or back to queued for a retry). Returns the status."""
    global _slots
    job_id = uuid.UUID(str(job_id))
    if _slots is None:
        _slots = asyncio.Semaphore(get_settings().job_concurrency)
    async with _slots:
        row = await _claim(job_id)
        if row is None:
            return "skipped"
        handler = _handlers.get(row["kind"])
        ctx = JobContext(job_id, row["kind"], msgspec.json.decode(row["params"] or "{}"), row["attempts"])
        beat = asyncio.ensure_future(_heartbeat(job_id))
        try:
            if handler is None:
                raise JobRefused("job.unknown_kind", f"未知的任务类型：{row['kind']}")
            result = await handler(ctx)
        except JobRefused as exc:
            await _finish(job_id, JobStatus.failed, error=(exc.code, exc.message))
            return JobStatus.failed
        except Exception as exc:
            log.exception("job %s (%s) attempt %s failed", job_id, row["kind"], row["attempts"])
            if row["attempts"] >= MAX_ATTEMPTS:
                await _finish(
                    job_id, JobStatus.failed, error=("job.crashed", f"任务多次失败，已停止重试：{type(exc).__name__}")
                )
                return JobStatus.failed
            await Job.update({Job.status: JobStatus.queued.value, Job.note: "出错，稍后自动重试"}).where(
                Job.id == job_id
            )
            if not get_settings().redis_url:
                _spawn(_retry_later(job_id, row["attempts"]))
            # On arq, the caller (carepact.worker.run_job) asks arq to retry it.
            return JobStatus.queued
        finally:
            beat.cancel()
        await _finish(job_id, JobStatus.succeeded, result=result)
        return JobStatus.succeeded


def retry_delay(attempts: int) -> int:
    return min(60, 2**attempts)


async def _retry_later(job_id: uuid.UUID, attempts: int) -> None:
    await asyncio.sleep(retry_delay(attempts))
    await execute(job_id)


async def _finish(
    job_id: uuid.UUID, status: JobStatus, *, result: dict[str, Any] | None = None, error: tuple[str, str] | None = None
) -> None:
    values: dict[Any, Any] = {Job.status: status.value, Job.finished_at: _now(), Job.heartbeat_at: _now()}
    if result is not None:
        values[Job.result] = msgspec.json.encode(result).decode()
        values[Job.progress] = 100
        values[Job.note] = "已完成"
    if error is not None:
        values[Job.error_code], values[Job.error_message] = error
        values[Job.note] = "失败"
    await Job.update(values).where(Job.id == job_id)


async def sweep() -> int:
    """Re-dispatch jobs left behind: queued but never started, or running with a dead heartbeat."""
    now = _now()
    rows = await Job.select(Job.id, Job.attempts).where(
        ((Job.status == JobStatus.queued.value) & (Job.created_at < now - QUEUED_GRACE))
        | ((Job.status == JobStatus.running.value) & (Job.heartbeat_at < now - STALE_AFTER))
    )
    for row in rows:
        # A fresh arq job id, so a job arq still remembers (and will never rerun) is enqueued anew.
        await dispatch(row["id"], attempt_tag=f":sweep{int(now.timestamp())}")
    return len(rows)


async def sweep_forever(interval: float = 30.0) -> None:
    """The in-process sweeper (embedded default): also picks up what a crash left at startup."""
    while True:
        try:
            await sweep()
        except Exception:  # a sweep failing must not stop the next one
            log.exception("job sweep failed")
        await asyncio.sleep(interval)
