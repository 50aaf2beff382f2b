"""The county audit's figures as a few aggregate queries: the database groups and counts, Python only
names and divides what comes back (one row per contract, organisation or village and month, never
one per visit).

Each query is written once for SQLite and PostgreSQL; the few expressions the two spell differently
(a local day or month of a UTC timestamp, a day number, hours between two instants, the larger of
two dates) come from ``Dialect``. What counts as a verified visit is ``contracts.delivery``'s own
compiled condition, embedded as is, so the dashboard and settlement can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import msgspec
from piccolo.querystring import QueryString

from carepact.dates import day_start
from carepact.db import atomic, is_postgres
from contracts.delivery import verified_visit
from contracts.tables import FindingState, SickKind
from providers.tables import Presence, Visit, VisitStatus

PARTS = ("coverage", "proof", "on_time")
# Findings that stand against a provider: not yet decided, or decided as a breach. An accepted
# explanation (no breach after all) and a finding later data undid (resolved) do not count.
STANDING_FINDINGS = (FindingState.open, FindingState.explained, FindingState.waived, FindingState.upheld)


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """Whose figures: households (and facilities) under a region, optionally one provider's."""

    region_path: str
    whole_city: bool = False  # the region is the city: no region filter is needed at all
    organisation_id: int | None = None


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """Days of a month a home-care contract was in service and judged (whole days gone by)."""

    contract_id: int
    month: str  # YYYY-MM
    first_day: dt.date
    last_day: dt.date


class Limit(msgspec.Struct, frozen=True, kw_only=True):
    """One template version's numbers for one self-care level."""

    template_id: int
    care_level: str
    per_week: int  # days a week with a visit (visits_per_week)
    max_days: int  # longest gap between visits, in days (longest_gap)


class Dialect:
    """The expressions SQLite and PostgreSQL write differently. Local means Asia/Shanghai (UTC+8
    all year); SQLite stores timestamps as UTC text and dates as YYYY-MM-DD text."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def local_day(self, moment: str) -> str:
        if self.postgres:
            return f"CAST(({moment} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
        return f"date({moment}, '+8 hours')"

    def local_month(self, moment: str) -> str:
        if self.postgres:
            return f"to_char({moment} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        return f"strftime('%Y-%m', {moment}, '+8 hours')"

    def month_of_day(self, day: str) -> str:
        return f"to_char({day}, 'YYYY-MM')" if self.postgres else f"substr({day}, 1, 7)"

    def day_number(self, day: str) -> str:
        """An integer that grows by one a day: differences are days."""
        # SQLite: a date's julian day is a whole number and a half, so differences are whole days.
        return f"({day} - DATE '2000-01-01')" if self.postgres else f"julianday({day})"

    def hours_between(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"
        return f"((julianday({later}) - julianday({earlier})) * 24.0)"

    def greatest(self, *values: str) -> str:
        return f"{'GREATEST' if self.postgres else 'max'}({', '.join(values)})"

    def least(self, *values: str) -> str:
        return f"{'LEAST' if self.postgres else 'min'}({', '.join(values)})"

    def date(self, day: dt.date) -> str:
        """A date literal (only ever from a ``dt.date``, never from text a user typed)."""
        return f"DATE '{day.isoformat()}'" if self.postgres else f"'{day.isoformat()}'"


class Sql:
    """A statement built in pieces with its arguments in order ({} marks an argument)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, text: str, *args: Any) -> Sql:
        self.parts.append(text)
        self.args.extend(args)
        return self

    async def rows(self) -> list[dict[str, Any]]:
        sql = "".join(self.parts)
        if not is_postgres():
            return await Visit.raw(sql, *self.args)
        # For this statement only (docs/PERFORMANCE.md, province): the cost PostgreSQL estimates for a
        # province's month of visits made it compile the statement with LLVM first (JIT), which took
        # 6 of a provider's live month's 7.6 seconds, on every view. (A larger work_mem was tried:
        # it chose hash aggregates that took 19.6 s instead of 12.0 s.)
        async with atomic():
            await Visit.raw("SET LOCAL jit = off")
            return await Visit.raw(sql, *self.args)


def _verified() -> QueryString:
    return verified_visit().querystring


