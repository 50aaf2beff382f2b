"""Stays in a facility: admission, transfer between beds, discharge; the resident's record as a
whole; the facility's lists; and the one definition of a bed-day other code counts with."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import msgspec
from msgspec import UNSET
from piccolo.columns.combination import Where

from carepact.accounts.access import Principal, may, visible_facilities, visible_residents
from carepact.audit.services import Actor, record
from carepact.cards import services as cards
from carepact.cards.tables import CardSubject
from carepact.catalogue import CATALOGUE
from carepact.dates import SHANGHAI, day_start, local_today
from carepact.db import atomic, is_postgres
from carepact.errors import FieldError, Problem
from carepact.privacy import digest, id_number_problem, mask_id_number, protect, reveal
from carepact.registry.schemas import CARE_LEVEL_LABELS, GENDER_LABELS
from carepact.registry.services import HEALTH_CONTEXT, ID_CONTEXT
from carepact.registry.tables import CareLevel, Gender, Organisation, Person, Resident, SupportMode
from providers.residents import incidents, medication, records, scope
from providers.residents.schemas import (
    FACILITY_SERVICES,
    GOAL_KIND_LABELS,
    AdmissionIn,
    Alert,
    BedDayLine,
    BedDayReport,
    DischargeIn,
    FacilityOut,
    FacilityOverview,
    NewPerson,
    OverdueReview,
    ResidentDetail,
    ResidentPatch,
    ResidentSummary,
    ServiceDelivered,
    WardOverview,
)
from providers.tables import (
    CareGoal,
    CareKind,
    CareRecord,
    GoalKind,
    GoalStatus,
    Incident,
    IncidentSeverity,
    MedicationOrder,
)

# --- bed-days: the one rule ---------------------------------------------------------------------


def present_on(day: dt.date, admitted_on: dt.date, discharged_on: dt.date | None) -> bool:
    """A bed-day: the resident slept in the facility that night. The admission day counts, the
    discharge day does not (the midnight census hospitals keep), so a stay of one night is one
    bed-day and admission and discharge on the same day is none.
    Settlement (contracts.delivery) counts bed-days with this same function."""
    return admitted_on <= day and (discharged_on is None or day < discharged_on)


def month_of(month: dt.date) -> list[dt.date]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return [first + dt.timedelta(days=n) for n in range((following - first).days)]


def counted_days(month: dt.date) -> list[dt.date]:
    """The days of a month that have happened (a day to come has occupied no bed yet)."""
    today = local_today()
    return [d for d in month_of(month) if d <= today]


async def bed_days(facility_id: int, month: dt.date) -> dict[int, int]:
    """Bed-days per stay (Resident id) in a facility for a month, up to today; stays with none are left out."""
    days = counted_days(month)
    if not days:
        return {}
    rows = await Resident.select(Resident.id, Resident.admitted_on, Resident.discharged_on).where(
        (Resident.facility == facility_id)
        & (Resident.admitted_on <= days[-1])
        & (Resident.discharged_on.is_null() | (Resident.discharged_on > days[0]))
    )
    out = {}
    for r in rows:
        n = sum(1 for d in days if present_on(d, r["admitted_on"], r["discharged_on"]))
        if n:
            out[r["id"]] = n
    return out


async def service_days(resident_ids: list[int], days: list[dt.date]) -> tuple[dict[int, dict[str, set]], Counter]:
    """For each stay, the days on which each facility service was recorded; and records per service."""
    by_resident: dict[int, dict[str, set[dt.date]]] = defaultdict(lambda: defaultdict(set))
    counts: Counter[tuple[int, str]] = Counter()
    if not resident_ids or not days:
        return by_resident, counts
    rows = await CareRecord.select(CareRecord.resident, CareRecord.service, CareRecord.performed_at).where(
        CareRecord.resident.is_in(resident_ids)
        & (CareRecord.service != "")
        & (CareRecord.performed_at >= day_start(days[0]))
        & (CareRecord.performed_at < day_start(days[-1] + dt.timedelta(days=1)))
    )
    for r in rows:
        by_resident[r["resident"]][r["service"]].add(scope.local_day(r["performed_at"]))
        counts[(r["resident"], r["service"])] += 1
    return by_resident, counts


async def bed_day_report(principal: Principal, facility_id: int, month: dt.date, actor: Actor) -> BedDayReport:
    facility = await scope.visible_facility(principal, facility_id)
    days = counted_days(month)
    stays = await bed_days(facility_id, month)
    rows = (
        await Resident.select(*scope.STAY_COLUMNS)
        .where(Resident.id.is_in(list(stays)))
        .order_by(Resident.ward)
        .order_by(Resident.bed)
        if stays
        else []
    )
    delivered, counts = await service_days(list(stays), days)
    lines = []
    for r in rows:
        present = {d for d in days if present_on(d, r["admitted_on"], r["discharged_on"])}
        lines.append(
            BedDayLine(
                resident_id=r["id"],
                person_id=r["person"],
                name=r["person.name"],
                ward=r["ward"],
                bed=r["bed"],
                admitted_on=r["admitted_on"],
                discharged_on=r["discharged_on"],
                contract_code=r["contract_code"],
                bed_days=stays[r["id"]],
                service_days={s.value: len(delivered[r["id"]][s.value] & present) for s in FACILITY_SERVICES},
                records={s.value: counts[(r["id"], s.value)] for s in FACILITY_SERVICES},
            )
        )
    total = sum(stays.values())
    by_contract: Counter[str] = Counter()
    for line in lines:
        by_contract[line.contract_code] += line.bed_days
    services = []
    for s in FACILITY_SERVICES:
        with_service = sum(line.service_days[s.value] for line in lines)
        services.append(
            ServiceDelivered(
                service=s,
                label=CATALOGUE[s].label,
                records=sum(line.records[s.value] for line in lines),
                days=with_service,
                days_without=total - with_service,
            )
        )
    await scope.log_list(actor, facility_id, "bed_days", [line.resident_id for line in lines], month=f"{month:%Y-%m}")
    return BedDayReport(
        facility_id=facility_id,
        facility_name=facility["name"],
        month=f"{month:%Y-%m}",
        days_counted=len(days),
        month_complete=len(days) == len(month_of(month)),
        bed_days=total,
        by_contract=dict(by_contract),
        services=services,
        residents=lines,
    )


# --- admission, transfer, discharge ---------------------------------------------------------------


def _health(diagnosis: str, disability: str) -> str:
    if not diagnosis and not disability:
        return ""
    return protect(
        msgspec.json.encode({"illness": diagnosis, "disability": disability}).decode(), context=HEALTH_CONTEXT
    )


def _health_of(protected: str) -> dict[str, str]:
    if not protected:
        return {"illness": "", "disability": ""}
    return msgspec.json.decode(reveal(protected, context=HEALTH_CONTEXT))


async def _person_for(principal: Principal, body: AdmissionIn) -> tuple[int, bool]:
    """The person to admit: one registered before (found by ID number, or a former resident), or a new one."""
    if not isinstance(body.person, NewPerson):
        row = (
            await Person.select(Person.id)
            .where(
                (Person.id == body.person.person_id)
                & Person.id.is_in(Resident.select(Resident.person).where(visible_residents(principal)))
            )
            .first()
        )
        if row is None:
            raise Problem(
                400,
                "resident.person_unknown",
                "未找到该人员：再次入院只能选择本机构的既往住院人员。",
                [FieldError(field="person.person_id", code="not_found", message="不是本机构的既往住院人员")],
            )
        return row["id"], False
    p = body.person
    problem = None
    if int(p.id_number[6:10]) != p.birth_year:
        problem = FieldError(
            field="person.birth_year", code="person.birth_year_mismatch", message="出生年份与身份证号不一致"
        )
    reason = id_number_problem(p.id_number)
    if reason:
        problem = FieldError(field="person.id_number", code="person.id_number_invalid", message=reason)
    if problem:
        raise Problem(400, "resident.invalid", "入院登记信息有误，请检查标出的字段。", [problem])
    existing = (
        await Person.select(Person.id, Person.name)
        .where(Person.id_number_digest == digest(p.id_number, purpose="id_number"))
        .first()
    )
    if existing is not None:
        if existing["name"] != p.name:
            raise Problem(
                409,
                "resident.id_number_name_mismatch",
                "该身份证号已登记为另一姓名，请核对证件；如登记有误请联系县区民政局更正。",
                [FieldError(field="person.name", code="mismatch", message="与登记姓名不一致")],
            )
        return existing["id"], False
    person = Person(
        name=p.name,
        gender=p.gender.value,
        birth_year=p.birth_year,
        id_number_protected=protect(p.id_number, context=ID_CONTEXT),
        id_number_digest=digest(p.id_number, purpose="id_number"),
        id_number_masked=mask_id_number(p.id_number),
        care_level=p.care_level.value,
        support_mode=SupportMode.centralised.value,
        household=None,
        health_protected=_health(p.diagnosis, p.disability),
    )
    await person.save()
    return person.id, True


def _bed_taken(facility_id: int, ward: str, bed: str, day: dt.date, exclude: int | None = None) -> Where:
    where = (
        (Resident.facility == facility_id)
        & (Resident.ward == ward)
        & (Resident.bed == bed)
        & (Resident.discharged_on.is_null() | (Resident.discharged_on > day))
    )
    if exclude is not None:
        where &= Resident.id != exclude
    return where


async def _lock_beds(facility_id: int) -> None:
    # Two tablets giving away the same bed at once: one waits, then sees the bed taken. (SQLite's
    # write transactions are serial already.)
    if is_postgres():
        await Resident.raw("SELECT pg_advisory_xact_lock(45, {})", facility_id)


async def admit(principal: Principal, facility_id: int, body: AdmissionIn, actor: Actor) -> ResidentDetail:
    today = local_today()
    if body.admitted_on > today or body.admitted_on < today - dt.timedelta(days=31):
        raise Problem(
            400,
            "resident.admission_date",
            "入院日期应在今天及之前 31 天内；更早的入院请联系县区民政局补录。",
            [FieldError(field="admitted_on", code="range", message="入院日期超出范围")],
        )
    async with atomic():
        await scope.writable_facility(principal, facility_id, "resident.admit")
        await _lock_beds(facility_id)
        person_id, created = await _person_for(principal, body)
        if await Resident.exists().where((Resident.person == person_id) & Resident.discharged_on.is_null()):
            raise Problem(409, "resident.already_admitted", "此人目前仍在院（本机构或其他机构），请先办理出院。")
        if await Resident.exists().where(_bed_taken(facility_id, body.ward, body.bed, body.admitted_on)):
            raise Problem(
                409,
                "resident.bed_taken",
                f"{body.ward}{body.bed}已有在院人员，请选择其他床位。",
                [FieldError(field="bed", code="taken", message="床位已占用")],
            )
        if not created:
            await Person.update({Person.support_mode: SupportMode.centralised.value}).where(Person.id == person_id)
        stay = Resident(
            person=person_id,
            facility=facility_id,
            ward=body.ward,
            bed=body.bed,
            admitted_on=body.admitted_on,
            contract_code=body.contract_code,
        )
        await stay.save()
        await record(
            actor,
            "resident.admit",
            "resident",
            stay.id,
            after={
                "person": person_id,
                "new_person": created,
                "facility": facility_id,
                "ward": body.ward,
                "bed": body.bed,
                "admitted_on": body.admitted_on.isoformat(),
                "contract_code": body.contract_code,
            },
        )
    return await detail(principal, stay.id, actor)


async def update_stay(principal: Principal, resident_id: int, patch: ResidentPatch, actor: Actor) -> ResidentDetail:
    async with atomic():
        stay = await scope.writable_stay(principal, resident_id, "resident.update")
        if stay["discharged_on"] is not None:
            raise Problem(409, "resident.discharged", f"{stay['person.name']}已出院，不能调整床位。")
        before = {"ward": stay["ward"], "bed": stay["bed"], "contract_code": stay["contract_code"]}
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not UNSET and before[k] != v}
        if changes:
            await _lock_beds(stay["facility"])
            merged = before | changes
            if ("ward" in changes or "bed" in changes) and await Resident.exists().where(
                _bed_taken(stay["facility"], merged["ward"], merged["bed"], local_today(), exclude=resident_id)
            ):
                raise Problem(
                    409,
                    "resident.bed_taken",
                    f"{merged['ward']}{merged['bed']}已有在院人员，请选择其他床位。",
                    [FieldError(field="bed", code="taken", message="床位已占用")],
                )
            await Resident.update({getattr(Resident, k): v for k, v in changes.items()}).where(
                Resident.id == resident_id
            )
            await record(
                actor,
                "resident.update",
                "resident",
                resident_id,
                before={k: before[k] for k in changes},
                after=changes,
            )
    return await detail(principal, resident_id, actor)


async def discharge(principal: Principal, resident_id: int, body: DischargeIn, actor: Actor) -> ResidentDetail:
    async with atomic():
        stay = await scope.writable_stay(principal, resident_id, "resident.discharge")
        if stay["discharged_on"] is not None:
            raise Problem(409, "resident.discharged", f"{stay['person.name']}已于 {stay['discharged_on']} 出院。")
        if body.discharged_on < stay["admitted_on"]:
            raise Problem(
                400,
                "resident.discharge_before_admission",
                f"出院日期不能早于入院日期（{stay['admitted_on']}）。",
                [FieldError(field="discharged_on", code="range", message="早于入院日期")],
            )
        if body.discharged_on > local_today():
            raise Problem(
                400,
                "resident.discharge_in_future",
                "出院日期不能晚于今天：请在出院当天办理。",
                [FieldError(field="discharged_on", code="range", message="晚于今天")],
            )
        await Resident.update(
            {Resident.discharged_on: body.discharged_on, Resident.discharge_reason: body.reason}
        ).where(Resident.id == resident_id)
        # Standing medication orders end with the stay.
        await MedicationOrder.update({MedicationOrder.ends_on: body.discharged_on}).where(
            (MedicationOrder.resident == resident_id)
            & (MedicationOrder.ends_on.is_null() | (MedicationOrder.ends_on > body.discharged_on))
        )
        await record(
            actor,
            "resident.discharge",
            "resident",
            resident_id,
            before={"discharged_on": None},
            after={"discharged_on": body.discharged_on.isoformat(), "reason": body.reason},
        )
    return await detail(principal, resident_id, actor)


# --- reading ----------------------------------------------------------------------------------------


async def _alerts(stays: list[dict[str, Any]]) -> dict[int, list[Alert]]:
    """What a list of residents flags at a glance; computed in a few queries for the whole list."""
    ids = [s["id"] for s in stays]
    out: dict[int, list[Alert]] = {i: [] for i in ids}
    if not ids:
        return out
    today = local_today()
    now = dt.datetime.now(dt.UTC)
    overdue_reviews = {
        r["resident"]
        for r in await CareGoal.select(CareGoal.resident).where(
            CareGoal.resident.is_in(ids)
            & (CareGoal.status == GoalStatus.active.value)
            & (CareGoal.review_due_on < today)
        )
    }
    recent = now - dt.timedelta(hours=24)
    incident_rows = await Incident.select(Incident.resident, Incident.severity).where(
        Incident.resident.is_in(ids) & (Incident.occurred_at >= now - dt.timedelta(hours=72))
    )
    serious = {r["resident"] for r in incident_rows if r["severity"] == IncidentSeverity.serious}
    any_incident = {r["resident"] for r in incident_rows}
    concern = {
        r["resident"]
        for r in await CareRecord.select(CareRecord.resident).where(
            CareRecord.resident.is_in(ids) & CareRecord.concern.eq(True) & (CareRecord.performed_at >= recent)
        )
    }
    overdue_doses = Counter(
        d.resident_id for d in await medication.schedule(stays, now - medication.SHIFT_BACK, now, False) if d.overdue
    )
    for s in stays:
        rid = s["id"]
        if rid in overdue_reviews:
            out[rid].append(Alert(code="review_overdue", label="护理计划评估逾期"))
        if overdue_doses[rid]:
            out[rid].append(Alert(code="doses_overdue", label=f"{overdue_doses[rid]} 剂药物逾期未记录"))
        if rid in serious:
            out[rid].append(Alert(code="incident_serious", label="72 小时内发生严重事件"))
        elif rid in any_incident:
            out[rid].append(Alert(code="incident_recent", label="72 小时内发生事件"))
        if rid in concern:
            out[rid].append(Alert(code="concern", label="24 小时内标记需关注"))
        if s["discharged_on"] is None and (today - s["admitted_on"]).days < 7:
            out[rid].append(Alert(code="new_admission", label="新入院"))
    return out


def _summary(s: dict[str, Any], today: dt.date, kinds: list[CareKind], alerts: list[Alert]) -> ResidentSummary:
    return ResidentSummary(
        id=s["id"],
        person_id=s["person"],
        name=s["person.name"],
        gender_label=GENDER_LABELS[Gender(s["person.gender"])],
        age=scope.age(s["person.birth_year"]),
        care_level_label=CARE_LEVEL_LABELS[CareLevel(s["person.care_level"])],
        facility_id=s["facility"],
        ward=s["ward"],
        bed=s["bed"],
        admitted_on=s["admitted_on"],
        discharged_on=s["discharged_on"],
        present=s["discharged_on"] is None or s["discharged_on"] >= today,
        contract_code=s["contract_code"],
        recorded_today=kinds,
        alerts=alerts,
    )


async def list_residents(
    principal: Principal,
    facility_id: int,
    actor: Actor,
    *,
    ward: str | None = None,
    q: str | None = None,
    include_discharged: bool = False,
) -> list[ResidentSummary]:
    """A facility's residents by ward and bed, with what has been recorded today and what needs attention."""
    await scope.visible_facility(principal, facility_id)
    today = local_today()
    where = (Resident.facility == facility_id) & visible_residents(principal)
    if not include_discharged:
        where &= Resident.discharged_on.is_null() | (Resident.discharged_on >= today)
    if ward:
        where &= Resident.ward == ward
    if q:
        pattern = "%" + q.strip().replace("\\", "").replace("%", "").replace("_", "") + "%"
        where &= Resident.person._.name.like(pattern) | Resident.bed.like(pattern)
    stays = await Resident.select(*scope.STAY_COLUMNS).where(where).order_by(Resident.ward).order_by(Resident.bed)
    ids = [s["id"] for s in stays]
    kinds: dict[int, set[str]] = defaultdict(set)
    if ids:
        for r in await CareRecord.select(CareRecord.resident, CareRecord.kind).where(
            CareRecord.resident.is_in(ids) & (CareRecord.performed_at >= day_start(today))
        ):
            kinds[r["resident"]].add(r["kind"])
    alerts = await _alerts(stays)
    await scope.log_list(actor, facility_id, "residents", ids, ward=ward or "")
    return [_summary(s, today, [k for k in CareKind if k.value in kinds[s["id"]]], alerts[s["id"]]) for s in stays]


