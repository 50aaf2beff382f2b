"""Findings after the engine: the queue, the evidence, the provider's explanation, the county's
decision, and what upheld findings deduct from the month's settlement.

Workflow: open → explained (the caregiver provider's manager: a reason code and text) →
accepted (no breach after all), waived (a breach, no deduction) or upheld (deducted) by the county
auditor. An auditor may also decide an open finding the provider never explained. Decisions are
final; only new data can change a finding again (``resolved``, see contracts.agreement.evaluation).

Money: a finding deducts ``fee × per_breach_bp × units / 10000`` fen (rounded down) of the month's
care fee in the household's agreement, by its template version; the upheld findings of one
agreement in one month together deduct at most ``fee × monthly_cap_bp / 10000`` (taken in finding
order). The deductions go to the contract covering the household on the finding's last day whose
supplier is the caregiver provider.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import msgspec
from piccolo.columns.combination import Where

from carepact.accounts.access import Principal, may, require
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.db import atomic
from carepact.errors import Problem, forbidden, not_found
from carepact.privacy import mask_name
from carepact.registry.tables import CareLevel, Region
from contracts.agreement.rules import CLAUSE_KIND_LABELS, Template, render, within_cap
from contracts.agreement.services import templates_by_id
from contracts.findings.schemas import (
    AUDIT_CLAUSES,
    AUDIT_KIND_LABELS,
    DECIDABLE,
    DECISION_STATES,
    REASON_LABELS,
    STATE_LABELS,
    DecideIn,
    EvidenceVisit,
    ExplainIn,
    ExplanationReason,
    FindingDetail,
    FindingSummary,
)
from contracts.scope import visible_findings
from contracts.settlement.pricing import DeductionClaim
from contracts.tables import AgreementTemplate, Contract, Coverage, Finding, FindingState
from providers.tables import Presence, Visit, VisitPhoto, VisitService
from providers.visits.schemas import PRESENCE_LABELS

DEDUCTION_SOURCE = "agreement"

_JOINED = (
    Finding.household._.code,
    Finding.household._.village._.name,
    Finding.organisation._.name,
    Finding.agreement._.code,
    Finding.agreement._.person._.name,
    Finding.agreement._.monthly_fee_fen,
    Finding.agreement._.care_level,
    Finding.agreement._.template,
    Finding.agreement._.template._.version,
)
SUMMARY_COLUMNS = (
    Finding.id,
    Finding.household,
    Finding.organisation,
    Finding.agreement,
    Finding.clause_id,
    Finding.clause_kind,
    Finding.period_key,
    Finding.month,
    Finding.period_start,
    Finding.period_end,
    Finding.expected,
    Finding.actual,
    Finding.units,
    Finding.summary,
    Finding.state,
    Finding.found_at,
    Finding.changed_at,
    *_JOINED,
)


def amount_of(row: dict[str, Any], template: Template) -> int:
    return template.deduction.amount(row["agreement.monthly_fee_fen"], row["units"])


def measures(kind: str, period_key: str, expected: int | None, actual: int | None) -> tuple[str, str]:
    """What the clause asked and what happened, in words, for the engine's numbers of each kind."""
    match kind:
        case "visits_per_week":
            return f"每周上门不少于 {expected} 天", f"上门 {actual} 天"
        case "longest_gap":
            return f"两次上门间隔不超过 {expected} 天", f"最长 {actual} 天无人上门"
        case "ill_at_home" if period_key.endswith(":first"):
            late = f"登记后 {actual} 小时才上门" if actual is not None else "至今无人上门"
            return f"登记患病后 {expected} 小时内上门", late
        case "ill_at_home":
            return f"患病期间每天上门（{expected} 天）", f"上门 {actual} 天"
        case "hospitalised":
            return f"住院期间至少每 {expected} 天陪护一次", f"最长 {actual} 天没有陪护记录"
        case "services_per_month":
            return f"服务项目共 {expected} 次", f"完成 {actual} 次"
        case "visit_evidence":
            return f"扫码签到，照片不少于 {expected} 张", f"照片 {actual} 张"
        case "shortest_visit":
            return f"每次不少于 {expected} 分钟", f"{actual} 分钟"
        case "audit_sample":
            return "服务记录与实际相符", "抽查核实与记录不符"
        case _:
            return str(expected if expected is not None else "—"), str(actual if actual is not None else "—")


