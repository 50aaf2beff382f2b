"""Monthly settlement: compute a draft from delivered service, confirm it, pay it, adjust it.

States: draft → confirmed (county auditor or city) → paid (city). A draft is replaced when
recomputed; a confirmed statement is never written again: a correction is a new adjusting
statement holding the difference, which goes through the same states.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from msgspec import UNSET

from carepact.accounts.access import Principal, may, require
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.dates import SHANGHAI, local_today, month_start
from carepact.db import atomic, is_postgres
from carepact.errors import FieldError, Problem, not_found
from contracts.delivery import ContractFacts, MonthDelivery, month_delivery
from contracts.procurement.services import versions_of, visible_contract
from contracts.procurement.terms import final_terms
from contracts.scope import visible_contracts
from contracts.settlement.pricing import (
    AppliedDeduction,
    DeductionClaim,
    Delivered,
    Line,
    Priced,
    difference,
    price,
    seal,
)
from contracts.settlement.schemas import (
    STATUS_LABELS,
    AdjustIn,
    Basis,
    DeductionOut,
    LineOut,
    PayIn,
    StatementDetail,
    StatementPatch,
    StatementSummary,
)
from contracts.tables import Contract, ContractKind, Deduction, Statement, StatementLine, StatementStatus

# --- where deductions come from ----------------------------------------------------------------

DeductionSource = Callable[[int, dt.date], Awaitable[list[DeductionClaim]]]
_deduction_sources: list[DeductionSource] = []


def add_deduction_source(source: DeductionSource) -> None:
    """The composition root plugs in the agreement engine: ``source(contract_id, month)`` returns
    the upheld findings' claims on that month. Until one is added, statements deduct nothing.
    Adding the same source again changes nothing (the composition root may run more than once)."""
    if source not in _deduction_sources:
        _deduction_sources.append(source)


async def deduction_claims(contract_id: int, month: dt.date) -> list[DeductionClaim]:
    claims: list[DeductionClaim] = []
    for source in _deduction_sources:
        claims += await source(contract_id, month)
    return claims


# --- computing ---------------------------------------------------------------------------------


def first_of(month: str) -> dt.date:
    """The first day of a month written YYYY-MM (a 400 for anything else)."""
    return month_start(month)


def parse_month(text: str, field: str = "month") -> dt.date:
    """A month to settle: one that has begun."""
    month = first_of(text)
    if month > local_today().replace(day=1):
        raise Problem(
            400,
            "settlement.month_in_future",
            "不能结算尚未开始的月份。",
            [FieldError(field=field, code="range", message="月份不能晚于本月")],
        )
    return month


def month_label(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


async def contract_facts(contract_id: int) -> ContractFacts:
    row = await Contract.select(Contract.kind, Contract.supplier).where(Contract.id == contract_id).first()
    versions = (await versions_of([contract_id]))[contract_id]
    return ContractFacts(id=contract_id, kind=ContractKind(row["kind"]), supplier_id=row["supplier"], versions=versions)


def _basis(delivery: MonthDelivery) -> Basis:
    return Basis(
        covered=len(delivery.covered),
        served=len(delivery.served()),
        verified_visits=sum(delivery.visits.values()),
        excluded_visits=delivery.excluded_visits,
        bed_days=sum(delivery.bed_days.values()),
        service_days=delivery.service_days,
        unpriced_services={s.value: n for s, n in sorted(delivery.unpriced.items())},
    )


async def compute_month(contract_id: int, month: dt.date) -> tuple[Priced, Basis, MonthDelivery]:
    """What the contract owes for the month as the records stand now."""
    delivery = await month_delivery(await contract_facts(contract_id), month)
    delivered = [Delivered(service=s, unit_value_fen=v, quantity=q) for (s, v), q in delivery.delivered.items()]
    priced = price(delivered, await deduction_claims(contract_id, month))
    return priced, _basis(delivery), delivery


# --- storing -----------------------------------------------------------------------------------


async def _lock_contract(contract_id: int) -> None:
    # Orders every settlement write of one contract on PostgreSQL; SQLite's write lock already does.
    if is_postgres():
        await Contract.select(Contract.id).where(Contract.id == contract_id).lock_rows()


async def _write_numbers(statement_id: int, priced: Priced) -> None:
    await StatementLine.delete().where(StatementLine.statement == statement_id)
    await Deduction.delete().where(Deduction.statement == statement_id)
    if priced.lines:
        await StatementLine.insert(
            *[
                StatementLine(
                    statement=statement_id,
                    position=n + 1,
                    service=line.service.value,
                    unit=line.unit,
                    unit_value_fen=line.unit_value_fen,
                    quantity=line.quantity,
                    amount_fen=line.amount_fen,
                )
                for n, line in enumerate(priced.lines)
            ]
        )
    if priced.deductions:
        await Deduction.insert(
            *[
                Deduction(
                    statement=statement_id,
                    source=d.source,
                    reference=d.reference,
                    reason=d.reason[:300],
                    amount_fen=d.amount_fen,
                    applied_fen=d.applied_fen,
                )
                for d in priced.deductions
            ]
        )


async def stored_numbers(statement_id: int) -> Priced:
    """A statement's numbers as stored (for a confirmed one: as signed)."""
    row = (
        await Statement.select(Statement.gross_fen, Statement.deductions_fen, Statement.total_fen)
        .where(Statement.id == statement_id)
        .first()
    )
    lines = await StatementLine.select().where(StatementLine.statement == statement_id).order_by(StatementLine.position)
    deductions = await Deduction.select().where(Deduction.statement == statement_id).order_by(Deduction.id)
    return Priced(
        lines=tuple(
            Line(
                service=ServiceCode(r["service"]),
                unit=r["unit"],
                unit_value_fen=r["unit_value_fen"],
                quantity=r["quantity"],
                amount_fen=r["amount_fen"],
            )
            for r in lines
        ),
        deductions=tuple(
            AppliedDeduction(
                source=r["source"],
                reference=r["reference"],
                reason=r["reason"],
                amount_fen=r["amount_fen"],
                applied_fen=r["applied_fen"],
            )
            for r in deductions
        ),
        gross_fen=row["gross_fen"],
        deductions_fen=row["deductions_fen"],
        total_fen=row["total_fen"],
    )


