"""Database plumbing: one transaction per request, migrations, the engine in use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from piccolo.apps.migrations.commands.check import CheckMigrationManager
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


def engine() -> Engine:
    from carepact.piccolo_conf import DB

    return DB


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


@asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    """Everything inside commits together or not at all; nested calls join the outer one.

    On SQLite the transaction takes the write lock at BEGIN (IMMEDIATE), so two writers queue
    instead of one failing half-way with "database is locked".
    """
    db = engine()
    if db.current_transaction.get() is not None:
        yield
        return
    callbacks: list[Callable[[], Awaitable[None]]] = []
    token = _after_commit.set(callbacks)
    try:
        if isinstance(db, SQLiteEngine):
            async with db.transaction(transaction_type=TransactionType.immediate):
                yield
        else:
            async with db.transaction():
                yield
    finally:
        _after_commit.reset(token)
    # Only reached when the transaction committed.
    for callback in callbacks:
        await callback()


_after_commit: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar("after_commit", default=None)


async def on_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the current transaction commits (now, if there is none).

    Jobs are dispatched this way, so a worker never looks for a row that is not committed yet,
    and a rolled-back request dispatches nothing.
    """
    callbacks = _after_commit.get()
    if callbacks is None or engine().current_transaction.get() is None:
        await callback()
    else:
        callbacks.append(callback)


async def insert_many(table: Any, rows: Sequence[dict[str, Any]], *, skip_existing: str | None = None) -> None:
    """Many rows in one executemany on the current transaction's connection (inside atomic()).

    Piccolo builds a table object and an SQL string per row, which for tens of thousands of rows
    is most of the time taken. Values are what Piccolo itself would bind (on SQLite its adapters
    turn dates, aware datetimes (to UTC) and UUIDs into text). ``skip_existing`` names a unique
    column: rows that collide on it are left out (ON CONFLICT DO NOTHING) instead of failing.
    """
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1)) if is_postgres() else ", ".join("?" * len(columns))
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    if skip_existing:
        sql += f' ON CONFLICT ("{skip_existing}") DO NOTHING'
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_many runs inside atomic()")
    await transaction.connection.executemany(sql, [tuple(r[c] for c in columns) for r in rows])


async def pending_migrations() -> list[str]:
    """IDs ("app:migration") of checked-in migrations not yet applied to this database."""
    statuses = await CheckMigrationManager(app_name="all").get_migration_statuses()
    return [f"{s.app_name}:{s.migration_id}" for s in statuses if not s.has_ran]


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    db = engine()
    if isinstance(db, SQLiteEngine):
        # WAL lets readers go on while one writer commits; it is a property of the file.
        await db.run_ddl("PRAGMA journal_mode=WAL")
    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"迁移失败: {result.message}")


async def start(db: Engine | None = None) -> None:
    db = db or engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=1, max_size=10)


async def stop(db: Engine | None = None) -> None:
    db = db or engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()
