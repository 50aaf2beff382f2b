"""Running the engine over many households: the inputs in a few bulk queries (never one per
household), the engine in memory, the findings saved by their key.

Saving is idempotent. A finding's identity is (agreement, clause, period) — its ``key`` — so a
re-run updates a finding instead of adding one, and rewrites it only when what the engine says
has changed. A finding that no longer holds (a visit made offline arrived late, an illness was
recorded afterwards) is removed if nobody has acted on it yet (still ``open``), and otherwise kept
as ``resolved``, with its explanation and decision, so the record of what was said stays. A
resolved finding that holds again is reopened (``explained`` if it had an explanation).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from piccolo.columns.combination import Where
from piccolo.querystring import QueryString

from carepact.accounts.access import Principal, region_in_scope, require, visible_households, visible_organisations
from carepact.accounts.tables import Role
from carepact.audit.services import Actor, record
from carepact.dates import day_start, local_today
from carepact.db import atomic, engine, fetch, insert_many, is_postgres
from carepact.errors import FieldError, Problem, not_found
from carepact.jobs import services as jobs
from carepact.registry.tables import CareLevel, Household, Organisation, OrganisationKind, Region
from contracts.agreement.engine import (
    AgreementFacts,
    EpisodeFacts,
    Period,
    VisitFacts,
    evaluate,
    local_ordinal,
    lookback_days,
    services_asked,
)
from contracts.agreement.engine import (
    Finding as Found,
)
from contracts.agreement.rules import CLAUSE_KIND_LABELS, Template
from contracts.agreement.schemas import EvaluateIn, EvaluationOut
from contracts.agreement.services import templates_by_id
from contracts.delivery import verified_visit
from contracts.procurement.services import versions_of
from contracts.procurement.terms import state_on
from contracts.settlement.services import first_of
from contracts.tables import Agreement, Coverage, Finding, FindingState, SickEpisode, SickKind
from providers.tables import Review, VisitStatus

Progress = Callable[[int, int, str], Awaitable[None]]
_EVALUATION_LOCK = 0x0A6_E7A1
SAVE_CHUNK = 500  # agreements per transaction: a city's run never holds the write lock for long


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """Whose agreements: some households, a caregiver provider's, a region's; none of them: all."""

    household_ids: tuple[int, ...] | None = None
    organisation_id: int | None = None
    region_path: str | None = None

    @property
    def everything(self) -> bool:
        return self.household_ids is None and self.organisation_id is None and self.region_path is None

    def where(self) -> Where:
        where: Where = Agreement.id > 0
        if self.household_ids is not None:
            where &= Agreement.household.is_in(list(self.household_ids) or [-1])
        if self.organisation_id is not None:
            where &= Agreement.caregiver_organisation == self.organisation_id
        if self.region_path is not None:
            where &= Agreement.household._.village._.path.like(f"{self.region_path}%")
        return where


class AgreementInput(msgspec.Struct, frozen=True, kw_only=True):
    facts: AgreementFacts
    template_id: int
    organisation_id: int | None


class Inputs(msgspec.Struct, kw_only=True):
    agreements: list[AgreementInput]
    templates: dict[int, Template]
    visits: dict[int, list[VisitFacts]]  # by household
    episodes: dict[int, list[EpisodeFacts]]  # by household
    bought: dict[int, dict[dt.date, frozenset[str]]]  # by household, month
    visit_count: int


class RunResult(msgspec.Struct, kw_only=True):
    since: dt.date
    until: dt.date
    as_of: dt.datetime
    agreements: int = 0
    visits: int = 0
    findings: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    resolved: int = 0
    removed: int = 0
    load_seconds: float = 0.0
    engine_seconds: float = 0.0
    save_seconds: float = 0.0


def month_span(first_month: dt.date, last_month: dt.date) -> Period:
    following = (last_month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return Period(first=first_month.replace(day=1), last=following - dt.timedelta(days=1))


# --- loading --------------------------------------------------------------------------------------


async def load(scope: Scope, period: Period) -> Inputs:
    """Everything the engine needs for the scope's agreements overlapping the period."""
    overlap = (
        scope.where()
        & (Agreement.starts_on <= period.last)
        & (Agreement.ends_on.is_null() | (Agreement.ends_on >= period.first))
    )
    agreement_rows = await Agreement.select(
        Agreement.id,
        Agreement.household,
        Agreement.care_level,
        Agreement.starts_on,
        Agreement.ends_on,
        Agreement.monthly_fee_fen,
        Agreement.template,
        Agreement.caregiver_organisation,
    ).where(overlap)
    agreements = [
        AgreementInput(
            facts=AgreementFacts(
                id=r["id"],
                household_id=r["household"],
                care_level=CareLevel(r["care_level"]),
                starts_on=r["starts_on"],
                ends_on=r["ends_on"],
                monthly_fee_fen=r["monthly_fee_fen"],
            ),
            template_id=r["template"],
            organisation_id=r["caregiver_organisation"],
        )
        for r in agreement_rows
    ]
    templates = await templates_by_id({a.template_id for a in agreements})
    if not agreements:
        return Inputs(agreements=[], templates={}, visits={}, episodes={}, bought={}, visit_count=0)
    lookback = max(lookback_days(t) for t in templates.values())
    since = day_start(period.first - dt.timedelta(days=lookback))
    until = day_start(period.last + dt.timedelta(days=1))
    households = None if scope.everything else Agreement.select(Agreement.household).where(overlap)

    if engine().current_transaction.get() is None:  # each on its own connection, at the same time
        (visits, count), episodes, bought = await asyncio.gather(
            _visits(templates.values(), since, until, households),
            _episodes(since, until, households),
            _bought(households, period),
        )
    else:  # one connection: one statement at a time
        visits, count = await _visits(templates.values(), since, until, households)
        episodes = await _episodes(since, until, households)
        bought = await _bought(households, period)
    return Inputs(
        agreements=agreements,
        templates=templates,
        visits=visits,
        episodes=episodes,
        bought=bought,
        visit_count=count,
    )


