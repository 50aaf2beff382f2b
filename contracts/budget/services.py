"""The programme's money per contract, county and year: committed, delivered, paid."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from carepact.accounts.access import Principal
from contracts.budget.schemas import Budget, BudgetRow
from contracts.procurement.services import MoneySoFar, money_so_far, versions_of
from contracts.procurement.terms import state_on
from contracts.scope import visible_contracts
from contracts.tables import Contract, ContractStatus

CITY_WIDE = ("city", "市本级（全市性合同）")


def _row(key: str, label: str, parts: list[tuple[int, MoneySoFar]]) -> BudgetRow:
    committed = sum(value for value, _ in parts)
    delivered = sum(m.delivered_fen for _, m in parts)
    return BudgetRow(
        key=key,
        label=label,
        contracts=len(parts),
        committed_fen=committed,
        delivered_fen=delivered,
        paid_fen=sum(m.paid_fen for _, m in parts),
        awaiting_confirmation_fen=sum(m.awaiting_confirmation_fen for _, m in parts),
        remaining_fen=committed - delivered,
    )


async def budget(principal: Principal, year: int, group: Literal["contract", "county"], as_of: dt.date) -> Budget:
    """Contracts of a budget year (their service period starts in it) as their terms stood on
    ``as_of``; cancelled contracts commit nothing. Delivered and paid come from statements."""
    rows = (
        await Contract.select(
            Contract.id,
            Contract.code,
            Contract.service_area._.code,
            Contract.service_area._.name,
            Contract.service_area._.level,
        )
        .where(visible_contracts(principal))
        .order_by(Contract.code)
    )
    versions = await versions_of(r["id"] for r in rows)
    chosen = []
    for r in rows:
        terms = state_on(versions[r["id"]], as_of)
        if terms is None or terms.status == ContractStatus.cancelled or terms.period.start_date.year != year:
            continue
        chosen.append((r, terms))
    money = await money_so_far([r["id"] for r, _ in chosen])
    groups: dict[str, tuple[str, list[tuple[int, MoneySoFar]]]] = {}
    for r, terms in chosen:
        if group == "contract":
            key, label = r["code"], terms.title
        elif r["service_area.level"] == "county":
            key, label = r["service_area.code"], r["service_area.name"]
        else:
            key, label = CITY_WIDE
        groups.setdefault(key, (label, []))[1].append((terms.value_fen, money[r["id"]]))
    everything = [part for _, parts in groups.values() for part in parts]
    return Budget(
        year=year,
        as_of=as_of,
        group=group,
        currency="CNY",
        rows=[_row(key, label, parts) for key, (label, parts) in sorted(groups.items())],
        total=_row("total", "合计", everything),
    )
