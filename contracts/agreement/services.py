"""The agreement's rules: publishing template versions, signing household agreements, recording
sick episodes, and the numbers the agreement gives the visit checks."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count

from carepact.accounts.access import Principal, require, visible_households
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.dates import local_today
from carepact.db import atomic, fetch, is_postgres
from carepact.errors import FieldError, Problem, forbidden, not_found
from carepact.registry.schemas import CARE_LEVEL_LABELS
from carepact.registry.tables import CareLevel, Household, Organisation, OrganisationKind, Person, Region
from contracts.agreement.rules import (
    CLAUSE_KIND_LABELS,
    ShortestVisit,
    Template,
    TemplateError,
    kind_of,
    load_template,
    parsed,
    render,
)
from contracts.agreement.schemas import (
    AGREEMENT_STATUS_LABELS,
    CAREGIVER_KIND_LABELS,
    EPISODE_END_LABELS,
    SICK_KIND_LABELS,
    AgreementDetail,
    AgreementIn,
    AgreementStatus,
    AgreementSummary,
    ClauseOut,
    PartyOut,
    RecoverIn,
    RenderedClause,
    SickEpisodeIn,
    SickEpisodeOut,
    TemplateCheck,
    TemplateDetail,
    TemplateSummary,
)
from contracts.scope import visible_agreements, visible_episodes
from contracts.tables import (
    Agreement,
    AgreementTemplate,
    CaregiverKind,
    EpisodeEnd,
    Finding,
    FindingState,
    SickEpisode,
    SickKind,
)
from providers.visits.policy import DEFAULT_POLICY, VisitPolicy

# Orders template publication (the next version number) and agreement signing per household.
_TEMPLATE_LOCK = 0x0A6_7E3A
_HOUSEHOLD_LOCK = 0x0A6_40053
MAX_BACKDATE = dt.timedelta(days=30)
MAX_AHEAD = dt.timedelta(seconds=60)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _today() -> dt.date:
    return local_today()


async def _lock(key: int, value: int = 0) -> None:
    if is_postgres():
        await AgreementTemplate.raw("SELECT pg_advisory_xact_lock({}, {})", key, value)


# --- templates ------------------------------------------------------------------------------------

_by_id: dict[int, Template] = {}


async def templates_by_id(ids: set[int]) -> dict[int, Template]:
    """Parsed templates by row id; a published version never changes, so each is parsed once."""
    missing = [i for i in ids if i not in _by_id]
    if missing:
        for row in await AgreementTemplate.select(AgreementTemplate.id, AgreementTemplate.source).where(
            AgreementTemplate.id.is_in(missing)
        ):
            _by_id[row["id"]] = parsed(row["source"])
    return {i: _by_id[i] for i in ids}


def template_problem(exc: TemplateError) -> Problem:
    return Problem(
        400,
        "agreement.template_invalid",
        f"协议模板有误：{exc}",
        [FieldError(field="source", code=f"template.{exc.code}", message=str(exc))],
    )


def check_template(source: str) -> TemplateCheck:
    try:
        template = load_template(source)
    except TemplateError as exc:
        return TemplateCheck(ok=False, line=exc.line, path=exc.path, code=exc.code, message=str(exc))
    return TemplateCheck(ok=True, version=template.version, title=template.title, clauses=len(template.clauses))


async def publish_template(principal: Principal | None, source: str, note: str, actor: Actor) -> int:
    """Check a template and store it as the next version; returns the version. Versions are never
    changed afterwards: agreements signed under one keep it until they are signed again."""
    if principal is not None:
        require(principal, "agreement.template_publish")
    try:
        template = load_template(source)
    except TemplateError as exc:
        raise template_problem(exc) from exc
    async with atomic():
        await _lock(_TEMPLATE_LOCK)
        latest = (
            await AgreementTemplate.select(AgreementTemplate.version)
            .order_by(AgreementTemplate.version, ascending=False)
            .first()
        )
        expected = (latest["version"] if latest else 0) + 1
        if template.version != expected:
            raise Problem(
                409,
                "agreement.template_version",
                f"模板中的版本号是 {template.version}，新发布的版本应为 {expected}（已发布的版本不能修改）。",
                [FieldError(field="source", code="template.version", message=f"version 应为 {expected}")],
            )
        digest = hashlib.sha256(source.encode()).hexdigest()
        await AgreementTemplate.insert(
            AgreementTemplate(
                version=template.version,
                title=template.title,
                source=source,
                digest=digest,
                note=note,
                published_by=principal.account_id if principal else None,
                published_by_name=principal.display_name if principal else "系统（演示数据）",
            )
        )
        await record(
            actor,
            "agreement.template_publish",
            "agreement_template",
            template.version,
            after={"version": template.version, "title": template.title, "digest": digest, "note": note},
        )
    return template.version


async def _template_row(version: int) -> dict[str, Any]:
    row = await AgreementTemplate.select().where(AgreementTemplate.version == version).first()
    if row is None:
        raise not_found("agreement_template", "协议模板版本")
    return row


async def _signed_counts() -> dict[int, int]:
    rows = await Agreement.select(Agreement.template, Count()).group_by(Agreement.template)
    return {r["template"]: r["count"] for r in rows}


def _summary(row: dict[str, Any], counts: dict[int, int]) -> dict[str, Any]:
    return {
        "version": row["version"],
        "title": row["title"],
        "note": row["note"],
        "digest": row["digest"],
        "published_at": row["published_at"],
        "published_by_name": row["published_by_name"],
        "agreements": counts.get(row["id"], 0),
    }


async def list_templates() -> list[TemplateSummary]:
    rows = await AgreementTemplate.select().order_by(AgreementTemplate.version, ascending=False)
    counts = await _signed_counts()
    return [TemplateSummary(**_summary(r, counts)) for r in rows]


def _clause_out(clause: Any) -> ClauseOut:
    rule = {k: v for k, v in msgspec.to_builtins(clause).items() if k not in ("id", "title", "text", "kind")}
    kind = kind_of(clause)
    return ClauseOut(
        id=clause.id, kind=kind, kind_label=CLAUSE_KIND_LABELS[kind], title=clause.title, text=clause.text, rule=rule
    )


async def get_template(version: int) -> TemplateDetail:
    row = await _template_row(version)
    template = parsed(row["source"])
    return TemplateDetail(
        **_summary(row, await _signed_counts()),
        preamble=template.preamble,
        fees_fen={level.value: template.fees.of(level) for level in CareLevel},
        fee_text=template.fees.text,
        per_breach_bp=template.deduction.per_breach_bp,
        monthly_cap_bp=template.deduction.monthly_cap_bp,
        deduction_text=template.deduction.text,
        parties=[PartyOut(role=p.role, title=p.title, duties=list(p.duties)) for p in template.parties],
        clauses=[_clause_out(c) for c in template.clauses],
        closing=list(template.closing),
        source_url=f"/api/agreement-templates/{version}/source",
    )


async def template_source(version: int) -> str:
    return (await _template_row(version))["source"]


# --- household agreements -------------------------------------------------------------------------

AGREEMENT_COLUMNS = (
    *Agreement.all_columns(),
    Agreement.household._.code,
    Agreement.household._.village._.name,
    Agreement.person._.name,
    Agreement.template._.version,
    Agreement.township_office._.name,
    Agreement.household._.address,
    Agreement.person._.id_number_masked,
)


def status_of(starts_on: dt.date, ends_on: dt.date | None, superseded: bool, today: dt.date) -> AgreementStatus:
    if superseded:
        return "superseded"
    if starts_on > today:
        return "not_started"
    if ends_on is not None and ends_on < today:
        return "ended"
    return "in_force"


def _agreement_fields(row: dict[str, Any], today: dt.date) -> dict[str, Any]:
    status = status_of(row["starts_on"], row["ends_on"], row["superseded_by"] is not None, today)
    level = CareLevel(row["care_level"])
    kind = CaregiverKind(row["caregiver_kind"])
    return {
        "id": row["id"],
        "code": row["code"],
        "household_id": row["household"],
        "household_code": row["household.code"],
        "village_name": row["household.village.name"],
        "person_name": row["person.name"] or "",
        "template_version": row["template.version"],
        "care_level": level,
        "care_level_label": CARE_LEVEL_LABELS[level],
        "monthly_fee_fen": row["monthly_fee_fen"],
        "caregiver_kind": kind,
        "caregiver_kind_label": CAREGIVER_KIND_LABELS[kind],
        "caregiver_name": row["caregiver_name"],
        "caregiver_organisation_id": row["caregiver_organisation"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "signed_on": row["signed_on"],
        "status": status,
        "status_label": AGREEMENT_STATUS_LABELS[status],
    }


def agreement_summary(row: dict[str, Any], today: dt.date | None = None) -> AgreementSummary:
    return AgreementSummary(**_agreement_fields(row, today or _today()))


async def visible_agreement(principal: Principal, agreement_id: int) -> dict[str, Any]:
    row = (
        await Agreement.select(*AGREEMENT_COLUMNS)
        .where((Agreement.id == agreement_id) & visible_agreements(principal))
        .first()
    )
    if row is None:
        raise not_found("agreement", "服务协议")
    return row


async def list_agreements(
    principal: Principal,
    paging: PageRequest,
    *,
    household_id: int | None = None,
    county_id: int | None = None,
    organisation_id: int | None = None,
    template_version: int | None = None,
    in_force_on: dt.date | None = None,
) -> Page[AgreementSummary]:
    where = visible_agreements(principal)
    if household_id is not None:
        where &= Agreement.household == household_id
    if county_id is not None:
        where &= Agreement.household._.village._.path.like(f"%/{await _region_code(county_id)}/%")
    if organisation_id is not None:
        where &= Agreement.caregiver_organisation == organisation_id
    if template_version is not None:
        where &= Agreement.template._.version == template_version
    if in_force_on is not None:
        where &= (Agreement.starts_on <= in_force_on) & (
            Agreement.ends_on.is_null() | (Agreement.ends_on >= in_force_on)
        )
    total = await Agreement.count().where(where)
    rows = (
        await Agreement.select(*AGREEMENT_COLUMNS)
        .where(where)
        .order_by(Agreement.household._.code)
        .order_by(Agreement.starts_on, ascending=False)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    today = _today()
    return Page(
        items=[agreement_summary(r, today) for r in rows], total=total, page=paging.page, page_size=paging.page_size
    )


async def _region_code(region_id: int) -> str:
    row = await Region.select(Region.code).where(Region.id == region_id).first()
    return row["code"] if row else "-"


def rendered_clauses(template: Template, level: CareLevel) -> list[RenderedClause]:
    common = template.values(level)
    return [
        RenderedClause(
            id=c.id,
            kind=kind_of(c),
            kind_label=CLAUSE_KIND_LABELS[kind_of(c)],
            title=c.title,
            text=render(c.text, common | c.values(level)),
        )
        for c in template.clauses
    ]


async def get_agreement(principal: Principal, agreement_id: int) -> AgreementDetail:
    row = await visible_agreement(principal, agreement_id)
    [template] = (await templates_by_id({row["template"]})).values()
    level = CareLevel(row["care_level"])
    values = template.values(level)
    open_findings = await Finding.count().where(
        (Finding.agreement == agreement_id)
        & Finding.state.is_in([FindingState.open.value, FindingState.explained.value])
    )
    fee = row["monthly_fee_fen"]
    return AgreementDetail(
        **_agreement_fields(row, _today()),
        township_office_name=row["township_office.name"],
        address=row["household.address"],
        person_id_masked=row["person.id_number_masked"] or "",
        caregiver_phone=row["caregiver_phone"],
        signed_by_name=row["signed_by_name"],
        superseded_by_id=row["superseded_by"],
        template_title=template.title,
        preamble=render(template.preamble, values),
        fee_text=render(template.fees.text, values),
        deduction_text=render(template.deduction.text, values),
        per_breach_fen=template.deduction.amount(fee, 1),
        monthly_cap_fen=template.deduction.cap(fee),
        parties=[
            PartyOut(role=p.role, title=p.title, duties=[render(d, values) for d in p.duties]) for p in template.parties
        ],
        clauses=rendered_clauses(template, level),
        closing=[render(t, values) for t in template.closing],
        open_findings=open_findings,
        print_url=f"/api/agreements/{agreement_id}/print",
    )


def _field(field: str, message: str, code: str = "invalid") -> FieldError:
    return FieldError(field=field, code=code, message=message)


async def sign(principal: Principal, body: AgreementIn, actor: Actor) -> int:
    """Record an agreement signed for a household by the caller's township office; the one in
    force on its first day (if any) ends the day before."""
    require(principal, "agreement.sign")
    household = (
        await Household.select(Household.id, Household.code)
        .where((Household.id == body.household_id) & visible_households(principal))
        .first()
    )
    if household is None:
        raise not_found("household", "户")
    office = (
        await Organisation.select(Organisation.id)
        .where(
            (Organisation.id == (principal.organisation_id or -1))
            & (Organisation.kind == OrganisationKind.township_office.value)
        )
        .first()
    )
    if office is None:
        raise forbidden("只有乡镇人民政府（街道办事处）的经办人可以签订协议。", "agreement.not_township_office")
    problems = []
    if body.ends_on is not None and body.ends_on < body.starts_on:
        problems.append(_field("ends_on", "结束日期不能早于开始日期", "range"))
    signed_on = body.signed_on or _today()
    if signed_on > _today():
        problems.append(_field("signed_on", "签订日期不能晚于今天", "range"))
    caregiver = body.caregiver
    organisation_id: int | None = None
    name = phone = ""
    if caregiver.kind == CaregiverKind.provider:
        provider = (
            await Organisation.select(Organisation.id, Organisation.name, Organisation.phone)
            .where(
                (Organisation.id == (caregiver.organisation_id or -1))
                & (Organisation.kind == OrganisationKind.provider.value)
            )
            .first()
        )
        if provider is None:
            problems.append(_field("caregiver.organisation_id", "请选择承接照料服务的服务机构", "required"))
        else:
            organisation_id, name, phone = provider["id"], provider["name"], caregiver.phone or provider["phone"]
    else:
        name, phone = caregiver.name.strip(), caregiver.phone
        if len(name) < 2:
            problems.append(_field("caregiver.name", "请填写照料人姓名", "required"))
    persons = (
        await Person.select(Person.id, Person.care_level)
        .where(Person.household == body.household_id)
        .order_by(Person.id)
    )
    person = next((p for p in persons if body.person_id in (None, p["id"])), None)
    if person is None:
        problems.append(_field("person_id", "该户没有此供养人员", "invalid"))
    if body.template_version is None:
        template_row = (
            await AgreementTemplate.select(AgreementTemplate.id, AgreementTemplate.version)
            .order_by(AgreementTemplate.version, ascending=False)
            .first()
        )
        if template_row is None:
            raise Problem(409, "agreement.no_template", "尚未发布协议标准文本，不能签订协议。")
    else:
        template_row = (
            await AgreementTemplate.select(AgreementTemplate.id, AgreementTemplate.version)
            .where(AgreementTemplate.version == body.template_version)
            .first()
        )
        if template_row is None:
            problems.append(_field("template_version", "没有这个版本的协议标准文本", "invalid"))
    if problems:
        raise Problem(400, "agreement.invalid", "协议内容有误，请检查标出的字段。", problems)
    assert person is not None and template_row is not None
    [template] = (await templates_by_id({template_row["id"]})).values()
    level = CareLevel(person["care_level"])
    async with atomic():
        await _lock(_HOUSEHOLD_LOCK, body.household_id)
        existing = await Agreement.select(
            Agreement.id, Agreement.code, Agreement.starts_on, Agreement.ends_on, Agreement.superseded_by
        ).where(Agreement.household == body.household_id)
        later = [a for a in existing if a["starts_on"] >= body.starts_on and a["superseded_by"] is None]
        if later:
            raise Problem(
                409,
                "agreement.overlap",
                f"该户已有自 {later[0]['starts_on']} 起的协议 {later[0]['code']}，新协议的开始日期应晚于它。",
            )
        current = [
            a
            for a in existing
            if a["superseded_by"] is None and (a["ends_on"] is None or a["ends_on"] >= body.starts_on)
        ]
        code = f"XY-{household['code']}-{len(existing) + 1:02d}"
        inserted = await Agreement.insert(
            Agreement(
                code=code,
                household=body.household_id,
                person=person["id"],
                template=template_row["id"],
                township_office=office["id"],
                caregiver_kind=caregiver.kind.value,
                caregiver_organisation=organisation_id,
                caregiver_name=name,
                caregiver_phone=phone,
                care_level=level.value,
                monthly_fee_fen=template.fees.of(level),
                starts_on=body.starts_on,
                ends_on=body.ends_on,
                signed_on=signed_on,
                signed_by=principal.account_id,
                signed_by_name=principal.display_name,
            )
        ).returning(Agreement.id)
        agreement_id = inserted[0]["id"]
        for old in current:
            await Agreement.update(
                {Agreement.ends_on: body.starts_on - dt.timedelta(days=1), Agreement.superseded_by: agreement_id}
            ).where(Agreement.id == old["id"])
        await record(
            actor,
            "agreement.sign",
            "agreement",
            agreement_id,
            after={
                "code": code,
                "household": body.household_id,
                "template_version": template_row["version"],
                "caregiver": name,
                "care_level": level.value,
                "monthly_fee_fen": template.fees.of(level),
                "starts_on": body.starts_on,
                "ends_on": body.ends_on,
                "supersedes": [a["code"] for a in current],
            },
        )
    return agreement_id


# --- what the agreement tells the visit checks ----------------------------------------------------


async def in_force(household_id: int, day: dt.date) -> Any:
    """The household's agreement in force on ``day`` (id, template, care_level), or None. Hand-written:
    every check-in asks it for the visit policy (carepact.db.fetch)."""
    rows = await fetch(
        "SELECT id, template, care_level FROM agreement WHERE household = {} AND starts_on <= {}"
        " AND (ends_on IS NULL OR ends_on >= {}) ORDER BY starts_on DESC LIMIT 1",
        household_id,
        day,
        day,
    )
    return rows[0] if rows else None


async def visit_policy(household_id: int, day: dt.date) -> VisitPolicy:
    """``providers.visits.policy``'s source: the shortest visit from the household's agreement
    version in force that day; the platform's defaults where there is none."""
    agreement = await in_force(household_id, day)
    if agreement is None:
        return DEFAULT_POLICY
    [template] = (await templates_by_id({agreement["template"]})).values()
    shortest = template.clause(ShortestVisit)
    if shortest is None:
        return DEFAULT_POLICY
    return msgspec.structs.replace(DEFAULT_POLICY, min_minutes=shortest.min_minutes)


