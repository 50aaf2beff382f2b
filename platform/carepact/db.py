"""Database plumbing: one transaction per request, migrations, the engine in use."""

from __future__ import annotations

import asyncio
import enum
import functools
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg.exceptions
from piccolo.apps.migrations.commands.check import CheckMigrationManager
from piccolo.columns.base import Column
from piccolo.columns.column_types import Serial
from piccolo.columns.defaults.base import Default
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString

from carepact.sqlite import PooledSQLiteEngine


def engine() -> Engine:
    from carepact.piccolo_conf import DB

    return DB


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


async def fetch(sql: str, *args: Any, tuples: bool = False) -> list[Any]:
    """Rows of one hand-written statement, for the paths every request takes (who is calling, a
    check-in, a visit's detail) and the bulk reads of the agreement engine. ``{}`` stands for each
    argument in both dialects, and an argument may itself be a QueryString (a Piccolo condition's
    ``.querystring``, a sub-select's). It runs on the request's transaction if there is one. Rows
    are dicts on SQLite, or plain tuples with ``tuples`` (Piccolo's dict per row outweighs the query
    for 300,000 visits), and asyncpg Records on PostgreSQL (by name or position). Plain columns come
    back as Piccolo's selects give them (timestamps, UUIDs); computed ones as the driver gives them.

    Skipping Piccolo's query objects is what makes it cheap: a select with two joins costs ~0.4 ms
    to build and run against ~0.05 ms for the same statement here (tests/perf/bench_web.py).
    """
    db = engine()
    postgres = isinstance(db, PostgresEngine)
    flat = _flatten(sql, args)
    if flat is not None:  # the text compiled once per statement (QueryString parses it every call)
        text, values = _compiled(flat[0], postgres), list(flat[1])
    else:
        text, values = QueryString(sql, *args).compile_string(engine_type=db.engine_type)
    transaction = db.current_transaction.get()
    if postgres:
        if transaction is not None:
            return await transaction.connection.fetch(text, *values)
        if db.pool:  # type: ignore[attr-defined]
            return await db._run_in_pool(text, values)  # type: ignore[attr-defined]
        return await db._run_in_new_connection(text, values)  # type: ignore[attr-defined]
    if not tuples:
        if transaction is not None:
            return await db._run_in_existing_connection(transaction.connection, text, values)  # type: ignore[attr-defined]
        return await db._run_in_new_connection(text, values)  # type: ignore[attr-defined]
    connection = transaction.connection if transaction is not None else await db.get_connection()
    connection.row_factory = None
    try:
        return await connection.execute_fetchall(text, values)
    finally:
        connection.row_factory = dict_factory
        if transaction is None:
            await connection.close()  # a pooled connection: lent again


def _flatten(sql: str, args: Sequence[Any]) -> tuple[str, tuple[Any, ...]] | None:
    """The template with embedded QueryStrings written into it, and the plain values in order; None
    for what only QueryString itself compiles (escaped braces, columns as arguments)."""
    if "{{" in sql or "}}" in sql:
        return None
    pieces = sql.split("{}")
    if len(pieces) != len(args) + 1:
        return None
    text, values = [pieces[0]], []
    for arg, piece in zip(args, pieces[1:], strict=True):
        if isinstance(arg, QueryString):
            inner = _flatten(arg.template, arg.args)
            if inner is None:
                return None
            text.append(inner[0])
            values.extend(inner[1])
        elif isinstance(arg, Column):
            return None
        else:
            text.append("{}")
            values.append(arg)
        text.append(piece)
    return "".join(text), tuple(values)


@functools.lru_cache(maxsize=512)
def _compiled(sql: str, postgres: bool) -> str:
    """``sql`` with each ``{}`` as the driver's placeholder ($1, $2, … or ?), as QueryString compiles it."""
    pieces = sql.split("{}")
    if not postgres:
        return "?".join(pieces)
    return "".join(piece + (f"${n}" if n < len(pieces) else "") for n, piece in enumerate(pieces, 1))


