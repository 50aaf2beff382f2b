"""Which contracts a caller may see: the contracts side of the kernel's ``visible_*`` filters.

Everything in contracts (terms, coverage, statements, budget) is reached through
``visible_contracts``, so what lies outside the caller's scope is simply not found (404).
"""

from __future__ import annotations

from piccolo.columns.combination import Where

from carepact.accounts.access import Principal
from carepact.accounts.tables import Role
from contracts.tables import Contract, Coverage


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