# --- sick episodes --------------------------------------------------------------------------------

_EPISODE_COLUMNS = (*SickEpisode.all_columns(), SickEpisode.household._.code)


def episode_out(row: dict[str, Any]) -> SickEpisodeOut:
    kind = SickKind(row["kind"])
    end = EpisodeEnd(row["end_reason"]) if row["end_reason"] else None
    return SickEpisodeOut(
        id=row["id"],
        household_id=row["household"],
        household_code=row["household.code"],
        kind=kind,
        kind_label=SICK_KIND_LABELS[kind],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        end_reason=end,
        end_reason_label=EPISODE_END_LABELS[end] if end else "",
        hospital=row["hospital"],
        note=row["note"],
        reported_by_name=row["reported_by_name"],
        ended_by_name=row["ended_by_name"],
        open=row["ended_at"] is None,
    )


def _moment(value: dt.datetime | None, field: str) -> dt.datetime:
    now = _now()
    if value is None:
        return now
    if value.tzinfo is None:
        raise Problem(
            400,
            "sick_episode.time_without_zone",
            "时间必须带时区（例如 2026-11-29T09:30:00+08:00）。",
            [_field(field, "时间必须带时区", "format")],
        )
    if value > now + MAX_AHEAD:
        raise Problem(400, "sick_episode.in_future", "时间不能晚于现在。", [_field(field, "不能晚于现在", "range")])
    if value < now - MAX_BACKDATE:
        raise Problem(
            400, "sick_episode.too_old", "超过 30 天的情况不能补登。", [_field(field, "不能早于 30 天前", "range")]
        )
    return value.astimezone(dt.UTC)


