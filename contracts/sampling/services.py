"""Audit samples: a reproducible random draw of verified visits per provider, and what the county
auditor found when calling the household back or visiting again.

The population is the providers' verified visits (``contracts.delivery.verified_visit``, the
visits settlement pays for) to households in the region, checked in between two local days. Each
visit's draw number is SHA-256("seed:visit id"); per provider the smallest numbers are drawn. The
draw therefore depends only on the seed and on which visits are in the population, never on the
order a database returns them, and anyone can check it by hand. The population (its exact query,
ordered by provider, check-in time and visit id, with a digest of each provider's visit ids) is
recorded on the sample, so a later draw can tell whether it saw the same visits.

A contradicted visit becomes a finding (clause ``sample_contradicted``) against the visit's
provider under the household's agreement in force that day, keyed by the visit, so a visit
contradicted in two samples is one finding. It then follows the findings workflow: the provider
explains, the county decides, an upheld one is deducted in the month's settlement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec
from piccolo.columns.combination import Where
from piccolo.query.functions.aggregate import Count

from carepact.accounts.access import Principal, may, region_in_scope, require, visible_organisations
from carepact.accounts.tables import Role
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.dates import SHANGHAI, day_start
from carepact.db import atomic, insert_many
from carepact.errors import FieldError, Problem, not_found
from carepact.privacy import mask_name
from carepact.registry.tables import Organisation, OrganisationKind, Region
from contracts.agreement.services import in_force
from contracts.delivery import local_day, verified_visit
from contracts.evidence.services import check_period, household_names, visit_photos, visit_service_labels
from contracts.findings.schemas import AUDIT_CLAUSES, SAMPLE_CONTRADICTED, STATE_LABELS
from contracts.sampling.schemas import (
    METHOD_LABELS,
    OUTCOME_LABELS,
    DrawIn,
    OutcomeIn,
    ProviderDraw,
    SampleDetail,
    SampledVisitOut,
    SampleSummary,
)
from contracts.tables import AuditSample, CheckMethod, Finding, FindingState, SampledVisit, SampleOutcome
from providers.tables import Presence, Visit
from providers.visits.schemas import PRESENCE_LABELS

DRAW_METHOD = "sha256-rank-v1"
DRAW_METHOD_TEXT = (
    "每条服务记录的抽签号为 SHA-256（“随机种子:服务记录编号”）的十六进制值；"
    "每个服务机构取抽签号最小的若干条。同一种子、同一总体，抽中的记录相同。"
)
ORDERING = "服务机构 ID、签到时间、服务记录编号（升序）"
DECIDED = (FindingState.accepted, FindingState.waived, FindingState.upheld)
NO_AGREEMENT = "该户在服务当日没有生效的服务协议，未形成违约发现（核实结果已记录）。"


class ProviderPopulation(msgspec.Struct, kw_only=True):
    organisation_id: int
    size: int
    digest: str


class Population(msgspec.Struct, kw_only=True):
    """What a sample was drawn from, as stored on it (``AuditSample.population``)."""

    method: str
    ordering: str
    query: str
    providers: list[ProviderPopulation]


class Drawn(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: str
    organisation_id: int
    household_id: int
    draw_number: str


# --- the draw: pure ------------------------------------------------------------------------------


def new_seed() -> str:
    return secrets.token_hex(8)


def draw_number(seed: str, visit_id: Any) -> str:
    return hashlib.sha256(f"{seed}:{visit_id}".encode()).hexdigest()


def ordered(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The population in its recorded order: provider, check-in time, visit id."""
    return sorted(rows, key=lambda r: (r["organisation"], r["checkin_at"], str(r["id"])))


def population_digests(rows: list[dict[str, Any]]) -> dict[int, tuple[int, str]]:
    """Per provider: how many visits, and SHA-256 of their ids in order, one per line."""
    ids: dict[int, list[str]] = defaultdict(list)
    for r in ordered(rows):
        ids[r["organisation"]].append(str(r["id"]))
    return {org: (len(v), hashlib.sha256("\n".join(v).encode()).hexdigest()) for org, v in ids.items()}


