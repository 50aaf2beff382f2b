"""Past months' visit figures, rolled up per village, provider and contract (``OversightFigure``).

A year of a city's visits is about 300,000 rows; a dashboard's trend over it is a sum over a few
thousand rolled-up rows instead. This month is counted live, except in a deployment larger than
CAREPACT_LIVE_MONTH_HOUSEHOLDS (a province: ~1 M visits a month took 11 s to count), where it is rolled
up too, again when a dashboard finds it over an hour old, and shown as of then. Earlier months are rolled up by
the nightly job (the twelve before this one: visits sent offline arrive up to 30 days late, reviews
and corrections follow) and again whenever a dashboard finds one missing or rolled up before today,
so what changed in a past month shows by the next day. Each month is rebuilt whole, under one lock,
by the same queries the live figures use (grouped by village as well), so the two cannot differ.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from carepact.dates import SHANGHAI, local_today
from carepact.db import atomic, insert_many, is_postgres
from carepact.jobs import services as jobs
from carepact.registry.tables import Household, Region, RegionLevel
from carepact.settings import get_settings
from contracts.oversight import queries
from contracts.oversight.inputs import home_care_contracts, limits, periods
from contracts.oversight.queries import Scope, Sql
from contracts.oversight.tables import OversightFigure, OversightMonth

ROLLUP_JOB = "roll_up_oversight_figures"
ROLLUP_MONTHS = 12  # the nightly job rebuilds this many months before the live one
LIVE_REFRESH = dt.timedelta(hours=1)  # a large deployment's rolled-up month in progress is asked again after this
_ROLLUP_LOCK = 0x0A6_E7A2
COUNTERS = (
    "households_due",
    "households_met",
    "households_unvisited",
    "visits_completed",
    "visits_verified",
    "visits_evv",
    "on_time_judged",
    "on_time",
)

Progress = Callable[[int, int, str], Awaitable[None]]


def first_live_month(today: dt.date | None = None) -> dt.date:
    """The month always counted live: this one (earlier months are rolled up)."""
    return (today or local_today()).replace(day=1)


def following(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


_households: dict[dt.date, int] = {}  # the registry's size, counted once a day per process


async def rolls_this_month() -> bool:
    """Whether this month, too, is rolled up instead of counted live: a deployment larger than
    CAREPACT_LIVE_MONTH_HOUSEHOLDS."""
    today = local_today()
    if today not in _households:
        _households.clear()
        _households[today] = await Household.count()
    return _households[today] > get_settings().live_month_households


async def _rollable(months: list[dt.date]) -> list[dt.date]:
    live = first_live_month()
    return [m for m in months if m < live or (m == live and await rolls_this_month())]


async def rolled(months: list[dt.date]) -> dict[dt.date, dt.datetime]:
    """Which of these months are rolled up (and when), among those not counted live."""
    wanted = await _rollable(months)
    if not wanted:
        return {}
    rows = await OversightMonth.select(OversightMonth.month, OversightMonth.computed_at).where(
        OversightMonth.month.is_in(wanted)
    )
    return {r["month"]: r["computed_at"] for r in rows}


async def refresh_if_stale(months: list[dt.date], done: dict[dt.date, dt.datetime]) -> None:
    """Ask for the months not counted live that are missing or were rolled up before today (this
    month, where it is rolled up: over an hour ago): once a day (or hour) per span (the job's key), in
    the background; the caller counts them live meanwhile if missing."""
    now = dt.datetime.now(dt.UTC)
    today, live = local_today(), first_live_month()

    def stale(m: dt.date) -> bool:
        if m not in done:
            return True
        if m == live:
            return done[m] < now - LIVE_REFRESH
        return done[m].astimezone(SHANGHAI).date() < today

    wanted = [m for m in await _rollable(months) if stale(m)]
    if wanted:
        hour = f":{now.astimezone(SHANGHAI):%H}" if live in wanted else ""
        await jobs.submit(
            ROLLUP_JOB,
            {"months": [f"{m:%Y-%m}" for m in wanted]},
            key=f"oversight-rollup:{today}{hour}:{wanted[0]:%Y-%m}:{wanted[-1]:%Y-%m}",
        )


async def figures(scope: Scope, months: list[dt.date], *, by_village: bool = False) -> list[dict[str, Any]]:
    """The rolled-up rows of these months in the scope, summed per month, contract and organisation
    (or, ``by_village``, the coverage rows summed per village)."""
    if not months:
        return []
    sums = ", ".join(f'CAST(SUM(f."{c}") AS INTEGER) AS {c}' for c in COUNTERS)
    if by_village:
        keys, named = 'f."village"', 'f."village" AS village'
    else:
        keys = 'f."month", f."contract", f."organisation"'
        named = 'f."month" AS month, f."contract" AS contract, f."organisation" AS organisation'
    sql = Sql().add(
        f'SELECT {named}, {sums} FROM "oversight_figure" f JOIN "region" village ON village."id" = f."village" '
        f'WHERE f."month" IN ({", ".join("{}" for _ in months)})',
        *months,
    )
    if by_village:
        sql.add(' AND f."contract" IS NOT NULL')
    if not scope.whole_city:
        sql.add(' AND village."path" LIKE {}', scope.region_path + "%")
    if scope.organisation_id is not None:
        sql.add(' AND f."organisation" = {}', scope.organisation_id)
    sql.add(f" GROUP BY {keys}")
    return await sql.rows()


async def _city_scope() -> Scope:
    city = await Region.select(Region.path).where(Region.level == RegionLevel.city.value).first()
    assert city is not None, "the registry holds the city"
    return Scope(region_path=city["path"], whole_city=True)


async def roll_up_month(month: dt.date, scope: Scope | None = None) -> int:
    """Rebuild one month's rows for the whole city; returns how many rows it holds."""
    began = time.perf_counter()
    scope = scope or await _city_scope()
    after = following(month)
    numbers = await limits()
    suppliers = await home_care_contracts(scope)
    rows: dict[tuple[int, int | None, int | None], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    parts = {"coverage": COUNTERS[0:3], "proof": COUNTERS[3:6], "on_time": COUNTERS[6:8]}
    for r in await queries.visit_figures(
        scope, month, after, await periods([month], suppliers), numbers, by_village=queries.PARTS
    ):
        counters = rows[
            (r["village"], None, r["contract"]) if r["part"] == "coverage" else (r["village"], r["organisation"], None)
        ]
        for name, value in zip(parts[r["part"]], (r["a"], r["b"], r["c"]), strict=False):
            counters[name] += value
    values = [
        {
            "month": month,
            "village": village,
            "organisation": org if contract is None else suppliers[contract],
            "contract": contract,
        }
        | {c: int(n) for c, n in counters.items()}
        for (village, org, contract), counters in rows.items()
    ]
    async with atomic():
        if is_postgres():
            await OversightFigure.raw("SELECT pg_advisory_xact_lock({})", _ROLLUP_LOCK)
        await OversightFigure.delete().where(OversightFigure.month == month)
        await insert_many(OversightFigure, values)
        await OversightMonth.delete().where(OversightMonth.month == month)
        await OversightMonth.insert(
            OversightMonth(
                month=month, computed_at=dt.datetime.now(dt.UTC), seconds=round(time.perf_counter() - began, 3)
            )
        )
    return len(values)


async def roll_up(months: list[dt.date], progress: Progress | None = None) -> int:
    """Rebuild the given months (those not counted live); returns the rows written."""
    scope = await _city_scope()
    chosen = sorted(await _rollable(sorted(set(months))))
    written = 0
    for n, month in enumerate(chosen):
        if progress:
            await progress(n, len(chosen), f"正在汇总 {month:%Y年%m月} 的数据")
        written += await roll_up_month(month, scope)
    return written


def nightly_months(today: dt.date | None = None) -> list[dt.date]:
    """The months the nightly job rebuilds: the ROLLUP_MONTHS before the live one."""
    month = first_live_month(today)
    months: list[dt.date] = []
    for _ in range(ROLLUP_MONTHS):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        months.insert(0, month)
    return months
