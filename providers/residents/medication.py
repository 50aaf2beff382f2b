"""The medication administration record: standing orders, each scheduled dose's outcome, and the
doses a shift still has to give."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from piccolo.columns.combination import Where

from carepact.accounts.access import Principal, visible_residents
from carepact.audit.services import Actor, record
from carepact.dates import SHANGHAI, local_today
from carepact.db import atomic
from carepact.errors import FieldError, Problem, not_found
from carepact.registry.tables import Resident
from providers.residents import scope
from providers.residents.schemas import (
    DOSE_OUTCOME_LABELS,
    MASKED,
    ROUTE_LABELS,
    DoseIn,
    DoseOut,
    MedicationOrderIn,
    MedicationOrderOut,
    MedicationStopIn,
)
from providers.tables import DoseOutcome, DoseRecord, MedicationOrder, MedicationRoute

# A dose not recorded this long after its time is overdue on the shift's list.
GRACE = dt.timedelta(minutes=60)
# A dose may be recorded this long before its time (a morning round starts early), not sooner.
EARLY = dt.timedelta(hours=2)
# The shift's list: doses from this long ago that are still unrecorded, and those coming soon.
SHIFT_BACK = dt.timedelta(hours=12)
SHIFT_AHEAD = dt.timedelta(hours=2)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dose_key(order_id: int, scheduled_for: dt.datetime) -> str:
    return f"{order_id}:{scheduled_for.astimezone(dt.UTC):%Y-%m-%dT%H:%M}"


def times_of(order: dict[str, Any]) -> list[dt.time]:
    return [dt.time.fromisoformat(t) for t in order["times"].split(",") if t]


def active_on(order: dict[str, Any], day: dt.date) -> bool:
    return order["starts_on"] <= day and (order["ends_on"] is None or day <= order["ends_on"])


def slots(order: dict[str, Any], first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """The scheduled times of an order between two instants (both included), as aware datetimes."""
    out = []
    day = first.astimezone(SHANGHAI).date()
    while day <= last.astimezone(SHANGHAI).date():
        if active_on(order, day):
            for t in times_of(order):
                moment = dt.datetime.combine(day, t, tzinfo=SHANGHAI)
                if first <= moment <= last:
                    out.append(moment)
        day += dt.timedelta(days=1)
    return out


def _drug(row: dict[str, Any], full: bool) -> dict[str, str]:
    if not full:
        return {"drug": MASKED, "dose": "", "instructions": MASKED if row["drug_protected"] else ""}
    return msgspec.json.decode(scope.shown(row["drug_protected"], scope.DRUG, True))


def order_out(row: dict[str, Any], full: bool, today: dt.date | None = None) -> MedicationOrderOut:
    drug = _drug(row, full)
    route = MedicationRoute(row["route"])
    return MedicationOrderOut(
        id=row["id"],
        resident_id=row["resident"],
        drug=drug["drug"],
        dose=drug["dose"],
        instructions=drug["instructions"],
        route=route,
        route_label=ROUTE_LABELS[route],
        times=row["times"].split(","),
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        prescribed_by=row["prescribed_by"],
        active=active_on(row, today or local_today()),
    )


async def orders(resident_id: int, full: bool, active_only: bool = False) -> list[MedicationOrderOut]:
    today = local_today()
    rows = await MedicationOrder.select().where(MedicationOrder.resident == resident_id).order_by(MedicationOrder.id)
    out = [order_out(r, full, today) for r in rows]
    return [o for o in out if o.active] if active_only else out


async def read_orders(principal: Principal, resident_id: int, actor: Actor) -> list[MedicationOrderOut]:
    await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    out = await orders(resident_id, full)
    await scope.log_read(actor, resident_id, "medications", health_shown=full)
    return out


async def add_order(
    principal: Principal, resident_id: int, body: MedicationOrderIn, actor: Actor
) -> MedicationOrderOut:
    if body.ends_on is not None and body.ends_on < body.starts_on:
        raise Problem(
            400,
            "medication.ends_before_start",
            "停药日期不能早于开始日期。",
            [FieldError(field="ends_on", code="range", message="不能早于开始日期")],
        )
    times = sorted(set(body.times))
    async with atomic():
        stay = await scope.writable_stay(principal, resident_id, "resident.medication")
        if stay["discharged_on"] is not None:
            raise Problem(409, "resident.discharged", f"{stay['person.name']}已出院，不能新开医嘱。")
        drug = {"drug": body.drug, "dose": body.dose, "instructions": body.instructions}
        order = MedicationOrder(
            resident=resident_id,
            drug_protected=scope.sealed(msgspec.json.encode(drug).decode(), scope.DRUG),
            route=body.route.value,
            times=",".join(times),
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            prescribed_by=body.prescribed_by,
            created_by=principal.account_id,
        )
        await order.save()
        await record(
            actor,
            "resident.medication_order",
            "resident",
            resident_id,
            after={"order": order.id, "times": times, "starts_on": body.starts_on.isoformat()},
        )
        row = await MedicationOrder.select().where(MedicationOrder.id == order.id).first()
    return order_out(row, True)


async def _visible_order(principal: Principal, order_id: int) -> dict[str, Any]:
    row = (
        await MedicationOrder.select()
        .where(
            (MedicationOrder.id == order_id)
            & MedicationOrder.resident.is_in(Resident.select(Resident.id).where(visible_residents(principal)))
        )
        .first()
    )
    if row is None:
        raise not_found("medication", "医嘱")
    return row


async def stop_order(principal: Principal, order_id: int, body: MedicationStopIn, actor: Actor) -> MedicationOrderOut:
    async with atomic():
        order = await _visible_order(principal, order_id)
        await scope.writable_stay(principal, order["resident"], "resident.medication")
        if body.ends_on < order["starts_on"]:
            raise Problem(
                400,
                "medication.ends_before_start",
                "停药日期不能早于开始日期。",
                [FieldError(field="ends_on", code="range", message="不能早于开始日期")],
            )
        if order["ends_on"] is not None and order["ends_on"] < local_today():
            raise Problem(409, "medication.already_stopped", f"该医嘱已于 {order['ends_on']} 停止。")
        await MedicationOrder.update(
            {
                MedicationOrder.ends_on: body.ends_on,
                MedicationOrder.stop_reason_protected: scope.sealed(body.reason, scope.STOP_REASON),
            }
        ).where(MedicationOrder.id == order_id)
        await record(
            actor,
            "resident.medication_stop",
            "resident",
            order["resident"],
            before={"ends_on": order["ends_on"].isoformat() if order["ends_on"] else None},
            after={"order": order_id, "ends_on": body.ends_on.isoformat()},
        )
        row = await MedicationOrder.select().where(MedicationOrder.id == order_id).first()
    return order_out(row, True)


# --- doses --------------------------------------------------------------------------------------------


_DOSE_COLUMNS = (
    DoseRecord.key,
    DoseRecord.order,
    DoseRecord.resident,
    DoseRecord.scheduled_for,
    DoseRecord.outcome,
    DoseRecord.reason_protected,
    DoseRecord.recorded_at,
    DoseRecord.recorded_by._.display_name,
)


async def record_dose(principal: Principal, body: DoseIn, actor: Actor) -> tuple[DoseOut, bool]:
    """One outcome per scheduled dose: the same again is a replay (stored once), a different one a conflict."""
    now = _now()
    reason = body.reason.strip()
    if body.outcome != DoseOutcome.given and len(reason) < 2:
        raise Problem(
            400,
            "dose.reason_required",
            f"记录“{DOSE_OUTCOME_LABELS[body.outcome]}”时请填写原因。",
            [FieldError(field="reason", code="required", message="请填写未服药的原因")],
        )
    if body.scheduled_for.tzinfo is None:
        raise Problem(
            400,
            "resident.time_without_zone",
            "时间必须带时区（例如 2026-11-29T08:00:00+08:00）。",
            [FieldError(field="scheduled_for", code="format", message="时间必须带时区")],
        )
    recorded_at = scope.checked_time(body.recorded_at or now, "recorded_at", now)
    async with atomic():
        order = await _visible_order(principal, body.order_id)
        stay = await scope.writable_stay(principal, order["resident"], "resident.record")
        scheduled_for = body.scheduled_for.astimezone(dt.UTC)
        key = dose_key(order["id"], scheduled_for)
        existing = await DoseRecord.select(*_DOSE_COLUMNS).where(DoseRecord.key == key).first()
        if existing is not None:
            same_reason = scope.shown(existing["reason_protected"], scope.DOSE_REASON, True) == reason
            if existing["outcome"] == body.outcome.value and (body.outcome == DoseOutcome.given or same_reason):
                return _dose_out(order, stay, existing, scheduled_for, True, now), False
            raise Problem(
                409,
                "dose.already_recorded",
                f"该剂次已由{existing['recorded_by.display_name']}记录为“"
                f"{DOSE_OUTCOME_LABELS[DoseOutcome(existing['outcome'])]}”，不能重复记录。",
            )
        local = scheduled_for.astimezone(SHANGHAI)
        if not active_on(order, local.date()) or local.time() not in times_of(order):
            raise Problem(
                400,
                "dose.not_scheduled",
                "该时间没有此药的给药计划，请从待给药列表中选择剂次。",
                [FieldError(field="scheduled_for", code="invalid", message="不是计划给药时间")],
            )
        if scheduled_for > now + EARLY:
            raise Problem(
                400,
                "dose.too_early",
                "未到给药时间：最早可在计划时间前 2 小时记录。",
                [FieldError(field="scheduled_for", code="range", message="未到给药时间")],
            )
        scope.require_in_stay(stay, scheduled_for, "scheduled_for")
        await DoseRecord.insert(
            DoseRecord(
                key=key,
                order=order["id"],
                resident=order["resident"],
                scheduled_for=scheduled_for,
                outcome=body.outcome.value,
                reason_protected=scope.sealed(reason, scope.DOSE_REASON),
                recorded_at=recorded_at,
                recorded_by=principal.account_id,
            )
        )
        await record(
            actor,
            "resident.dose",
            "resident",
            order["resident"],
            after={"order": order["id"], "scheduled_for": scheduled_for.isoformat(), "outcome": body.outcome.value},
        )
        row = await DoseRecord.select(*_DOSE_COLUMNS).where(DoseRecord.key == key).first()
    return _dose_out(order, stay, row, scheduled_for, True, now), True


def _dose_out(
    order: dict[str, Any],
    stay: dict[str, Any],
    dose: dict[str, Any] | None,
    scheduled_for: dt.datetime,
    full: bool,
    now: dt.datetime,
    reason_full: bool | None = None,
) -> DoseOut:
    drug = _drug(order, full)
    outcome = DoseOutcome(dose["outcome"]) if dose else None
    return DoseOut(
        order_id=order["id"],
        resident_id=stay["id"],
        resident_name=stay["person.name"],
        ward=stay["ward"],
        bed=stay["bed"],
        drug=drug["drug"],
        dose=drug["dose"],
        route_label=ROUTE_LABELS[MedicationRoute(order["route"])],
        scheduled_for=scheduled_for,
        outcome=outcome,
        outcome_label=DOSE_OUTCOME_LABELS[outcome] if outcome else "",
        reason=scope.shown(dose["reason_protected"], scope.DOSE_REASON, full if reason_full is None else reason_full)
        if dose
        else "",
        overdue=dose is None and scheduled_for + GRACE < now,
        recorded_at=dose["recorded_at"] if dose else None,
        recorded_by_name=dose["recorded_by.display_name"] if dose else "",
    )


async def schedule(
    stays: list[dict[str, Any]],
    first: dt.datetime,
    last: dt.datetime,
    full: bool,
    *,
    reason_full: bool | None = None,
    orders_of: list[dict[str, Any]] | None = None,
) -> list[DoseOut]:
    """Every scheduled dose of these stays between two instants, with its outcome if recorded."""
    if not stays:
        return []
    by_id = {s["id"]: s for s in stays}
    rows = orders_of
    if rows is None:
        rows = await MedicationOrder.select().where(
            MedicationOrder.resident.is_in(list(by_id))
            & (MedicationOrder.starts_on <= last.astimezone(SHANGHAI).date())
            & (MedicationOrder.ends_on.is_null() | (MedicationOrder.ends_on >= first.astimezone(SHANGHAI).date()))
        )
    if not rows:
        return []
    doses = {
        d["key"]: d
        for d in await DoseRecord.select(*_DOSE_COLUMNS).where(
            DoseRecord.order.is_in([o["id"] for o in rows])
            & (DoseRecord.scheduled_for >= first)
            & (DoseRecord.scheduled_for <= last)
        )
    }
    now = _now()
    out = []
    for order in rows:
        stay = by_id[order["resident"]]
        for moment in slots(order, first, last):
            if not scope.in_stay(stay, moment.date()):
                continue
            dose = doses.get(dose_key(order["id"], moment))
            out.append(_dose_out(order, stay, dose, moment, full, now, reason_full))
    out.sort(key=lambda d: (d.scheduled_for, d.ward, d.bed, d.order_id))
    return out


def present_stays(facility_id: int, ward: str | None = None, day: dt.date | None = None) -> Where:
    day = day or local_today()
    where = (
        (Resident.facility == facility_id)
        & (Resident.admitted_on <= day)
        & (Resident.discharged_on.is_null() | (Resident.discharged_on >= day))
    )
    if ward:
        where &= Resident.ward == ward
    return where


async def due(
    principal: Principal, facility_id: int, actor: Actor, ward: str | None = None, overdue_only: bool = False
) -> list[DoseOut]:
    """The shift's list: unrecorded doses from the last 12 hours and the next 2, overdue ones flagged."""
    await scope.visible_facility(principal, facility_id)
    now = _now()
    stays = await Resident.select(*scope.STAY_COLUMNS).where(
        present_stays(facility_id, ward) & visible_residents(principal)
    )
    full = scope.health_shown(principal)
    # The drug is what the nurse gives, so it is shown to those who read health data; reasons are not.
    pending = [
        d
        for d in await schedule(stays, now - SHIFT_BACK, now + SHIFT_AHEAD, full, reason_full=False)
        if d.outcome is None
    ]
    if overdue_only:
        pending = [d for d in pending if d.overdue]
    await scope.log_list(actor, facility_id, "doses_due", [d.resident_id for d in pending], ward=ward or "")
    return pending


async def resident_day(principal: Principal, resident_id: int, day: dt.date, actor: Actor) -> list[DoseOut]:
    stay = await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    first = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
    out = await schedule([stay], first, first + dt.timedelta(days=1) - dt.timedelta(microseconds=1), full)
    await scope.log_read(actor, resident_id, "doses", day=day.isoformat(), health_shown=full)
    return out
