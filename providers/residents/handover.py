"""Shift handover: per ward, what happened since the ward's last handover, kept as it was said."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import msgspec

from carepact.accounts.access import Principal, visible_residents
from carepact.audit.services import Actor, record
from carepact.dates import SHANGHAI
from carepact.db import atomic, is_postgres
from carepact.errors import not_found
from carepact.registry.tables import Resident
from providers.residents import incidents, medication, scope
from providers.residents.schemas import (
    CARE_KIND_LABELS,
    DOSE_OUTCOME_LABELS,
    SEVERITY_LABELS,
    AttentionItem,
    DoseBrief,
    HandoverIn,
    HandoverOut,
    HandoverSummary,
    ResidentRef,
)
from providers.tables import (
    CareGoal,
    CareKind,
    CareRecord,
    DoseOutcome,
    DoseRecord,
    GoalStatus,
    Handover,
    Incident,
)

# Without a previous handover the summary looks back one shift; with a very old one, a week.
FIRST_LOOKBACK = dt.timedelta(hours=12)
LONGEST_LOOKBACK = dt.timedelta(days=7)


async def period_start(facility_id: int, ward: str, end: dt.datetime) -> dt.datetime:
    last = (
        await Handover.select(Handover.period_end)
        .where((Handover.facility == facility_id) & (Handover.ward == ward) & (Handover.period_end <= end))
        .order_by(Handover.period_end, ascending=False)
        .first()
    )
    if last is None:
        return end - FIRST_LOOKBACK
    return max(last["period_end"], end - LONGEST_LOOKBACK)


async def summarise(facility_id: int, ward: str, start: dt.datetime, end: dt.datetime) -> HandoverSummary:
    first_day, last_day = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    stays = await Resident.select(*scope.STAY_COLUMNS).where(
        (Resident.facility == facility_id)
        & (Resident.ward == ward)
        & (Resident.admitted_on <= last_day)
        & (Resident.discharged_on.is_null() | (Resident.discharged_on >= first_day))
    )
    by_id = {s["id"]: s for s in stays}
    ids = list(by_id) or [-1]

    def ref(rid: int) -> ResidentRef:
        return ResidentRef(resident_id=rid, name=by_id[rid]["person.name"], bed=by_id[rid]["bed"])

    attention: dict[int, list[str]] = defaultdict(list)
    admissions = [s for s in stays if first_day <= s["admitted_on"] <= last_day]
    discharges = [s for s in stays if s["discharged_on"] is not None and first_day <= s["discharged_on"] <= last_day]
    for s in admissions:
        attention[s["id"]].append("新入院")

    in_period = await incidents.briefs(
        Incident.resident.is_in(ids) & (Incident.occurred_at >= start) & (Incident.occurred_at < end)
    )
    for i in sorted(in_period, key=lambda i: i.occurred_at):
        attention[i.resident_id].append(f"发生事件：{i.kind_label}（{SEVERITY_LABELS[i.severity]}）")

    not_given = []
    for d in (
        await DoseRecord.select(DoseRecord.order, DoseRecord.resident, DoseRecord.scheduled_for, DoseRecord.outcome)
        .where(
            DoseRecord.resident.is_in(ids)
            & (DoseRecord.outcome != DoseOutcome.given.value)
            & (DoseRecord.scheduled_for >= start)
            & (DoseRecord.scheduled_for < end)
        )
        .order_by(DoseRecord.scheduled_for)
    ):
        outcome = DoseOutcome(d["outcome"])
        not_given.append(
            DoseBrief(
                resident_id=d["resident"],
                name=by_id[d["resident"]]["person.name"],
                bed=by_id[d["resident"]]["bed"],
                order_id=d["order"],
                scheduled_for=d["scheduled_for"],
                outcome=outcome,
                outcome_label=DOSE_OUTCOME_LABELS[outcome],
            )
        )
    for rid, n in Counter(d.resident_id for d in not_given).items():
        attention[rid].append(f"未服药 {n} 次（拒服、暂停或漏服）")

    present = [s for s in stays if s["discharged_on"] is None or s["discharged_on"] >= last_day]
    overdue = [
        DoseBrief(
            resident_id=d.resident_id,
            name=d.resident_name,
            bed=d.bed,
            order_id=d.order_id,
            scheduled_for=d.scheduled_for,
            outcome=None,
            outcome_label="逾期未记录",
        )
        for d in await medication.schedule(present, max(start, end - medication.SHIFT_BACK), end, False)
        if d.outcome is None and d.overdue
    ]
    for rid, n in Counter(d.resident_id for d in overdue).items():
        attention[rid].append(f"{n} 剂药物逾期未记录")

    records_by_kind: Counter[str] = Counter()
    concerns: dict[int, set[str]] = defaultdict(set)
    for r in await CareRecord.select(CareRecord.resident, CareRecord.kind, CareRecord.concern).where(
        CareRecord.resident.is_in(ids) & (CareRecord.performed_at >= start) & (CareRecord.performed_at < end)
    ):
        records_by_kind[r["kind"]] += 1
        if r["concern"]:
            concerns[r["resident"]].add(CARE_KIND_LABELS[CareKind(r["kind"])])
    for rid, kinds in concerns.items():
        attention[rid].append("标记需关注：" + "、".join(sorted(kinds)))

    overdue_reviews = {
        g["resident"]
        for g in await CareGoal.select(CareGoal.resident).where(
            CareGoal.resident.is_in([s["id"] for s in present] or [-1])
            & (CareGoal.status == GoalStatus.active.value)
            & (CareGoal.review_due_on < last_day)
        )
    }
    for rid in overdue_reviews:
        attention[rid].append("护理计划评估逾期")

    return HandoverSummary(
        ward=ward,
        period_start=start,
        period_end=end,
        residents_present=len(present),
        admissions=[ref(s["id"]) for s in admissions],
        discharges=[ref(s["id"]) for s in discharges],
        incidents=sorted(in_period, key=lambda i: i.occurred_at),
        doses_not_given=not_given,
        doses_overdue=overdue,
        records_by_kind={k.value: records_by_kind[k.value] for k in CareKind},
        attention=sorted(
            (
                AttentionItem(resident_id=rid, name=by_id[rid]["person.name"], bed=by_id[rid]["bed"], reasons=reasons)
                for rid, reasons in attention.items()
            ),
            key=lambda a: a.bed,
        ),
    )


def _out(row: dict[str, Any], full: bool) -> HandoverOut:
    return HandoverOut(
        id=row["id"],
        facility_id=row["facility"],
        ward=row["ward"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        note=scope.shown(row["note_protected"], scope.HANDOVER_NOTE, full),
        created_by_name=row["created_by.display_name"],
        created_at=row["created_at"],
        summary=msgspec.json.decode(row["summary"], type=HandoverSummary),
    )


async def _require_ward(principal: Principal, facility_id: int, ward: str) -> None:
    if not await Resident.exists().where(
        (Resident.facility == facility_id) & (Resident.ward == ward) & visible_residents(principal)
    ):
        raise not_found("ward", "病区")


async def preview(principal: Principal, facility_id: int, ward: str, actor: Actor) -> HandoverOut:
    """What the handover would say now, without keeping it."""
    await scope.visible_facility(principal, facility_id)
    await _require_ward(principal, facility_id, ward)
    end = dt.datetime.now(dt.UTC)
    summary = await summarise(facility_id, ward, await period_start(facility_id, ward, end), end)
    await scope.log_list(actor, facility_id, "handover_preview", [a.resident_id for a in summary.attention], ward=ward)
    return HandoverOut(
        id=None,
        facility_id=facility_id,
        ward=ward,
        period_start=summary.period_start,
        period_end=end,
        note="",
        created_by_name="",
        created_at=None,
        summary=summary,
    )


async def hand_over(principal: Principal, facility_id: int, body: HandoverIn, actor: Actor) -> HandoverOut:
    async with atomic():
        await scope.writable_facility(principal, facility_id, "resident.handover")
        await _require_ward(principal, facility_id, body.ward)
        if is_postgres():
            # Two tablets handing over the same ward at once would both start from the same
            # previous handover; one waits for the other.
            await Handover.raw("SELECT pg_advisory_xact_lock(44, {})", facility_id)
        end = dt.datetime.now(dt.UTC)
        summary = await summarise(facility_id, body.ward, await period_start(facility_id, body.ward, end), end)
        handover = Handover(
            facility=facility_id,
            ward=body.ward,
            period_start=summary.period_start,
            period_end=end,
            summary=msgspec.json.encode(summary).decode(),
            note_protected=scope.sealed(body.note, scope.HANDOVER_NOTE),
            created_by=principal.account_id,
        )
        await handover.save()
        await record(
            actor,
            "resident.handover",
            "facility",
            facility_id,
            after={
                "handover": handover.id,
                "ward": body.ward,
                "incidents": len(summary.incidents),
                "attention": [a.resident_id for a in summary.attention],
            },
        )
        row = (
            await Handover.select(*Handover.all_columns(), Handover.created_by._.display_name)
            .where(Handover.id == handover.id)
            .first()
        )
    return _out(row, True)


async def list_handovers(
    principal: Principal, facility_id: int, actor: Actor, ward: str | None = None, limit: int = 20
) -> list[HandoverOut]:
    await scope.visible_facility(principal, facility_id)
    where = Handover.facility == facility_id
    if ward:
        where &= Handover.ward == ward
    rows = (
        await Handover.select(*Handover.all_columns(), Handover.created_by._.display_name)
        .where(where)
        .order_by(Handover.period_end, ascending=False)
        .limit(limit)
    )
    full = scope.health_shown(principal)
    out = [_out(r, full) for r in rows]
    await scope.log_list(
        actor, facility_id, "handovers", [a.resident_id for h in out for a in h.summary.attention], ward=ward or ""
    )
    return out
