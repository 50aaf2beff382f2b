"""`carepact worker` runs jobs from a real Redis (arq), against the same database."""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import sys

import pytest

from tests.support import need, redis_url

ROOT = pathlib.Path(__file__).resolve().parents[2]


async def _redis_pool(url: str):
    from arq import create_pool
    from arq.connections import RedisSettings

    try:
        return await asyncio.wait_for(create_pool(RedisSettings.from_dsn(url)), timeout=5)
    except Exception as exc:  # any failure to connect means "no Redis here"
        need(False, f"Redis at {url} is not reachable: {exc}")


@pytest.mark.redis
async def test_worker_process_runs_the_audit_chain_job(world) -> None:
    url = redis_url()
    need(url is not None, "set TEST_REDIS_URL to run arq tests on a real Redis")
    pool = await _redis_pool(url)
    await pool.flushdb()
    job = await pool.enqueue_job("verify_audit_chain")
    env = {**os.environ, "REDIS_URL": url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "carepact.cli",
        "worker",
        "--burst",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, output.decode()
    result = await job.result(timeout=5)
    assert result["ok"] is True
    assert result["checked"] > 0
    await pool.aclose()


def test_worker_without_redis_says_jobs_run_in_process(world) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "carepact.cli", "worker", "--burst"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode != 0
    assert "REDIS_URL" in (out.stdout + out.stderr)
