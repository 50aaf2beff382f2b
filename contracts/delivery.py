"""Delivered service: the one definition of a verified visit and of a bed-day, and what one
contract delivered in one month. Settlement prices it; coverage figures and the county audit
count it; all of them read it from here so they can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import msgspec
from piccolo.columns.combination import Where
from piccolo.query.methods.select import Select

from carepact.catalogue import ServiceCode
from carepact.dates import SHANGHAI, day_start, local_today
from contracts.procurement.terms import Terms, Version, state_on
from contracts.tables import ContractKind, Coverage

# A bed-day has one definition, the facility's own (admission day counts, discharge day not).
from providers.residents.services import present_on
from providers.tables import FlagSeverity, Presence, Review, Visit, VisitFlag, VisitService, VisitStatus

Subject = tuple[str, int]  # ("household", id) or ("resident", stay id)


def verified_visit() -> Where:
    """A visit that counts as delivered service, and so is paid:

    - it is completed (checked out, with the services performed);
    - its review is not ``rejected``;
    - presence was proven by a valid door-card scan (``qr``), or it was entered by hand with a
      reason code (``manual``) and approved by the provider's manager; a failed scan
      (``qr_failed``) does not count, whatever its review;
    - no trust flag of severity ``serious`` stands against it (forged or revoked card, a reused
      photo, impossible travel ...);
    - no correction replaces it (a correction is a new record; the latest one counts).

    Which contract it is paid from is not here: that follows from coverage (household, date)
    and the contract's supplier being the visit's organisation (see ``month_delivery``).
    """
    serious = VisitFlag.select(VisitFlag.visit).where(
        (VisitFlag.severity == FlagSeverity.serious.value) & VisitFlag.visit.is_not_null()
    )
    # A locked visit later corrected counts once: as its latest correction, not as itself.
    superseded = Visit.select(Visit.corrects).where(Visit.corrects.is_not_null())
    return (
        (Visit.status == VisitStatus.completed.value)
        & (Visit.review != Review.rejected.value)
        & (
            (Visit.presence == Presence.qr.value)
            | ((Visit.presence == Presence.manual.value) & (Visit.review == Review.approved.value))
        )
        & Visit.id.not_in(serious)
        & Visit.id.not_in(superseded)
    )


def local_day(moment: dt.datetime) -> dt.date:
    """The calendar day in Baoji on which something happened (storage is UTC)."""
    return moment.astimezone(SHANGHAI).date()


def month_days(month: dt.date) -> list[dt.date]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return [first + dt.timedelta(days=n) for n in range((following - first).days)]


class VisitFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: Any
    household_id: int
    day: dt.date
    services: frozenset[ServiceCode]


async def verified_visits(
    supplier_id: int, households: Select | list[int], first: dt.date, last: dt.date
) -> list[VisitFacts]:
    """Verified visits made by the supplier's staff to these households between two local days."""
    where = (
        verified_visit()
        & (Visit.organisation == supplier_id)
        & Visit.household.is_in(households)
        & (Visit.checkin_at >= day_start(first))
        & (Visit.checkin_at < day_start(last + dt.timedelta(days=1)))
    )
    rows = await Visit.select(Visit.id, Visit.household, Visit.checkin_at).where(where)
    services: dict[Any, set[ServiceCode]] = defaultdict(set)
    for s in await VisitService.select(VisitService.visit, VisitService.service).where(
        VisitService.visit.is_in(Visit.select(Visit.id).where(where))
    ):
        services[s["visit"]].add(ServiceCode(s["service"]))
    return [
        VisitFacts(
            id=r["id"],
            household_id=r["household"],
            day=local_day(r["checkin_at"]),
            services=frozenset(services[r["id"]]),
        )
        for r in rows
    ]


async def completed_visit_count(supplier_id: int, households: Select, first: dt.date, last: dt.date) -> int:
    return await Visit.count().where(
        (Visit.status == VisitStatus.completed.value)
        & (Visit.organisation == supplier_id)
        & Visit.household.is_in(households)
        & (Visit.checkin_at >= day_start(first))
        & (Visit.checkin_at < day_start(last + dt.timedelta(days=1)))
    )


class ContractFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: ContractKind
    supplier_id: int
    versions: tuple[Version, ...]


