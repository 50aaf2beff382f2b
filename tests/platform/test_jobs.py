"""The job system: dispatched only on commit, retried after a crash, swept after a dead worker,
its progress visible to its owner only; and on arq, a worker killed mid-job loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from carepact.db import atomic
from carepact.jobs import services as jobs
from carepact.jobs.services import JobContext
from carepact.jobs.tables import Job, JobStatus
from tests.images import encode, exif, scene
from tests.support import need, redis_url

ROOT = Path(__file__).resolve().parents[2]


async def until(check: Callable[[], Awaitable[Any]], seconds: float, what: str, *, logs: list[Path] = ()) -> Any:
    """Poll ``check`` until it returns something truthy; fail (with the processes' logs) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in logs if p.exists())
            pytest.fail(f"timed out after {seconds} s waiting for {what}\n{tails}")
        await asyncio.sleep(0.05)


async def job_row(job_id: uuid.UUID) -> dict[str, Any]:
    return await Job.select().where(Job.id == job_id).first()


async def finished(job_id: uuid.UUID, seconds: float = 15) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        row = await job_row(job_id)
        return row if row and row["status"] in (JobStatus.succeeded, JobStatus.failed) else None

    return await until(done, seconds, f"job {job_id} to finish")


class Calls:
    """A test job kind that records each run."""

    def __init__(self, kind: str, fail_first: int = 0, gate: asyncio.Event | None = None) -> None:
        self.kind = f"test.{kind}.{uuid.uuid4().hex[:8]}"
        self.attempts: list[int] = []
        self.fail_first = fail_first
        self.gate = gate
        jobs.register({self.kind: self.run})

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.attempts.append(ctx.attempt)
        if len(self.attempts) <= self.fail_first:
            raise RuntimeError("a passing failure")
        if self.gate is not None:
            await ctx.progress(1, 2, "处理到一半")
            await self.gate.wait()
        return {"runs": len(self.attempts), **ctx.params}


# --- in-process ---------------------------------------------------------------------------------


async def test_a_job_submitted_in_a_rolled_back_transaction_never_runs(world) -> None:
    calls = Calls("rollback")

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with atomic():
            job_id = await jobs.submit(calls.kind, {}, key=f"test:{uuid.uuid4()}")
            assert await Job.count().where(Job.id == job_id) == 1  # visible inside, for now
            raise Abandon
    await asyncio.sleep(0.3)
    assert await Job.count().where(Job.id == job_id) == 0
    assert calls.attempts == []

    async with atomic():
        kept = await jobs.submit(calls.kind, {"n": 1})
        await asyncio.sleep(0.2)
        assert calls.attempts == []  # not dispatched before the commit
    row = await finished(kept)
    assert row["status"] == JobStatus.succeeded and calls.attempts == [1]


async def test_one_key_makes_one_job_even_when_submitted_at_once(world) -> None:
    calls = Calls("key")
    key = f"test:{uuid.uuid4()}"
    ids = await asyncio.gather(*(jobs.submit(calls.kind, {}, key=key) for _ in range(5)))
    assert len(set(ids)) == 1
    assert await Job.count().where(Job.key == key) == 1
    await finished(ids[0])
    assert calls.attempts == [1]


async def test_a_crashing_handler_is_retried_and_then_succeeds(world) -> None:
    calls = Calls("flaky", fail_first=1)
    job_id = await jobs.submit(calls.kind, {"photo": "x"})
    row = await finished(job_id, seconds=jobs.retry_delay(1) + 10)
    assert row["status"] == JobStatus.succeeded
    assert row["attempts"] == 2 and calls.attempts == [1, 2]
    assert row["error_code"] == "" and row["progress"] == 100


async def test_a_job_left_running_by_a_dead_worker_is_swept_and_run_once(world) -> None:
    calls = Calls("orphan")
    job_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    # What a killed worker leaves: running, one attempt made, a heartbeat that then stops.
    await Job.insert(
        Job(id=job_id, kind=calls.kind, status=JobStatus.running.value, attempts=1, started_at=now, heartbeat_at=now)
    )
    await jobs.sweep()
    await asyncio.sleep(0.3)
    assert calls.attempts == [] and (await job_row(job_id))["status"] == JobStatus.running  # it may be alive

    await Job.update({Job.heartbeat_at: now - jobs.stale_after() - dt.timedelta(seconds=1)}).where(Job.id == job_id)
    assert await jobs.sweep() >= 1
    row = await finished(job_id)
    assert row["status"] == JobStatus.succeeded and row["attempts"] == 2
    await jobs.sweep()
    assert await jobs.execute(job_id) == "skipped"
    await asyncio.sleep(0.3)
    assert calls.attempts == [2]


async def test_a_job_that_keeps_killing_its_worker_is_given_up(world) -> None:
    calls = Calls("poison")
    job_id = uuid.uuid4()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await Job.insert(
        Job(
            id=job_id,
            kind=calls.kind,
            status=JobStatus.running.value,
            attempts=jobs.MAX_ATTEMPTS,
            started_at=long_ago,
            heartbeat_at=long_ago,
        )
    )
    await jobs.sweep()
    row = await finished(job_id)
    assert row["status"] == JobStatus.failed and row["error_code"] == "job.crashed"
    assert row["error_message"] and calls.attempts == []


async def test_a_photo_whose_job_is_given_up_is_refused_not_left_pending(client, world) -> None:
    # `client` started the app, which registered the platform's jobs and their give-up hooks.
    from carepact.media.tables import Photo, PhotoStatus

    photo_id, job_id = uuid.uuid4(), uuid.uuid4()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await Photo.insert(Photo(id=photo_id, sha256="0" * 64, original_key=f"originals/test/{photo_id}"))
    await Job.insert(
        Job(
            id=job_id,
            kind="process_photo",
            params=f'{{"photo_id": "{photo_id}"}}',
            status=JobStatus.running.value,
            attempts=jobs.MAX_ATTEMPTS,
            started_at=long_ago,
            heartbeat_at=long_ago,
        )
    )
    assert await jobs.execute(job_id) == "skipped"
    photo = await Photo.select(Photo.status, Photo.error_code, Photo.error_message).where(Photo.id == photo_id).first()
    assert photo["status"] == PhotoStatus.refused and photo["error_code"] == "photo.unprocessable"
    assert "重新拍摄" in photo["error_message"]


async def test_progress_is_visible_to_the_owner_only(api, world) -> None:
    from tests.support import principal

    owner = await principal("weibin_worker")
    gate = asyncio.Event()
    calls = Calls("progress", gate=gate)
    job_id = await jobs.submit(calls.kind, {"sheet": 1}, owner=owner.account_id)
    try:

        async def halfway() -> dict[str, Any] | None:
            r = await api("weibin_worker").get(f"/api/jobs/{job_id}")
            assert r.status_code == 200, r.text
            return r.json() if r.json()["progress"] == 50 else None

        body = await until(halfway, 10, "the job to report progress")
        assert body["status"] == "running" and body["status_label"] == "进行中"
        assert body["note"] == "处理到一半" and body["result"] is None
        for other in ("jintai_auditor", "weibin_auditor", "renhe_manager"):
            r = await api(other).get(f"/api/jobs/{job_id}")
            assert r.status_code == 404 and r.json()["code"] == "job.not_found", other
    finally:
        gate.set()
    await finished(job_id)
    body = (await api("weibin_worker").get(f"/api/jobs/{job_id}")).json()
    assert body["status"] == "succeeded" and body["progress"] == 100 and body["result"] == {"runs": 1, "sheet": 1}


# --- on arq, in real processes -------------------------------------------------------------------


async def _redis(url: str):
    from arq import create_pool
    from arq.connections import RedisSettings

    try:
        return await asyncio.wait_for(create_pool(RedisSettings.from_dsn(url)), timeout=5)
    except Exception as exc:  # any failure to connect means "no Redis here"
        need(False, f"Redis at {url} is not reachable: {exc}")


@contextlib.contextmanager
def carepact(*args: str, env: dict[str, str], logs: list[Path]) -> Iterator[subprocess.Popen]:
    """`carepact ARGS` as its own process, over the test database and media directory."""
    log_path = Path(os.environ["CAREPACT_VAR_DIR"]) / f"{args[0]}-{uuid.uuid4().hex[:6]}.log"
    logs.append(log_path)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "carepact.cli", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def web_and_redis(tokens: dict[str, str], logs: list[Path]):
    """A `carepact serve` process with REDIS_URL (so jobs go to arq), and an HTTP client into it.

    The test's own arq queue, rather than a flushed database: test runs sharing the Redis
    would otherwise wipe each other's queues and run each other's jobs against the wrong database.
    """
    url = redis_url()
    need(url is not None, "set TEST_REDIS_URL to run arq tests on a real Redis")
    queue = f"carepact-test:{uuid.uuid4().hex}"
    pool = await _redis(url)
    env = {**os.environ, "REDIS_URL": url, "CAREPACT_ARQ_QUEUE": queue, "CAREPACT_JOB_STALE_SECONDS": "3"}
    port = _free_port()
    with carepact("serve", "--host", "127.0.0.1", "--port", str(port), env=env, logs=logs):
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {tokens['weibin_worker']}"}
        ) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/api/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy, 60, "`carepact serve` to answer", logs=logs)
            try:
                yield http, env
            finally:
                await pool.delete(queue)
                await pool.aclose()