def _totals(priced: Priced, basis: Basis, actor_name: str) -> dict[Any, Any]:
    return {
        Statement.gross_fen: priced.gross_fen,
        Statement.deductions_fen: priced.deductions_fen,
        Statement.total_fen: priced.total_fen,
        Statement.basis: msgspec.json.encode(basis).decode(),
        Statement.computed_at: dt.datetime.now(dt.UTC),
        Statement.computed_by_name: actor_name,
    }


async def _create(
    contract_id: int,
    contract_code: str,
    month: dt.date,
    sequence: int,
    priced: Priced,
    basis: Basis,
    actor_name: str,
    *,
    adjusts: int | None = None,
    rationale: str = "",
) -> int:
    code = f"{contract_code}-{month:%Y%m}" + (f"-A{sequence}" if sequence else "")
    row = await Statement.insert(
        Statement(
            key=f"{contract_id}:{month:%Y-%m}:{sequence}",
            code=code,
            contract=contract_id,
            month=month,
            sequence=sequence,
            adjusts=adjusts,
            rationale=rationale,
        )
    ).returning(Statement.id)
    statement_id = row[0]["id"]
    await Statement.update(_totals(priced, basis, actor_name)).where(Statement.id == statement_id)
    await _write_numbers(statement_id, priced)
    return statement_id


async def _replace_draft(statement_id: int, priced: Priced, basis: Basis, actor_name: str) -> None:
    await Statement.update({**_totals(priced, basis, actor_name), Statement.revision: Statement.revision + 1}).where(
        Statement.id == statement_id
    )
    await _write_numbers(statement_id, priced)


