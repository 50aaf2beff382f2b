"""A household's month, day by day: required, visited, missed, sick — from the engine's own rules."""

from __future__ import annotations

import datetime as dt
import uuid

from carepact.accounts.access import Principal, visible_households
from carepact.errors import not_found
from carepact.registry.tables import Household
from contracts.agreement.engine import DayMark, Period, day_marks
from contracts.agreement.evaluation import Scope, load, month_span
from contracts.agreement.schemas import DAY_STATUS_LABELS, CalendarDay, CalendarOut, DayStatus
from contracts.agreement.services import AGREEMENT_COLUMNS, agreement_summary
from contracts.findings.services import SUMMARY_COLUMNS, summaries
from contracts.scope import visible_findings
from contracts.tables import Agreement, Finding, SickKind


def _status(mark: DayMark) -> DayStatus:
    if not mark.in_agreement:
        return "outside"
    if not mark.over:
        return "future"
    if mark.missed:
        return "missed"
    if mark.visits:
        return "visited"
    if mark.sick == SickKind.hospitalised:
        return "hospitalised"
    if mark.sick == SickKind.ill_at_home:
        return "sick"
    if mark.week_short:
        return "week_short"
    return "ordinary"


async def calendar(
    principal: Principal, household_id: int, month: dt.date, as_of: dt.datetime | None = None
) -> CalendarOut:
    household = (
        await Household.select(Household.id, Household.code)
        .where((Household.id == household_id) & visible_households(principal))
        .first()
    )
    if household is None:
        raise not_found("household", "户")
    span = month_span(month, month)
    as_of = as_of or dt.datetime.now(dt.UTC)
    rows = (
        await Agreement.select(*AGREEMENT_COLUMNS)
        .where(
            (Agreement.household == household_id)
            & (Agreement.starts_on <= span.last)
            & (Agreement.ends_on.is_null() | (Agreement.ends_on >= span.first))
        )
        .order_by(Agreement.starts_on)
    )
    marks: dict[dt.date, DayMark] = {}
    if rows:
        # The week that ends after the month's last day is judged with the month's days too.
        inputs = await load(
            Scope(household_ids=(household_id,)),
            Period(first=span.first, last=span.last + dt.timedelta(days=6)),
        )
        for a in inputs.agreements:
            for mark in day_marks(
                a.facts,
                inputs.templates[a.template_id],
                span.first,
                as_of,
                inputs.visits.get(household_id, ()),
                inputs.episodes.get(household_id, ()),
                inputs.bought.get(household_id, {}),
            ):
                if mark.in_agreement or mark.day not in marks:
                    marks[mark.day] = mark
    days = []
    day = span.first
    while day <= span.last:
        mark = marks.get(day) or DayMark(
            day=day,
            in_agreement=False,
            over=False,
            visits=[],
            sick=None,
            required=False,
            missed=False,
            week_short=False,
        )
        status = _status(mark)
        days.append(
            CalendarDay(
                date=day,
                status=status,
                status_label=DAY_STATUS_LABELS[status],
                in_agreement=mark.in_agreement,
                required=mark.required,
                visited=bool(mark.visits),
                visit_ids=[uuid.UUID(v) for v in mark.visits],
                missed=mark.missed,
                week_short=mark.week_short,
                sick=mark.sick,
            )
        )
        day += dt.timedelta(days=1)
    findings = (
        await Finding.select(*SUMMARY_COLUMNS)
        .where((Finding.household == household_id) & (Finding.month == span.first) & visible_findings(principal))
        .order_by(Finding.period_end)
        .order_by(Finding.id)
    )
    current = next((r for r in reversed(rows) if r["superseded_by"] is None), rows[-1] if rows else None)
    return CalendarOut(
        household_id=household_id,
        household_code=household["code"],
        month=f"{span.first:%Y-%m}",
        agreement=agreement_summary(current) if current else None,
        days=days,
        findings=await summaries(findings),
    )
