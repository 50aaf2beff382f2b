"""Benchmark: the county audit dashboard over a city's year, each query against hand-written SQL.

Builds the city year of ``bench_engine`` (5,565 households under the standard agreement and one
contract, about 300,000 visits with services, photos and a few flags, a few hundred illnesses) in a
temporary SQLite database, runs the agreement engine once so the year has its findings, stores the
visits in the order they would have arrived (the builder writes a household's year at once; a city's
visits come in day by day, and a table holds its rows in the order they came), then times

- each dashboard query (``contracts.oversight.queries``, with the Python that prepares its inputs and
  reads its rows) against the same aggregate written by hand in plain SQL for this data set, whose
  answer must be the same: target ≤ 1.5× its time;
- the whole dashboard (``contracts.oversight.services.dashboard``: every figure, ranking, villages,
  budget) for the city and for the county, with the year's months rolled up as the nightly job
  keeps them (target ≤ 0.5 s), and with December counted live (as on its last day: the most a
  dashboard ever counts live; target under a second), each as a ratio to one second.

Run with ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import time

from bench_engine import YEAR, build
from common import Figure, Report, best_of_async

RUNS = 5
# The issue asks for "well under a second" on the embedded default: half a second for what a
# dashboard reads most days (past months rolled up); under a second for the worst day, the last
# of a month, when a whole month of visits is counted live.
BUDGET = "a ratio to one second"
MONTHS = [dt.date(YEAR, m, 1) for m in range(1, 13)]
MONTH = f"{YEAR}-12"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
SINCE = dt.datetime(YEAR, 1, 1, tzinfo=SHANGHAI)
UNTIL = dt.datetime(YEAR + 1, 1, 1, tzinfo=SHANGHAI)

# The verified visit, as the issue words it, written out by hand.
VERIFIED = (
    "v.status = 'completed' AND v.review <> 'rejected' "
    "AND (v.presence = 'qr' OR (v.presence = 'manual' AND v.review = 'approved')) "
    "AND NOT EXISTS (SELECT 1 FROM visit_flag f WHERE f.visit = v.id AND f.severity = 'serious') "
    "AND v.id NOT IN (SELECT corrects FROM visit WHERE corrects IS NOT NULL)"
)
PER_WEEK = "CASE a.care_level WHEN 'able' THEN 1 WHEN 'partly_unable' THEN 3 ELSE 7 END"
MAX_GAP = "CASE a.care_level WHEN 'able' THEN 10 WHEN 'partly_unable' THEN 4 ELSE 2 END"


def _months_values() -> str:
    rows = []
    for month in MONTHS:
        following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        rows.append(f"('{month:%Y-%m}', {(following - month).days})")
    return ", ".join(rows)


HAND_COVERAGE = f"""
WITH months(month, days) AS (VALUES {_months_values()}),
need AS (SELECT a.household, m.month, {PER_WEEK} * m.days / 7 AS required FROM agreement a CROSS JOIN months m),
visited AS (
  SELECT v.household, strftime('%Y-%m', v.checkin_at, '+8 hours') AS month,
         COUNT(DISTINCT date(v.checkin_at, '+8 hours')) AS days
  FROM visit v WHERE v.checkin_at >= {{}} AND v.checkin_at < {{}} AND {VERIFIED}
  GROUP BY v.household, month
)
SELECT n.month AS month, COUNT(*) AS due, SUM(COALESCE(d.days, 0) >= n.required) AS met,
       SUM(COALESCE(d.days, 0) = 0) AS unvisited
FROM need n LEFT JOIN visited d ON d.household = n.household AND d.month = n.month
WHERE n.required > 0 GROUP BY n.month
"""

HAND_VILLAGES = f"""
WITH need AS (SELECT a.household, {PER_WEEK} * 31 / 7 AS required FROM agreement a),
visited AS (
  SELECT v.household, COUNT(DISTINCT date(v.checkin_at, '+8 hours')) AS days
  FROM visit v WHERE v.checkin_at >= {{}} AND v.checkin_at < {{}} AND {VERIFIED} GROUP BY v.household
)
SELECT h.village AS village, COUNT(*) AS due, SUM(COALESCE(d.days, 0) >= n.required) AS met,
       SUM(COALESCE(d.days, 0) = 0) AS unvisited
FROM need n JOIN household h ON h.id = n.household LEFT JOIN visited d ON d.household = n.household
WHERE n.required > 0 GROUP BY h.village
"""

HAND_PROOF = f"""
SELECT v.organisation AS organisation, strftime('%Y-%m', v.checkin_at, '+8 hours') AS month, COUNT(*) AS completed,
       SUM(CASE WHEN {VERIFIED} THEN 1 ELSE 0 END) AS verified,
       SUM(CASE WHEN {VERIFIED} AND v.presence = 'qr' AND EXISTS (SELECT 1 FROM visit_photo p WHERE p.visit = v.id)
           THEN 1 ELSE 0 END) AS evv