def locked(row: dict[str, Any]) -> Problem:
    when = row["confirmed_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if row["confirmed_at"] else ""
    return Problem(
        409,
        "settlement.locked",
        f"结算单 {row['code']} 已于 {when} 确认，不能再修改或重新核算；如需更正，请生成调整结算单。",
    )


async def _chain(contract_id: int, month: dt.date) -> list[dict[str, Any]]:
    return (
        await Statement.select()
        .where((Statement.contract == contract_id) & (Statement.month == month))
        .order_by(Statement.sequence)
    )


def _actor_name(principal: Principal | None) -> str:
    return principal.display_name if principal else SYSTEM_SIGNER.name


class Signer(msgspec.Struct, frozen=True, kw_only=True):
    """Who signs a confirmation or a payment: an account, or the system (demo data)."""

    account_id: int | None
    name: str


SYSTEM_SIGNER = Signer(account_id=None, name="系统（演示数据）")


def signer_of(principal: Principal) -> Signer:
    return Signer(account_id=principal.account_id, name=principal.display_name)


async def compute_statement(
    principal: Principal | None, contract_id: int, month: dt.date, actor: Actor
) -> tuple[int, bool]:
    """Compute the month's original statement as a draft, or recompute its draft.

    Refused once the original is confirmed (corrections are adjusting statements), for months the
    contract was never in service, and for months not begun. Returns (statement id, created).
    """
    async with atomic():
        await _lock_contract(contract_id)
        contract = await Contract.select(Contract.code).where(Contract.id == contract_id).first()
        chain = await _chain(contract_id, month)
        original = chain[0] if chain else None
        if original is not None and original["status"] != StatementStatus.draft:
            raise locked(original)
        priced, basis, delivery = await compute_month(contract_id, month)
        if original is None and delivery.service_days == 0:
            raise Problem(409, "settlement.not_in_service", f"合同在{month_label(month)}不在履行期内，无需结算。")
        if original is None:
            statement_id = await _create(contract_id, contract["code"], month, 0, priced, basis, _actor_name(principal))
        else:
            statement_id = original["id"]
            await _replace_draft(statement_id, priced, basis, _actor_name(principal))
        await record(
            actor,
            "settlement.compute",
            "statement",
            statement_id,
            after={"month": f"{month:%Y-%m}", "total_fen": priced.total_fen, "lines": len(priced.lines)},
        )
    return statement_id, original is None


async def visible_statement(principal: Principal, statement_id: int) -> dict[str, Any]:
    row = (
        await Statement.select(*Statement.all_columns(), Statement.contract._.code)
        .where(
            (Statement.id == statement_id)
            & Statement.contract.is_in(Contract.select(Contract.id).where(visible_contracts(principal)))
        )
        .first()
    )
    if row is None:
        raise not_found("statement", "结算单")
    return row


async def recompute(principal: Principal, statement_id: int, actor: Actor) -> int:
    """Recompute a draft (the original or an adjustment) from the records as they stand now."""
    row = await visible_statement(principal, statement_id)
    require(principal, "settlement.compute")
    if row["status"] != StatementStatus.draft:
        raise locked(row)
    if row["sequence"] == 0:
        statement_id, _ = await compute_statement(principal, row["contract"], row["month"], actor)
        return statement_id
    return await _compute_adjustment(principal, row, None, actor)


async def confirm(principal: Principal, statement_id: int, revision: int, actor: Actor) -> None:
    row = await visible_statement(principal, statement_id)
    require(principal, "settlement.confirm")
    await confirm_as(signer_of(principal), row["contract"], statement_id, revision, actor)


async def confirm_as(
    signer: Signer, contract_id: int, statement_id: int, revision: int, actor: Actor, at: dt.datetime | None = None
) -> None:
    """Sign off the numbers as they are: from here on they never change. (``at`` is for the
    demo's synthetic history; a person confirms now.)"""
    async with atomic():
        await _lock_contract(contract_id)
        row = await Statement.select().where(Statement.id == statement_id).first()
        if row["status"] != StatementStatus.draft:
            raise locked(row)
        if row["revision"] != revision:
            raise Problem(
                409,
                "settlement.stale",
                f"结算单已重新核算（现为第 {row['revision']} 版），请核对最新数字后再确认。",
            )
        digest = seal(await stored_numbers(statement_id), statement_code=row["code"])
        await Statement.update(
            {
                Statement.status: StatementStatus.confirmed.value,
                Statement.confirmed_at: at or dt.datetime.now(dt.UTC),
                Statement.confirmed_by: signer.account_id,
                Statement.confirmed_by_name: signer.name,
                Statement.digest: digest,
            }
        ).where(Statement.id == statement_id)
        await record(
            actor,
            "settlement.confirm",
            "statement",
            statement_id,
            before={"status": row["status"]},
            after={"status": StatementStatus.confirmed.value, "total_fen": row["total_fen"], "digest": digest},
        )


async def pay(principal: Principal, statement_id: int, body: PayIn, actor: Actor) -> None:
    row = await visible_statement(principal, statement_id)
    require(principal, "settlement.pay")
    await pay_as(signer_of(principal), row["contract"], statement_id, body, actor)


async def pay_as(signer: Signer, contract_id: int, statement_id: int, body: PayIn, actor: Actor) -> None:
    """Record that the bureau paid a confirmed statement (the date and the voucher number)."""
    async with atomic():
        await _lock_contract(contract_id)
        row = await Statement.select().where(Statement.id == statement_id).first()
        if row["status"] == StatementStatus.draft:
            raise Problem(409, "settlement.not_confirmed", "结算单尚未确认，确认后才能登记支付。")
        if row["status"] == StatementStatus.paid:
            raise Problem(409, "settlement.already_paid", f"结算单已于 {row['paid_on']} 登记支付，不能重复登记。")
        confirmed_on = row["confirmed_at"].astimezone(SHANGHAI).date()
        if not confirmed_on <= body.paid_on <= local_today():
            raise Problem(
                400,
                "settlement.paid_on_invalid",
                "支付日期应在确认日期之后、且不晚于今天。",
                [FieldError(field="paid_on", code="range", message=f"应在 {confirmed_on} 至今天之间")],
            )
        await Statement.update(
            {
                Statement.status: StatementStatus.paid.value,
                Statement.paid_on: body.paid_on,
                Statement.payment_reference: body.payment_reference,
                Statement.paid_at: dt.datetime.now(dt.UTC),
                Statement.paid_by_name: signer.name,
            }
        ).where(Statement.id == statement_id)
        await record(
            actor,
            "settlement.pay",
            "statement",
            statement_id,
            before={"status": row["status"]},
            after={"status": "paid", "paid_on": body.paid_on, "reference": body.payment_reference},
        )


async def adjust(principal: Principal, statement_id: int, body: AdjustIn, actor: Actor) -> tuple[int, bool]:
    """Start (or recompute) the adjusting statement of a confirmed month: what is owed now minus
    what the confirmed statements of the month already settled."""
    row = await visible_statement(principal, statement_id)
    require(principal, "settlement.adjust")
    pending = (
        await Statement.select(Statement.id)
        .where(
            (Statement.contract == row["contract"])
            & (Statement.month == row["month"])
            & (Statement.sequence > 0)
            & (Statement.status == StatementStatus.draft.value)
        )
        .first()
    )
    adjusted_id = await _compute_adjustment(principal, row, body.rationale, actor)
    return adjusted_id, pending is None


async def _compute_adjustment(
    principal: Principal | None, row: dict[str, Any], rationale: str | None, actor: Actor
) -> int:
    async with atomic():
        await _lock_contract(row["contract"])
        chain = await _chain(row["contract"], row["month"])
        if chain[0]["status"] == StatementStatus.draft:
            raise Problem(409, "settlement.not_confirmed", "原结算单尚未确认：请直接重新核算，不需要调整结算单。")
        settled = [await stored_numbers(s["id"]) for s in chain if s["status"] != StatementStatus.draft]
        draft = next((s for s in chain if s["status"] == StatementStatus.draft), None)
        current, basis, _ = await compute_month(row["contract"], row["month"])
        delta = difference(current, settled)
        # A pending adjustment whose difference has gone away is recomputed to nothing, not refused.
        if delta.is_empty() and draft is None:
            raise Problem(
                409,
                "settlement.nothing_to_adjust",
                f"按现有记录重新核算{month_label(row['month'])}的结果与已确认结算单一致，无需调整。",
            )
        if draft is None:
            contract = await Contract.select(Contract.code).where(Contract.id == row["contract"]).first()
            statement_id = await _create(
                row["contract"],
                contract["code"],
                row["month"],
                chain[-1]["sequence"] + 1,
                delta,
                basis,
                _actor_name(principal),
                adjusts=chain[0]["id"],
                rationale=rationale or "",
            )
        else:
            statement_id = draft["id"]
            await _replace_draft(statement_id, delta, basis, _actor_name(principal))
            if rationale:
                await Statement.update({Statement.rationale: rationale}).where(Statement.id == statement_id)
        await record(
            actor,
            "settlement.adjust",
            "statement",
            statement_id,
            after={"adjusts": chain[0]["id"], "total_fen": delta.total_fen, "rationale": rationale},
        )
    return statement_id


async def update_note(principal: Principal, statement_id: int, patch: StatementPatch, actor: Actor) -> None:
    row = await visible_statement(principal, statement_id)
    require(principal, "settlement.compute")
    async with atomic():
        await _lock_contract(row["contract"])
        row = await Statement.select().where(Statement.id == statement_id).first()
        if row["status"] != StatementStatus.draft:
            raise locked(row)
        if patch.note is not UNSET:
            await Statement.update({Statement.note: patch.note}).where(Statement.id == statement_id)
            await record(
                actor,
                "settlement.note",
                "statement",
                statement_id,
                before={"note": row["note"]},
                after={"note": patch.note},
            )


# --- reading -----------------------------------------------------------------------------------

_SUMMARY_COLUMNS = (
    Statement.id,
    Statement.code,
    Statement.contract,
    Statement.contract._.code,
    Statement.contract._.currency,
    Statement.contract._.supplier._.name,
    Statement.month,
    Statement.sequence,
    Statement.status,
    Statement.gross_fen,
    Statement.deductions_fen,
    Statement.total_fen,
    Statement.computed_at,
    Statement.confirmed_at,
    Statement.paid_on,
)


async def _titles(contract_ids: set[int]) -> dict[int, str]:
    versions = await versions_of(contract_ids)
    return {i: (t.title if (t := final_terms(v)) else "") for i, v in versions.items()}


def _summary(r: dict[str, Any], titles: dict[int, str]) -> dict[str, Any]:
    status = StatementStatus(r["status"])
    return {
        "id": r["id"],
        "code": r["code"],
        "contract_id": r["contract"],
        "contract_code": r["contract.code"],
        "contract_title": titles.get(r["contract"], ""),
        "supplier_name": r["contract.supplier.name"],
        "month": f"{r['month']:%Y-%m}",
        "month_label": month_label(r["month"]),
        "sequence": r["sequence"],
        "kind": "adjustment" if r["sequence"] else "original",
        "kind_label": f"调整结算单（第 {r['sequence']} 次）" if r["sequence"] else "月度结算单",
        "status": status,
        "status_label": STATUS_LABELS[status],
        "gross_fen": r["gross_fen"],
        "deductions_fen": r["deductions_fen"],
        "total_fen": r["total_fen"],
        "currency": r["contract.currency"],
        "computed_at": r["computed_at"],
        "confirmed_at": r["confirmed_at"],
        "paid_on": r["paid_on"],
    }


async def list_statements(
    principal: Principal,
    paging: PageRequest,
    *,
    contract_id: int | None = None,
    month: dt.date | None = None,
    status: StatementStatus | None = None,
) -> Page[StatementSummary]:
    where = Statement.contract.is_in(Contract.select(Contract.id).where(visible_contracts(principal)))
    if contract_id is not None:
        where &= Statement.contract == contract_id
    if month is not None:
        where &= Statement.month == month
    if status is not None:
        where &= Statement.status == status.value
    total = await Statement.count().where(where)
    rows = (
        await Statement.select(*_SUMMARY_COLUMNS)
        .where(where)
        .order_by(Statement.month, ascending=False)
        .order_by(Statement.contract._.code)
        .order_by(Statement.sequence)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    titles = await _titles({r["contract"] for r in rows})
    return Page(
        items=[StatementSummary(**_summary(r, titles)) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


async def get_statement(principal: Principal, statement_id: int) -> StatementDetail:
    await visible_statement(principal, statement_id)
    row = (
        await Statement.select(*Statement.all_columns(), *_SUMMARY_COLUMNS[3:6])
        .where(Statement.id == statement_id)
        .first()
    )
    titles = await _titles({row["contract"]})
    numbers = await stored_numbers(statement_id)
    status = StatementStatus(row["status"])
    chain = (
        await Statement.select(*_SUMMARY_COLUMNS)
        .where((Statement.contract == row["contract"]) & (Statement.month == row["month"]))
        .order_by(Statement.sequence)
    )
    month_over = row["month"] < local_today().replace(day=1)
    has_draft = any(c["status"] == StatementStatus.draft for c in chain)
    return StatementDetail(
        **_summary(row, titles),
        revision=row["revision"],
        adjusts_id=row["adjusts"],
        lines=[
            LineOut(
                service=line.service,
                description=CATALOGUE[line.service].label,
                unit=line.unit,
                unit_value_fen=line.unit_value_fen,
                quantity=line.quantity,
                amount_fen=line.amount_fen,
            )
            for line in numbers.lines
        ],
        deductions=[DeductionOut(**msgspec.structs.asdict(d)) for d in numbers.deductions],
        basis=msgspec.json.decode(row["basis"], type=Basis),
        rationale=row["rationale"],
        note=row["note"],
        computed_by_name=row["computed_by_name"],
        confirmed_by_name=row["confirmed_by_name"],
        paid_by_name=row["paid_by_name"],
        paid_at=row["paid_at"],
        payment_reference=row["payment_reference"],
        digest=row["digest"],
        seal_intact=None
        if status == StatementStatus.draft
        else seal(numbers, statement_code=row["code"]) == row["digest"],
        month_complete=month_over,
        chain=[StatementSummary(**_summary(c, titles)) for c in chain],
        settled_total_fen=sum(c["total_fen"] for c in chain if c["status"] != StatementStatus.draft),
        print_url=f"/api/statements/{statement_id}/print",
        csv_url=f"/api/statements/{statement_id}/export.csv",
        can_recompute=status == StatementStatus.draft and may(principal, "settlement.compute"),
        can_confirm=status == StatementStatus.draft and may(principal, "settlement.confirm"),
        can_pay=status == StatementStatus.confirmed and may(principal, "settlement.pay"),
        can_adjust=status != StatementStatus.draft and not has_draft and may(principal, "settlement.adjust"),
    )


async def may_settle(principal: Principal, contract_id: int) -> None:
    """Refuse (404, then 403) before any work if the caller may not settle this contract."""
    await visible_contract(principal, contract_id)
    require(principal, "settlement.compute")
