"""The baseline server for bench_web.py: a bare Litestar app that does only the database work, with
the same driver and engine as carepact (carepact.piccolo_conf), served by the same uvicorn settings.

- POST /bare/visits: one plain INSERT of the posted check-in's fields (no auth, no checks, no audit);
- GET /bare/visits/{id}: one SELECT of the same visit row carepact's detail page reads.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from litestar import Litestar, get, post

from carepact import db


class BareCheckin(msgspec.Struct):
    id: uuid.UUID
    household_id: int
    device_time: dt.datetime
    sent_at: dt.datetime


def _raw(sql: str, *args: object):
    from providers.tables import Visit

    return Visit.raw(sql, *args)


@post("/bare/visits", status_code=201)
async def insert_visit(data: BareCheckin) -> dict[str, str]:
    await _raw(
        "INSERT INTO bench_plain (id, household, device_time, sent_at) VALUES ({}, {}, {}, {})",
        str(data.id),
        data.household_id,
        data.device_time,
        data.sent_at,
    )
    return {"id": str(data.id)}


@get("/bare/visits/{visit_id:uuid}")
async def read_visit(visit_id: uuid.UUID) -> dict[str, object]:
    rows = await _raw("SELECT * FROM visit WHERE id = {}", visit_id)
    return {k: (str(v) if not isinstance(v, int | float | str | None) else v) for k, v in rows[0].items()}


async def _open() -> None:
    await db.start()


async def _close() -> None:
    await db.stop()


def create_app() -> Litestar:
    return Litestar(route_handlers=[insert_visit, read_visit], on_startup=[_open], on_shutdown=[_close])