FROM visit v WHERE v.checkin_at >= {{}} AND v.checkin_at < {{}} AND v.status = 'completed'
  AND v.id NOT IN (SELECT corrects FROM visit WHERE corrects IS NOT NULL)
GROUP BY v.organisation, month
"""

HAND_ON_TIME = f"""
WITH days AS (
  SELECT v.household, v.organisation, date(v.checkin_at, '+8 hours') AS day
  FROM visit v WHERE v.checkin_at >= {{}} AND v.checkin_at < {{}} AND {VERIFIED}
  GROUP BY v.household, v.organisation, day
), gaps AS (SELECT household, organisation, day, LAG(day) OVER (PARTITION BY household ORDER BY day) AS previous FROM days)
SELECT g.organisation AS organisation, substr(g.day, 1, 7) AS month, COUNT(*) AS judged,
       SUM(julianday(g.day) - COALESCE(julianday(g.previous), julianday(a.starts_on) - 1) <= {MAX_GAP}) AS on_time
FROM gaps g JOIN agreement a ON a.household = g.household
WHERE g.day >= {{}} GROUP BY g.organisation, month
"""

HAND_FINDINGS = """
SELECT organisation, month, clause_id AS clause, COUNT(*) AS findings FROM finding
WHERE month >= {} AND month <= {} AND state IN ('open', 'explained', 'waived', 'upheld')
GROUP BY organisation, month, clause_id
"""

HAND_ILLNESS = f"""
SELECT strftime('%Y-%m', e.started_at, '+8 hours') AS month,
  (SELECT (julianday(MIN(v.checkin_at)) - julianday(e.started_at)) * 24 FROM visit v
   WHERE v.household = e.household AND v.checkout_at >= e.started_at AND (e.ended_at IS NULL OR v.checkin_at < e.ended_at)
     AND {VERIFIED}) AS hours
FROM sick_episode e WHERE e.kind = 'ill_at_home' AND e.started_at >= {{}} AND e.started_at < {{}}
"""


async def raw(sql: str, *args: object) -> list[dict]:
    from providers.tables import Visit

    return await Visit.raw(sql, *args)


def _answers(rows: list[dict]) -> list:
    return sorted((r["month"], round(r["hours"], 6)) for r in rows if r["hours"] is not None) + sorted(
        r["month"] for r in rows if r["hours"] is None
    )


def in_arrival_order(path: str) -> None:
    """Rewrite the visit table with its rows in check-in order, as visits arriving day by day lie."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = OFF")  # the rows keep their ids: nothing that points at them changes
    table = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'visit'").fetchone()[0]
    indexes = [
        r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'visit' AND sql LIKE 'CREATE INDEX%'")
    ]
    db.execute("BEGIN")
    db.execute(table.replace('CREATE TABLE "visit"', 'CREATE TABLE "visit_arrived"', 1))
    db.execute('INSERT INTO "visit_arrived" SELECT * FROM "visit" ORDER BY "checkin_at"')
    db.execute('DROP TABLE "visit"')
    db.execute('ALTER TABLE "visit_arrived" RENAME TO "visit"')
    for index in indexes:
        db.execute(index)
    db.execute("COMMIT")
    db.close()


def _same(mine: object, hand: object, name: str) -> None:
    if mine != hand:
        raise AssertionError(f"{name}: the dashboard's answer differs from the hand-written SQL's:\n{mine}\n{hand}")