async def _episodes(since: dt.datetime, until: dt.datetime, households: Any) -> dict[int, list[EpisodeFacts]]:
    episode_where = (SickEpisode.started_at < until) & (
        SickEpisode.ended_at.is_null() | (SickEpisode.ended_at >= since)
    )
    if households is not None:
        episode_where &= SickEpisode.household.is_in(households)
    episodes: dict[int, list[EpisodeFacts]] = defaultdict(list)
    for r in await SickEpisode.select(
        SickEpisode.id, SickEpisode.household, SickEpisode.kind, SickEpisode.started_at, SickEpisode.ended_at
    ).where(episode_where):
        episodes[r["household"]].append(
            EpisodeFacts(id=r["id"], kind=SickKind(r["kind"]), started_at=r["started_at"], ended_at=r["ended_at"])
        )
    return episodes


async def _visits(
    templates: Iterable[Template], since: dt.datetime, until: dt.datetime, households: Any
) -> tuple[dict[int, list[VisitFacts]], int]:
    """The period's completed, unrejected visits by household, in SQL written for it.

    Per visit: whether it is verified (``contracts.delivery.verified_visit``, its own compiled SQL,
    so the definition stays one), its photos, and which of the services the templates ask about
    (``services_asked``: a visit's other services change no finding) it performed: three
    statements, joined here by id (see below). Rows come back as tuples; on SQLite ids and times
    as text and integers as computed values, so Piccolo's per-value converters do not run (a
    datetime is parsed here, once a visit).
    """
    postgres = is_postgres()
    asked = sorted(set().union(*(services_asked(t) for t in templates)))
    window = (
        '"visit"."checkin_at" >= {} AND "visit"."checkin_at" < {} AND "visit"."status" = {} AND "visit"."review" <> {}'
    )
    args: list[Any] = [since, until, VisitStatus.completed.value, Review.rejected.value]
    if households is not None:
        window += ' AND "visit"."household" IN ({})'
        args.append(households.querystrings[0])
    shift = len(asked)  # per visit, in one number: a bit for each asked service performed, its photos above
    bits = {s: 1 << n for n, s in enumerate(asked)}
    visit_columns = (
        'CAST("visit"."id" AS TEXT), CAST("visit"."household" AS INTEGER), {}, '
        'CAST("visit"."duration_minutes" AS INTEGER), "visit"."presence", "visit"."manual_reason", '
        'CAST("visit"."corrects" AS TEXT), CASE WHEN {} THEN 1 ELSE 0 END'
    )
    # The photo links and the asked services' rows, joined to the visits here by id. SQLite looks a
    # text key up in an index at several microseconds a visit, so a city's run reads those two tables
    # straight through (a fraction of a microsecond a row) and a smaller scope picks its visits' rows
    # by sub-select; PostgreSQL always sub-selects (a hash join; joining and grouping them in one
    # statement spilled to disk under the default work_mem and took longer than the three).
    of_window, of_args = "", []
    if postgres or households is not None:
        of_window, of_args = f' AND "link"."visit" IN (SELECT "visit"."id" FROM "visit" WHERE {window})', args
    checkin_at = '"visit"."checkin_at"' if postgres else 'CAST("visit"."checkin_at" AS TEXT)'
    statements = [
        (
            f'SELECT {visit_columns} FROM "visit" WHERE {window}',
            [QueryString(checkin_at), verified_visit().querystring, *args],
        ),
        (
            'SELECT CAST("visit_photo"."visit" AS TEXT) FROM "visit_photo" WHERE "visit_photo"."visit" IS NOT NULL'
            + of_window.replace('"link"', '"visit_photo"'),
            of_args,
        ),
        (
            'SELECT CAST("visit_service"."visit" AS TEXT), "visit_service"."service" FROM "visit_service" '
            f'WHERE "visit_service"."service" IN ({", ".join("{}" for _ in asked) or "NULL"})'
            + of_window.replace('"link"', '"visit_service"'),
            [*asked, *of_args],
        ),
    ]
    if engine().current_transaction.get() is None:  # each on its own connection, at the same time
        rows, photo_rows, service_rows = await asyncio.gather(*(fetch(sql, *a, tuples=True) for sql, a in statements))
    else:  # one connection: one statement at a time
        rows, photo_rows, service_rows = [await fetch(sql, *a, tuples=True) for sql, a in statements]
    linked: dict[str, int] = defaultdict(int)
    for (visit_id,) in photo_rows:
        linked[visit_id] += 1 << shift
    for visit_id, service in service_rows:
        linked[visit_id] |= bits[service]
    performed: dict[int, frozenset[str]] = {}
    # A corrected visit is judged as its latest correction, which keeps the original's photos.
    corrects = {r[0]: r[6] for r in rows if r[6] is not None}
    superseded = set(corrects.values())
    chained: dict[str, int] = {}
    if corrects:  # as before: only photos of the visits of the period are carried along a chain
        chained = {r[0]: linked.get(r[0], 0) >> shift for r in rows if r[0] in superseded}
    visits: dict[int, list[VisitFacts]] = defaultdict(list)
    parse: Callable[[Any], dt.datetime] = (lambda moment: moment) if postgres else dt.datetime.fromisoformat
    linked_get, every_asked = linked.get, (1 << shift) - 1
    count = 0
    for visit_id, household, checkin, minutes, presence, reason, earlier, counts in rows:
        if visit_id in superseded:
            continue
        links = linked_get(visit_id, 0)
        photo_count = links >> shift
        mask = links & every_asked
        if mask not in performed:
            performed[mask] = frozenset(s for s in asked if mask & bits[s])
        while earlier is not None:
            photo_count += chained.get(earlier, 0)
            earlier = corrects.get(earlier)
        at = parse(checkin)
        visits[household].append(
            VisitFacts(
                id=visit_id,
                at=at,
                minutes=minutes,
                counts=counts == 1,
                presence=presence,
                manual_reason=reason,
                photos=photo_count,
                services=performed[mask],
                day=local_ordinal(at),
            )
        )
        count += 1
    return visits, count


