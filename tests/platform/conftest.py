"""The platform as a real process: `carepact serve` on a free port, over the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_command(port: int) -> list[str]:
    # The installed console script, as a user runs it; `-m` when only the package is importable.
    script = Path(sys.executable).with_name("carepact")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "carepact.cli"]
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port)]


def _wait_until_healthy(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.get("/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"`carepact serve` did not answer /api/health at {base_url} (exit code {process.poll()}):\n{tail}")


@pytest.fixture(scope="session")
def live_server(world: object) -> Iterator[str]:
    """The base URL of a live server sharing the session's database (migrated, demo city loaded)
    and environment (DATABASE_URL, SECRET_KEY, CAREPACT_VAR_DIR, PICCOLO_CONF)."""
    port = _free_port()
    log_path = Path(os.environ["CAREPACT_VAR_DIR"]) / f"live-server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _serve_command(port), cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
