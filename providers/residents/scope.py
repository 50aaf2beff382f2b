"""Reaching stays and facilities within the caller's scope, what of their health texts the caller
sees, and the audit rows every read of a resident's record leaves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from carepact.accounts.access import Principal, may, require, visible_facilities, visible_residents
from carepact.audit.services import Actor, record
from carepact.dates import SHANGHAI, local_today
from carepact.errors import FieldError, Problem, not_found
from carepact.privacy import protect, reveal
from carepact.registry.tables import Organisation, Resident
from providers.residents.schemas import MASKED

# One context per column: a ciphertext moved to another column does not decrypt there.
RECORD_DETAILS = "resident.care_record"
GOAL = "resident.care_goal"
GOAL_REVIEW = "resident.care_goal_review"
DRUG = "resident.medication"
STOP_REASON = "resident.medication_stop"
DOSE_REASON = "resident.dose_reason"
INCIDENT = "resident.incident"
INCIDENT_ACTIONS = "resident.incident_actions"
HANDOVER_NOTE = "resident.handover_note"

# A tablet may be offline for a while; older entries are late paperwork, not bedside records.
MAX_BACKDATE = dt.timedelta(days=7)
MAX_AHEAD = dt.timedelta(minutes=5)

STAY_COLUMNS = (
    Resident.id,
    Resident.person,
    Resident.facility,
    Resident.facility._.name,
    Resident.facility._.region,
    Resident.ward,
    Resident.bed,
    Resident.admitted_on,
    Resident.discharged_on,
    Resident.discharge_reason,
    Resident.contract_code,
    Resident.person._.name,
    Resident.person._.gender,
    Resident.person._.birth_year,
    Resident.person._.care_level,
    Resident.person._.id_number_masked,
    Resident.person._.health_protected,
)


async def visible_stay(principal: Principal, resident_id: int) -> dict[str, Any]:
    row = (
        await Resident.select(*STAY_COLUMNS).where((Resident.id == resident_id) & visible_residents(principal)).first()
    )
    if row is None:
        raise not_found("resident", "住院人员")
    return row


async def writable_stay(principal: Principal, resident_id: int, action: str) -> dict[str, Any]:
    """404 outside the caller's scope, then 403 for a role that may only read."""
    row = await visible_stay(principal, resident_id)
    require(principal, action)
    return row


async def visible_facility(principal: Principal, facility_id: int) -> dict[str, Any]:
    row = (
        await Organisation.select(Organisation.id, Organisation.name, Organisation.region, Organisation.region._.name)
        .where((Organisation.id == facility_id) & visible_facilities(principal))
        .first()
    )
    if row is None:
        raise not_found("facility", "供养机构")
    return row


async def writable_facility(principal: Principal, facility_id: int, action: str) -> dict[str, Any]:
    row = await visible_facility(principal, facility_id)
    require(principal, action)
    return row


def health_shown(principal: Principal) -> bool:
    return may(principal, "resident.read_health")


def shown(protected: str, context: str, full: bool) -> str:
    """A health text in full, or "有记录" when the screen (or the role) does not need it."""
    if not protected:
        return ""
    return reveal(protected, context=context) if full else MASKED


def sealed(text: str, context: str) -> str:
    return protect(text, context=context) if text.strip() else ""


def age(birth_year: int) -> int:
    return local_today().year - birth_year


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def checked_time(moment: dt.datetime, field: str, now: dt.datetime) -> dt.datetime:
    """A bedside time: with a zone, not in the future, not older than a week."""
    if moment.tzinfo is None:
        raise Problem(
            400,
            "resident.time_without_zone",
            "时间必须带时区（例如 2026-11-29T09:30:00+08:00）。",
            [FieldError(field=field, code="format", message="时间必须带时区")],
        )
    if moment > now + MAX_AHEAD:
        raise Problem(
            400,
            "resident.time_in_future",
            "记录时间晚于当前时间，请检查设备时间。",
            [FieldError(field=field, code="range", message="不能晚于当前时间")],
        )
    if moment < now - MAX_BACKDATE:
        raise Problem(
            400,
            "resident.too_old",
            "超过 7 天的记录不能在床旁补录，请联系机构负责人。",
            [FieldError(field=field, code="range", message="不能早于 7 天前")],
        )
    return moment


def in_stay(stay: dict[str, Any], day: dt.date) -> bool:
    """Whether a service on ``day`` falls within the stay (the discharge day itself included)."""
    return stay["admitted_on"] <= day and (stay["discharged_on"] is None or day <= stay["discharged_on"])


def require_in_stay(stay: dict[str, Any], moment: dt.datetime, field: str) -> None:
    if not in_stay(stay, local_day(moment)):
        raise Problem(
            400,
            "resident.not_in_stay",
            f"{stay['person.name']}在该日期不在院（入院 {stay['admitted_on']}"
            + (f"，出院 {stay['discharged_on']}" if stay["discharged_on"] else "")
            + "），不能记录。",
            [FieldError(field=field, code="range", message="不在住院期间")],
        )


async def log_read(actor: Actor, resident_id: int, view: str, **detail: Any) -> None:
    """Every read of a resident's record is an audit row naming what was shown."""
    await record(actor, "resident.read", "resident", resident_id, detail={"view": view, **detail})


async def log_list(actor: Actor, facility_id: int, view: str, resident_ids: list[int], **detail: Any) -> None:
    """A list across residents is one row naming the residents it showed."""
    await record(
        actor,
        "resident.list",
        "facility",
        facility_id,
        detail={"view": view, "residents": sorted(set(resident_ids)), **detail},
    )