def draw(rows: Iterable[dict[str, Any]], seed: str, per_provider: int) -> list[Drawn]:
    """Per provider, the ``per_provider`` visits with the smallest draw numbers; the result is
    ordered by provider, then draw number. The same seed and rows give the same draw, in any order."""
    by_provider: dict[int, list[Drawn]] = defaultdict(list)
    for r in ordered(rows):
        by_provider[r["organisation"]].append(
            Drawn(
                visit_id=str(r["id"]),
                organisation_id=r["organisation"],
                household_id=r["household"],
                draw_number=draw_number(seed, r["id"]),
            )
        )
    return [
        d
        for org in sorted(by_provider)
        for d in sorted(by_provider[org], key=lambda d: (d.draw_number, d.visit_id))[:per_provider]
    ]


# --- who sees what ----------------------------------------------------------------------------------


def visible_samples(principal: Principal) -> Where:
    """The city and county bureaus: samples drawn in their region. Nobody else, providers included:
    a provider told which households will be called back could prepare them."""
    if principal.role in (Role.city_admin, Role.county_auditor) and principal.region_path:
        return AuditSample.region._.path.like(f"{principal.region_path}%")
    return AuditSample.id < 0


async def _visible_sample(principal: Principal, sample_id: int) -> dict[str, Any]:
    row = (
        await AuditSample.select(*AuditSample.all_columns(), AuditSample.region._.name)
        .where((AuditSample.id == sample_id) & visible_samples(principal))
        .first()
    )
    if row is None:
        raise not_found("audit_sample", "抽查")
    return row


# --- drawing ------------------------------------------------------------------------------------------


async def _region(principal: Principal, region_id: int | None) -> dict[str, Any]:
    row = (
        await Region.select(Region.id, Region.path, Region.name)
        .where(Region.id == (region_id if region_id is not None else principal.region_id or -1))
        .first()
    )
    if row is None or not region_in_scope(principal, row["path"]):
        raise not_found("region", "行政区域")
    return row


async def _providers(principal: Principal, ids: list[int]) -> None:
    found = await Organisation.count().where(
        Organisation.id.is_in(ids)
        & (Organisation.kind == OrganisationKind.provider.value)
        & visible_organisations(principal)
    )
    if found != len(set(ids)):
        raise not_found("organisation", "服务机构")


def population_query(region_path: str, organisation_ids: list[int], first: dt.date, last: dt.date) -> Any:
    where = (
        verified_visit()
        & Visit.household._.village._.path.like(f"{region_path}%")
        & (Visit.checkin_at >= day_start(first))
        & (Visit.checkin_at < day_start(last + dt.timedelta(days=1)))
    )
    if organisation_ids:
        where &= Visit.organisation.is_in(sorted(set(organisation_ids)))
    return (
        Visit.select(Visit.id, Visit.organisation, Visit.household, Visit.checkin_at)
        .where(where)
        .order_by(Visit.organisation)
        .order_by(Visit.checkin_at)
        .order_by(Visit.id)
    )


async def draw_sample(principal: Principal, body: DrawIn, actor: Actor) -> int:
    """Draw and store a sample; returns its id."""
    region = await _region(principal, body.region_id)
    if body.organisation_ids:
        await _providers(principal, body.organisation_ids)
    require(principal, "audit_sample.draw")
    check_period(body.first_day, body.last_day)
    seed = body.seed or new_seed()
    query = population_query(region["path"], body.organisation_ids, body.first_day, body.last_day)
    async with atomic():
        rows = await query
        drawn = draw(rows, seed, body.per_provider)
        digests = population_digests(rows)
        population = Population(
            method=DRAW_METHOD,
            ordering=ORDERING,
            query=str(query),
            providers=[
                ProviderPopulation(organisation_id=org, size=size, digest=digest)
                for org, (size, digest) in sorted(digests.items())
            ]
            + [
                ProviderPopulation(organisation_id=org, size=0, digest=hashlib.sha256(b"").hexdigest())
                for org in sorted(set(body.organisation_ids) - set(digests))
            ],
        )
        [sample] = await AuditSample.insert(
            AuditSample(
                region=region["id"],
                first_day=body.first_day,
                last_day=body.last_day,
                per_provider=body.per_provider,
                seed=seed,
                population=msgspec.json.encode(population).decode(),
                population_size=len(rows),
                drawn_count=len(drawn),
                note=body.note,
                drawn_by=principal.account_id,
                drawn_by_name=principal.display_name,
            )
        ).returning(AuditSample.id)
        sample_id = sample["id"]
        await insert_many(
            SampledVisit,
            [
                {
                    "key": f"{sample_id}:{d.visit_id}",
                    "sample": sample_id,
                    "position": n,
                    "draw_number": d.draw_number,
                    "visit": uuid.UUID(d.visit_id),
                    "organisation": d.organisation_id,
                    "household": d.household_id,
                    "outcome": "",
                    "method": "",
                    "note": "",
                    "recorded_by": None,
                    "recorded_by_name": "",
                    "recorded_at": None,
                    "finding": None,
                }
                for n, d in enumerate(drawn, 1)
            ],
        )
        await record(
            actor,
            "audit_sample.draw",
            "audit_sample",
            sample_id,
            detail={
                "region": region["name"],
                "first_day": str(body.first_day),
                "last_day": str(body.last_day),
                "per_provider": body.per_provider,
                "organisations": sorted(set(body.organisation_ids)),
                "seed": seed,
                "population": len(rows),
                "drawn": len(drawn),
            },
        )
    return sample_id