def _households_in(sql: Sql, scope: Scope, column: str) -> None:
    """Only households under the scope's region. The unary + keeps SQLite from reading the rows
    through the household index (every visit a household ever had) instead of the time range."""
    if not scope.whole_city:
        sql.add(
            f' AND +{column} IN (SELECT "household"."id" FROM "household" JOIN "region" AS village'
            ' ON village."id" = "household"."village" WHERE village."path" LIKE {})',
            scope.region_path + "%",
        )


def _values(name: str, columns: str, rows: list[str]) -> str:
    return f"{name}({columns}) AS (VALUES {', '.join(rows)})"


def _limit(limits: list[Limit], field: str, agreement: str = "a") -> str:
    """The agreement's number (``per_week`` or ``max_days``) for its template and care level, as a
    CASE over the few (template, level) pairs: cheaper than joining a table of them per row."""
    whens = " ".join(
        f"WHEN {agreement}.template = {int(x.template_id)} AND {agreement}.care_level = '{x.care_level}' "
        f"THEN {int(getattr(x, field))}"
        for x in limits
    )
    return f"(CASE {whens} END)"


# --- visits: coverage, proof and timeliness in one pass ----------------------------------------------


def _visit_days(d: Dialect, scope: Scope, since: dt.date, until: dt.date) -> Sql:
    """``days``: one pass over the completed visits between two local days (a corrected visit counted
    once, as its latest correction): per household, organisation and local day, the visits
    completed, the verified ones (``contracts.delivery``) and, of those, the ones proven
    electronically (a door-card scan and a photo, no entry by hand). Every figure below reads these
    rows, never the visits again."""
    day = d.local_day('"visit"."checkin_at"')
    photo = 'SELECT 1 FROM "visit_photo" WHERE "visit_photo"."visit" = '
    sql = Sql().add(
        "WITH days AS (SELECT t.household AS household, t.organisation AS organisation, t.day AS day, "
        "COUNT(*) AS completed, SUM(t.verified) AS verified, SUM(t.verified * t.proven) AS evv FROM ("
        f'SELECT "visit"."household" AS household, "visit"."organisation" AS organisation, {day} AS day, '
        "CASE WHEN {} THEN 1 ELSE 0 END AS verified, "
        # A correction keeps the photos of the visit it corrects.
        f'CASE WHEN "visit"."presence" = {{}} AND (EXISTS ({photo}"visit"."id") OR "visit"."corrects" IS NOT NULL '
        f'AND EXISTS ({photo}"visit"."corrects")) '
        'THEN 1 ELSE 0 END AS proven FROM "visit" WHERE "visit"."checkin_at" >= {} AND "visit"."checkin_at" < {} '
        'AND "visit"."status" = {} AND "visit"."id" NOT IN '
        '(SELECT "c"."corrects" FROM "visit" AS "c" WHERE "c"."corrects" IS NOT NULL)',
        _verified(),
        Presence.qr.value,
        day_start(since),
        day_start(until),
        VisitStatus.completed.value,
    )
    _households_in(sql, scope, '"visit"."household"')
    if scope.organisation_id is not None:
        # One provider's figures need only the households it visited in the span, but all of their
        # visits (a visit day is on time after the previous one by anyone): exact, and in a
        # province a fiftieth of the rows.
        sql.add(
            ' AND +"visit"."household" IN (SELECT "o"."household" FROM "visit" AS "o" WHERE "o"."organisation" = {} '
            'AND "o"."checkin_at" >= {} AND "o"."checkin_at" < {})',
            scope.organisation_id,
            day_start(since),
            day_start(until),
        )
    sql.add(") t GROUP BY t.household, t.organisation, t.day)")
    return sql