class MonthDelivery(msgspec.Struct, kw_only=True):
    """What one contract delivered in one month, per covered household or stay.

    ``delivered`` counts units by (service, unit price in force that day): a verified visit is
    one unit of each distinct service type performed, priced by the item for that service in
    the terms in force on the visit's day; a bed-day is one unit of each per-bed-day item.
    """

    contract_id: int
    month: dt.date
    covered: dict[Subject, str]  # subject → region path (village of the household, facility's region)
    visits: Counter[Subject]
    bed_days: Counter[Subject]
    delivered: Counter[tuple[ServiceCode, int]]
    unpriced: Counter[ServiceCode]  # services performed that the contract does not buy
    excluded_visits: int  # completed visits to covered households that are not verified
    service_days: int  # days of the month the contract was in service (active, within its period)

    def served(self) -> set[Subject]:
        return {s for s in self.covered if self.visits[s] or self.bed_days[s]}


def _covered_days(intervals: list[tuple[dt.date, dt.date | None]], day: dt.date) -> bool:
    return any(start <= day and (end is None or day <= end) for start, end in intervals)


async def month_delivery(contract: ContractFacts, month: dt.date) -> MonthDelivery:
    days = month_days(month)
    first, last = days[0], days[-1]
    in_force: dict[dt.date, Terms] = {}
    today = local_today()
    for day in days:
        if day > today:
            break  # a day to come has delivered nothing yet (bed-days of a running month)
        terms = state_on(contract.versions, day)
        if terms is not None and terms.in_service(day):
            in_force[day] = terms
    rows = await Coverage.select(
        Coverage.household,
        Coverage.resident,
        Coverage.starts_on,
        Coverage.ends_on,
        Coverage.household._.village._.path,
        Coverage.resident._.facility._.region._.path,
        Coverage.resident._.admitted_on,
        Coverage.resident._.discharged_on,
    ).where(
        (Coverage.contract == contract.id)
        & (Coverage.starts_on <= last)
        & (Coverage.ends_on.is_null() | (Coverage.ends_on >= first))
    )
    intervals: dict[Subject, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
    region: dict[Subject, str] = {}
    stays: dict[Subject, tuple[dt.date, dt.date | None]] = {}
    for r in rows:
        if r["household"] is not None:
            subject: Subject = ("household", r["household"])
            region[subject] = r["household.village.path"]
        else:
            subject = ("resident", r["resident"])
            region[subject] = r["resident.facility.region.path"]
            stays[subject] = (r["resident.admitted_on"], r["resident.discharged_on"])
        intervals[subject].append((r["starts_on"], r["ends_on"]))
    result = MonthDelivery(
        contract_id=contract.id,
        month=first,
        covered={s: region[s] for s, spans in intervals.items() if any(_covered_days(spans, d) for d in in_force)},
        visits=Counter(),
        bed_days=Counter(),
        delivered=Counter(),
        unpriced=Counter(),
        excluded_visits=0,
        service_days=len(in_force),
    )
    if not in_force:
        return result
    if contract.kind == ContractKind.home_care:
        await _count_visits(contract, first, last, intervals, in_force, result)
    else:
        _count_bed_days(intervals, stays, in_force, result)
    return result


async def _count_visits(
    contract: ContractFacts,
    first: dt.date,
    last: dt.date,
    intervals: dict[Subject, list[tuple[dt.date, dt.date | None]]],
    in_force: dict[dt.date, Terms],
    result: MonthDelivery,
) -> None:
    households = Coverage.select(Coverage.household).where(
        (Coverage.contract == contract.id) & Coverage.household.is_not_null()
    )
    verified = await verified_visits(contract.supplier_id, households, first, last)
    counted = 0
    for visit in verified:
        subject: Subject = ("household", visit.household_id)
        terms = in_force.get(visit.day)
        # A visit on a day the household was not covered by this contract, or the contract
        # was not in service, is not this contract's to pay.
        if terms is None or not _covered_days(intervals.get(subject, []), visit.day):
            continue
        counted += 1
        result.visits[subject] += 1
        for service in visit.services:
            item = terms.item_for(service)
            if item is None:
                result.unpriced[service] += 1
            else:
                result.delivered[(service, item.unit_value_fen)] += 1
    completed = await completed_visit_count(contract.supplier_id, households, first, last)
    result.excluded_visits = max(0, completed - len(verified))


def _count_bed_days(
    intervals: dict[Subject, list[tuple[dt.date, dt.date | None]]],
    stays: dict[Subject, tuple[dt.date, dt.date | None]],
    in_force: dict[dt.date, Terms],
    result: MonthDelivery,
) -> None:
    for subject, spans in intervals.items():
        admitted_on, discharged_on = stays[subject]
        for day, terms in in_force.items():
            if _covered_days(spans, day) and present_on(day, admitted_on, discharged_on):
                result.bed_days[subject] += 1
                for item in terms.items:
                    result.delivered[(item.classification, item.unit_value_fen)] += 1