# --- reading ---------------------------------------------------------------------------------------


async def _organisation_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Organisation.select(Organisation.id, Organisation.name).where(Organisation.id.is_in(list(ids)))
    return {r["id"]: r["name"] for r in rows}


async def _counts(sample_ids: list[int]) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if sample_ids:
        for r in (
            await SampledVisit.select(SampledVisit.sample, SampledVisit.outcome, Count())
            .where(SampledVisit.sample.is_in(sample_ids))
            .group_by(SampledVisit.sample, SampledVisit.outcome)
        ):
            counts[r["sample"]][r["outcome"]] += r["count"]
    return counts


def _population(row: dict[str, Any]) -> Population:
    return msgspec.json.decode(row["population"], type=Population)


async def _summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = await _counts([r["id"] for r in rows])
    drawn_per: dict[tuple[int, int], int] = Counter()
    if rows:
        for r in (
            await SampledVisit.select(SampledVisit.sample, SampledVisit.organisation, Count())
            .where(SampledVisit.sample.is_in([r["id"] for r in rows]))
            .group_by(SampledVisit.sample, SampledVisit.organisation)
        ):
            drawn_per[(r["sample"], r["organisation"])] = r["count"]
    populations = {r["id"]: _population(r) for r in rows}
    names = await _organisation_names({p.organisation_id for pop in populations.values() for p in pop.providers})
    out = []
    for r in rows:
        counted = counts[r["id"]]
        out.append(
            {
                "id": r["id"],
                "region_id": r["region"],
                "region_name": r["region.name"],
                "first_day": r["first_day"],
                "last_day": r["last_day"],
                "per_provider": r["per_provider"],
                "seed": r["seed"],
                "population_size": r["population_size"],
                "drawn_count": r["drawn_count"],
                "checked_count": sum(n for outcome, n in counted.items() if outcome),
                "contradicted_count": counted[SampleOutcome.contradicted.value],
                "providers": [
                    ProviderDraw(
                        organisation_id=p.organisation_id,
                        organisation_name=names.get(p.organisation_id, ""),
                        population=p.size,
                        drawn=drawn_per[(r["id"], p.organisation_id)],
                        digest=p.digest,
                    )
                    for p in populations[r["id"]].providers
                ],
                "note": r["note"],
                "drawn_by_name": r["drawn_by_name"],
                "drawn_at": r["drawn_at"],
            }
        )
    return out