async def _upload(http: httpx.AsyncClient, data: bytes) -> uuid.UUID:
    household = (await http.get("/api/households", params={"page_size": 1})).json()["items"][0]["id"]
    photo_id = uuid.uuid4()
    r = await http.put(
        f"/api/photos/{photo_id}",
        files={"data": ("IMG_2041.jpg", data, "image/jpeg")},
        data={"household_id": str(household)},
    )
    assert r.status_code == 201, r.text
    return photo_id


def _photo(scene_seed: int) -> bytes:
    return encode(scene(scene_seed, (1600, 1200)), quality=90, exif=exif(orientation=6, taken="2026:03:05 10:00:00"))


@pytest.mark.redis
async def test_with_redis_a_photo_is_processed_by_a_worker_process(tokens, world) -> None:
    from carepact.media.tables import Photo

    logs: list[Path] = []
    async with web_and_redis(tokens, logs) as (http, env):
        photo_id = await _upload(http, _photo(31))
        await asyncio.sleep(1.0)
        # The web process only enqueued it: nothing runs jobs there when REDIS_URL is set.
        assert (await http.get(f"/api/photos/{photo_id}")).json()["status"] == "pending"
        with carepact("worker", "--burst", env=env, logs=logs) as worker:

            async def exited() -> bool:
                return worker.poll() is not None

            await until(exited, 60, "the burst worker to exit", logs=logs)
            assert worker.returncode == 0
        body = (await http.get(f"/api/photos/{photo_id}")).json()
        assert body["status"] == "ready", body
        assert (body["width"], body["height"]) == (1200, 1600)
        display = await http.get(body["display_url"])
        assert display.status_code == 200 and display.headers["content-type"] == "image/jpeg"
    job = await Job.select().where(Job.key == f"photo:{photo_id}").first()
    assert job["status"] == JobStatus.succeeded and job["attempts"] == 1
    assert await Photo.count().where(Photo.id == photo_id) == 1


