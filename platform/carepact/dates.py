"""Local time: storage is UTC, people live in Asia/Shanghai (UTC+8 all year, no DST)."""

from __future__ import annotations

import datetime as dt
import re

from carepact.errors import FieldError, Problem

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a local calendar day, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)


_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def month_start(text: str, field: str = "month") -> dt.date:
    """The first day of a month written YYYY-MM. Anything else (year 0000, "null", "0.5": a query
    parameter's pattern is not always enforced) is the client's mistake, a 400 naming the field."""
    match = _MONTH.match(text)
    if match is None or match[1] == "0000":
        raise Problem(
            400,
            "request.invalid",
            "提交的内容有误，请检查标出的字段。",
            [FieldError(field=field, code="format", message="月份应为 YYYY-MM，例如 2026-03")],
        )
    return dt.date(int(match[1]), int(match[2]), 1)