async def detail(principal: Principal, resident_id: int, actor: Actor) -> ResidentDetail:
    """The resident's record as the bedside screen shows it. One audit row per read."""
    stay = await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    today = local_today()
    health = _health_of(stay["person.health_protected"])
    start = dt.datetime.combine(today, dt.time(), tzinfo=SHANGHAI)
    alerts = await _alerts([stay])
    out = ResidentDetail(
        id=stay["id"],
        person_id=stay["person"],
        name=stay["person.name"],
        gender_label=GENDER_LABELS[Gender(stay["person.gender"])],
        birth_year=stay["person.birth_year"],
        age=scope.age(stay["person.birth_year"]),
        care_level_label=CARE_LEVEL_LABELS[CareLevel(stay["person.care_level"])],
        id_number_masked=stay["person.id_number_masked"],
        diagnosis=health["illness"] if full else ("有记录" if health["illness"] else ""),
        disability=health["disability"] if full else ("有记录" if health["disability"] else ""),
        health_shown=full,
        facility_id=stay["facility"],
        facility_name=stay["facility.name"],
        ward=stay["ward"],
        bed=stay["bed"],
        admitted_on=stay["admitted_on"],
        discharged_on=stay["discharged_on"],
        discharge_reason=stay["discharge_reason"],
        present=stay["discharged_on"] is None or stay["discharged_on"] >= today,
        contract_code=stay["contract_code"],
        card_version=await cards.current_version(CardSubject.resident, resident_id),
        alerts=alerts[resident_id],
        care_plan=await records.care_plan(resident_id, full, with_reviews=False),
        medications=await medication.orders(resident_id, full, active_only=True),
        doses_today=await medication.schedule([stay], start, start + dt.timedelta(days=1, microseconds=-1), full),
        recent_records=await records.recent_records(resident_id, full),
        recent_incidents=await incidents.of_resident(
            resident_id, full, since=dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        ),
        can_write=may(principal, "resident.record") and stay["discharged_on"] is None,
    )
    await scope.log_read(actor, resident_id, "detail", health_shown=full)
    return out


