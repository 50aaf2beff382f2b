"""Coverage: who is covered by which contract, how many were served, and whether assignments agree."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Literal

from carepact.accounts.access import Principal, require, visible_households
from carepact.accounts.tables import Assignment
from carepact.api import Page, PageRequest
from carepact.registry.tables import Household, Person, Region
from contracts.coverage.schemas import AssignmentMismatch, CoverageFigure, CoverageFigures, CoverageOut
from contracts.delivery import ContractFacts, MonthDelivery, month_delivery
from contracts.procurement.services import versions_of
from contracts.procurement.terms import final_terms, state_on
from contracts.scope import visible_contracts
from contracts.tables import Amendment, Contract, ContractKind, Coverage

Group = Literal["contract", "county", "city"]


async def list_coverage(
    principal: Principal,
    paging: PageRequest,
    *,
    contract_id: int | None = None,
    household_id: int | None = None,
    resident_id: int | None = None,
    on: dt.date | None = None,
) -> Page[CoverageOut]:
    """Coverage rows of contracts in scope: a contract's list, or one household's history across contracts."""
    where = Coverage.contract.is_in(Contract.select(Contract.id).where(visible_contracts(principal)))
    if contract_id is not None:
        where &= Coverage.contract == contract_id
    if household_id is not None:
        where &= Coverage.household == household_id
    if resident_id is not None:
        where &= Coverage.resident == resident_id
    if on is not None:
        where &= (Coverage.starts_on <= on) & (Coverage.ends_on.is_null() | (Coverage.ends_on >= on))
    total = await Coverage.count().where(where)
    rows = (
        await Coverage.select(
            Coverage.id,
            Coverage.contract,
            Coverage.contract._.code,
            Coverage.contract._.supplier._.name,
            Coverage.household,
            Coverage.household._.code,
            Coverage.household._.village._.name,
            Coverage.resident,
            Coverage.resident._.person._.name,
            Coverage.resident._.ward,
            Coverage.resident._.bed,
            Coverage.starts_on,
            Coverage.ends_on,
            Coverage.added_by,
            Coverage.ended_by,
        )
        .where(where)
        .order_by(Coverage.starts_on)
        .order_by(Coverage.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    seqs = {
        a["id"]: a["seq"]
        for a in await Amendment.select(Amendment.id, Amendment.seq).where(
            Amendment.id.is_in([r["added_by"] for r in rows] + [r["ended_by"] for r in rows if r["ended_by"]] or [-1])
        )
    }
    names: dict[int, list[str]] = defaultdict(list)
    household_ids = [r["household"] for r in rows if r["household"]]
    if household_ids:
        for p in (
            await Person.select(Person.household, Person.name)
            .where(Person.household.is_in(household_ids))
            .order_by(Person.id)
        ):
            names[p["household"]].append(p["name"])
    return Page(
        items=[_coverage_out(r, seqs, names) for r in rows], total=total, page=paging.page, page_size=paging.page_size
    )


def _coverage_out(r: dict[str, Any], seqs: dict[int, int], names: dict[int, list[str]]) -> CoverageOut:
    household = r["household"]
    return CoverageOut(
        id=r["id"],
        contract_id=r["contract"],
        contract_code=r["contract.code"],
        supplier_name=r["contract.supplier.name"],
        subject="household" if household else "resident",
        household_id=household,
        household_code=r["household.code"] or "",
        resident_id=r["resident"],
        names=names[household] if household else [r["resident.person.name"]],
        place=r["household.village.name"] if household else f"{r['resident.ward']} {r['resident.bed']}".strip(),
        starts_on=r["starts_on"],
        ends_on=r["ends_on"],
        added_by_seq=seqs[r["added_by"]],
        ended_by_seq=seqs.get(r["ended_by"]) if r["ended_by"] else None,
    )


# --- figures -----------------------------------------------------------------------------------


async def contracts_in_scope(principal: Principal) -> list[ContractFacts]:
    rows = (
        await Contract.select(Contract.id, Contract.kind, Contract.supplier, Contract.code)
        .where(visible_contracts(principal))
        .order_by(Contract.code)
    )
    versions = await versions_of(r["id"] for r in rows)
    return [
        ContractFacts(id=r["id"], kind=ContractKind(r["kind"]), supplier_id=r["supplier"], versions=versions[r["id"]])
        for r in rows
    ]


def _county_code(path: str) -> str:
    # "/610300/610302/610302001/..." → "610302"
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else parts[0]


def _figure(key: str, label: str, deliveries: list[tuple[MonthDelivery, set]]) -> CoverageFigure:
    covered = served = visits = bed_days = households = 0
    for delivery, subjects in deliveries:
        covered += len(subjects)
        households += sum(1 for kind, _ in subjects if kind == "household")
        served += sum(1 for s in subjects if delivery.visits[s] or delivery.bed_days[s])
        visits += sum(delivery.visits[s] for s in subjects)
        bed_days += sum(delivery.bed_days[s] for s in subjects)
    return CoverageFigure(
        key=key,
        label=label,
        covered=covered,
        households=households,
        residents=covered - households,
        served=served,
        not_served=covered - served,
        verified_visits=visits,
        bed_days=bed_days,
    )


async def figures(principal: Principal, month: dt.date, group: Group) -> CoverageFigures:
    """Covered, served and not served in a month, per contract, per county, or for the whole view.

    A bureau counts only the people in its own region (a county sees its county's share of a
    city-wide contract); a provider counts everyone its contracts cover.
    """
    subtree = principal.region_path if principal.is_bureau and principal.region_path else ""
    parts: list[tuple[str, MonthDelivery, set]] = []  # (contract code, delivery, subjects in view)
    codes = {
        r["id"]: r["code"]
        for r in await Contract.select(Contract.id, Contract.code).where(visible_contracts(principal))
    }
    titles: dict[str, str] = {}
    for contract in await contracts_in_scope(principal):
        delivery = await month_delivery(contract, month)
        subjects = {s for s, path in delivery.covered.items() if path.startswith(subtree)}
        if delivery.service_days:
            parts.append((codes[contract.id], delivery, subjects))
            terms = final_terms(contract.versions)
            titles[codes[contract.id]] = terms.title if terms else ""
    grouped: dict[str, list[tuple[MonthDelivery, set]]] = defaultdict(list)
    labels: dict[str, str] = {}
    for code, delivery, subjects in parts:
        if group == "contract":
            grouped[code].append((delivery, subjects))
            labels[code] = titles[code]
        elif group == "county":
            by_county: dict[str, set] = defaultdict(set)
            for s in subjects:
                by_county[_county_code(delivery.covered[s])].add(s)
            for county, members in by_county.items():
                grouped[county].append((delivery, members))
        else:
            grouped["all"].append((delivery, subjects))
    if group == "county" and grouped:
        labels = {
            r["code"]: r["name"]
            for r in await Region.select(Region.code, Region.name).where(Region.code.is_in(list(grouped)))
        }
    view = principal.region_name or principal.organisation_name or "全部"
    if group == "city":
        labels["all"] = view
    rows = [_figure(key, labels.get(key, key), grouped[key]) for key in sorted(grouped)]
    everything = [(delivery, subjects) for _, delivery, subjects in parts]
    return CoverageFigures(
        month=f"{month:%Y-%m}", group=group, rows=rows, total=_figure("total", f"{view}合计", everything)
    )


# --- assignments against coverage ------------------------------------------------------------


async def assignment_mismatches(principal: Principal, on: dt.date) -> list[AssignmentMismatch]:
    """Households whose assigned worker's organisation is not the supplier of the home-care
    contract covering them on ``on`` (or that are assigned but uncovered, or covered but unassigned).

    Coverage decides who is paid and assignments decide who visits; this is where the two are
    seen to disagree, e.g. after a household moved between providers and only one side changed.
    """
    require(principal, "coverage.check_assignments")
    in_scope = Household.select(Household.id).where(visible_households(principal))
    assigned = {
        a["household"]: (a["organisation"], a["organisation.name"])
        for a in await Assignment.select(
            Assignment.household, Assignment.organisation, Assignment.organisation._.name
        ).where(
            Assignment.household.is_in(in_scope)
            & (Assignment.starts_on <= on)
            & (Assignment.ends_on.is_null() | (Assignment.ends_on >= on))
        )
    }
    rows = await Coverage.select(
        Coverage.household,
        Coverage.contract,
        Coverage.contract._.code,
        Coverage.contract._.supplier,
        Coverage.contract._.supplier._.name,
    ).where(
        Coverage.household.is_in(in_scope)
        & (Coverage.starts_on <= on)
        & (Coverage.ends_on.is_null() | (Coverage.ends_on >= on))
    )
    versions = await versions_of({r["contract"] for r in rows})
    covering = {}
    for r in rows:
        terms = state_on(versions[r["contract"]], on)
        if terms is not None and terms.in_service(on):
            covering[r["household"]] = (r["contract.code"], r["contract.supplier"], r["contract.supplier.name"])
    codes = {
        h["id"]: h["code"]
        for h in await Household.select(Household.id, Household.code).where(
            Household.id.is_in(list(assigned.keys() | covering.keys()) or [-1])
        )
    }
    mismatches = []
    for household in sorted(assigned.keys() | covering.keys()):
        org = assigned.get(household)
        cover = covering.get(household)
        if org is not None and cover is not None and org[0] == cover[1]:
            continue
        mismatches.append(
            AssignmentMismatch(
                household_id=household,
                household_code=codes[household],
                assigned_organisation=org[1] if org else None,
                covering_contract_code=cover[0] if cover else None,
                covering_supplier=cover[2] if cover else None,
            )
        )
    return mismatches
