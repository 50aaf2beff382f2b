"""Incidents: reported once and kept for good; a serious one notifies the county's auditors."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from piccolo.columns.combination import Where

from carepact.accounts.access import Principal, visible_residents
from carepact.accounts.tables import Role
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.dates import SHANGHAI
from carepact.db import atomic
from carepact.errors import Problem, not_found
from carepact.notifications.services import notify
from carepact.notifications.tables import NotificationSeverity
from carepact.registry.tables import Resident
from providers.residents import scope
from providers.residents.records import digest
from providers.residents.schemas import (
    INCIDENT_KIND_LABELS,
    SEVERITY_LABELS,
    IncidentBrief,
    IncidentIn,
    IncidentOut,
)
from providers.tables import Incident, IncidentKind, IncidentSeverity

NOTIFY_KIND = "resident.incident_serious"

_COLUMNS = (
    Incident.id,
    Incident.resident,
    Incident.resident._.person._.name,
    Incident.resident._.ward,
    Incident.resident._.bed,
    Incident.facility,
    Incident.kind,
    Incident.severity,
    Incident.occurred_at,
    Incident.description_protected,
    Incident.actions_protected,
    Incident.reported_by._.display_name,
    Incident.reported_at,
)


def incident_link(resident_id: int, incident_id: uuid.UUID) -> str:
    """The browser-app route of an incident (the resident pages resolve it)."""
    return f"#/residents/{resident_id}/incidents/{incident_id}"


def incident_out(row: dict[str, Any], full: bool) -> IncidentOut:
    kind, severity = IncidentKind(row["kind"]), IncidentSeverity(row["severity"])
    return IncidentOut(
        id=row["id"],
        resident_id=row["resident"],
        resident_name=row["resident.person.name"],
        facility_id=row["facility"],
        ward=row["resident.ward"],
        bed=row["resident.bed"],
        kind=kind,
        kind_label=INCIDENT_KIND_LABELS[kind],
        severity=severity,
        severity_label=SEVERITY_LABELS[severity],
        occurred_at=row["occurred_at"],
        description=scope.shown(row["description_protected"], scope.INCIDENT, full),
        actions=scope.shown(row["actions_protected"], scope.INCIDENT_ACTIONS, full),
        reported_by_name=row["reported_by.display_name"],
        reported_at=row["reported_at"],
        auditor_notified=severity == IncidentSeverity.serious,
    )


def brief(row: dict[str, Any]) -> IncidentBrief:
    kind, severity = IncidentKind(row["kind"]), IncidentSeverity(row["severity"])
    return IncidentBrief(
        id=row["id"],
        resident_id=row["resident"],
        name=row["resident.person.name"],
        bed=row["resident.bed"],
        kind=kind,
        kind_label=INCIDENT_KIND_LABELS[kind],
        severity=severity,
        severity_label=SEVERITY_LABELS[severity],
        occurred_at=row["occurred_at"],
    )


async def report(principal: Principal, body: IncidentIn, actor: Actor) -> tuple[IncidentOut, bool]:
    """Store an incident (the same id and content again is a replay); a serious one notifies the
    auditors of the facility's county in the same transaction, so neither exists without the other."""
    fingerprint = digest(body)
    now = dt.datetime.now(dt.UTC)
    async with atomic():
        existing = await Incident.select(*_COLUMNS, Incident.digest).where(Incident.id == body.id).first()
        if existing is not None:
            if existing["digest"] != fingerprint:
                raise Problem(409, "incident.conflict", "同一事件编号已提交过不同的内容，未保存。")
            await scope.visible_stay(principal, existing["resident"])
            return incident_out(existing, True), False
        stay = await scope.writable_stay(principal, body.resident_id, "resident.incident")
        occurred_at = scope.checked_time(body.occurred_at, "occurred_at", now)
        scope.require_in_stay(stay, occurred_at, "occurred_at")
        await Incident.insert(
            Incident(
                id=body.id,
                resident=body.resident_id,
                facility=stay["facility"],
                kind=body.kind.value,
                severity=body.severity.value,
                occurred_at=occurred_at,
                description_protected=scope.sealed(body.description, scope.INCIDENT),
                actions_protected=scope.sealed(body.actions, scope.INCIDENT_ACTIONS),
                reported_by=principal.account_id,
                digest=fingerprint,
            )
        )
        if body.severity == IncidentSeverity.serious:
            # No name and no description: the home page is not the place for health data; the
            # link opens the record, and that read is logged.
            when = occurred_at.astimezone(SHANGHAI)
            await notify(
                f"incident:{body.id}:county_auditor",
                kind=NOTIFY_KIND,
                severity=NotificationSeverity.serious,
                title=f"严重事件：{INCIDENT_KIND_LABELS[body.kind]}（{stay['facility.name']}{stay['ward']}）",
                body=f"{when:%m月%d日 %H:%M} 发生，{principal.display_name}上报。请查看住院人员记录并跟进处置。",
                link=incident_link(body.resident_id, body.id),
                role=Role.county_auditor,
                region_id=stay["facility.region"],
            )
        await record(
            actor,
            "resident.incident",
            "resident",
            body.resident_id,
            after={
                "incident": str(body.id),
                "kind": body.kind.value,
                "severity": body.severity.value,
                "auditor_notified": body.severity == IncidentSeverity.serious,
            },
        )
        row = await Incident.select(*_COLUMNS).where(Incident.id == body.id).first()
    return incident_out(row, True), True


