"""A test's own Redis and PostgreSQL servers, on free ports in temporary directories, which the
test may stop and start at will (the machine's shared servers are never touched)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.platform.test_jobs import _free_port
from tests.support import need


class PrivateRedis:
    """redis-server on a free port, with no persistence: stopping it loses what it held, as a
    crashed Redis without AOF would."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        need(binary is not None, "redis-server is not installed (apt-get install redis-server)")
        self.binary = binary or ""
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline and self.process.poll() is None, "private redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb into a temporary directory, trust auth, a
    free port, its socket in that directory), run as the `postgres` user when the test runs as
    root, since PostgreSQL refuses to run as root."""

    def __init__(self) -> None:
        bindir = _postgres_bin()
        need(bindir is not None, "PostgreSQL server binaries are not installed (apt-get install postgresql)")
        self.bindir = bindir or Path()
        # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
        self.directory = directory = Path(tempfile.mkdtemp(prefix="carepact-pg-"))
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(directory, self.user)

    def _run(self, *args: str) -> None:
        out = subprocess.run(args, user=self.user, capture_output=True, text=True, cwd=self.directory, timeout=120)
        assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr}\n{self._log_tail()}"

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=50"
        self._run(
            str(self.bindir / "pg_ctl"), action, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", *extra
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """Fast shutdown (open connections are cut, transactions in flight roll back), then start."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Stop the server and remove the cluster."""
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