# PostgreSQL going away: refused or dropped connections (class 08), a server shutting down or
# starting up (57P01-57P03), too many connections (53300).
_LOST = (
    ConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised while handling) means the database could not be
    reached or dropped the connection: the request did nothing, or its transaction rolled back,
    and the same request sent again later will work. A request's rollback on a dead connection
    raises InterfaceError ("the underlying connection is closed") from the original error."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, _LOST):
            return True
        message = str(seen)
        if isinstance(seen, asyncpg.exceptions.InterfaceError) and "connection is closed" in message:
            return True
        if isinstance(seen, asyncpg.exceptions.InternalClientError) and "cannot switch to state" in message:
            return True  # a pooled connection the server cut while idle: it is still consuming that error
        if isinstance(seen, OSError) and "Connect call failed" in message:  # several addresses, all refused
            return True
        if isinstance(seen, sqlite3.OperationalError) and "database is locked" in message:
            return True  # a writer held SQLite's lock for longer than the busy timeout
        seen = seen.__cause__ or seen.__context__
    return False


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
            # One writer at a time per process, queued here: a waiter starts the moment the lock is
            # free, where SQLite's busy handler would poll with sleeps of up to 100 ms.
            async with _writer_lock():
                transaction = await _begin_immediate(db)
                try:
                    yield
                except BaseException as exc:
                    await transaction.__aexit__(type(exc), exc, exc.__traceback__)
                    raise
                await transaction.__aexit__(None, None, None)
        else:
            async with db.transaction():
                yield
    finally:
        _after_commit.reset(token)
    # Only reached when the transaction committed.
    for callback in callbacks:
        await callback()


_writer_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _writer_lock() -> asyncio.Lock:
    """This event loop's SQLite writer lock (an asyncio.Lock belongs to one loop)."""
    loop = asyncio.get_running_loop()
    lock = _writer_locks.get(loop)
    if lock is None:
        for stale in [other for other in _writer_locks if other.is_closed()]:
            del _writer_locks[stale]
        lock = _writer_locks[loop] = asyncio.Lock()
    return lock


# How long a writer waits for SQLite's write lock before the request is refused as busy (503).
SQLITE_LOCK_WAIT = 30.0


async def _begin_immediate(db: SQLiteEngine) -> Any:
    """BEGIN IMMEDIATE, waiting for the write lock.

    The busy timeout (piccolo_conf) covers most waits, but SQLite answers "database is locked" at
    once in some moments (a connection closing checkpoints the WAL; Piccolo opens a connection per
    transaction), which under a burst of check-ins reached users as a 500. Nothing has been done
    yet when BEGIN fails, so it is retried; Piccolo's transaction leaves its connection open when
    BEGIN fails, so it is closed here.
    """
    deadline = time.monotonic() + SQLITE_LOCK_WAIT
    pause = 0.01
    while True:
        transaction = db.transaction(transaction_type=TransactionType.immediate)
        try:
            await transaction.__aenter__()
            return transaction
        except sqlite3.OperationalError as exc:
            connection = getattr(transaction, "connection", None)
            if connection is not None:
                await connection.close()
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.25)


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


@functools.cache
def _insert_plan(table: Any, skip_existing: str | None) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The INSERT statement for every column of ``table`` but a serial id, and each column's
    Piccolo default, worked out once per table."""
    columns = tuple(c for c in table._meta.columns if not isinstance(c, Serial))
    names = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({", ".join("{}" for _ in columns)})'
    if skip_existing:
        sql += f' ON CONFLICT ("{skip_existing}") DO NOTHING RETURNING "{skip_existing}"'
    return sql, tuple((c._meta.name, c.get_default_value()) for c in columns)


async def insert_row(table: Any, values: dict[str, Any], *, skip_existing: str | None = None) -> bool:
    """One row, by column name; columns not given take their Piccolo default. What Piccolo's
    ``Table.insert`` does, without building a table object and its SQL per call (a check-in inserts
    four rows: bench_web.py). ``skip_existing`` names a unique column: a row colliding on it is left
    out (ON CONFLICT DO NOTHING) and the call returns False."""
    sql, defaults = _insert_plan(table, skip_existing)
    args = []
    for name, default in defaults:
        value = values[name] if name in values else (default.python() if isinstance(default, Default) else default)
        args.append(value.value if isinstance(value, enum.Enum) else value)
    rows = await fetch(sql, *args)
    return bool(rows) if skip_existing else True


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
    """Open the connection pool (PostgreSQL) unless it is open. Litestar calls lifespan hooks with
    the app as their argument: anything but an engine means the configured one (taking the app
    for an engine once left every web process without a pool, a new connection per query)."""
    db = db if isinstance(db, Engine) else engine()
    if isinstance(db, PostgresEngine) and db.pool is None:
        await db.start_connection_pool(min_size=1, max_size=10)


async def stop(db: Engine | None = None) -> None:
    db = db if isinstance(db, Engine) else engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        await db.close_connection_pool()
    elif isinstance(db, PooledSQLiteEngine):
        await db.close_idle()