async def _bought(households: Any, period: Period) -> dict[int, dict[dt.date, frozenset[str]]]:
    """Per household and month: the services bought by the contracts covering it that month (the
    terms in force on the last day of the month it was covered)."""
    where = (
        Coverage.household.is_not_null()
        & (Coverage.starts_on <= period.last)
        & (Coverage.ends_on.is_null() | (Coverage.ends_on >= period.first))
    )
    if households is not None:
        where &= Coverage.household.is_in(households)
    rows = await Coverage.select(Coverage.contract, Coverage.household, Coverage.starts_on, Coverage.ends_on).where(
        where
    )
    versions = await versions_of({r["contract"] for r in rows})
    terms_cache: dict[tuple[int, dt.date], frozenset[str]] = {}
    span_cache: dict[tuple[int, dt.date, dt.date | None], dict[dt.date, frozenset[str]]] = {}

    def months_of(contract: int, starts_on: dt.date, ends_on: dt.date | None) -> dict[dt.date, frozenset[str]]:
        months: dict[dt.date, frozenset[str]] = {}
        month = max(starts_on, period.first).replace(day=1)
        while month <= period.last:
            following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            last_day = min(following - dt.timedelta(days=1), ends_on or dt.date.max)
            if starts_on > last_day:
                break
            key = (contract, last_day)
            if key not in terms_cache:
                terms = state_on(versions[contract], last_day)
                terms_cache[key] = frozenset(i.classification.value for i in terms.items) if terms else frozenset()
            months[month] = terms_cache[key]
            month = following
        return months

    spans: dict[int, list[tuple[int, dt.date, dt.date | None]]] = defaultdict(list)
    for r in rows:
        spans[r["household"]].append((r["contract"], r["starts_on"], r["ends_on"]))
    bought: dict[int, dict[dt.date, frozenset[str]]] = {}
    for household, covered in spans.items():
        merged: dict[dt.date, frozenset[str]] = {}
        for span in covered:
            if span not in span_cache:  # most households share their coverage's dates: computed once
                span_cache[span] = months_of(*span)
            if len(covered) == 1:
                merged = span_cache[span]  # shared between households, and read only
            else:
                for month, services in span_cache[span].items():
                    merged[month] = merged.get(month, frozenset()) | services
        bought[household] = merged
    return bought


