"""Local time: storage is UTC, people live in Asia/Shanghai (UTC+8 all year, no DST)."""

from __future__ import annotations

import datetime as dt

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a local calendar day, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