async def _household_in_scope(principal: Principal, household_id: int) -> None:
    if not await Household.exists().where((Household.id == household_id) & visible_households(principal)):
        raise not_found("household", "户")


async def report_episode(principal: Principal, household_id: int, body: SickEpisodeIn, actor: Actor) -> int:
    """Ill at home or hospitalised from ``started_at``; an open episode of the other kind ends then."""
    await _household_in_scope(principal, household_id)
    require(principal, "sick_episode.report")
    started = _moment(body.started_at, "started_at")
    async with atomic():
        await _lock(_HOUSEHOLD_LOCK, household_id)
        latest = (
            await SickEpisode.select()
            .where(SickEpisode.household == household_id)
            .order_by(SickEpisode.started_at, ascending=False)
            .first()
        )
        if latest is not None and latest["ended_at"] is None and latest["kind"] == body.kind:
            raise Problem(
                409,
                "sick_episode.already_open",
                f"该户已登记为“{SICK_KIND_LABELS[body.kind]}”（{latest['started_at']:%Y-%m-%d %H:%M} 起），"
                "无需重复登记；康复后请登记康复。",
            )
        if latest is not None and started <= (latest["ended_at"] or latest["started_at"]):
            raise Problem(
                409,
                "sick_episode.overlap",
                "开始时间早于该户上一次患病情况的结束（或开始）时间，请核对时间。",
                [_field("started_at", "应晚于上一次患病情况", "range")],
            )
        if latest is not None and latest["ended_at"] is None:
            reason = EpisodeEnd.hospitalised if body.kind == SickKind.hospitalised else EpisodeEnd.discharged_ill
            await SickEpisode.update(
                {
                    SickEpisode.ended_at: started,
                    SickEpisode.end_reason: reason.value,
                    SickEpisode.ended_by: principal.account_id,
                    SickEpisode.ended_by_name: principal.display_name,
                }
            ).where(SickEpisode.id == latest["id"])
        inserted = await SickEpisode.insert(
            SickEpisode(
                household=household_id,
                kind=body.kind.value,
                started_at=started,
                hospital=body.hospital,
                note=body.note,
                reported_by=principal.account_id,
                reported_by_name=principal.display_name,
            )
        ).returning(SickEpisode.id)
        episode_id = inserted[0]["id"]
        await record(
            actor,
            "sick_episode.report",
            "sick_episode",
            episode_id,
            after={"household": household_id, "kind": body.kind.value, "started_at": started},
            detail={"closes": latest["id"] if latest is not None and latest["ended_at"] is None else None},
        )
    return episode_id