# --- running --------------------------------------------------------------------------------------


def run(inputs: Inputs, period: Period, as_of: dt.datetime) -> list[Found]:
    """The engine over every loaded agreement (pure: in memory)."""
    findings: list[Found] = []
    for a in inputs.agreements:
        household = a.facts.household_id
        findings += evaluate(
            a.facts,
            inputs.templates[a.template_id],
            period,
            as_of,
            inputs.visits.get(household, ()),
            inputs.episodes.get(household, ()),
            inputs.bought.get(household, {}),
        )
    return findings


def digest(finding: Found) -> str:
    return hashlib.sha256(msgspec.json.encode(finding)).hexdigest()


def _values(finding: Found) -> dict[str, Any]:
    return {
        "period_start": finding.period_start,
        "period_end": finding.period_end,
        "month": finding.month,
        "expected": finding.expected,
        "actual": finding.actual,
        "units": finding.units,
        "summary": finding.summary[:300],
        "evidence": msgspec.json.encode(finding.evidence).decode(),
        "digest": digest(finding),
    }


async def save(
    findings: list[Found], agreements: list[AgreementInput], period: Period, now: dt.datetime, result: RunResult
) -> None:
    """Bring the stored findings of these agreements in the period's months in line with ``findings``."""
    produced: dict[int, list[Found]] = defaultdict(list)
    for f in findings:
        produced[f.agreement_id].append(f)
    organisation = {a.facts.id: a.organisation_id for a in agreements}
    ids = sorted(organisation)
    first_month, last_month = period.first.replace(day=1), period.last.replace(day=1)
    for start in range(0, len(ids), SAVE_CHUNK):
        chunk = ids[start : start + SAVE_CHUNK]
        async with atomic():
            if is_postgres():
                await Finding.raw("SELECT pg_advisory_xact_lock({})", _EVALUATION_LOCK)
            # Only the engine's own findings (of template clause kinds): an auditor's (a contradicted
            # sampled visit) are not the engine's to update or remove.
            stored = {
                r["key"]: r
                for r in await Finding.select(
                    Finding.id, Finding.key, Finding.state, Finding.digest, Finding.explanation_reason
                ).where(
                    Finding.agreement.is_in(chunk)
                    & (Finding.month >= first_month)
                    & (Finding.month <= last_month)
                    & Finding.clause_kind.is_in(list(CLAUSE_KIND_LABELS))
                )
            }
            new_rows = []
            for agreement_id in chunk:
                for f in produced.get(agreement_id, ()):
                    values = _values(f)
                    row = stored.pop(f.key, None)
                    if row is None:
                        new_rows.append(_new_row(f, values, organisation[agreement_id], now))
                    elif row["digest"] != values["digest"] or row["state"] == FindingState.resolved:
                        await Finding.update(_changes(row, values, now)).where(Finding.id == row["id"])
                        result.updated += 1
                    else:
                        result.unchanged += 1
            await insert_many(Finding, new_rows, skip_existing="key")
            result.created += len(new_rows)
            gone = [r["id"] for r in stored.values() if r["state"] != FindingState.resolved]
            if gone:
                removed = await (
                    Finding.delete()
                    .where(Finding.id.is_in(gone) & (Finding.state == FindingState.open.value))
                    .returning(Finding.id)
                )
                result.removed += len(removed)
                left = list(set(gone) - {r["id"] for r in removed})
                if left:
                    await Finding.update(
                        {Finding.state: FindingState.resolved.value, Finding.resolved_at: now, Finding.changed_at: now}
                    ).where(Finding.id.is_in(left))
                    result.resolved += len(left)