def visible_incidents(principal: Principal) -> Where:
    return Incident.resident.is_in(Resident.select(Resident.id).where(visible_residents(principal)))


async def get_incident(principal: Principal, incident_id: uuid.UUID, actor: Actor) -> IncidentOut:
    row = await Incident.select(*_COLUMNS).where((Incident.id == incident_id) & visible_incidents(principal)).first()
    if row is None:
        raise not_found("incident", "事件")
    full = scope.health_shown(principal)
    await scope.log_read(actor, row["resident"], "incident", incident=str(incident_id), health_shown=full)
    return incident_out(row, full)


async def of_resident(resident_id: int, full: bool, since: dt.datetime | None = None) -> list[IncidentOut]:
    where = Incident.resident == resident_id
    if since is not None:
        where &= Incident.occurred_at >= since
    rows = await Incident.select(*_COLUMNS).where(where).order_by(Incident.occurred_at, ascending=False)
    return [incident_out(r, full) for r in rows]


async def read_resident_incidents(principal: Principal, resident_id: int, actor: Actor) -> list[IncidentOut]:
    await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    out = await of_resident(resident_id, full)
    await scope.log_read(actor, resident_id, "incidents", health_shown=full, count=len(out))
    return out


async def list_facility(
    principal: Principal,
    facility_id: int,
    page: PageRequest,
    actor: Actor,
    *,
    severity: IncidentSeverity | None = None,
    since: dt.date | None = None,
) -> Page[IncidentOut]:
    """The facility's incidents, newest first; descriptions masked (the detail shows them)."""
    await scope.visible_facility(principal, facility_id)
    where = (Incident.facility == facility_id) & visible_incidents(principal)
    if severity is not None:
        where &= Incident.severity == severity.value
    if since is not None:
        where &= Incident.occurred_at >= dt.datetime.combine(since, dt.time(), tzinfo=SHANGHAI)
    total = await Incident.count().where(where)
    rows = (
        await Incident.select(*_COLUMNS)
        .where(where)
        .order_by(Incident.occurred_at, ascending=False)
        .offset(page.offset)
        .limit(page.page_size)
    )
    await scope.log_list(actor, facility_id, "incidents", [r["resident"] for r in rows])
    return Page(items=[incident_out(r, False) for r in rows], total=total, page=page.page, page_size=page.page_size)


async def briefs(where: Where) -> list[IncidentBrief]:
    rows = await Incident.select(*_COLUMNS).where(where).order_by(Incident.occurred_at, ascending=False)
    return [brief(r) for r in rows]
