"""The one permission mechanism: who is asking, what they may see, what they may change.

Every endpoint reaches objects through ``visible_*`` filters (lists and single reads alike),
so an object outside the caller's scope is simply not found: 404, never a hint that it exists.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from piccolo.columns.combination import Where, WhereRaw
from piccolo.querystring import QueryString

from carepact.accounts.tables import Role
from carepact.dates import local_today
from carepact.db import fetch
from carepact.errors import Problem, forbidden
from carepact.registry.tables import Household, Organisation, OrganisationKind, Person, Region, Resident

ROLE_LABELS = {
    Role.city_admin: "市民政局管理员",
    Role.county_auditor: "县区民政局审核员",
    Role.township_officer: "乡镇（街道）经办人",
    Role.provider_manager: "服务机构负责人",
    Role.field_worker: "社工 / 护理员",
    Role.care_home_staff: "供养机构工作人员",
}


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as every check sees it."""

    account_id: int
    user_id: int
    username: str
    display_name: str
    role: Role
    region_id: int | None
    region_path: str | None
    region_name: str | None
    organisation_id: int | None
    organisation_name: str | None
    via: str  # "session" | "token"
    csrf_token: str = ""

    @property
    def is_bureau(self) -> bool:
        return self.role in (Role.city_admin, Role.county_auditor, Role.township_officer)


def _never(column: Any) -> Where:
    # A condition no row satisfies: ids are positive.
    return column < 0


def _in_subtree(path_column: Any, principal: Principal) -> Where:
    return path_column.like(f"{principal.region_path}%")


def _assigned(principal: Principal) -> QueryString:
    """The households a field worker's open assignments give it, or a provider manager's
    organisation's: the one statement of it, hand-written (building Piccolo's sub-select cost more
    per check-in than running it: bench_web.py)."""
    today = local_today()
    mine, key = (
        ("worker", principal.account_id)
        if principal.role == Role.field_worker
        else ("organisation", principal.organisation_id)
    )
    return QueryString(
        'SELECT "assignment"."household" FROM "assignment" WHERE "assignment"."' + mine + '" = {}'
        ' AND "assignment"."starts_on" <= {} AND ("assignment"."ends_on" IS NULL OR "assignment"."ends_on" >= {})',
        key,
        today,
        today,
    )


def visible_households(principal: Principal) -> Where:
    """Households the caller may see: region subtree, or the open assignments of them or their org."""
    match principal.role:
        case Role.city_admin | Role.county_auditor | Role.township_officer:
            return _in_subtree(Household.village._.path, principal)
        case Role.provider_manager | Role.field_worker:
            return WhereRaw('"household"."id" IN ({})', _assigned(principal))
        case _:
            return _never(Household.id)


def visible_household_ids(principal: Principal) -> QueryString:
    """``visible_households`` as a sub-select of household ids, for a statement run with
    ``carepact.db.fetch``."""
    if principal.role in (Role.field_worker, Role.provider_manager):
        return _assigned(principal)
    return Household.select(Household.id).where(visible_households(principal)).querystrings[0]


def visible_residents(principal: Principal) -> Where:
    """Facility residents: the facility's own staff, and bureaus whose region holds the facility."""
    match principal.role:
        case Role.city_admin | Role.county_auditor:
            return _in_subtree(Resident.facility._.region._.path, principal)
        case Role.care_home_staff:
            return Resident.facility == principal.organisation_id
        case _:
            return _never(Resident.id)


def visible_facilities(principal: Principal) -> Where:
    """Facilities whose residents the caller may see: the staff's own, and those in a bureau's region
    (the organisation list shows bureaus every facility; its residents follow ``visible_residents``)."""
    facility = Organisation.kind == OrganisationKind.facility.value
    match principal.role:
        case Role.city_admin | Role.county_auditor:
            return facility & _in_subtree(Organisation.region._.path, principal)
        case Role.care_home_staff:
            return facility & (Organisation.id == principal.organisation_id)
        case _:
            return _never(Organisation.id)


def visible_persons(principal: Principal) -> Where:
    """A person is visible through their household or through a facility stay."""
    through_household = Person.household.is_in(Household.select(Household.id).where(visible_households(principal)))
    through_stay = Person.id.is_in(Resident.select(Resident.person).where(visible_residents(principal)))
    return through_household | through_stay


def visible_organisations(principal: Principal) -> Where:
    """Bureaus see organisations in their subtree plus every provider and facility (whom they
    buy from, wherever registered); everyone else sees only their own organisation."""
    if principal.is_bureau:
        return _in_subtree(Organisation.region._.path, principal) | Organisation.kind.is_in(
            [OrganisationKind.provider.value, OrganisationKind.facility.value]
        )
    if principal.organisation_id is None:
        return _never(Organisation.id)
    return Organisation.id == principal.organisation_id


def visible_regions(principal: Principal) -> Where:
    """Region names are public knowledge; bureaus browse their own subtree, others the city."""
    if principal.is_bureau:
        return _in_subtree(Region.path, principal)
    return Region.id > 0


# --- what a role may change --------------------------------------------------------------