def _clause_title(template: Template, clause_id: str) -> str:
    audit = AUDIT_CLAUSES.get(clause_id)
    return next((c.title for c in template.clauses if c.id == clause_id), audit.title if audit else clause_id)


def clause_kind_label(kind: str) -> str:
    return CLAUSE_KIND_LABELS.get(kind) or AUDIT_KIND_LABELS.get(kind, kind)


def _summary(row: dict[str, Any], templates: dict[int, Template]) -> dict[str, Any]:
    state = FindingState(row["state"])
    template = templates[row["agreement.template"]]
    expected_text, actual_text = measures(row["clause_kind"], row["period_key"], row["expected"], row["actual"])
    return {
        "id": row["id"],
        "household_id": row["household"],
        "household_code": row["household.code"],
        "village_name": row["household.village.name"],
        "person_name_masked": mask_name(row["agreement.person.name"] or ""),
        "organisation_id": row["organisation"],
        "organisation_name": row["organisation.name"] or "",
        "agreement_id": row["agreement"],
        "agreement_code": row["agreement.code"],
        "clause_id": row["clause_id"],
        "clause_kind": row["clause_kind"],
        "clause_kind_label": clause_kind_label(row["clause_kind"]),
        "clause_title": _clause_title(template, row["clause_id"]),
        "month": f"{row['month']:%Y-%m}",
        "period_start": row["period_start"],
        "period_end": row["period_end"],
        "expected": row["expected"],
        "actual": row["actual"],
        "expected_text": expected_text,
        "actual_text": actual_text,
        "units": row["units"],
        "summary": row["summary"],
        "state": state,
        "state_label": STATE_LABELS[state],
        "amount_fen": amount_of(row, template),
        "found_at": row["found_at"],
        "changed_at": row["changed_at"],
    }


async def summaries(rows: list[dict[str, Any]]) -> list[FindingSummary]:
    templates = await templates_by_id({r["agreement.template"] for r in rows})
    return [FindingSummary(**_summary(r, templates)) for r in rows]


async def clause_titles() -> dict[str, str]:
    """Every clause id of the published versions with its title, the latest version's wording."""
    rows = await AgreementTemplate.select(AgreementTemplate.id).order_by(AgreementTemplate.version)
    templates = await templates_by_id({r["id"] for r in rows})
    titles = {c.id: c.title for r in rows for c in templates[r["id"]].clauses}
    return titles | {clause_id: c.title for clause_id, c in AUDIT_CLAUSES.items()}


async def _within(region_id: int) -> Where:
    region = await Region.select(Region.path).where(Region.id == region_id).first()
    return Finding.household._.village._.path.like(f"{region['path'] if region else '-'}%")


