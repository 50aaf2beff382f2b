"""Test setup: the environment is fixed before carepact is imported (settings are read once).

The suite runs against SQLite by default and against PostgreSQL when
CAREPACT_TEST_DATABASE_URL is set (`make test` sets it from TEST_DATABASE_URL).
"""

from __future__ import annotations

import os
import pathlib
import tempfile

_TMP = pathlib.Path(tempfile.mkdtemp(prefix="carepact-test-"))
os.environ["CAREPACT_VAR_DIR"] = str(_TMP)
os.environ["MEDIA_DIR"] = str(_TMP / "media")
os.environ["SECRET_KEY"] = "test-only-secret-key-0123456789-abcdefghijklmnop"
os.environ["PICCOLO_CONF"] = "carepact.piccolo_conf"
os.environ.pop("CAREPACT_ENV", None)
os.environ.pop("REDIS_URL", None)
os.environ["DATABASE_URL"] = os.environ.get("CAREPACT_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite3'}"

from collections.abc import AsyncIterator, Callable  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from tests.support import TEST_HOUSEHOLDS, TEST_RESIDENTS  # noqa: E402


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
    from carepact.demo.build import build_demo

    await _reset_database()
    await db.migrate()
    await db.start()
    summary = await build_demo(households=TEST_HOUSEHOLDS, residents=TEST_RESIDENTS)
    yield summary
    await db.stop()


@pytest.fixture(scope="session")
async def app(world: object):
    from carepact.app import create_app

    return create_app()


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture(scope="session")
async def tokens(world: object) -> dict[str, str]:
    """A bearer token for every account (tokens avoid a slow password hash per test)."""
    from carepact.accounts.services import issue_api_token
    from carepact.accounts.tables import Account

    rows = await Account.select(Account.id, Account.user._.username)
    return {r["user.username"]: await issue_api_token(r["id"], "tests") for r in rows}


@pytest.fixture(scope="session")
def api(client: AsyncTestClient, tokens: dict[str, str]) -> Callable[[str], UserClient]:
    """api("weibin_auditor").get("/api/households") — requests as that account."""

    def make(username: str) -> UserClient:
        return UserClient(client, tokens[username])

    return make


class UserClient:
    def __init__(self, client: AsyncTestClient, token: str) -> None:
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