def _need(d: Dialect, sql: Sql, scope: Scope, periods: list[Period], limits: list[Limit]) -> None:
    """``need``: per contract, month and covered household, the visit days its agreement asks for
    (per_week × days covered ÷ 7, rounded down, over each stretch where coverage and agreement
    overlap the contract's days in service) and the days with a verified visit by the supplier then."""
    rows = [
        f"({int(p.contract_id)}, '{p.month}', {d.date(p.first_day)}, {d.date(p.last_day)})"
        for p in sorted(periods, key=lambda p: (p.contract_id, p.month))
    ]
    start = d.greatest("c.starts_on", "a.starts_on", "p.first_day")
    end = d.least("COALESCE(c.ends_on, p.last_day)", "COALESCE(a.ends_on, p.last_day)", "p.last_day")
    sql.add(
        ", " + _values("periods", "contract, month, first_day, last_day", rows) + ", segments AS ("
        f"SELECT p.contract AS contract, p.month AS month, c.household AS household, {start} AS s, {end} AS e, "
        f"{_limit(limits, 'per_week')} AS per_week FROM periods p "
        'JOIN "coverage" c ON c.contract = p.contract '
        'JOIN "agreement" a ON a.household = c.household '
        "WHERE c.household IS NOT NULL AND c.starts_on <= p.last_day AND (c.ends_on IS NULL OR c.ends_on >= p.first_day) "
        "AND a.starts_on <= p.last_day AND (a.ends_on IS NULL OR a.ends_on >= p.first_day)"
    )
    _households_in(sql, scope, "c.household")
    sql.add(
        "), required AS ("
        "SELECT sg.contract AS contract, sg.month AS month, sg.household AS household, k.supplier AS supplier, "
        f"SUM(CAST(({d.day_number('sg.e')} - {d.day_number('sg.s')} + 1) * sg.per_week / 7 AS INTEGER)) AS required, "
        "MIN(sg.s) AS s, MAX(sg.e) AS e "
        'FROM segments sg JOIN "contract" k ON k.id = sg.contract WHERE sg.e >= sg.s '
        "GROUP BY sg.contract, sg.month, sg.household, k.supplier"
        "), need AS ("
        "SELECT r.contract AS contract, r.month AS month, r.household AS household, r.supplier AS supplier, "
        "r.required AS required, COUNT(days.day) AS visited FROM required r LEFT JOIN days "
        "ON days.household = r.household AND days.organisation = r.supplier AND days.verified > 0 "
        "AND days.day >= r.s AND days.day <= r.e WHERE r.required > 0 "
        "GROUP BY r.contract, r.month, r.household, r.supplier, r.required)"
    )


def _lookback(limits: list[Limit]) -> int:
    """Days before a span whose visits a gap may start from: the longest gap any template allows."""
    return max((x.max_days for x in limits if x.max_days < 1000), default=0) + 1


