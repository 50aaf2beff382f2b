"""Test setup: the environment is fixed before carepact is imported (settings are read once).

The suite runs against SQLite by default and against PostgreSQL when
CAREPACT_TEST_DATABASE_URL is set (`make test` sets it from TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

_TMP = pathlib.Path(tempfile.mkdtemp(prefix="carepact-test-"))
os.environ["CAREPACT_VAR_DIR"] = str(_TMP)
os.environ["MEDIA_DIR"] = str(_TMP / "media")
os.environ["SECRET_KEY"] = "test-only-secret-key-0123456789-abcdefghijklmnop"
os.environ["PICCOLO_CONF"] = "carepact.piccolo_conf"
os.environ.pop("CAREPACT_ENV", None)
os.environ.pop("REDIS_URL", None)
os.environ["DATABASE_URL"] = os.environ.get("CAREPACT_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite3'}"

from collections.abc import AsyncIterator, Callable, Iterator  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402

from tests.support import TEST_HOUSEHOLDS, TEST_RESIDENTS  # noqa: E402

TEST_HISTORY_MONTHS = 3  # of visits, illnesses and findings in the world (a city builds the year)


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ["DATABASE_URL"]
    return f"carepact database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'} ({url})"


async def _reset_database() -> None:
    from carepact import db

    if db.is_postgres():
        await db.engine().run_ddl("DROP SCHEMA public CASCADE")
        await db.engine().run_ddl("CREATE SCHEMA public")


@pytest.fixture(scope="session")
async def world() -> AsyncIterator[object]:
    """A migrated database holding a small demo city (same generator as `carepact demo-data`)."""
    from carepact import db
    from carepact.cli import paying_contracts
    from carepact.demo.build import build_demo
    from contracts.agreement.demo import build_agreements
    from contracts.demo import build_programme
    from contracts.demo_year import build_year, history_window
    from providers.residents.demo import build_resident_care

    await _reset_database()
    await db.migrate()
    await db.start()
    summary = await build_demo(households=TEST_HOUSEHOLDS, residents=TEST_RESIDENTS)
    await build_programme()  # the purchased-service contracts on top of the city
    await build_resident_care(days=7, paying_contracts=await paying_contracts())  # the hospital's last week
    start, end = history_window(months=TEST_HISTORY_MONTHS)
    await build_agreements(history_from=start)  # every household's; five weeks of visits for a pilot in 渭滨区
    await build_year(start=start, end=end)  # the others' visits (two providers worse), illnesses, findings
    yield summary
    await db.stop()


@pytest.fixture(scope="session")
async def app(world: object):
    from carepact.app import create_app

    return create_app()


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP into the app on the test's own event loop.

    Litestar's AsyncTestClient runs the app in a separate thread and loop; an asyncpg pool
    belongs to one loop, so the tests (which also query the database directly) and the app
    must share this one.
    """
    started, stopping = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        # One task enters and exits the lifespan (anyio task groups must), whichever tasks
        # pytest-asyncio uses for the fixture's setup and teardown.
        async with app.lifespan():
            started.set()
            await stopping.wait()

    task = asyncio.create_task(lifespan())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # startup failed: raise its error here
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
        yield c
    stopping.set()
    await task


@pytest.fixture(scope="session")
async def tokens(world: object) -> dict[str, str]:
    """A bearer token for every account (tokens avoid a slow password hash per test)."""
    from carepact.accounts.services import issue_api_token
    from carepact.accounts.tables import Account

    rows = await Account.select(Account.id, Account.user._.username)
    return {r["user.username"]: await issue_api_token(r["id"], "tests") for r in rows}


@pytest.fixture(scope="session")
def api(client: httpx.AsyncClient, tokens: dict[str, str]) -> Callable[[str], UserClient]:
    """api("weibin_auditor").get("/api/households") — requests as that account."""

    def make(username: str) -> UserClient:
        return UserClient(client, tokens[username])

    return make


class UserClient:
    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def patch(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)


# --- the platform as a real process ---------------------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_command(port: int) -> list[str]:
    # The installed console script, as a user runs it; `-m` when only the package is importable.
    script = pathlib.Path(sys.executable).with_name("carepact")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "carepact.cli"]
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port)]


def _wait_until_healthy(base_url: str, process: subprocess.Popen, log_path: pathlib.Path) -> None:
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
    """The base URL of `carepact serve` on a free port, sharing the session's database (migrated,
    demo city loaded) and environment (DATABASE_URL, SECRET_KEY, CAREPACT_VAR_DIR, PICCOLO_CONF)."""
    port = _free_port()
    log_path = pathlib.Path(os.environ["CAREPACT_VAR_DIR"]) / f"live-server-{port}.log"
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


# --- the browser, for the tests marked `browser` ----------------------------------------------------


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[object]:
    """Debian's headless Chromium, one per test module (tests.chromium.launch: its flags, its checks)."""
    from tests.chromium import launch, playwright_available

    playwright_available()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await launch(p)
        yield chromium
        await chromium.close()


@pytest.fixture
async def phone(browser) -> AsyncIterator[object]:
    """A fresh phone-sized page (its own context: no cookies or storage from another test)."""
    from tests.chromium import phone_page

    phone = await phone_page(browser)
    yield phone
    await phone.page.context.close()