async def visible_episode(principal: Principal, episode_id: int) -> dict[str, Any]:
    row = (
        await SickEpisode.select(*_EPISODE_COLUMNS)
        .where((SickEpisode.id == episode_id) & visible_episodes(principal))
        .first()
    )
    if row is None:
        raise not_found("sick_episode", "患病记录")
    return row


async def recover(principal: Principal, episode_id: int, body: RecoverIn, actor: Actor) -> None:
    row = await visible_episode(principal, episode_id)
    require(principal, "sick_episode.report")
    ended = _moment(body.ended_at, "ended_at")
    async with atomic():
        await _lock(_HOUSEHOLD_LOCK, row["household"])
        current = await SickEpisode.select(SickEpisode.ended_at).where(SickEpisode.id == episode_id).first()
        if current["ended_at"] is not None:
            raise Problem(409, "sick_episode.already_ended", "该患病情况已经结束。")
        if ended <= row["started_at"]:
            raise Problem(
                400,
                "sick_episode.end_before_start",
                "康复时间应晚于开始时间。",
                [_field("ended_at", "应晚于开始时间", "range")],
            )
        note = (row["note"] + "；" if row["note"] and body.note else row["note"]) + body.note
        await SickEpisode.update(
            {
                SickEpisode.ended_at: ended,
                SickEpisode.end_reason: EpisodeEnd.recovered.value,
                SickEpisode.ended_by: principal.account_id,
                SickEpisode.ended_by_name: principal.display_name,
                SickEpisode.note: note[:300],
            }
        ).where(SickEpisode.id == episode_id)
        await record(
            actor,
            "sick_episode.recover",
            "sick_episode",
            episode_id,
            before={"ended_at": None},
            after={"ended_at": ended, "end_reason": EpisodeEnd.recovered.value},
        )


async def list_episodes(
    principal: Principal,
    paging: PageRequest,
    *,
    household_id: int | None = None,
    open_only: bool = False,
    kind: SickKind | None = None,
) -> Page[SickEpisodeOut]:
    where = visible_episodes(principal)
    if household_id is not None:
        where &= SickEpisode.household == household_id
    if open_only:
        where &= SickEpisode.ended_at.is_null()
    if kind is not None:
        where &= SickEpisode.kind == kind.value
    total = await SickEpisode.count().where(where)
    rows = (
        await SickEpisode.select(*_EPISODE_COLUMNS)
        .where(where)
        .order_by(SickEpisode.started_at, ascending=False)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return Page(items=[episode_out(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)
