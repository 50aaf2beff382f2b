"""The Piccolo engine (SQLite by default, PostgreSQL when DATABASE_URL says so) and app registry."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from carepact.settings import get_settings
from carepact.sqlite import PooledSQLiteEngine


def make_engine(url: str) -> PostgresEngine | SQLiteEngine:
    if url.startswith("sqlite:///"):
        path = unquote(url.removeprefix("sqlite:///"))
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A busy writer makes others wait instead of failing at once ("database is locked").
        return PooledSQLiteEngine(path=path, timeout=30)
    parsed = urlparse(url)
    return PostgresEngine(
        config={
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username or "postgres"),
            "password": unquote(parsed.password or ""),
            "database": parsed.path.lstrip("/") or "postgres",
        }
    )


DB = make_engine(get_settings().database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "carepact.piccolo_app",
        "providers.piccolo_app",
        "contracts.piccolo_app",
    ]
)
