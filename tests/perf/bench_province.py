"""Benchmark: the audit dashboard over the province data set (issue #8), on PostgreSQL.

Needs ``BENCH_PROVINCE_DATABASE_URL``: a PostgreSQL database it may fill (without it, prints why it
skips and exits 0). The first run loads ``carepact demo-data --scale province`` into it (about
200,000 households and ten million visits from 1 January to yesterday, the past months rolled up);
later runs find it there and only time, so the load is paid once.

A deployment this size (more households than CAREPACT_LIVE_MONTH_HOUSEHOLDS) has this month rolled
up too, hourly, instead of counted on every view; the benchmark rolls it up first, as the job would.

Times, best of ``RUNS``, each as a ratio to the issue's budget of two seconds:

- for the province (the deployment's root region, as its city_admin), one county (as that county's
  auditor) and one provider (its manager's own scorecard, over the whole province):
- each query the dashboard runs, called directly (target ≤ 1.0): the rolled-up past months and
  this month (``rollup.figures``), findings, illness responses;
- reported without a target: the whole dashboard (``contracts.oversight.services``: every figure,
  ranking, villages, budget) of the last past month and of this month; this month's visit figures
  counted live (``queries.visit_figures``: the hourly roll-up's query); the roll-up of this month so
  far and of one past month (the jobs' work).

Run with ``make bench`` (skipped there without the variable); not part of ``make test``.
"""

from __future__ import annotations

import os
import sys

PROVINCE_URL = os.environ.get("BENCH_PROVINCE_DATABASE_URL", "")
if not PROVINCE_URL.startswith("postgres"):
    print(
        "bench_province: skipped — set BENCH_PROVINCE_DATABASE_URL=postgresql://… (a PostgreSQL database it may fill; "
        "the province data set is PostgreSQL only) to load it once and time the dashboard on it."
    )
    sys.exit(0)

import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import time  # noqa: E402

from common import Figure, Report, best_of_async  # noqa: E402

os.environ["DATABASE_URL"] = PROVINCE_URL  # after common, which points it at the embedded default

RUNS = 3
BUDGET_S = 2.0  # the issue: each audit dashboard query under 2 seconds on PostgreSQL
NOTE = "a ratio to the 2-second budget"


