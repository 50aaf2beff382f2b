"""Contracts: creating one, amending it (terms and coverage), reading its state on any date, documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec import UNSET

from carepact.accounts.access import Principal, may, region_in_scope, require
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.catalogue import CATALOGUE
from carepact.dates import local_today
from carepact.db import atomic, is_postgres
from carepact.errors import FieldError, Problem, not_found
from carepact.media import storage
from carepact.registry.tables import Household, Organisation, OrganisationKind, Region, RegionLevel, Resident
from contracts.procurement.schemas import (
    DOCUMENT_TYPE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    AmendmentIn,
    AmendmentOut,
    BudgetFigures,
    Change,
    ContractDetail,
    ContractIn,
    ContractSummary,
    CoverageSummary,
    DocumentOut,
    ItemOut,
    PartyOut,
    RegionRef,
)
from contracts.procurement.terms import (
    TRANSITIONS,
    Terms,
    Version,
    describe,
    final_terms,
    state_on,
    steps,
    terms_problems,
)
from contracts.scope import visible_contracts
from contracts.tables import (
    Amendment,
    Contract,
    ContractDocument,
    ContractKind,
    ContractStatus,
    Coverage,
    DocumentType,
    Statement,
    StatementStatus,
)

# Orders every coverage change on PostgreSQL (SQLite's write lock already does): two amendments
# adding one household to two contracts at once must not both pass the overlap check.
_COVERAGE_LOCK = 0x0C0_7E2A6E
SUPPLIER_KIND = {
    ContractKind.home_care: OrganisationKind.provider,
    ContractKind.centralised_care: OrganisationKind.facility,
}

_CONTRACT_COLUMNS = (
    Contract.id,
    Contract.code,
    Contract.kind,
    Contract.buyer,
    Contract.buyer._.name,
    Contract.supplier,
    Contract.supplier._.name,
    Contract.service_area,
    Contract.service_area._.code,
    Contract.service_area._.name,
    Contract.service_area._.path,
    Contract.date_signed,
    Contract.currency,
)


# --- history ---------------------------------------------------------------------------------


def _version(row: dict[str, Any]) -> Version:
    return Version(
        seq=row["seq"], effective_on=row["effective_on"], change=msgspec.json.decode(row["changes"], type=Change)
    )


async def versions_of(contract_ids: Iterable[int]) -> dict[int, tuple[Version, ...]]:
    """The original terms and every amendment of each contract: the history its terms derive from."""
    ids = list(contract_ids)
    found: dict[int, list[Version]] = defaultdict(list)
    if ids:
        rows = await Amendment.select(
            Amendment.contract, Amendment.seq, Amendment.effective_on, Amendment.changes
        ).where(Amendment.contract.is_in(ids))
        for row in rows:
            found[row["contract"]].append(_version(row))
    return {i: tuple(found[i]) for i in ids}


async def visible_contract(principal: Principal, contract_id: int) -> dict[str, Any]:
    row = (
        await Contract.select(*_CONTRACT_COLUMNS)
        .where((Contract.id == contract_id) & visible_contracts(principal))
        .first()
    )
    if row is None:
        raise not_found("contract", "合同")
    return row


def _locked(query: Any) -> Any:
    return query.lock_rows() if is_postgres() else query


# --- reading ---------------------------------------------------------------------------------


def _summary(row: dict[str, Any], terms: Terms, versions: tuple[Version, ...]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "title": terms.title,
        "kind": ContractKind(row["kind"]),
        "kind_label": KIND_LABELS[ContractKind(row["kind"])],
        "status": terms.status,
        "status_label": STATUS_LABELS[terms.status],
        "buyer": PartyOut(id=row["buyer"], name=row["buyer.name"]),
        "supplier": PartyOut(id=row["supplier"], name=row["supplier.name"]),
        "service_area": RegionRef(id=row["service_area"], code=row["service_area.code"], name=row["service_area.name"]),
        "date_signed": row["date_signed"],
        "period": terms.period,
        "value_fen": terms.value_fen,
        "currency": row["currency"],
        "amendment_count": sum(1 for v in versions if v.seq > 0),
    }


def _terms_or_refuse(versions: tuple[Version, ...], on: dt.date) -> Terms:
    terms = state_on(versions, on)
    if terms is None:
        raise Problem(
            400,
            "contract.not_in_force",
            "所选日期合同尚未生效（早于签订日期和服务期开始日），当时还没有合同条款。",
            [FieldError(field="query.state_on", code="range", message="早于合同生效日期")],
        )
    return terms


async def list_contracts(
    principal: Principal,
    paging: PageRequest,
    *,
    status: ContractStatus | None = None,
    kind: ContractKind | None = None,
    supplier_id: int | None = None,
    county_id: int | None = None,
    on: dt.date | None = None,
) -> Page[ContractSummary]:
    """Contracts in scope as they stand on ``on`` (today by default), by code.

    Status is part of the terms, which are derived, so the status filter runs after the fold;
    a city has tens of contracts, not millions.
    """
    on = on or local_today()
    where = visible_contracts(principal)
    if kind is not None:
        where &= Contract.kind == kind.value
    if supplier_id is not None:
        where &= Contract.supplier == supplier_id
    if county_id is not None:
        county = await Region.select(Region.path).where(Region.id == county_id).first()
        if county is None:
            return Page(items=[], total=0, page=paging.page, page_size=paging.page_size)
        touching = Coverage.select(Coverage.contract).where(
            Coverage.household._.village._.path.like(county["path"] + "%")
            | Coverage.resident._.facility._.region._.path.like(county["path"] + "%")
        )
        where &= Contract.service_area._.path.like(county["path"] + "%") | Contract.id.is_in(touching)
    rows = await Contract.select(*_CONTRACT_COLUMNS).where(where).order_by(Contract.code)
    versions = await versions_of(r["id"] for r in rows)
    items = []
    for row in rows:
        terms = state_on(versions[row["id"]], on)
        if terms is None or (status is not None and terms.status != status):
            continue
        items.append(ContractSummary(**_summary(row, terms, versions[row["id"]])))
    page = items[paging.offset : paging.offset + paging.page_size]
    return Page(items=page, total=len(items), page=paging.page, page_size=paging.page_size)


def _item_out(terms: Terms) -> list[ItemOut]:
    return [
        ItemOut(
            classification=i.classification,
            description=CATALOGUE[i.classification].label,
            quantity=i.quantity,
            unit_name=CATALOGUE[i.classification].unit,
            unit_value_fen=i.unit_value_fen,
            amount_fen=i.amount_fen,
        )
        for i in terms.items
    ]


async def amendments_out(contract_id: int, versions: tuple[Version, ...], on: dt.date) -> list[AmendmentOut]:
    rows = {
        r["seq"]: r
        for r in await Amendment.select(
            Amendment.id,
            Amendment.seq,
            Amendment.agreed_on,
            Amendment.rationale,
            Amendment.author_name,
            Amendment.recorded_at,
        ).where(Amendment.contract == contract_id)
    }
    out = []
    for version, before, after in steps(versions):
        assert after is not None  # the original (seq 0) always takes effect first
        row = rows[version.seq]
        out.append(
            AmendmentOut(
                id=row["id"],
                seq=version.seq,
                kind="original" if version.seq == 0 else "amendment",
                kind_label="原始合同" if version.seq == 0 else f"第 {version.seq} 次变更",
                date=row["agreed_on"],
                effective_on=version.effective_on,
                rationale=row["rationale"],
                description=describe(version.change, before, after),
                author_name=row["author_name"],
                recorded_at=row["recorded_at"],
                value_before_fen=before.value_fen if before else None,
                value_after_fen=after.value_fen,
                in_force=version.effective_on <= on,
                changes=version.change,
            )
        )
    return sorted(out, key=lambda a: a.seq)


async def coverage_summary(contract_id: int, on: dt.date) -> CoverageSummary:
    current = (Coverage.contract == contract_id) & (Coverage.starts_on <= on)
    current &= Coverage.ends_on.is_null() | (Coverage.ends_on >= on)
    return CoverageSummary(
        on=on,
        households=await Coverage.count().where(current & Coverage.household.is_not_null()),
        residents=await Coverage.count().where(current & Coverage.resident.is_not_null()),
        ever_covered=await Coverage.count().where(Coverage.contract == contract_id),
    )


class MoneySoFar(msgspec.Struct, kw_only=True):
    delivered_fen: int = 0
    paid_fen: int = 0
    awaiting_confirmation_fen: int = 0


async def money_so_far(contract_ids: list[int], year: int | None = None) -> dict[int, MoneySoFar]:
    """Statement totals per contract: confirmed (delivered), paid, and drafts awaiting confirmation.

    ``year`` limits to statements of months in that year (budget years follow the service month).
    """
    sums = {i: MoneySoFar() for i in contract_ids}
    if not contract_ids:
        return sums
    where = Statement.contract.is_in(contract_ids)
    if year is not None:
        where &= (Statement.month >= dt.date(year, 1, 1)) & (Statement.month <= dt.date(year, 12, 1))
    for s in await Statement.select(Statement.contract, Statement.status, Statement.total_fen).where(where):
        money = sums[s["contract"]]
        if s["status"] == StatementStatus.draft:
            money.awaiting_confirmation_fen += s["total_fen"]
            continue
        money.delivered_fen += s["total_fen"]
        if s["status"] == StatementStatus.paid:
            money.paid_fen += s["total_fen"]
    return sums


async def documents_out(contract_id: int) -> list[DocumentOut]:
    rows = (
        await ContractDocument.select()
        .where(ContractDocument.contract == contract_id)
        .order_by(ContractDocument.uploaded_at)
    )
    return [_document_out(r) for r in rows]


def _document_out(r: dict[str, Any]) -> DocumentOut:
    return DocumentOut(
        id=r["id"],
        document_type=DocumentType(r["document_type"]),
        document_type_label=DOCUMENT_TYPE_LABELS[DocumentType(r["document_type"])],
        title=r["title"],
        filename=r["filename"],
        media_type=r["media_type"],
        size_bytes=r["size_bytes"],
        sha256=r["sha256"],
        amendment_id=r["amendment"],
        uploaded_at=r["uploaded_at"],
        url=f"/api/contracts/{r['contract']}/documents/{r['id']}",
    )


async def get_contract(principal: Principal, contract_id: int, on: dt.date | None = None) -> ContractDetail:
    """The contract as it stood on ``on`` (today by default), with its whole history."""
    today = local_today()
    on = on or today
    row = await visible_contract(principal, contract_id)
    versions = (await versions_of([contract_id]))[contract_id]
    terms = _terms_or_refuse(versions, on)
    money = (await money_so_far([contract_id]))[contract_id]
    in_area = region_in_scope(principal, row["service_area.path"])
    return ContractDetail(
        **_summary(row, terms, versions),
        state_on=on,
        is_current=on == today,
        items=_item_out(terms),
        amendments=await amendments_out(contract_id, versions, on),
        documents=await documents_out(contract_id),
        coverage=await coverage_summary(contract_id, on),
        budget=BudgetFigures(
            committed_fen=terms.value_fen,
            delivered_fen=money.delivered_fen,
            paid_fen=money.paid_fen,
            awaiting_confirmation_fen=money.awaiting_confirmation_fen,
            remaining_fen=terms.value_fen - money.delivered_fen,
        ),
        can_amend=may(principal, "contract.amend") and in_area,
        can_settle=may(principal, "settlement.compute"),
    )


# --- writing ---------------------------------------------------------------------------------


async def _check_parties(body: ContractIn) -> None:
    problems = []
    buyer = await Organisation.select(Organisation.kind).where(Organisation.id == body.buyer_id).first()
    if buyer is None or buyer["kind"] != OrganisationKind.bureau:
        problems.append(FieldError(field="buyer_id", code="contract.buyer_invalid", message="采购方须为民政部门"))
    supplier = await Organisation.select(Organisation.kind).where(Organisation.id == body.supplier_id).first()
    wanted = SUPPLIER_KIND[body.kind]
    if supplier is None or supplier["kind"] != wanted:
        label = "服务机构" if wanted == OrganisationKind.provider else "供养机构"
        problems.append(
            FieldError(field="supplier_id", code="contract.supplier_invalid", message=f"此类合同的供应方须为{label}")
        )
    area = await Region.select(Region.level).where(Region.id == body.service_area_id).first()
    if area is None or area["level"] not in (RegionLevel.city, RegionLevel.county):
        problems.append(
            FieldError(field="service_area_id", code="contract.area_invalid", message="服务区域须为市或县（区）")
        )
    if problems:
        raise Problem(400, "contract.invalid", "合同信息有误，请检查标出的字段。", problems)


def _refuse_terms(problems: list[FieldError]) -> None:
    if problems:
        raise Problem(400, "contract.terms_invalid", "合同条款有误，请检查标出的字段。", problems)


async def create_contract(principal: Principal, body: ContractIn, actor: Actor) -> int:
    """Record a signed contract (city only, within the caller's region)."""
    require(principal, "contract.create")
    if body.date_signed > local_today():
        raise Problem(
            400,
            "contract.invalid",
            "合同签订日期不能晚于今天：请在签订后登记。",
            [FieldError(field="date_signed", code="range", message="不能晚于今天")],
        )
    area = await Region.select(Region.path).where(Region.id == body.service_area_id).first()
    if area is not None and not region_in_scope(principal, area["path"]):
        raise Problem(403, "permission.denied", "服务区域不在您的管辖范围内。")
    return await record_contract(body, principal, actor)


async def record_contract(body: ContractIn, author: Principal | None, actor: Actor) -> int:
    """A contract's identity and, as version 0, its original terms and coverage."""
    if body.coverage is not None and (body.coverage.remove_households or body.coverage.remove_residents):
        raise Problem(400, "contract.invalid", "新合同只能新增覆盖对象。")
    await _check_parties(body)
    change = Change(
        title=body.title,
        status=ContractStatus(body.status),
        period=body.period,
        items=body.items,
        coverage=body.coverage if body.coverage is not None and not body.coverage.is_empty() else UNSET,
    )
    # A contract signed after its service period began covers the period from its start.
    original = Version(seq=0, effective_on=min(body.date_signed, body.period.start_date), change=change)
    terms = state_on([original], original.effective_on)
    assert terms is not None
    _refuse_terms(terms_problems(terms, body.kind))
    async with atomic():
        if await Contract.exists().where(Contract.code == body.code):
            raise Problem(
                409,
                "contract.code_taken",
                f"合同编号 {body.code} 已被使用。",
                [FieldError(field="code", code="contract.code_taken", message="合同编号已存在")],
            )
        contract = Contract(
            code=body.code,
            kind=body.kind.value,
            buyer=body.buyer_id,
            supplier=body.supplier_id,
            service_area=body.service_area_id,
            date_signed=body.date_signed,
        )
        await contract.save()
        amendment_id = await _insert_version(contract.id, original, body.date_signed, body.rationale, author)
        if change.coverage is not UNSET:
            if is_postgres():
                await Contract.raw("SELECT pg_advisory_xact_lock({})", _COVERAGE_LOCK)
            area = await Region.select(Region.path).where(Region.id == body.service_area_id).first()
            facts = CoveringContract(
                id=contract.id, kind=body.kind, supplier_id=body.supplier_id, area_path=area["path"]
            )
            await _apply_coverage(facts, (original,), original, amendment_id)
        await record(
            actor,
            "contract.create",
            "contract",
            contract.id,
            after={"code": body.code, "value_fen": terms.value_fen, "change": change},
        )
    return contract.id


async def _insert_version(
    contract_id: int, version: Version, agreed_on: dt.date, rationale: str, principal: Principal | None
) -> int:
    row = await Amendment.insert(
        Amendment(
            key=f"{contract_id}:{version.seq}",
            contract=contract_id,
            seq=version.seq,
            agreed_on=agreed_on,
            effective_on=version.effective_on,
            rationale=rationale,
            changes=msgspec.json.encode(version.change).decode(),
            author=principal.account_id if principal else None,
            author_name=principal.display_name if principal else "系统（演示数据）",
        )
    ).returning(Amendment.id)
    return row[0]["id"]


class CoveringContract(msgspec.Struct, frozen=True, kw_only=True):
    """What a coverage change needs to know of its contract."""

    id: int
    kind: ContractKind
    supplier_id: int
    area_path: str  # the service area's region path: households must lie under it


def _check_amendment_dates(body: AmendmentIn, in_force_from: dt.date) -> None:
    problems = []
    if body.date > local_today():
        problems.append(FieldError(field="date", code="range", message="变更日期不能晚于今天"))
    if body.effective_on < in_force_from:
        problems.append(
            FieldError(field="effective_on", code="range", message=f"生效日期不能早于合同生效日期 {in_force_from}")
        )
    if problems:
        raise Problem(400, "amendment.invalid", "变更信息有误，请检查标出的字段。", problems)


def _check_amended_terms(versions: tuple[Version, ...], new: Version, kind: ContractKind) -> Terms:
    """The terms just before the change, after checking every state it leads to."""
    before = state_on(versions, new.effective_on)
    assert before is not None
    change = new.change
    if change.status is not UNSET and change.status not in TRANSITIONS[before.status]:
        raise Problem(
            409,
            "contract.status_transition",
            f"合同状态不能从“{STATUS_LABELS[before.status]}”改为“{STATUS_LABELS[change.status]}”。",
        )
    amended = (*versions, new)
    # A change dated before later amendments is checked against every state it leads to.
    for day in sorted({v.effective_on for v in amended if v.effective_on >= new.effective_on}):
        terms = state_on(amended, day)
        assert terms is not None
        _refuse_terms(terms_problems(terms, kind, prefix="changes."))
    return before


def _is_empty(change: Change) -> bool:
    terms_unchanged = all(getattr(change, name) is UNSET for name in ("title", "status", "period", "items"))
    return terms_unchanged and (change.coverage is UNSET or change.coverage.is_empty())


async def amend(principal: Principal, contract_id: int, body: AmendmentIn, actor: Actor) -> AmendmentOut:
    """Amend a contract in scope (city only)."""
    row = await visible_contract(principal, contract_id)
    require(principal, "contract.amend")
    if not region_in_scope(principal, row["service_area.path"]):
        raise Problem(403, "permission.denied", "该合同的服务区域不在您的管辖范围内。")
    return await record_amendment(row, body, principal, actor)


async def contract_row(contract_id: int) -> dict[str, Any]:
    """A contract as ``visible_contract`` returns it, without a caller (the demo builder)."""
    return await Contract.select(*_CONTRACT_COLUMNS).where(Contract.id == contract_id).first()


async def record_amendment(
    row: dict[str, Any], body: AmendmentIn, author: Principal | None, actor: Actor
) -> AmendmentOut:
    """Record one amendment: never an edit, always a new version with its date, rationale and author."""
    change = body.changes
    if _is_empty(change):
        raise Problem(400, "amendment.empty", "变更内容为空：请至少修改一项条款或覆盖对象。")
    contract_id = row["id"]
    kind = ContractKind(row["kind"])
    async with atomic():
        if is_postgres():
            await Contract.raw("SELECT pg_advisory_xact_lock({})", _COVERAGE_LOCK)
        versions = (await versions_of([contract_id]))[contract_id]
        _check_amendment_dates(body, min(v.effective_on for v in versions))
        new = Version(seq=max(v.seq for v in versions) + 1, effective_on=body.effective_on, change=change)
        before = _check_amended_terms(versions, new, kind)
        amendment_id = await _insert_version(contract_id, new, body.date, body.rationale, author)
        if change.coverage is not UNSET:
            facts = CoveringContract(
                id=contract_id, kind=kind, supplier_id=row["supplier"], area_path=row["service_area.path"]
            )
            await _apply_coverage(facts, (*versions, new), new, amendment_id)
        after = state_on((*versions, new), body.effective_on)
        assert after is not None
        await record(
            actor,
            "contract.amend",
            "contract",
            contract_id,
            before={"value_fen": before.value_fen, "status": before.status},
            after={"value_fen": after.value_fen, "status": after.status, "seq": new.seq, "change": change},
            detail={"effective_on": body.effective_on, "rationale": body.rationale},
        )
    history = await amendments_out(contract_id, (*versions, new), local_today())
    return next(a for a in history if a.seq == new.seq)


# --- coverage --------------------------------------------------------------------------------


def _listed(ids: list[int]) -> str:
    shown = "、".join(str(i) for i in ids[:10])
    return shown + (f" 等 {len(ids)} 个" if len(ids) > 10 else "")


async def _apply_coverage(
    facts: CoveringContract, versions: tuple[Version, ...], version: Version, amendment_id: int
) -> None:
    """Make the coverage rows say what the amendment says: removals end the day before it takes
    effect; additions start when it takes effect (or when the service period starts, if later)."""
    change = version.change.coverage
    assert change is not UNSET
    if facts.kind == ContractKind.home_care and (change.add_residents or change.remove_residents):
        raise Problem(400, "coverage.wrong_subject", "居家照料服务合同只能覆盖分散供养户。")
    if facts.kind == ContractKind.centralised_care and (change.add_households or change.remove_households):
        raise Problem(400, "coverage.wrong_subject", "集中供养服务合同只能覆盖住院（集中供养）人员。")
    terms = final_terms(versions)
    assert terms is not None
    starts_on = max(version.effective_on, terms.period.start_date)
    for column, ids in (("household", change.remove_households), ("resident", change.remove_residents)):
        if ids:
            await _end_coverage(facts.id, column, ids, version.effective_on, amendment_id)
    for column, ids in (("household", change.add_households), ("resident", change.add_residents)):
        if ids:
            await _check_subjects(facts, column, ids)
            await _check_no_overlap(column, ids, starts_on, terms.period.end_date)
            await _insert(
                [
                    Coverage(contract=facts.id, starts_on=starts_on, added_by=amendment_id, **{column: subject})
                    for subject in dict.fromkeys(ids)
                ]
            )


async def _insert(rows: list[Coverage], chunk: int = 400) -> None:
    for start in range(0, len(rows), chunk):
        await Coverage.insert(*rows[start : start + chunk])


async def _check_subjects(facts: CoveringContract, column: str, ids: list[int]) -> None:
    if column == "household":
        rows = await Household.select(Household.id).where(
            Household.id.is_in(ids) & Household.village._.path.like(facts.area_path + "%")
        )
        field, what = "changes.coverage.add_households", "户不存在或不在合同服务区域内"
    else:
        rows = await Resident.select(Resident.id).where(
            Resident.id.is_in(ids) & (Resident.facility == facts.supplier_id)
        )
        field, what = "changes.coverage.add_residents", "住院记录不存在或不在本供养机构"
    missing = sorted(set(ids) - {r["id"] for r in rows})
    if missing:
        raise Problem(
            400,
            "coverage.subject_invalid",
            f"以下{what}：{_listed(missing)}",
            [FieldError(field=field, code="coverage.subject_invalid", message=what)],
        )


async def _check_no_overlap(column: str, ids: list[int], starts_on: dt.date, ends_on: dt.date) -> None:
    """One household (or stay) is covered by at most one contract on any day: that is what makes
    "which contract pays for this visit" a question with one answer."""
    subject = getattr(Coverage, column)
    rows = await Coverage.select(
        subject, Coverage.contract, Coverage.contract._.code, Coverage.starts_on, Coverage.ends_on
    ).where(subject.is_in(ids) & (Coverage.starts_on <= ends_on))
    if not rows:
        return
    periods = await versions_of({r["contract"] for r in rows})
    for r in rows:
        other = final_terms(periods[r["contract"]])
        other_end = other.period.end_date if other else r["starts_on"]
        end = min(r["ends_on"] or dt.date.max, other_end)
        if end >= starts_on and r["starts_on"] <= end:
            who = "户" if column == "household" else "住院人员"
            raise Problem(
                409,
                "coverage.overlap",
                f"{who} {r[column]} 在 {max(starts_on, r['starts_on'])} 已由合同 {r['contract.code']} 覆盖；"
                "请先在原合同中终止覆盖（变更生效日前一天为最后覆盖日）。",
            )


async def _end_coverage(
    contract_id: int, column: str, ids: list[int], effective_on: dt.date, amendment_id: int
) -> None:
    subject = getattr(Coverage, column)
    open_rows = await _locked(
        Coverage.select(Coverage.id, subject, Coverage.starts_on).where(
            (Coverage.contract == contract_id)
            & subject.is_in(ids)
            & (Coverage.ends_on.is_null() | (Coverage.ends_on >= effective_on))
        )
    )
    missing = sorted(set(ids) - {r[column] for r in open_rows})
    if missing:
        field = f"changes.coverage.remove_{column}s"
        raise Problem(
            400,
            "coverage.not_covered",
            f"以下对象在生效日不在本合同覆盖范围内：{_listed(missing)}",
            [FieldError(field=field, code="coverage.not_covered", message="不在本合同覆盖范围内")],
        )
    last_day = effective_on - dt.timedelta(days=1)
    for r in open_rows:
        # A row that had not started yet ends before it starts: it never took effect, and says so.
        await Coverage.update({Coverage.ends_on: last_day, Coverage.ended_by: amendment_id}).where(
            Coverage.id == r["id"]
        )


# --- documents -------------------------------------------------------------------------------

MAX_DOCUMENT_BYTES = 15 * 1024 * 1024
_SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
]