async def main() -> None:
    from carepact import db
    from carepact.accounts.access import load_principal
    from carepact.accounts.services import create_account
    from carepact.accounts.tables import Role
    from carepact.jobs import services as jobs
    from carepact.registry.tables import Region
    from carepact.worker import GIVE_UPS, JOBS
    from contracts.agreement.evaluation import Scope as AgreementScope
    from contracts.agreement.evaluation import evaluate_scope
    from contracts.oversight import inputs, queries, rollup, services
    from contracts.oversight.queries import Scope

    built = await build(random.Random(5565))
    result = await evaluate_scope(
        AgreementScope(), MONTHS[0], MONTHS[-1], as_of=dt.datetime(YEAR + 1, 1, 2, 3, 0, tzinfo=dt.UTC)
    )
    print(f"city year: {built}; findings {result.findings:,}")
    in_arrival_order(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
    city = await Region.select(Region.id, Region.path).where(Region.level == "city").first()
    county = await Region.select(Region.id, Region.path).where(Region.level == "county").first()
    admin = await create_account(
        "bench_admin", "bench-password", role=Role.city_admin, display_name="市民政局", region_id=city["id"]
    )
    principal = await load_principal(admin, via="token")
    assert principal is not None
    scope = Scope(region_path=city["path"], whole_city=True)
    last = dt.date(YEAR, 12, 1)

    numbers = await inputs.limits()
    lookback = max(x.max_days for x in numbers) + 1
    december = dt.date(YEAR, 12, 1)
    december_at = dt.datetime(YEAR, 12, 1, tzinfo=SHANGHAI)

    async def visit_figures(months: list[dt.date], by_village: bool) -> dict:
        suppliers = await inputs.home_care_contracts(scope)
        rows = await queries.visit_figures(
            scope,
            months[0],
            dt.date(YEAR + 1, 1, 1),
            await inputs.periods(months, suppliers),
            numbers,
            by_village=queries.PARTS if by_village else (),
        )
        return {(r["part"], r["month"], r["village"]): (r["a"], r["b"], r["c"]) for r in rows}

    async def hand_written(since: dt.datetime, by_village: bool) -> dict:
        found = {}
        if by_village:
            for r in await raw(HAND_VILLAGES, since, UNTIL):
                found[("coverage", MONTH, r["village"])] = (r["due"], r["met"], r["unvisited"])
        else:
            for r in await raw(HAND_COVERAGE, since, UNTIL):
                found[("coverage", r["month"], 0)] = (r["due"], r["met"], r["unvisited"])
        for r in await raw(HAND_PROOF, since, UNTIL):
            found[("proof", r["month"], 0)] = (r["completed"], r["verified"], r["evv"])
        for r in await raw(HAND_ON_TIME, since - dt.timedelta(days=lookback), UNTIL, since.date()):
            found[("on_time", r["month"], 0)] = (r["judged"], r["on_time"], 0)
        return found

    async def year() -> dict:
        return await visit_figures(MONTHS, False)

    async def year_by_hand() -> dict:
        return await hand_written(SINCE, False)

    def one_village_row_per_part(figures: dict) -> dict:
        # The bench's one provider: proof and timeliness summed over the villages, as the plain queries give them.
        summed: dict = {}
        for (part, month, village), numbers_ in figures.items():
            key = (part, month, village if part == "coverage" else 0)
            summed[key] = tuple(a + b for a, b in zip(summed.get(key, (0, 0, 0)), numbers_, strict=True))
        return summed

    async def month_by_village() -> dict:
        return one_village_row_per_part(await visit_figures([december], True))

    async def month_by_village_by_hand() -> dict:
        return await hand_written(december_at, True)

    async def findings() -> dict:
        rows = await queries.findings(scope, MONTHS[0], last)
        return {(r["organisation"], str(r["month"])[:7], r["clause"]): r["findings"] for r in rows}

    async def findings_by_hand() -> dict:
        rows = await raw(HAND_FINDINGS, MONTHS[0], last)
        return {(r["organisation"], str(r["month"])[:7], r["clause"]): r["findings"] for r in rows}

    async def illness() -> list:
        rows = await queries.illness_responses(scope, MONTHS[0], dt.date(YEAR + 1, 1, 1))
        return _answers(rows)

    async def illness_by_hand() -> list:
        return _answers(await raw(HAND_ILLNESS, SINCE, UNTIL))

    report = Report("dashboard")
    print("\neach dashboard query against the same aggregate written by hand (best of 5):")
    hand_total = 0.0
    for name, mine, hand in [
        (
            "a year's visit figures (coverage, proof, on time: one pass) vs the three plain aggregates",
            year,
            year_by_hand,
        ),
        ("a month's visit figures by village (the roll-up's query)", month_by_village, month_by_village_by_hand),
        ("findings by clause, provider and month", findings, findings_by_hand),
        ("response to reported illness", illness, illness_by_hand),
    ]:
        _same(await mine(), await hand(), name)
        measured = await best_of_async(RUNS, mine)
        baseline = await best_of_async(RUNS, hand)
        hand_total += baseline
        report.add(Figure(f"{name} vs hand-written SQL", measured, baseline, "s", "≤ 1.5"))

    # The months before the two live ones are read from the roll-up the nightly job keeps.
    jobs.register(JOBS, GIVE_UPS)
    began = time.perf_counter()
    rows = await rollup.roll_up(MONTHS)
    print(
        f"\nroll-up of the year (the nightly job): {time.perf_counter() - began:.2f} s for {rows:,} rows "
        f"(the hand-written queries over the year together: {hand_total:.2f} s)"
    )

    async def whole(region: int) -> float:
        return await best_of_async(3, lambda: services.dashboard(principal, region, MONTH))

    print("\nthe whole dashboard (every figure, ranking, villages, budget) of December, best of 3:")
    for label, region in [("city", city["id"]), ("county", county["id"])]:
        report.add(
            Figure(f"whole dashboard ({label}), a past year", await whole(region), 1.0, "s", "≤ 0.5", note=BUDGET)
        )
    # As the dashboard answers on the last day of December: the whole month counted live.
    rollup.first_live_month = lambda today=None: december
    for label, region in [("city", city["id"]), ("county", county["id"])]:
        report.add(
            Figure(f"whole dashboard ({label}), this month live", await whole(region), 1.0, "s", "≤ 1.0", note=BUDGET)
        )
    report.write()
    await db.stop()


if __name__ == "__main__":
    asyncio.run(main())
