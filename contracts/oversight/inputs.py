"""What the oversight queries are given besides the scope: the months, each home-care contract's days
in service, and the agreement's numbers (weekly visit days, longest gap) of every template version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from carepact.dates import local_today
from contracts.agreement.rules import LongestGap, VisitsPerWeek
from contracts.agreement.services import templates_by_id
from contracts.oversight.queries import Limit, Period, Scope
from contracts.procurement.services import versions_of
from contracts.procurement.terms import Version, state_on
from contracts.tables import AgreementTemplate, Contract, ContractKind

TREND_MONTHS = 12
NO_GAP_RULE = 10_000  # a template without a longest-gap clause: no visit day is late


def month_key(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def window(month: dt.date, length: int = TREND_MONTHS) -> list[dt.date]:
    """The ``length`` months ending with ``month``, oldest first."""
    months = [month]
    while len(months) < length:
        months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
    return months


def service_runs(versions: tuple[Version, ...], first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Stretches of days in [first, last] on which the contract was in service (active, in its
    period): terms change only on an amendment's effective day, so each stretch between two such
    days is judged once."""
    cuts = sorted({first} | {v.effective_on for v in versions if first < v.effective_on <= last})
    runs: list[tuple[dt.date, dt.date]] = []
    for n, start in enumerate(cuts):
        stop = cuts[n + 1] - dt.timedelta(days=1) if n + 1 < len(cuts) else last
        terms = state_on(versions, start)
        if terms is None:
            continue
        begin, end = max(start, terms.period.start_date), min(stop, terms.period.end_date)
        if begin > end or not terms.in_service(begin):  # the terms hold all stretch long: one day tells
            continue
        if runs and runs[-1][1] + dt.timedelta(days=1) == begin:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((begin, end))
    return runs


async def home_care_contracts(scope: Scope) -> dict[int, int]:
    """Home-care contracts (of the scope's provider, if any) → their supplier."""
    where = Contract.kind == ContractKind.home_care.value
    if scope.organisation_id is not None:
        where &= Contract.supplier == scope.organisation_id
    return {r["id"]: r["supplier"] for r in await Contract.select(Contract.id, Contract.supplier).where(where)}


async def periods(months: list[dt.date], contract_ids: Iterable[int]) -> list[Period]:
    """Each home-care contract's judged days of each month: in service and gone by (to yesterday)."""
    yesterday = local_today() - dt.timedelta(days=1)
    versions = await versions_of(contract_ids)
    found = []
    for contract_id, history in versions.items():
        for month in months:
            last = min(month_end(month), yesterday)
            if last < month:
                continue
            for begin, end in service_runs(history, month, last):
                found.append(Period(contract_id=contract_id, month=month_key(month), first_day=begin, last_day=end))
    return found


async def limits() -> list[Limit]:
    """Every published template version's weekly visit days and longest gap, by self-care level."""
    ids = {r["id"] for r in await AgreementTemplate.select(AgreementTemplate.id)}
    found = []
    for template_id, template in (await templates_by_id(ids)).items():
        weekly, gap = template.clause(VisitsPerWeek), template.clause(LongestGap)
        for level in ("able", "partly_unable", "unable"):
            found.append(
                Limit(
                    template_id=template_id,
                    care_level=level,
                    per_week=weekly.per_week.of(level) if weekly else 0,
                    max_days=gap.max_days.of(level) if gap else NO_GAP_RULE,
                )
            )
    return found