# --- facilities ----------------------------------------------------------------------------------------


async def list_facilities(principal: Principal) -> list[FacilityOut]:
    rows = (
        await Organisation.select(Organisation.id, Organisation.name, Organisation.region._.name)
        .where(visible_facilities(principal))
        .order_by(Organisation.id)
    )
    today = local_today()
    out = []
    for r in rows:
        stays = await Resident.select(Resident.ward).where(medication.present_stays(r["id"], day=today))
        out.append(
            FacilityOut(
                id=r["id"],
                name=r["name"],
                region_name=r["region.name"],
                present=len(stays),
                wards=sorted({s["ward"] for s in stays}),
            )
        )
    return out


async def overview(principal: Principal, facility_id: int, actor: Actor) -> FacilityOverview:
    """The facility's situation now, per ward: what the shift's home screen shows."""
    facility = await scope.visible_facility(principal, facility_id)
    now = dt.datetime.now(dt.UTC)
    today = local_today()
    stays = await Resident.select(*scope.STAY_COLUMNS).where(
        medication.present_stays(facility_id) & visible_residents(principal)
    )
    ids = [s["id"] for s in stays]
    ward_of = {s["id"]: s["ward"] for s in stays}
    pending = [
        d
        for d in await medication.schedule(stays, now - medication.SHIFT_BACK, now + medication.SHIFT_AHEAD, False)
        if d.outcome is None
    ]
    day_ago = now - dt.timedelta(hours=24)
    incident_wards = Counter(
        ward_of[r["resident"]]
        for r in await Incident.select(Incident.resident).where(
            Incident.resident.is_in(ids or [-1]) & (Incident.occurred_at >= day_ago)
        )
    )
    concern_wards = Counter(
        ward_of[r["resident"]]
        for r in await CareRecord.select(CareRecord.resident).where(
            CareRecord.resident.is_in(ids or [-1]) & CareRecord.concern.eq(True) & (CareRecord.performed_at >= day_ago)
        )
    )
    wards = []
    for ward in sorted({s["ward"] for s in stays}):
        on_ward = [d for d in pending if d.ward == ward]
        wards.append(
            WardOverview(
                ward=ward,
                present=sum(1 for s in stays if s["ward"] == ward),
                doses_due=len(on_ward),
                doses_overdue=sum(d.overdue for d in on_ward),
                incidents_24h=incident_wards[ward],
                concerns_24h=concern_wards[ward],
            )
        )
    by_id = {s["id"]: s for s in stays}
    reviews = []
    for g in await CareGoal.select(CareGoal.id, CareGoal.resident, CareGoal.kind, CareGoal.review_due_on).where(
        CareGoal.resident.is_in(ids or [-1])
        & (CareGoal.status == GoalStatus.active.value)
        & (CareGoal.review_due_on < today)
    ):
        s = by_id[g["resident"]]
        kind = GoalKind(g["kind"])
        reviews.append(
            OverdueReview(
                resident_id=s["id"],
                name=s["person.name"],
                ward=s["ward"],
                bed=s["bed"],
                goal_id=g["id"],
                kind=kind,
                kind_label=GOAL_KIND_LABELS[kind],
                review_due_on=g["review_due_on"],
                days_overdue=(today - g["review_due_on"]).days,
            )
        )
    reviews.sort(key=lambda r: (r.review_due_on, r.ward, r.bed))
    serious = await incidents.briefs(
        (Incident.facility == facility_id)
        & (Incident.severity == IncidentSeverity.serious.value)
        & (Incident.occurred_at >= now - dt.timedelta(days=7))
        & incidents.visible_incidents(principal)
    )
    shown = [r.resident_id for r in reviews] + [i.resident_id for i in serious]
    await scope.log_list(actor, facility_id, "overview", shown)
    present = await Resident.count().where(medication.present_stays(facility_id))
    return FacilityOverview(
        facility=FacilityOut(
            id=facility["id"],
            name=facility["name"],
            region_name=facility["region.name"],
            present=present,
            wards=[w.ward for w in wards],
        ),
        as_of=now,
        wards=wards,
        reviews_overdue=reviews,
        serious_incidents_7d=serious,
        can_write=may(principal, "resident.record"),
    )
