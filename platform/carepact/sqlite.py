"""The embedded default's database engine: Piccolo's SQLite engine with its connections reused.

Piccolo opens a new aiosqlite connection (a thread, a file open, a PRAGMA) for every query outside
a transaction and for every transaction, and closes it afterwards. A request that authenticates and
reads a visit with its services, photos and flags ran eight queries and so opened eight connections:
`make bench` measured its detail read at a fifth of a bare endpoint's rate. Closing also makes SQLite
checkpoint the WAL, during which other connections are told "database is locked".

Here idle connections wait in a small pool and are lent out again, and a query is one trip to the
connection's thread instead of five. A lent connection is handed back
when Piccolo "closes" it; one left inside a transaction (which Piccolo never does) is closed for real.
"""

from __future__ import annotations

from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

IDLE_CONNECTIONS = 8


class _Lent:
    """An aiosqlite connection on loan: everything is the connection's, except close()."""

    __slots__ = ("_connection", "_engine")

    def __init__(self, engine: PooledSQLiteEngine, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _Lent.__slots__:
            object.__setattr__(self, name, value)
        else:
            setattr(self._connection, name, value)

    async def close(self) -> None:
        await self._engine._give_back(self._connection)


class PooledSQLiteEngine(SQLiteEngine):
    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: list[aiosqlite.Connection] = []

    async def _open(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(**self.connection_kwargs)
        # An idle pooled connection's thread waits for work for ever: as a daemon it does not keep
        # a finished command (migrate, demo-data) from exiting. Idle means no write in flight.
        pending._thread.daemon = True
        connection = await pending
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        # 32 MB of page cache instead of SQLite's 2 MB (allocated as used): a pooled connection keeps
        # it between requests, and the audit dashboard's scan of a year's visits ran 3.5× faster.
        await connection.execute("PRAGMA cache_size = -32768")
        return connection

    async def _borrow(self) -> aiosqlite.Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection._running and connection._connection is not None:  # its thread is alive and open
                return connection
        return await self._open()

    async def _give_back(self, connection: aiosqlite.Connection) -> None:
        if connection.in_transaction or len(self._idle) >= IDLE_CONNECTIONS:
            await connection.close()
        else:
            self._idle.append(connection)

    async def get_connection(self) -> Any:  # what a transaction runs on
        return _Lent(self, await self._borrow())

    async def close_idle(self) -> None:
        """Close the pooled connections (at shutdown, or before the file is replaced)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        connection = await self._borrow()
        try:
            rows = await connection.execute_fetchall(query, args or [])
            if connection.in_transaction:  # a statement outside atomic() commits on its own
                await connection.commit()
        except BaseException:
            await connection.close()  # in an unknown state: not lent again
            raise
        await self._give_back(connection)
        return rows

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        # One trip to the connection's thread (Piccolo's takes five: a PRAGMA this connection already
        # ran when it was opened, then execute, fetch and two cursor closes).
        return await connection.execute_fetchall(query, args or [])