# Actions are verbs on object types; the table is the whole policy for writes.
WRITE_POLICY: dict[str, frozenset[Role]] = {
    "household.create": frozenset({Role.city_admin, Role.county_auditor, Role.township_officer}),
    "household.update": frozenset({Role.city_admin, Role.county_auditor, Role.township_officer}),
    "household.import": frozenset({Role.city_admin, Role.county_auditor, Role.township_officer}),
    "person.read_sensitive": frozenset(
        {Role.city_admin, Role.county_auditor, Role.township_officer, Role.provider_manager, Role.field_worker}
    ),
    "person.read_id_number": frozenset({Role.city_admin, Role.county_auditor, Role.township_officer}),
    "audit.read": frozenset({Role.city_admin}),
    "card.issue": frozenset({Role.city_admin, Role.county_auditor, Role.township_officer}),
    # Purchased-service contracts: the city buys and amends; counties sign off their settlements.
    "contract.create": frozenset({Role.city_admin}),
    "contract.amend": frozenset({Role.city_admin}),
    "contract.document": frozenset({Role.city_admin}),
    "settlement.compute": frozenset({Role.city_admin, Role.county_auditor}),
    "settlement.confirm": frozenset({Role.city_admin, Role.county_auditor}),
    "settlement.adjust": frozenset({Role.city_admin, Role.county_auditor}),
    "settlement.pay": frozenset({Role.city_admin}),
    "coverage.check_assignments": frozenset({Role.city_admin, Role.county_auditor}),
    # Residents in centralised care: the facility's staff keep the record; bureaus only read it.
    "resident.admit": frozenset({Role.care_home_staff}),
    "resident.update": frozenset({Role.care_home_staff}),
    "resident.discharge": frozenset({Role.care_home_staff}),
    "resident.record": frozenset({Role.care_home_staff}),
    "resident.care_plan": frozenset({Role.care_home_staff}),
    "resident.medication": frozenset({Role.care_home_staff}),
    "resident.incident": frozenset({Role.care_home_staff}),
    "resident.handover": frozenset({Role.care_home_staff}),
    "resident.card_issue": frozenset({Role.care_home_staff}),
    # Mental-health texts in full (notes, goals, drugs, incident descriptions): those who care and
    # those who audit the care; the city sees that care was delivered, not what was written.
    "resident.read_health": frozenset({Role.care_home_staff, Role.county_auditor}),
    # The standard agreement: the city publishes its versions, townships sign and record illness
    # (with the field workers who find it), providers explain findings, counties decide them.
    "agreement.template_publish": frozenset({Role.city_admin}),
    "agreement.sign": frozenset({Role.township_officer}),
    "agreement.evaluate": frozenset({Role.city_admin, Role.county_auditor}),
    "sick_episode.report": frozenset({Role.township_officer, Role.field_worker}),
    "finding.explain": frozenset({Role.provider_manager}),
    "finding.decide": frozenset({Role.county_auditor}),
    # The county audit: random samples of verified visits checked by call-back or re-visit, and
    # evidence bundles (a provider's only of its own visits).
    "audit_sample.draw": frozenset({Role.city_admin, Role.county_auditor}),
    "audit_sample.record": frozenset({Role.city_admin, Role.county_auditor}),
    "evidence.bundle": frozenset({Role.city_admin, Role.county_auditor, Role.provider_manager}),
}


def may(principal: Principal, action: str) -> bool:
    return principal.role in WRITE_POLICY.get(action, frozenset())


def require(principal: Principal, action: str) -> None:
    if not may(principal, action):
        raise forbidden()


def region_in_scope(principal: Principal, region_path: str) -> bool:
    """Whether a region (by path) lies in the caller's subtree (bureau roles only)."""
    return bool(principal.is_bureau and principal.region_path and region_path.startswith(principal.region_path))


# --- Litestar glue -------------------------------------------------------------------------


def principal_of(connection: ASGIConnection) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Problem(401, "auth.required", "请先登录。")
    return user


def requires_role(*roles: Role):
    """Guard: the handler is only for these roles (object scope is still checked inside)."""

    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if principal_of(connection).role not in allowed:
            raise forbidden()

    guard.__name__ = "requires_" + "_or_".join(r.value for r in roles)
    return guard


async def provide_principal(request: Request) -> Principal:
    return principal_of(request)


# Handlers declare `principal: CurrentPrincipal` to receive the caller.
CurrentPrincipal = NamedDependency[Principal]


async def load_principal(account_id: int, via: str, csrf_token: str = "") -> Principal | None:
    return await principal_where(QueryString("account.id = {}", account_id), via, csrf_token)


_PRINCIPAL = (
    'SELECT account.id, account."user", piccolo_user.username, piccolo_user.active, account.display_name,'
    " account.role, account.region, region.path AS region_path, region.name AS region_name,"
    " account.organisation, organisation.name AS organisation_name"
    ' FROM account JOIN piccolo_user ON piccolo_user.id = account."user"'
    " LEFT JOIN region ON region.id = account.region"
    " LEFT JOIN organisation ON organisation.id = account.organisation"
    " WHERE {} LIMIT 1"
)


async def principal_where(which: QueryString, via: str, csrf_token: str = "") -> Principal | None:
    """The caller whose account ``which`` selects (a condition on ``account``: its id, or a
    sub-select from a token's row): one hand-written query per request for who is calling (built
    with Piccolo's select it cost more than the bare endpoint's whole request: bench_web.py)."""
    rows = await fetch(_PRINCIPAL, which)
    row = rows[0] if rows else None
    if row is None or not row["active"]:
        return None
    return Principal(
        account_id=row["id"],
        user_id=row["user"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        region_id=row["region"],
        region_path=row["region_path"],
        region_name=row["region_name"],
        organisation_id=row["organisation"],
        organisation_name=row["organisation_name"],
        via=via,
        csrf_token=csrf_token,
    )
