"""Submitting, running and sweeping jobs, in-process or on arq workers.

Delivery is at least once (arq's promise, and the sweeper's); ``execute`` makes it exactly
once in effect: a job is claimed with a conditional UPDATE, a finished job is never run again,
and handlers write their outputs idempotently.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
ARQ_FUNCTION = "run_job"


def stale_after() -> dt.timedelta:
    """A running job with no heartbeat for this long is dead (CAREPACT_JOB_STALE_SECONDS)."""
    return dt.timedelta(seconds=get_settings().job_stale_seconds)


def queued_grace() -> dt.timedelta:
    """A queued job not started after this is dispatched again (its message lost, or never sent
    because Redis was down): a third of the stale period, 30 s by default."""
    return stale_after() / 3


def heartbeat_every() -> float:
    # Several beats per stale period, so one slow beat never makes a live job look dead.
    return get_settings().job_stale_seconds / 6


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

    async def checkpoint(self, done: int, total: int, note: str) -> None:
        """Report progress at the handler's commit point: its outputs are written, the database
        does not record them yet. Fault drills (CAREPACT_JOB_DRILL_PAUSE) pause here, so a
        worker can be killed at the worst moment and the rerun shown to lose and duplicate nothing."""
        self._last_report = 0.0
        await self.progress(done, total, note)
        pause = get_settings().job_drill_pause
        if pause > 0:
            log.warning("job %s: fault-drill pause of %.1f s at its commit point", self.job_id, pause)
            await asyncio.sleep(pause)


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
# Called with a job's params when the job system gives up on it without the handler having
# answered (its workers kept dying), so the object it worked on is not left waiting for ever.
GiveUp = Callable[[dict[str, Any]], Awaitable[None]]
_handlers: dict[str, Handler] = {}
_give_ups: dict[str, GiveUp] = {}
_tasks: set[asyncio.Task[Any]] = set()
_arq_pool: Any = None


def register(handlers: dict[str, Handler], give_ups: dict[str, GiveUp] | None = None) -> None:
    """The composition root (carepact.worker.JOBS) tells the kernel which jobs exist."""
    _handlers.update(handlers)
    _give_ups.update(give_ups or {})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def submit(kind: str, params: dict[str, Any], *, owner: int | None = None, key: str | None = None) -> uuid.UUID:
    """Record a job and dispatch it once the caller's transaction commits."""
    if kind not in _handlers:
        raise ValueError(f"unknown job kind {kind!r}")
    async with atomic():
        job_id = uuid.uuid4()
        # DO NOTHING rather than look-then-insert: two concurrent submits with one key (a
        # double click) would both find nothing, and the second insert would fail on PostgreSQL.
        inserted = (
            await Job.insert(
                Job(id=job_id, kind=kind, key=key, params=msgspec.json.encode(params).decode(), owner=owner)
            )
            .on_conflict(action="DO NOTHING")
            .returning(Job.id)
        )
        if not inserted:  # the key's job exists (it is what conflicted)
            existing = await Job.select(Job.id).where(Job.key == key).first()
            assert existing is not None
            return existing["id"]
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

        settings = get_settings()
        # No connection retries here: a request that submits a job must not wait seconds for a
        # Redis that is down (arq retries 5 times, a second apart); the job is in the database
        # and the sweeper dispatches it once Redis is back.
        redis = dataclasses.replace(RedisSettings.from_dsn(settings.redis_url or ""), conn_retries=0)
        _arq_pool = await create_pool(redis, default_queue_name=settings.arq_queue)
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
        if row["status"] == JobStatus.running and row["heartbeat_at"] and row["heartbeat_at"] > now - stale_after():
            return None
        if row["attempts"] >= MAX_ATTEMPTS:
            # Every attempt so far died without an answer (a killed or OOM-ed worker): a job that
            # takes its worker down with it must not be handed to the next one for ever.
            await _finish(job_id, JobStatus.failed, error=("job.crashed", "任务多次中断，已停止重试。"))
            give_up = _give_ups.get(row["kind"])
            if give_up is not None:
                await give_up(msgspec.json.decode(row["params"] or "{}"))
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
        await asyncio.sleep(heartbeat_every())
        try:
            await Job.update({Job.heartbeat_at: _now()}).where(Job.id == job_id)
        except Exception:  # one failed beat (a locked SQLite file, a dropped connection) must not end
            # the beating: a silent heartbeat makes the sweeper start a second copy of a live job.
            log.warning("heartbeat of job %s failed; trying again", job_id, exc_info=True)


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
        ((Job.status == JobStatus.queued.value) & (Job.created_at < now - queued_grace()))
        | ((Job.status == JobStatus.running.value) & (Job.heartbeat_at < now - stale_after()))
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