async def main() -> None:
    from carepact import db
    from carepact.accounts.access import load_principal
    from carepact.accounts.tables import Account, Role
    from carepact.dates import local_today
    from carepact.registry.tables import Household, Region
    from contracts.demo_province import ROOT, build_province, describe_province, province_exists
    from contracts.demo_year import history_window
    from contracts.oversight import inputs, queries, rollup, services
    from contracts.oversight.inputs import window
    from contracts.oversight.queries import Scope
    from providers.tables import Visit

    await db.migrate()
    await db.start()
    if not await province_exists():
        if await Region.exists():
            print("bench_province: the database holds another data set; give it an empty one.", file=sys.stderr)
            sys.exit(2)
        start, end = history_window()
        began = time.perf_counter()
        summary = await build_province(start=start, end=end, say=lambda line: print(line, flush=True))
        print(describe_province(summary))
        print(f"province loaded in {time.perf_counter() - began:.0f} s")
    else:
        print(f"province data present: {await Household.count():,} households, {await Visit.count():,} visits")

    # The roll-up as the nightly job keeps it: any month of the trend missing (a new month since
    # the load) is rolled up here, once; the dashboard's own background refresh is not timed.
    live = rollup.first_live_month()
    past_month = rollup.nightly_months()[-1]
    missing = [m for m in rollup.nightly_months() if m not in await rollup.rolled(rollup.nightly_months())]
    if missing:
        began = time.perf_counter()
        await rollup.roll_up(missing)
        print(f"rolled up {len(missing)} missing month(s) in {time.perf_counter() - began:.1f} s")

    # A deployment this size has this month rolled up too (hourly, CAREPACT_LIVE_MONTH_HOUSEHOLDS);
    # roll it up as the job would, and time that job's work.
    assert await rollup.rolls_this_month(), "the province is larger than CAREPACT_LIVE_MONTH_HOUSEHOLDS"
    began = time.perf_counter()
    await rollup.roll_up([live])
    live_rollup_seconds = time.perf_counter() - began
    print(f"rolled up this month so far in {live_rollup_seconds:.1f} s")

    async def no_refresh(months: list[dt.date], done: dict[dt.date, dt.datetime]) -> None:
        return None

    rollup.refresh_if_stale = no_refresh  # type: ignore[assignment]

    root = await Region.select(Region.id, Region.path).where(Region.code == ROOT[0]).first()
    county = (
        await Region.select(Region.id, Region.path).where(Region.parent == root["id"]).order_by(Region.code).first()
    )
    admin = await Account.select(Account.id).where(Account.role == Role.city_admin.value).first()
    auditor = await Account.select(Account.id).where(Account.region == county["id"]).first()
    manager = (
        await Account.select(Account.id, Account.organisation)
        .where(Account.role == Role.provider_manager.value)
        .order_by(Account.id)
        .first()
    )
    principals = {
        "admin": await load_principal(admin["id"], via="token"),
        "auditor": await load_principal(auditor["id"], via="token"),
        "manager": await load_principal(manager["id"], via="token"),
    }
    provider = manager["organisation"]
    scopes = {
        "province": Scope(region_path=root["path"], whole_city=True),
        "county": Scope(region_path=county["path"]),
        "provider": Scope(region_path=root["path"], whole_city=True, organisation_id=provider),
    }
    numbers = await inputs.limits()
    report = Report("province")

    def add(name: str, seconds: float, target: str = "≤ 1.0") -> None:
        report.add(Figure(name, seconds, BUDGET_S, "s", target, note=NOTE))

    # The budget is per query (below); a whole page is several queries and Python over
    # 10,000 villages: reported against the same 2 s for the reader, without a target of its own.
    whole = ""
    print(f"\nwhole dashboards, best of {RUNS} (past month {past_month:%Y-%m}, live month {live:%Y-%m}):")
    for month in (past_month, live):
        label = "past month (roll-up)" if month < live else "this month (hourly roll-up)"
        key = f"{month:%Y-%m}"
        add(
            f"whole dashboard (province), {label}",
            await best_of_async(RUNS, lambda k=key: services.dashboard(principals["admin"], root["id"], k)),
            whole,
        )
        add(
            f"whole dashboard (county), {label}",
            await best_of_async(RUNS, lambda k=key: services.dashboard(principals["auditor"], county["id"], k)),
            whole,
        )
        add(
            f"provider's own scorecard (province-wide), {label}",
            await best_of_async(RUNS, lambda k=key: services.scorecard(principals["manager"], provider, None, k)),
            whole,
        )

    print(f"\neach dashboard query called directly, best of {RUNS}:")
    trend = window(live)
    rolled_months = [m for m in trend if m < live]
    since, until = live, inputs.month_end(live) + dt.timedelta(days=1)
    for name, scope in scopes.items():
        suppliers = await inputs.home_care_contracts(scope)
        add(
            f"rolled-up months of the trend ({name})",
            await best_of_async(RUNS, lambda s=scope: rollup.figures(s, rolled_months)),
        )

        async def live_figures(s: Scope = scope, sup: dict[int, int] = suppliers, whose: str = name) -> object:
            return await queries.visit_figures(
                s,
                since,
                until,
                await inputs.periods([live], sup),
                numbers,
                by_village=("coverage",) if whose != "provider" else (),
            )

        add(
            f"this month rolled up ({name})",
            await best_of_async(RUNS, lambda s=scope: rollup.figures(s, [live])),
        )
        report.add(
            Figure(
                f"this month's visit figures counted live ({name}): the hourly roll-up's query, not a dashboard's",
                await best_of_async(RUNS, live_figures),
                BUDGET_S,
                "s",
                "",
                note=NOTE,
            )
        )
        add(
            f"findings of the trend ({name})",
            await best_of_async(RUNS, lambda s=scope: queries.findings(s, trend[0], trend[-1])),
        )
        add(
            f"illness responses of the trend ({name})",
            await best_of_async(
                RUNS,
                lambda s=scope: queries.illness_responses(s, trend[0], inputs.month_end(live) + dt.timedelta(days=1)),
            ),
        )

    report.add(
        Figure(
            f"roll-up of this month so far ({live:%Y-%m}, the hourly job's work)",
            live_rollup_seconds,
            BUDGET_S,
            "s",
            "",
            note=NOTE,
        )
    )
    began = time.perf_counter()
    await rollup.roll_up_month(past_month)
    seconds = time.perf_counter() - began
    report.add(
        Figure(
            f"roll-up of one past month ({past_month:%Y-%m}, the nightly job's work per month)",
            seconds,
            BUDGET_S,
            "s",
            "",
            note=NOTE,
        )
    )
    print(f"\n(measured {local_today()}; the dashboard's trend is {trend[0]:%Y-%m}..{trend[-1]:%Y-%m})")
    report.write()
    await db.stop()


if __name__ == "__main__":
    asyncio.run(main())