@pytest.mark.redis
async def test_a_worker_killed_mid_job_loses_nothing_and_the_photo_is_processed_once(tokens, world) -> None:
    from carepact.audit.tables import AuditEvent
    from carepact.media import storage
    from carepact.media.services import display_key, thumb_key
    from carepact.media.tables import Photo, PhotoStatus

    logs: list[Path] = []
    data = _photo(32)
    async with web_and_redis(tokens, logs) as (http, env):
        # Worker A stops at the job's commit point (files written, database not yet told) for a
        # minute: a documented fault-drill setting, so the kill lands there every time.
        with carepact("worker", env={**env, "CAREPACT_JOB_DRILL_PAUSE": "60"}, logs=logs) as first:
            photo_id = await _upload(http, data)
            display = storage.path_of(display_key(photo_id))
            thumb = storage.path_of(thumb_key(photo_id))  # written last: once there, both are whole

            async def paused_after_writing() -> dict[str, Any] | None:
                job = await Job.select().where(Job.key == f"photo:{photo_id}").first()
                return job if job and job["status"] == JobStatus.running and thumb.exists() else None

            job = await until(paused_after_writing, 60, "worker A to reach the commit point", logs=logs)
            assert job["attempts"] == 1
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        assert (await Photo.select(Photo.status).where(Photo.id == photo_id).first())["status"] == "pending"

        async def heartbeat_stale() -> bool:
            row = await job_row(job["id"])
            return row["heartbeat_at"] < dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)

        await until(heartbeat_stale, 30, "the dead worker's heartbeat to go stale")
        assert (await job_row(job["id"]))["status"] == JobStatus.running  # nobody finished it

        # Worker B: its start-up sweep finds the job with a dead heartbeat and runs it again.
        with carepact("worker", env=env, logs=logs):

            async def ready() -> bool:
                row = await Photo.select(Photo.status).where(Photo.id == photo_id).first()
                return row["status"] == PhotoStatus.ready

            await until(ready, 60, "worker B to finish the photo", logs=logs)
            served = await http.get(f"/api/photos/{photo_id}/display")
            assert served.status_code == 200 and served.content == display.read_bytes()

    job = await job_row(job["id"])
    assert job["status"] == JobStatus.succeeded and job["attempts"] == 2
    assert await Photo.count().where(Photo.sha256 == hashlib.sha256(data).hexdigest()) == 1
    processed = await AuditEvent.count().where(
        (AuditEvent.action == "photo.processed") & (AuditEvent.object_id == str(photo_id))
    )
    assert processed == 1  # exactly once in effect
    media = storage.root()
    assert sorted(p.name for p in display.parent.iterdir()) == ["display.jpg", "thumb.jpg"]
    assert [p for p in media.rglob("*") if str(photo_id) in p.name and p.is_file()] == [
        storage.path_of((await Photo.select(Photo.original_key).where(Photo.id == photo_id).first())["original_key"])
    ]
    assert not [p for p in media.rglob(".tmp-*")], "a half-written file was left behind"
