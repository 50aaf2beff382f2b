"""Daily care records (one resident, or a whole ward round at once) and care-plan goals."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec
from piccolo.columns.combination import Where

from carepact.accounts.access import Principal, visible_residents
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.catalogue import ServiceCode
from carepact.dates import day_start, local_today
from carepact.db import atomic
from carepact.errors import FieldError, Problem, not_found
from carepact.registry.tables import Resident
from providers.residents import scope
from providers.residents.schemas import (
    CARE_KIND_LABELS,
    GOAL_KIND_LABELS,
    GOAL_OUTCOME_LABELS,
    GOAL_STATUS_LABELS,
    OBSERVATIONS,
    SERVICE_OF_KIND,
    CarePlanOut,
    CareRecordIn,
    CareRecordOut,
    GoalIn,
    GoalOut,
    GoalReviewIn,
    GoalReviewOut,
    WardRoundIn,
    WardRoundOut,
)
from providers.tables import (
    CareGoal,
    CareGoalReview,
    CareKind,
    CareRecord,
    GoalKind,
    GoalOutcome,
    GoalStatus,
    WardRound,
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(body: msgspec.Struct) -> str:
    """What was submitted, canonically: a replay matches it, a changed replay does not."""
    return hashlib.sha256(msgspec.json.encode(msgspec.to_builtins(body), order="sorted")).hexdigest()


def _check_observation(kind: CareKind, observation: str) -> None:
    options = OBSERVATIONS.get(kind)
    if options is None and observation:
        raise Problem(
            400,
            "care_record.observation_not_allowed",
            f"“{CARE_KIND_LABELS[kind]}”记录不填写评估等级。",
            [FieldError(field="observation", code="choice", message="此类记录不填写评估等级")],
        )
    if options is not None and observation not in options:
        raise Problem(
            400,
            "care_record.observation_required",
            f"请为“{CARE_KIND_LABELS[kind]}”选择一项评估：{'、'.join(options.values())}。",
            [FieldError(field="observation", code="choice", message="请选择评估等级")],
        )


_RECORD_COLUMNS = (
    CareRecord.id,
    CareRecord.resident,
    CareRecord.kind,
    CareRecord.service,
    CareRecord.activity,
    CareRecord.observation,
    CareRecord.details_protected,
    CareRecord.concern,
    CareRecord.performed_at,
    CareRecord.recorded_by._.display_name,
    CareRecord.ward_round,
)


def record_out(row: dict[str, Any], full: bool) -> CareRecordOut:
    kind = CareKind(row["kind"])
    return CareRecordOut(
        id=row["id"],
        resident_id=row["resident"],
        kind=kind,
        kind_label=CARE_KIND_LABELS[kind],
        service=ServiceCode(row["service"]) if row["service"] else None,
        activity=row["activity"],
        observation=row["observation"],
        observation_label=OBSERVATIONS.get(kind, {}).get(row["observation"], ""),
        details=scope.shown(row["details_protected"], scope.RECORD_DETAILS, full),
        concern=row["concern"],
        performed_at=row["performed_at"],
        recorded_by_name=row["recorded_by.display_name"],
        ward_round_id=row["ward_round"],
    )


async def add_record(
    principal: Principal, resident_id: int, body: CareRecordIn, actor: Actor
) -> tuple[CareRecordOut, bool]:
    """One bedside entry; the same id with the same content again returns the stored record."""
    _check_observation(body.kind, body.observation)
    fingerprint = digest(msgspec.structs.replace(body, details=body.details.strip()))
    async with atomic():
        stay = await scope.writable_stay(principal, resident_id, "resident.record")
        existing = await CareRecord.select(*_RECORD_COLUMNS, CareRecord.digest).where(CareRecord.id == body.id).first()
        if existing is not None:
            if existing["resident"] != resident_id or existing["digest"] != fingerprint:
                raise Problem(409, "care_record.conflict", "同一记录编号已提交过不同的内容，未保存。请刷新后重新填写。")
            return record_out(existing, True), False
        performed_at = scope.checked_time(body.performed_at, "performed_at", _now())
        scope.require_in_stay(stay, performed_at, "performed_at")
        service = SERVICE_OF_KIND[body.kind]
        await CareRecord.insert(
            CareRecord(
                id=body.id,
                resident=resident_id,
                kind=body.kind.value,
                service=service.value if service else "",
                activity=body.activity,
                observation=body.observation,
                details_protected=scope.sealed(body.details, scope.RECORD_DETAILS),
                concern=body.concern,
                performed_at=performed_at,
                recorded_by=principal.account_id,
                digest=fingerprint,
            )
        )
        # The log names what was recorded, never the note itself.
        await record(
            actor,
            "resident.care_record",
            "resident",
            resident_id,
            after={"record": str(body.id), "kind": body.kind.value, "activity": body.activity, "concern": body.concern},
        )
        row = await CareRecord.select(*_RECORD_COLUMNS).where(CareRecord.id == body.id).first()
    return record_out(row, True), True


def _round_record_id(round_id: uuid.UUID, resident_id: int) -> uuid.UUID:
    return uuid.uuid5(round_id, str(resident_id))


async def add_ward_round(
    principal: Principal, facility_id: int, body: WardRoundIn, actor: Actor
) -> tuple[WardRoundOut, bool]:
    """The same activity for many residents: one record each, all or none, stored once per round id."""
    _check_observation(body.kind, body.observation)
    resident_ids = list(dict.fromkeys(body.resident_ids))
    fingerprint = digest(msgspec.structs.replace(body, resident_ids=sorted(resident_ids), details=body.details.strip()))
    async with atomic():
        await scope.writable_facility(principal, facility_id, "resident.record")
        existing = await WardRound.select().where(WardRound.id == body.id).first()
        if existing is not None:
            if existing["facility"] != facility_id or existing["digest"] != fingerprint:
                raise Problem(
                    409, "ward_round.conflict", "同一查房记录编号已提交过不同的内容，未保存。请刷新后重新填写。"
                )
            return await _round_out(body.id), False
        performed_at = scope.checked_time(body.performed_at, "performed_at", _now())
        stays = {
            s["id"]: s
            for s in await Resident.select(*scope.STAY_COLUMNS).where(
                Resident.id.is_in(resident_ids) & (Resident.facility == facility_id) & visible_residents(principal)
            )
        }
        problems = []
        for n, rid in enumerate(body.resident_ids):
            stay = stays.get(rid)
            if stay is None:
                problems.append(
                    FieldError(field=f"resident_ids[{n}]", code="not_found", message="不是本机构的住院人员")
                )
            elif not scope.in_stay(stay, scope.local_day(performed_at)):
                problems.append(
                    FieldError(field=f"resident_ids[{n}]", code="range", message=f"{stay['person.name']}该日不在院")
                )
        if problems:
            raise Problem(
                400, "ward_round.invalid", "部分住院人员不能记录，本次查房未保存。请检查标出的人员。", problems
            )
        service = SERVICE_OF_KIND[body.kind]
        await WardRound.insert(
            WardRound(
                id=body.id,
                facility=facility_id,
                ward=body.ward,
                kind=body.kind.value,
                activity=body.activity,
                performed_at=performed_at,
                resident_count=len(resident_ids),
                recorded_by=principal.account_id,
                digest=fingerprint,
            )
        )
        details = scope.sealed(body.details, scope.RECORD_DETAILS)
        await CareRecord.insert(
            *[
                CareRecord(
                    id=_round_record_id(body.id, rid),
                    resident=rid,
                    kind=body.kind.value,
                    service=service.value if service else "",
                    activity=body.activity,
                    observation=body.observation,
                    details_protected=details,
                    performed_at=performed_at,
                    recorded_by=principal.account_id,
                    ward_round=body.id,
                )
                for rid in resident_ids
            ]
        )
        await record(
            actor,
            "resident.ward_round",
            "facility",
            facility_id,
            after={
                "round": str(body.id),
                "ward": body.ward,
                "kind": body.kind.value,
                "activity": body.activity,
                "residents": resident_ids,
            },
        )
    return await _round_out(body.id), True


async def _round_out(round_id: uuid.UUID) -> WardRoundOut:
    row = (
        await WardRound.select(*WardRound.all_columns(), WardRound.recorded_by._.display_name)
        .where(WardRound.id == round_id)
        .first()
    )
    records = (
        await CareRecord.select(CareRecord.id, CareRecord.resident)
        .where(CareRecord.ward_round == round_id)
        .order_by(CareRecord.resident)
    )
    kind = CareKind(row["kind"])
    return WardRoundOut(
        id=row["id"],
        facility_id=row["facility"],
        ward=row["ward"],
        kind=kind,
        kind_label=CARE_KIND_LABELS[kind],
        activity=row["activity"],
        performed_at=row["performed_at"],
        resident_ids=[r["resident"] for r in records],
        record_ids=[r["id"] for r in records],
        recorded_by_name=row["recorded_by.display_name"],
    )


def records_where(resident_id: int, kind: CareKind | None, since: dt.date | None, until: dt.date | None) -> Where:
    where = CareRecord.resident == resident_id
    if kind is not None:
        where &= CareRecord.kind == kind.value
    if since is not None:
        where &= CareRecord.performed_at >= day_start(since)
    if until is not None:
        where &= CareRecord.performed_at < day_start(until + dt.timedelta(days=1))
    return where


async def list_records(
    principal: Principal,
    resident_id: int,
    page: PageRequest,
    actor: Actor,
    *,
    kind: CareKind | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Page[CareRecordOut]:
    await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    where = records_where(resident_id, kind, since, until)
    total = await CareRecord.count().where(where)
    rows = (
        await CareRecord.select(*_RECORD_COLUMNS)
        .where(where)
        .order_by(CareRecord.performed_at, ascending=False)
        .offset(page.offset)
        .limit(page.page_size)
    )
    await scope.log_read(actor, resident_id, "records", health_shown=full, count=len(rows))
    return Page(items=[record_out(r, full) for r in rows], total=total, page=page.page, page_size=page.page_size)


async def recent_records(resident_id: int, full: bool, hours: int = 24) -> list[CareRecordOut]:
    rows = (
        await CareRecord.select(*_RECORD_COLUMNS)
        .where((CareRecord.resident == resident_id) & (CareRecord.performed_at >= _now() - dt.timedelta(hours=hours)))
        .order_by(CareRecord.performed_at, ascending=False)
    )
    return [record_out(r, full) for r in rows]


# --- care plans ----------------------------------------------------------------------------------------


def _goal_out(row: dict[str, Any], full: bool, today: dt.date, reviews: list[GoalReviewOut]) -> GoalOut:
    status = GoalStatus(row["status"])
    overdue = status == GoalStatus.active and row["review_due_on"] < today
    kind = GoalKind(row["kind"])
    return GoalOut(
        id=row["id"],
        kind=kind,
        kind_label=GOAL_KIND_LABELS[kind],
        goal=scope.shown(row["goal_protected"], scope.GOAL, full),
        status=status,
        status_label=GOAL_STATUS_LABELS[status],
        set_on=row["set_on"],
        review_due_on=row["review_due_on"],
        last_reviewed_on=row["last_reviewed_on"],
        overdue=overdue,
        days_overdue=(today - row["review_due_on"]).days if overdue else 0,
        reviews=reviews,
    )


async def care_plan(resident_id: int, full: bool, with_reviews: bool = True) -> CarePlanOut:
    today = local_today()
    goals = (
        await CareGoal.select().where(CareGoal.resident == resident_id).order_by(CareGoal.kind).order_by(CareGoal.id)
    )
    reviews: dict[int, list[GoalReviewOut]] = {g["id"]: [] for g in goals}
    if with_reviews and goals:
        for r in (
            await CareGoalReview.select(*CareGoalReview.all_columns(), CareGoalReview.reviewed_by._.display_name)
            .where(CareGoalReview.goal.is_in(list(reviews)))
            .order_by(CareGoalReview.id, ascending=False)
        ):
            outcome = GoalOutcome(r["outcome"])
            reviews[r["goal"]].append(
                GoalReviewOut(
                    reviewed_on=r["reviewed_on"],
                    outcome=outcome,
                    outcome_label=GOAL_OUTCOME_LABELS[outcome],
                    note=scope.shown(r["note_protected"], scope.GOAL_REVIEW, full),
                    next_review_on=r["next_review_on"],
                    reviewed_by_name=r["reviewed_by.display_name"],
                )
            )
    out = [_goal_out(g, full, today, reviews[g["id"]]) for g in goals]
    active = [g for g in out if g.status == GoalStatus.active]
    return CarePlanOut(
        resident_id=resident_id,
        goals=out,
        overdue_reviews=sum(g.overdue for g in out),
        next_review_on=min((g.review_due_on for g in active), default=None),
    )


async def read_care_plan(principal: Principal, resident_id: int, actor: Actor) -> CarePlanOut:
    await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    plan = await care_plan(resident_id, full)
    await scope.log_read(actor, resident_id, "care_plan", health_shown=full)
    return plan


async def add_goal(principal: Principal, resident_id: int, body: GoalIn, actor: Actor) -> CarePlanOut:
    today = local_today()
    if body.review_due_on <= today:
        raise Problem(
            400,
            "care_goal.review_in_past",
            "评估日期应晚于今天。",
            [FieldError(field="review_due_on", code="range", message="应晚于今天")],
        )
    async with atomic():
        stay = await scope.writable_stay(principal, resident_id, "resident.care_plan")
        _require_present(stay)
        goal = CareGoal(
            resident=resident_id,
            kind=body.kind.value,
            goal_protected=scope.sealed(body.goal, scope.GOAL),
            set_on=today,
            review_due_on=body.review_due_on,
            created_by=principal.account_id,
        )
        await goal.save()
        await record(
            actor,
            "resident.care_goal",
            "resident",
            resident_id,
            after={"goal": goal.id, "kind": body.kind.value, "review_due_on": body.review_due_on.isoformat()},
        )
    return await care_plan(resident_id, True)


async def review_goal(principal: Principal, goal_id: int, body: GoalReviewIn, actor: Actor) -> CarePlanOut:
    today = local_today()
    continuing = body.outcome in (GoalOutcome.continued, GoalOutcome.revised)
    if continuing and (body.next_review_on is None or body.next_review_on <= today):
        raise Problem(
            400,
            "care_goal.next_review_required",
            "继续执行或修订目标时，请填写晚于今天的下次评估日期。",
            [FieldError(field="next_review_on", code="required", message="请填写下次评估日期")],
        )
    if not continuing and body.next_review_on is not None:
        raise Problem(
            400,
            "care_goal.next_review_not_allowed",
            "目标已达成或停止时不再安排评估。",
            [FieldError(field="next_review_on", code="invalid", message="不应填写")],
        )
    if body.outcome == GoalOutcome.revised and len(body.revised_goal.strip()) < 2:
        raise Problem(
            400,
            "care_goal.revised_goal_required",
            "修订目标时请填写新的目标内容。",
            [FieldError(field="revised_goal", code="required", message="请填写新的目标")],
        )
    async with atomic():
        goal = (
            await CareGoal.select(CareGoal.id, CareGoal.resident, CareGoal.status)
            .where(
                (CareGoal.id == goal_id)
                & CareGoal.resident.is_in(Resident.select(Resident.id).where(visible_residents(principal)))
            )
            .first()
        )
        if goal is None:
            raise not_found("care_goal", "护理计划目标")
        stay = await scope.writable_stay(principal, goal["resident"], "resident.care_plan")
        _require_present(stay)
        if goal["status"] != GoalStatus.active:
            raise Problem(409, "care_goal.closed", "该目标已达成或已停止，不能再评估。请新增目标。")
        await CareGoalReview.insert(
            CareGoalReview(
                goal=goal_id,
                reviewed_on=today,
                outcome=body.outcome.value,
                note_protected=scope.sealed(body.note, scope.GOAL_REVIEW),
                next_review_on=body.next_review_on,
                reviewed_by=principal.account_id,
            )
        )
        values: dict[Any, Any] = {CareGoal.last_reviewed_on: today}
        if continuing:
            values[CareGoal.review_due_on] = body.next_review_on
        else:
            values[CareGoal.status] = (
                GoalStatus.achieved if body.outcome == GoalOutcome.achieved else GoalStatus.discontinued
            ).value
        if body.outcome == GoalOutcome.revised:
            values[CareGoal.goal_protected] = scope.sealed(body.revised_goal, scope.GOAL)
        await CareGoal.update(values).where(CareGoal.id == goal_id)
        await record(
            actor,
            "resident.care_goal_review",
            "resident",
            goal["resident"],
            after={
                "goal": goal_id,
                "outcome": body.outcome.value,
                "next_review_on": body.next_review_on.isoformat() if body.next_review_on else None,
            },
        )
    return await care_plan(goal["resident"], True)


def _require_present(stay: dict[str, Any]) -> None:
    if stay["discharged_on"] is not None and stay["discharged_on"] < local_today():
        raise Problem(409, "resident.discharged", f"{stay['person.name']}已于 {stay['discharged_on']} 出院。")