async def visit_figures(
    scope: Scope,
    since: dt.date,
    until: dt.date,
    periods: list[Period],
    limits: list[Limit],
    *,
    by_village: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The visit figures of the local days [since, until), per month (and village, for the parts
    named in ``by_village``; 0 otherwise), as rows of three parts with three numbers (a, b, c):

    - ``coverage`` per contract (organisation: its supplier): households due a visit, visited on
      as many days as required, not visited at all;
    - ``proof`` per organisation: visits completed, verified, proven electronically;
    - ``on_time`` per organisation: its verified visit days judged, and those no more than the
      agreement's longest gap after the household's previous visit day (by anyone), or after the
      day before its agreement began when no visit lies within the longest gap any template allows
      (so a visit day with none before it in that span is late either way).
    """
    d = Dialect(is_postgres())
    sql = _visit_days(d, scope, since - dt.timedelta(days=_lookback(limits)), until)
    cover = bool(periods and limits)
    if cover:
        _need(d, sql, scope, periods, limits)
    split = set(by_village)

    def village(part: str) -> str:
        return '"household"."village"' if part in split else "0"

    def by(part: str) -> str:
        return f", {village(part)}" if part in split else ""

    def to_village(part: str, alias: str) -> str:
        return f' JOIN "household" ON "household"."id" = {alias}.household' if part in split else ""

    mine = " AND {} = {{}}"
    sql.add(
        ", gaps AS (SELECT household, organisation, day, "
        "LAG(day) OVER (PARTITION BY household ORDER BY day) AS previous FROM days WHERE verified > 0) "
        f"SELECT 'proof' AS part, days.organisation AS organisation, CAST(NULL AS INTEGER) AS contract, {d.month_of_day('days.day')} AS month, "
        f"{village('proof')} AS village, SUM(days.completed) AS a, SUM(days.verified) AS b, SUM(days.evv) AS c "
        f"FROM days{to_village('proof', 'days')} WHERE days.day >= {{}}",
        since,
    )
    if scope.organisation_id is not None:
        sql.add(mine.format("days.organisation"), scope.organisation_id)
    previous = f"COALESCE({d.day_number('g.previous')}, {d.day_number('a.starts_on')} - 1)"
    sql.add(
        f" GROUP BY days.organisation, {d.month_of_day('days.day')}{by('proof')} UNION ALL "
        f"SELECT 'on_time' AS part, g.organisation AS organisation, CAST(NULL AS INTEGER) AS contract, {d.month_of_day('g.day')} AS month, "
        f"{village('on_time')} AS village, COUNT(*) AS a, "
        f"SUM(CASE WHEN {d.day_number('g.day')} - {previous} <= {_limit(limits, 'max_days')} THEN 1 ELSE 0 END) AS b, "
        'COUNT(*) * 0 AS c FROM gaps g JOIN "agreement" a ON a.household = g.household AND a.starts_on <= g.day '
        f"AND (a.ends_on IS NULL OR a.ends_on >= g.day){to_village('on_time', 'g')} WHERE g.day >= {{}}",
        since,
    )
    if scope.organisation_id is not None:
        sql.add(mine.format("g.organisation"), scope.organisation_id)
    sql.add(f" GROUP BY g.organisation, {d.month_of_day('g.day')}{by('on_time')}")
    if cover:
        sql.add(
            " UNION ALL SELECT 'coverage' AS part, need.supplier AS organisation, need.contract AS contract, "
            f"need.month AS month, {village('coverage')} AS village, COUNT(*) AS a, "
            "SUM(CASE WHEN need.visited >= need.required THEN 1 ELSE 0 END) AS b, "
            f"SUM(CASE WHEN need.visited = 0 THEN 1 ELSE 0 END) AS c FROM need{to_village('coverage', 'need')} "
            f"GROUP BY need.supplier, need.contract, need.month{by('coverage')}"
        )
    # PostgreSQL sums a bigint into a numeric (a Decimal here): the counts are whole numbers.
    return [r | {k: int(r[k] or 0) for k in "abc"} for r in await sql.rows()]


async def households_short(
    scope: Scope, periods: list[Period], limits: list[Limit], village_id: int
) -> list[dict[str, Any]]:
    """One village's households visited on fewer days than required, with the days asked and made."""
    if not periods or not limits:
        return []
    d = Dialect(is_postgres())
    since = min(p.first_day for p in periods)
    sql = _visit_days(d, scope, since, max(p.last_day for p in periods) + dt.timedelta(days=1))
    _need(d, sql, scope, periods, limits)
    sql.add(
        ' SELECT need.household AS household, "household"."code" AS code, need.supplier AS supplier, '
        "CAST(SUM(need.required) AS INTEGER) AS required, CAST(SUM(need.visited) AS INTEGER) AS visited FROM need "
        'JOIN "household" ON "household"."id" = need.household WHERE "household"."village" = {} '
        'GROUP BY need.household, "household"."code", need.supplier '
        'HAVING SUM(need.visited) < SUM(need.required) ORDER BY SUM(need.visited), "household"."code"',
        village_id,
    )
    return await sql.rows()


# --- findings, illness, residential care ----------------------------------------------------------


async def findings(scope: Scope, first_month: dt.date, last_month: dt.date) -> list[dict[str, Any]]:
    """Per organisation, month and clause: standing findings. Every clause is counted, whoever
    made the finding (the engine, an audit sample that contradicted a visit ...)."""
    sql = Sql().add(
        'SELECT "finding"."organisation" AS organisation, "finding"."month" AS month, '
        '"finding"."clause_id" AS clause, COUNT(*) AS findings '
        'FROM "finding" WHERE "finding"."month" >= {} AND "finding"."month" <= {} AND "finding"."state" IN ({}, {}, {}, {})',
        first_month,
        last_month,
        *(s.value for s in STANDING_FINDINGS),
    )
    _households_in(sql, scope, '"finding"."household"')
    if scope.organisation_id is not None:
        sql.add(' AND "finding"."organisation" = {}', scope.organisation_id)
    sql.add(' GROUP BY "finding"."organisation", "finding"."month", "finding"."clause_id"')
    return await sql.rows()


async def illness_responses(scope: Scope, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """One row per illness at home reported in the span (a few hundred a year): the caregiver
    provider of the household's agreement that day, the local month, and the hours from the report
    to the first verified visit under way or begun before recovery (null: none yet)."""
    d = Dialect(is_postgres())
    episode, visit = '"sick_episode"', '"visit"'
    reported = d.local_day(f"{episode}.started_at")
    hours = d.hours_between(f"MIN({visit}.checkin_at)", f"{episode}.started_at")
    sql = Sql().add(
        f"SELECT {d.local_month(f'{episode}.started_at')} AS month, "
        f'(SELECT a.caregiver_organisation FROM "agreement" a WHERE a.household = {episode}.household '
        f"AND a.starts_on <= {reported} AND (a.ends_on IS NULL OR a.ends_on >= {reported}) "
        "ORDER BY a.starts_on DESC LIMIT 1) AS organisation, "
        f"(SELECT {hours} FROM {visit} WHERE {visit}.household = {episode}.household "
        f"AND {visit}.checkout_at >= {episode}.started_at "
        f"AND ({episode}.ended_at IS NULL OR {visit}.checkin_at < {episode}.ended_at) AND {{}}) AS hours "
        f"FROM {episode} WHERE {episode}.kind = {{}} AND {episode}.started_at >= {{}} AND {episode}.started_at < {{}}",
        _verified(),
        SickKind.ill_at_home.value,
        day_start(since),
        day_start(until),
    )
    _households_in(sql, scope, '"sick_episode"."household"')
    if scope.organisation_id is not None:
        # Only households this provider ever cared for (a superset of the rows kept below): one
        # provider's illnesses of a province instead of every one's, each a search of visits.
        sql.add(
            f' AND {episode}.household IN (SELECT a.household FROM "agreement" a WHERE a.caregiver_organisation = {{}})',
            scope.organisation_id,
        )
    rows = await sql.rows()
    if scope.organisation_id is not None:
        rows = [r for r in rows if r["organisation"] == scope.organisation_id]
    return rows


def _facilities_in(sql: Sql, scope: Scope, column: str) -> None:
    if not scope.whole_city:
        sql.add(
            f' AND {column} IN (SELECT "organisation"."id" FROM "organisation" JOIN "region" AS place '
            'ON place."id" = "organisation"."region" WHERE place."path" LIKE {})',
            scope.region_path + "%",
        )
    if scope.organisation_id is not None:
        sql.add(f" AND {column} = {{}}", scope.organisation_id)


def _month_bucket(sql: Sql, d: Dialect, column: str, since: dt.date, until: dt.date) -> None:
    """Add ``<local month of column> AS month``. On SQLite as a CASE over the months' first instants
    (bound like every other timestamp, so compared in the stored form): strftime(..., '+8 hours')
    parsed every one of a year's ~400,000 care and dose records, a second of the city dashboard."""
    if d.postgres:
        sql.add(f"{d.local_month(column)} AS month")
        return
    sql.add("CASE")
    month = since.replace(day=1)
    while month < until:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        sql.add(f" WHEN {column} < {{}} THEN '{month:%Y-%m}'", day_start(following))
        month = following
    sql.add(" END AS month")


async def care_records(scope: Scope, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """Per facility and local month: records of a facility service (treatment, rehabilitation,
    custodial nursing) and dose records by outcome."""
    d = Dialect(is_postgres())
    sql = Sql().add("SELECT r.facility AS facility, ")
    _month_bucket(sql, d, "c.performed_at", since, until)
    sql.add(
        ", 'record' AS outcome, COUNT(*) AS n "
        'FROM "care_record" c JOIN "resident" r ON r.id = c.resident '
        "WHERE c.performed_at >= {} AND c.performed_at < {} AND c.service <> ''",
        day_start(since),
        day_start(until),
    )
    _facilities_in(sql, scope, "r.facility")
    sql.add(" GROUP BY r.facility, month UNION ALL SELECT r.facility AS facility, ")
    _month_bucket(sql, d, "x.scheduled_for", since, until)
    sql.add(
        ", x.outcome AS outcome, "
        'COUNT(*) AS n FROM "dose_record" x JOIN "resident" r ON r.id = x.resident '
        "WHERE x.scheduled_for >= {} AND x.scheduled_for < {}",
        day_start(since),
        day_start(until),
    )
    _facilities_in(sql, scope, "r.facility")
    sql.add(" GROUP BY r.facility, month, x.outcome")
    return await sql.rows()
