"""Which contracts, agreements and findings a caller may see: the contracts side of the kernel's
``visible_*`` filters.

Everything in contracts (terms, coverage, statements, budget) is reached through
``visible_contracts``, so what lies outside the caller's scope is simply not found (404).
"""

from __future__ import annotations

from piccolo.columns.combination import Where
from piccolo.query.methods.select import Select

from carepact.accounts.access import Principal, visible_households
from carepact.accounts.tables import Role
from carepact.registry.tables import Household
from contracts.tables import Agreement, Contract, Coverage, Finding, SickEpisode


def visible_contracts(principal: Principal) -> Where:
    """The city and county bureaus: contracts delivered in, bought by, or covering people in
    their region; a provider: the contracts it supplies (read-only); everyone else: none."""
    match principal.role:
        case Role.city_admin | Role.county_auditor if principal.region_path:
            subtree = f"{principal.region_path}%"
            touching = Coverage.select(Coverage.contract).where(
                Coverage.household._.village._.path.like(subtree)
                | Coverage.resident._.facility._.region._.path.like(subtree)
            )
            return (
                Contract.service_area._.path.like(subtree)
                | Contract.buyer._.region._.path.like(subtree)
                | Contract.id.is_in(touching)
            )
        case Role.provider_manager if principal.organisation_id is not None:
            return Contract.supplier == principal.organisation_id
        case _:
            return Contract.id < 0


def _households(principal: Principal) -> Select:
    return Household.select(Household.id).where(visible_households(principal))


def visible_agreements(principal: Principal) -> Where:
    """A household's agreement is seen by whoever sees the household, and by its caregiver provider."""
    seen = Agreement.household.is_in(_households(principal))
    if principal.role == Role.provider_manager and principal.organisation_id is not None:
        return seen | (Agreement.caregiver_organisation == principal.organisation_id)
    return seen


def visible_episodes(principal: Principal) -> Where:
    return SickEpisode.household.is_in(_households(principal))


def visible_findings(principal: Principal) -> Where:
    """Bureaus: findings on households in their region; a provider: the findings against it (as the
    caregiver); a field worker: those on the households assigned to them; everyone else: none."""
    match principal.role:
        case Role.city_admin | Role.county_auditor | Role.township_officer if principal.region_path:
            return Finding.household._.village._.path.like(f"{principal.region_path}%")
        case Role.provider_manager if principal.organisation_id is not None:
            return Finding.organisation == principal.organisation_id
        case Role.field_worker:
            return Finding.household.is_in(_households(principal))
        case _:
            return Finding.id < 0