def _new_row(f: Found, values: dict[str, Any], organisation_id: int | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "key": f.key,
        "agreement": f.agreement_id,
        "household": f.household_id,
        "organisation": organisation_id,
        "clause_id": f.clause_id,
        "clause_kind": f.clause_kind,
        "period_key": f.period_key,
        **values,
        "state": FindingState.open.value,
        "found_at": now,
        "changed_at": now,
        "resolved_at": None,
        "explanation_reason": "",
        "explanation": "",
        "explained_by": None,
        "explained_by_name": "",
        "explained_at": None,
        "decision_comment": "",
        "decided_by": None,
        "decided_by_name": "",
        "decided_at": None,
    }


def _changes(row: dict[str, Any], values: dict[str, Any], now: dt.datetime) -> dict[Any, Any]:
    changes: dict[Any, Any] = {getattr(Finding, k): v for k, v in values.items()}
    changes[Finding.changed_at] = now
    if row["state"] == FindingState.resolved:
        # It holds again: back to the provider (its explanation, if any, still stands).
        reopened = FindingState.explained if row["explanation_reason"] else FindingState.open
        changes |= {
            Finding.state: reopened.value,
            Finding.resolved_at: None,
            Finding.decision_comment: "",
            Finding.decided_by: None,
            Finding.decided_by_name: "",
            Finding.decided_at: None,
        }
    return changes


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while the inputs are loaded and the engine runs: a city's
    year makes a million short-lived tuples, rows and structs (none in a reference cycle), and the
    collector, triggered every 700 allocations, kept walking them all (a fifth of the time)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