async def list_findings(
    principal: Principal,
    paging: PageRequest,
    *,
    county_id: int | None = None,
    township_id: int | None = None,
    organisation_id: int | None = None,
    household_id: int | None = None,
    clause_id: str | None = None,
    state: FindingState | None = None,
    month: dt.date | None = None,
) -> Page[FindingSummary]:
    where = visible_findings(principal)
    for region_id in (county_id, township_id):
        if region_id is not None:
            where &= await _within(region_id)
    if organisation_id is not None:
        where &= Finding.organisation == organisation_id
    if household_id is not None:
        where &= Finding.household == household_id
    if clause_id is not None:
        where &= Finding.clause_id == clause_id
    if state is not None:
        where &= Finding.state == state.value
    if month is not None:
        where &= Finding.month == month
    total = await Finding.count().where(where)
    rows = (
        await Finding.select(*SUMMARY_COLUMNS)
        .where(where)
        .order_by(Finding.month, ascending=False)
        .order_by(Finding.household._.code)
        .order_by(Finding.period_end)
        .order_by(Finding.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return Page(items=await summaries(rows), total=total, page=paging.page, page_size=paging.page_size)


async def visible_finding(principal: Principal, finding_id: int) -> dict[str, Any]:
    row = (
        await Finding.select(*Finding.all_columns(), *_JOINED)
        .where((Finding.id == finding_id) & visible_findings(principal))
        .first()
    )
    if row is None:
        raise not_found("finding", "违约发现")
    return row


async def _evidence_visits(ids: list[str]) -> list[EvidenceVisit]:
    visit_ids = [uuid.UUID(i) for i in ids[:100]]
    if not visit_ids:
        return []
    rows = (
        await Visit.select(
            Visit.id,
            Visit.checkin_at,
            Visit.duration_minutes,
            Visit.worker._.display_name,
            Visit.presence,
            Visit.review,
        )
        .where(Visit.id.is_in(visit_ids))
        .order_by(Visit.checkin_at)
    )
    services: dict[Any, list[str]] = defaultdict(list)
    for s in await VisitService.select(VisitService.visit, VisitService.service).where(
        VisitService.visit.is_in(visit_ids)
    ):
        services[s["visit"]].append(CATALOGUE[ServiceCode(s["service"])].label)
    photos: dict[Any, int] = defaultdict(int)
    for p in await VisitPhoto.select(VisitPhoto.visit).where(VisitPhoto.visit.is_in(visit_ids)):
        photos[p["visit"]] += 1
    return [
        EvidenceVisit(
            id=r["id"],
            checkin_at=r["checkin_at"],
            duration_minutes=r["duration_minutes"],
            worker_name=r["worker.display_name"],
            presence=r["presence"],
            presence_label=PRESENCE_LABELS[Presence(r["presence"])],
            review=r["review"],
            photo_count=photos[r["id"]],
            services=sorted(services[r["id"]]),
            url=f"/api/visits/{r['id']}",
        )
        for r in rows
    ]


def can_explain(principal: Principal, row: dict[str, Any]) -> bool:
    return (
        may(principal, "finding.explain")
        and row["organisation"] is not None
        and row["organisation"] == principal.organisation_id
        and row["state"] in (FindingState.open, FindingState.explained)
    )


def can_decide(principal: Principal, row: dict[str, Any]) -> bool:
    return may(principal, "finding.decide") and row["state"] in DECIDABLE


async def get_finding(principal: Principal, finding_id: int) -> FindingDetail:
    row = await visible_finding(principal, finding_id)
    templates = await templates_by_id({row["agreement.template"]})
    template = templates[row["agreement.template"]]
    clause = next((c for c in template.clauses if c.id == row["clause_id"]), None)
    level = CareLevel(row["agreement.care_level"])
    evidence = msgspec.json.decode(row["evidence"])
    reason = ExplanationReason(row["explanation_reason"]) if row["explanation_reason"] else None
    fee = row["agreement.monthly_fee_fen"]
    return FindingDetail(
        **_summary(row, templates),
        clause_text=render(clause.text, template.values(level) | clause.values(level))
        if clause
        else getattr(AUDIT_CLAUSES.get(row["clause_id"]), "text", ""),
        template_version=row["agreement.template.version"],
        evidence=evidence,
        visits=await _evidence_visits(evidence.get("visits", [])),
        monthly_fee_fen=fee,
        per_breach_bp=template.deduction.per_breach_bp,
        monthly_cap_fen=template.deduction.cap(fee),
        explanation_reason=reason,
        explanation_reason_label=REASON_LABELS[reason] if reason else "",
        explanation=row["explanation"],
        explained_by_name=row["explained_by_name"],
        explained_at=row["explained_at"],
        decision_comment=row["decision_comment"],
        decided_by_name=row["decided_by_name"],
        decided_at=row["decided_at"],
        resolved_at=row["resolved_at"],
        can_explain=can_explain(principal, row),
        can_decide=can_decide(principal, row),
    )


def _settled(row: dict[str, Any]) -> Problem:
    state = FindingState(row["state"])
    return Problem(409, "finding.already_decided", f"该发现已处理（{STATE_LABELS[state]}），不能再次说明或审核。")


async def explain(principal: Principal, finding_id: int, body: ExplainIn, actor: Actor) -> None:
    """The caregiver provider's manager says why; may be said again until the county decides."""
    row = await visible_finding(principal, finding_id)
    require(principal, "finding.explain")
    if row["organisation"] is None or row["organisation"] != principal.organisation_id:
        raise forbidden("只有承担照料服务的机构负责人可以说明。")
    async with atomic():
        current = await Finding.select(Finding.state).where(Finding.id == finding_id).first()
        if current["state"] not in (FindingState.open, FindingState.explained):
            raise _settled(current)
        now = dt.datetime.now(dt.UTC)
        await Finding.update(
            {
                Finding.state: FindingState.explained.value,
                Finding.explanation_reason: body.reason.value,
                Finding.explanation: body.text,
                Finding.explained_by: principal.account_id,
                Finding.explained_by_name: principal.display_name,
                Finding.explained_at: now,
                Finding.changed_at: now,
            }
        ).where(Finding.id == finding_id)
        await record(
            actor,
            "finding.explain",
            "finding",
            finding_id,
            before={"state": current["state"]},
            after={"state": FindingState.explained.value, "reason": body.reason.value, "text": body.text},
        )


async def decide(principal: Principal, finding_id: int, body: DecideIn, actor: Actor) -> None:
    """The county auditor accepts the explanation, waives the deduction, or upholds the finding."""
    await visible_finding(principal, finding_id)
    require(principal, "finding.decide")
    state = DECISION_STATES[body.decision]
    async with atomic():
        current = await Finding.select(Finding.state).where(Finding.id == finding_id).first()
        if current["state"] not in DECIDABLE:
            raise _settled(current)
        now = dt.datetime.now(dt.UTC)
        await Finding.update(
            {
                Finding.state: state.value,
                Finding.decision_comment: body.comment,
                Finding.decided_by: principal.account_id,
                Finding.decided_by_name: principal.display_name,
                Finding.decided_at: now,
                Finding.changed_at: now,
            }
        ).where(Finding.id == finding_id)
        await record(
            actor,
            "finding.decide",
            "finding",
            finding_id,
            before={"state": current["state"]},
            after={"state": state.value, "decision": body.decision, "comment": body.comment},
        )


# --- money: the settlement's deduction source -----------------------------------------------------


async def deductions(contract_id: int, month: dt.date) -> list[DeductionClaim]:
    """Upheld findings of the month against the contract's supplier, on households it covered on
    the finding's last day, each at the template's amount within the agreement's monthly cap."""
    month = month.replace(day=1)
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    contract = await Contract.select(Contract.supplier).where(Contract.id == contract_id).first()
    if contract is None:
        return []
    coverage = await Coverage.select(Coverage.household, Coverage.starts_on, Coverage.ends_on).where(
        (Coverage.contract == contract_id)
        & Coverage.household.is_not_null()
        & (Coverage.starts_on < following)
        & (Coverage.ends_on.is_null() | (Coverage.ends_on >= month))
    )
    if not coverage:
        return []
    spans: dict[int, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
    for c in coverage:
        spans[c["household"]].append((c["starts_on"], c["ends_on"]))
    # Every upheld finding of those households' agreements in the month: the cap is the agreement's,
    # whichever contract a finding is charged to.
    rows = (
        await Finding.select(
            Finding.id,
            Finding.agreement,
            Finding.household,
            Finding.household._.code,
            Finding.organisation,
            Finding.clause_id,
            Finding.period_end,
            Finding.units,
            Finding.summary,
            Finding.agreement._.monthly_fee_fen,
            Finding.agreement._.template,
        )
        .where(
            (Finding.state == FindingState.upheld.value)
            & (Finding.month == month)
            & Finding.household.is_in(list(spans))
        )
        .order_by(Finding.id)
    )
    templates = await templates_by_id({r["agreement.template"] for r in rows})
    by_agreement: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_agreement[r["agreement"]].append(r)
    claims = []
    for findings in by_agreement.values():
        template = templates[findings[0]["agreement.template"]]
        fee = findings[0]["agreement.monthly_fee_fen"]
        cap = template.deduction.cap(fee)
        amounts = [(r, template.deduction.amount(fee, r["units"])) for r in findings]
        for r, applied in within_cap(amounts, cap):
            day = r["period_end"]
            ours = r["organisation"] == contract["supplier"] and any(
                start <= day and (end is None or day <= end) for start, end in spans[r["household"]]
            )
            if not ours or applied <= 0:
                continue
            full = template.deduction.amount(fee, r["units"])
            capped = (
                f"（按标准应扣 {full / 100:.2f} 元，本户当月扣减已达上限 {cap / 100:.2f} 元）" if applied < full else ""
            )
            clause = _clause_title(template, r["clause_id"])
            claims.append(
                DeductionClaim(
                    source=DEDUCTION_SOURCE,
                    reference=f"finding:{r['id']}",
                    reason=f"{r['household.code']} {clause}：{r['summary']}{capped}"[:300],
                    amount_fen=applied,
                )
            )
    return claims