def _sniff(content: bytes) -> tuple[str, str] | None:
    for magic, media_type, ext in _SIGNATURES:
        if content.startswith(magic):
            return media_type, ext
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


async def add_document(
    principal: Principal,
    contract_id: int,
    *,
    content: bytes,
    filename: str,
    title: str,
    document_type: DocumentType,
    amendment_id: int | None,
    actor: Actor,
) -> DocumentOut:
    """Keep a scanned contract, annex or amendment: the bytes as uploaded, by key, never served inline."""
    await visible_contract(principal, contract_id)
    require(principal, "contract.document")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise Problem(413, "document.too_large", "文件超过 15 MB，请压缩扫描件后再上传。")
    sniffed = _sniff(content)
    if sniffed is None:
        raise Problem(415, "document.unsupported", "只接受 PDF、JPEG、PNG 或 WebP 格式的扫描件。")
    media_type, ext = sniffed
    title = title.strip() or filename or "合同文件"
    if not 1 <= len(title) <= 200:
        raise Problem(400, "document.invalid", "文件标题长度应为 1–200 个字。")
    if amendment_id is not None and not await Amendment.exists().where(
        (Amendment.id == amendment_id) & (Amendment.contract == contract_id)
    ):
        raise Problem(400, "document.invalid", "所选变更记录不属于本合同。")
    document_id = uuid.uuid4()
    key = f"contracts/{contract_id}/{document_id}.{ext}"
    # The file first: if the row then fails to commit, an unreferenced file is all that is left.
    storage.put(key, content)
    async with atomic():
        await ContractDocument.insert(
            ContractDocument(
                id=document_id,
                contract=contract_id,
                amendment=amendment_id,
                document_type=document_type.value,
                title=title,
                filename=filename[:200],
                media_type=media_type,
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                storage_key=key,
                uploaded_by=principal.account_id,
            )
        )
        await record(
            actor,
            "contract.document",
            "contract",
            contract_id,
            after={"document": str(document_id), "title": title, "type": document_type.value, "bytes": len(content)},
        )
    row = await ContractDocument.select().where(ContractDocument.id == document_id).first()
    return _document_out(row)


async def document_file(principal: Principal, contract_id: int, document_id: uuid.UUID) -> tuple[bytes, str, str]:
    await visible_contract(principal, contract_id)
    row = (
        await ContractDocument.select(
            ContractDocument.storage_key, ContractDocument.media_type, ContractDocument.filename
        )
        .where((ContractDocument.id == document_id) & (ContractDocument.contract == contract_id))
        .first()
    )
    if row is None or not storage.exists(row["storage_key"]):
        raise not_found("document", "合同文件")
    return storage.get(row["storage_key"]), row["media_type"], row["filename"] or f"{document_id}"