async def evaluate_scope(
    scope: Scope,
    first_month: dt.date,
    last_month: dt.date,
    *,
    as_of: dt.datetime | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Evaluate the scope's agreements over whole months and save the findings; safe to repeat."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    period = month_span(first_month, last_month)
    result = RunResult(since=period.first, until=period.last, as_of=as_of)
    began = time.perf_counter()
    if progress:
        await progress(0, 3, "正在读取协议、服务记录和患病情况")
    with _no_cycle_collection():
        inputs = await load(scope, period)
        loaded = time.perf_counter()
        if progress:
            await progress(1, 3, f"正在核查 {len(inputs.agreements)} 户的协议履行情况")
        findings = run(inputs, period, as_of)
        ran = time.perf_counter()
    if progress:
        await progress(2, 3, f"正在保存 {len(findings)} 条违约发现")
    await save(findings, inputs.agreements, period, as_of, result)
    result.agreements = len(inputs.agreements)
    result.visits = inputs.visit_count
    result.findings = len(findings)
    result.load_seconds = round(loaded - began, 3)
    result.engine_seconds = round(ran - loaded, 3)
    result.save_seconds = round(time.perf_counter() - ran, 3)
    return result


# --- asked for over HTTP --------------------------------------------------------------------------

EVALUATE_JOB = "evaluate_agreements"
MAX_MONTHS = 24


def _months(body: EvaluateIn) -> tuple[dt.date, dt.date]:
    this_month = local_today().replace(day=1)
    until = first_of(body.until) if body.until else this_month
    since = first_of(body.since) if body.since else until.replace(month=1)
    problems = []
    if until > this_month:
        problems.append(FieldError(field="until", code="range", message="不能晚于本月"))
    if since > until:
        problems.append(FieldError(field="since", code="range", message="起始月份不能晚于截止月份"))
    elif (until.year - since.year) * 12 + until.month - since.month >= MAX_MONTHS:
        problems.append(FieldError(field="since", code="range", message=f"一次最多核查 {MAX_MONTHS} 个月"))
    if problems:
        raise Problem(400, "evaluation.invalid_months", "核查月份有误。", problems)
    return since, until


def result_out(result: RunResult) -> EvaluationOut:
    return EvaluationOut(
        since=f"{result.since:%Y-%m}",
        until=f"{result.until:%Y-%m}",
        as_of=result.as_of,
        agreements=result.agreements,
        visits=result.visits,
        findings=result.findings,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        resolved=result.resolved,
        removed=result.removed,
        seconds=round(result.load_seconds + result.engine_seconds + result.save_seconds, 3),
    )


async def request(principal: Principal, body: EvaluateIn, actor: Actor) -> EvaluationOut | uuid.UUID:
    """One household is evaluated now (the answer); anything larger becomes a job (its id)."""
    chosen = [x for x in (body.household_id, body.organisation_id, body.county_id) if x is not None]
    if len(chosen) > 1:
        raise Problem(
            400,
            "evaluation.one_scope",
            "请只选择一户、一个服务机构或一个县（区）。",
            [FieldError(field="household_id", code="invalid", message="只能选择一种范围")],
        )
    if body.household_id is not None:
        if not await Household.exists().where((Household.id == body.household_id) & visible_households(principal)):
            raise not_found("household", "户")
    elif body.county_id is not None:
        county = await Region.select(Region.path, Region.name).where(Region.id == body.county_id).first()
        if county is None or not region_in_scope(principal, county["path"]):
            raise not_found("region", "行政区域")
    elif body.organisation_id is not None:
        provider = (
            await Organisation.select(Organisation.name)
            .where(
                (Organisation.id == body.organisation_id)
                & (Organisation.kind == OrganisationKind.provider.value)
                & visible_organisations(principal)
            )
            .first()
        )
        if provider is None:
            raise not_found("organisation", "服务机构")
    require(principal, "agreement.evaluate")
    since, until = _months(body)
    months = {"since": f"{since:%Y-%m}", "until": f"{until:%Y-%m}"}
    if body.household_id is not None:
        async with atomic():  # one household: one transaction, with its audit row
            result = await evaluate_scope(Scope(household_ids=(body.household_id,)), since, until)
            await record(
                actor,
                "agreement.evaluate",
                "household",
                body.household_id,
                detail=months
                | {k: getattr(result, k) for k in ("findings", "created", "updated", "resolved", "removed")},
            )
        return result_out(result)
    whole_city = principal.role == Role.city_admin and body.county_id is None
    params: dict[str, Any] = dict(months)
    if body.county_id is not None:
        params |= {"region_path": county["path"], "label": county["name"]}
    elif not whole_city:
        params |= {"region_path": principal.region_path, "label": principal.region_name or ""}
    else:
        params |= {"label": "全市"}
    if body.organisation_id is not None:
        params |= {"organisation_id": body.organisation_id, "label": f"{params['label']} {provider['name']}"}
    job_id = await jobs.submit(EVALUATE_JOB, params, owner=principal.account_id)
    await record(actor, "agreement.evaluate", "job", str(job_id), detail=params)
    return job_id