async def list_samples(
    principal: Principal, paging: PageRequest, *, organisation_id: int | None = None
) -> Page[SampleSummary]:
    where = visible_samples(principal)
    if organisation_id is not None:
        where &= AuditSample.id.is_in(
            SampledVisit.select(SampledVisit.sample).where(SampledVisit.organisation == organisation_id)
        )
    total = await AuditSample.count().where(where)
    rows = (
        await AuditSample.select(*AuditSample.all_columns(), AuditSample.region._.name)
        .where(where)
        .order_by(AuditSample.drawn_at, ascending=False)
        .order_by(AuditSample.id, ascending=False)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return Page(
        items=[SampleSummary(**s) for s in await _summaries(rows)],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


_ITEM_COLUMNS = (
    *SampledVisit.all_columns(),
    SampledVisit.household._.code,
    SampledVisit.household._.village._.name,
    SampledVisit.organisation._.name,
    SampledVisit.finding._.state,
)


async def _items(rows: list[dict[str, Any]]) -> list[SampledVisitOut]:
    if not rows:  # a sample of a period with no verified visits (Piccolo refuses is_in([]))
        return []
    ids = [r["visit"] for r in rows]
    visits = {
        str(v["id"]): v
        for v in await Visit.select(
            Visit.id, Visit.checkin_at, Visit.duration_minutes, Visit.presence, Visit.worker._.display_name
        ).where(Visit.id.is_in(ids))
    }
    services = await visit_service_labels(ids)
    photos = await visit_photos(ids)
    names = await household_names({r["household"] for r in rows})
    out = []
    for r in rows:
        v = visits[str(r["visit"])]
        outcome = SampleOutcome(r["outcome"]) if r["outcome"] else None
        method = CheckMethod(r["method"]) if r["method"] else None
        state = FindingState(r["finding.state"]) if r["finding.state"] else None
        contradicted = outcome == SampleOutcome.contradicted
        out.append(
            SampledVisitOut(
                visit_id=r["visit"],
                position=r["position"],
                draw_number=r["draw_number"],
                organisation_id=r["organisation"],
                organisation_name=r["organisation.name"],
                household_id=r["household"],
                household_code=r["household.code"],
                household_names=[mask_name(n) for n in names[r["household"]]],
                village_name=r["household.village.name"],
                worker_name=v["worker.display_name"],
                checkin_at=v["checkin_at"],
                duration_minutes=v["duration_minutes"],
                presence_label=PRESENCE_LABELS[Presence(v["presence"])],
                services=services[str(r["visit"])],
                photo_count=len(photos[str(r["visit"])]),
                outcome=outcome,
                outcome_label=OUTCOME_LABELS[outcome] if outcome else "未核实",
                method=method,
                method_label=METHOD_LABELS[method] if method else "",
                note=r["note"],
                recorded_by_name=r["recorded_by_name"],
                recorded_at=r["recorded_at"],
                finding_id=r["finding"],
                finding_state=state,
                finding_state_label=STATE_LABELS[state] if state else "",
                finding_problem=NO_AGREEMENT if contradicted and r["finding"] is None else "",
            )
        )
    return out


async def get_sample(principal: Principal, sample_id: int) -> SampleDetail:
    row = await _visible_sample(principal, sample_id)
    [summary] = await _summaries([row])
    items = (
        await SampledVisit.select(*_ITEM_COLUMNS)
        .where(SampledVisit.sample == sample_id)
        .order_by(SampledVisit.position)
    )
    population = _population(row)
    return SampleDetail(
        **summary,
        method=DRAW_METHOD_TEXT,
        ordering=population.ordering,
        population_query=population.query,
        visits=await _items(items),
        can_record=may(principal, "audit_sample.record"),
    )


# --- outcomes ------------------------------------------------------------------------------------------


def _note_problem() -> Problem:
    message = "请写明核实情况（如：服务对象称当日无人上门）。"
    return Problem(
        400, "audit_sample.note_required", message, [FieldError(field="note", code="required", message=message)]
    )


async def _contradict(item: dict[str, Any], sample_id: int, body: OutcomeIn, principal: Principal) -> int | None:
    """The finding for a contradicted visit, created or brought up to date; None without an agreement."""
    visit = await Visit.select(Visit.checkin_at, Visit.organisation).where(Visit.id == item["visit"]).first()
    day = local_day(visit["checkin_at"])
    agreement = await in_force(item["household"], day)
    if agreement is None:
        return None
    now = dt.datetime.now(dt.UTC)
    method = METHOD_LABELS[body.method]
    evidence = {
        "visits": [str(item["visit"])],
        "sample_id": sample_id,
        "method": body.method.value,
        "method_label": method,
        "note": body.note,
        "auditor": principal.display_name,
        "checked_at": now.astimezone(SHANGHAI).isoformat(),
    }
    summary = f"{method}核实与服务记录不符：{body.note}"[:300]
    evidence_json = msgspec.json.encode(evidence).decode()
    digest = hashlib.sha256(msgspec.json.encode(evidence, order="sorted")).hexdigest()
    values: dict[Any, Any] = {Finding.summary: summary, Finding.evidence: evidence_json, Finding.digest: digest}
    key = f"{agreement['id']}:{SAMPLE_CONTRADICTED}:visit:{item['visit']}"
    inserted = (
        await Finding.insert(
            Finding(
                key=key,
                agreement=agreement["id"],
                household=item["household"],
                organisation=visit["organisation"],
                clause_id=SAMPLE_CONTRADICTED,
                clause_kind=AUDIT_CLAUSES[SAMPLE_CONTRADICTED].kind,
                period_key=f"visit:{item['visit']}",
                month=day.replace(day=1),
                period_start=day,
                period_end=day,
                expected=None,
                actual=None,
                units=1,
                summary=summary,
                evidence=evidence_json,
                digest=digest,
                found_at=now,
                changed_at=now,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(Finding.id)
    )
    if inserted:
        return inserted[0]["id"]
    # The visit was contradicted before (in this sample or another): one finding per visit.
    existing = (
        await Finding.select(Finding.id, Finding.state, Finding.explanation_reason).where(Finding.key == key).first()
    )
    state = FindingState(existing["state"])
    if state in (FindingState.open, FindingState.explained):
        await Finding.update(values | {Finding.changed_at: now}).where(Finding.id == existing["id"])
    elif state == FindingState.resolved:
        # It holds again: back to the provider, as the engine reopens one (its explanation stands).
        reopened = FindingState.explained if existing["explanation_reason"] else FindingState.open
        await Finding.update(
            values
            | {
                Finding.state: reopened.value,
                Finding.resolved_at: None,
                Finding.decision_comment: "",
                Finding.decided_by: None,
                Finding.decided_by_name: "",
                Finding.decided_at: None,
                Finding.changed_at: now,
            }
        ).where(Finding.id == existing["id"])
    return existing["id"]


async def _withdraw(finding_id: int, item_id: int) -> None:
    """A contradicted visit found confirmed (or not checkable) after all: its finding no longer
    holds, unless another sample still contradicts it; a decided finding is not reopened."""
    others = await SampledVisit.exists().where(
        (SampledVisit.finding == finding_id)
        & (SampledVisit.id != item_id)
        & (SampledVisit.outcome == SampleOutcome.contradicted.value)
    )
    if others:
        return
    finding = await Finding.select(Finding.state).where(Finding.id == finding_id).first()
    state = FindingState(finding["state"])
    if state in DECIDED:
        raise Problem(
            409,
            "audit_sample.finding_decided",
            f"这条记录的违约发现已经审核（{STATE_LABELS[state]}），核实结果不能再改为“不符”以外的结论。",
        )
    if state in (FindingState.open, FindingState.explained):
        now = dt.datetime.now(dt.UTC)
        await Finding.update(
            {Finding.state: FindingState.resolved.value, Finding.resolved_at: now, Finding.changed_at: now}
        ).where(Finding.id == finding_id)


async def record_outcome(
    principal: Principal, sample_id: int, visit_id: uuid.UUID, body: OutcomeIn, actor: Actor
) -> SampledVisitOut:
    """Record (or correct) what the call-back or re-visit found; a contradiction becomes a finding."""
    await _visible_sample(principal, sample_id)
    require(principal, "audit_sample.record")
    if body.outcome != SampleOutcome.confirmed and len(body.note.strip()) < 2:
        raise _note_problem()
    async with atomic():
        item = (
            await SampledVisit.select()
            .where((SampledVisit.sample == sample_id) & (SampledVisit.visit == visit_id))
            .first()
        )
        if item is None:
            raise not_found("sampled_visit", "抽查记录")
        finding_id = item["finding"]
        if body.outcome == SampleOutcome.contradicted:
            finding_id = await _contradict(item, sample_id, body, principal)
        elif finding_id is not None:
            await _withdraw(finding_id, item["id"])
            finding_id = None
        now = dt.datetime.now(dt.UTC)
        await SampledVisit.update(
            {
                SampledVisit.outcome: body.outcome.value,
                SampledVisit.method: body.method.value,
                SampledVisit.note: body.note,
                SampledVisit.recorded_by: principal.account_id,
                SampledVisit.recorded_by_name: principal.display_name,
                SampledVisit.recorded_at: now,
                SampledVisit.finding: finding_id,
            }
        ).where(SampledVisit.id == item["id"])
        await record(
            actor,
            "audit_sample.outcome",
            "audit_sample",
            sample_id,
            before={"outcome": item["outcome"], "method": item["method"], "note": item["note"]},
            after={"outcome": body.outcome.value, "method": body.method.value, "note": body.note},
            detail={"visit": str(visit_id), "finding": finding_id},
        )
    [row] = await SampledVisit.select(*_ITEM_COLUMNS).where(SampledVisit.id == item["id"])
    [out] = await _items([row])
    return out
