"""A provider's staff and who of them cares for which household."""

from __future__ import annotations

import datetime as dt

from piccolo.columns.combination import Where

from carepact.accounts.access import ROLE_LABELS, Principal, visible_households
from carepact.accounts.services import create_account
from carepact.accounts.tables import Account, Assignment, Role
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.dates import local_today
from carepact.db import atomic
from carepact.errors import Problem, forbidden, not_found
from carepact.registry.tables import Household
from providers.staff.schemas import AssignmentIn, AssignmentOut, StaffIn, StaffOut

STAFF_ROLES = [Role.provider_manager.value, Role.field_worker.value]


def _staff_scope(principal: Principal) -> Where:
    if principal.role == Role.provider_manager:
        return (Account.organisation == principal.organisation_id) & Account.role.is_in(STAFF_ROLES)
    if principal.role == Role.city_admin:
        return Account.role.is_in(STAFF_ROLES)
    raise forbidden("只有服务机构负责人可以管理人员。")


async def list_staff(principal: Principal) -> list[StaffOut]:
    rows = (
        await Account.select(
            Account.id,
            Account.user._.username,
            Account.user._.active,
            Account.display_name,
            Account.role,
            Account.phone,
        )
        .where(_staff_scope(principal))
        .order_by(Account.id)
    )
    today = local_today()
    counts: dict[int, int] = {}
    for a in await Assignment.select(Assignment.worker).where(
        Assignment.worker.is_in([r["id"] for r in rows] or [-1])
        & (Assignment.starts_on <= today)
        & (Assignment.ends_on.is_null() | (Assignment.ends_on >= today))
    ):
        counts[a["worker"]] = counts.get(a["worker"], 0) + 1
    return [
        StaffOut(
            account_id=r["id"],
            username=r["user.username"],
            display_name=r["display_name"],
            role=r["role"],
            role_label=ROLE_LABELS[Role(r["role"])],
            phone=r["phone"],
            active=r["user.active"],
            household_count=counts.get(r["id"], 0),
        )
        for r in rows
    ]


async def add_field_worker(principal: Principal, body: StaffIn, actor: Actor) -> StaffOut:
    if principal.role != Role.provider_manager:
        raise forbidden("只有服务机构负责人可以添加社工。")
    account_id = await create_account(
        body.username,
        body.password,
        role=Role.field_worker,
        display_name=body.display_name,
        organisation_id=principal.organisation_id,
        phone=body.phone,
        actor=actor,
    )
    return next(s for s in await list_staff(principal) if s.account_id == account_id)


def _assignment_scope(principal: Principal) -> Where:
    if principal.role == Role.provider_manager:
        return Assignment.organisation == principal.organisation_id
    if principal.role in (Role.city_admin, Role.county_auditor, Role.township_officer):
        return Assignment.household.is_in(Household.select(Household.id).where(visible_households(principal)))
    if principal.role == Role.field_worker:
        return Assignment.worker == principal.account_id
    return Assignment.id < 0


_COLUMNS = (
    Assignment.id,
    Assignment.household,
    Assignment.household._.code,
    Assignment.worker,
    Assignment.worker._.display_name,
    Assignment.organisation,
    Assignment.organisation._.name,
    Assignment.starts_on,
    Assignment.ends_on,
)


def _out(r: dict) -> AssignmentOut:
    return AssignmentOut(
        id=r["id"],
        household_id=r["household"],
        household_code=r["household.code"],
        worker_id=r["worker"],
        worker_name=r["worker.display_name"],
        organisation_id=r["organisation"],
        organisation_name=r["organisation.name"],
        starts_on=r["starts_on"],
        ends_on=r["ends_on"],
    )


async def list_assignments(
    principal: Principal, paging: PageRequest, household_id: int | None, worker_id: int | None, current_only: bool
) -> Page[AssignmentOut]:
    where = _assignment_scope(principal)
    if household_id is not None:
        where &= Assignment.household == household_id
    if worker_id is not None:
        where &= Assignment.worker == worker_id
    if current_only:
        today = local_today()
        where &= (Assignment.starts_on <= today) & (Assignment.ends_on.is_null() | (Assignment.ends_on >= today))
    total = await Assignment.count().where(where)
    rows = (
        await Assignment.select(*_COLUMNS)
        .where(where)
        .order_by(Assignment.household)
        .order_by(Assignment.starts_on, ascending=False)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return Page(items=[_out(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


async def assign(principal: Principal, body: AssignmentIn, actor: Actor) -> AssignmentOut:
    """Make a worker responsible for a household from a date; the previous assignment ends the day before.

    History is kept: the household's earlier visits stay with the worker and provider that made them.
    """
    if principal.role not in (Role.provider_manager, Role.city_admin, Role.county_auditor):
        raise forbidden("只有服务机构负责人或民政部门可以分配服务对象。")
    async with atomic():
        household = (
            await Household.select(Household.id)
            .where((Household.id == body.household_id) & visible_households(principal))
            .first()
        )
        if household is None:
            raise not_found("household", "户")
        worker = (
            await Account.select(Account.id, Account.organisation, Account.role, Account.user._.active)
            .where(Account.id == body.worker_id)
            .first()
        )
        if (
            worker is None
            or worker["role"] != Role.field_worker
            or (principal.role == Role.provider_manager and worker["organisation"] != principal.organisation_id)
        ):
            raise not_found("worker", "社工")
        if not worker["user.active"]:
            raise Problem(400, "assignment.worker_inactive", "该社工账号已停用，不能分配服务对象。")
        current = await Assignment.select(Assignment.id, Assignment.starts_on).where(
            (Assignment.household == body.household_id)
            & (Assignment.ends_on.is_null() | (Assignment.ends_on >= body.starts_on))
        )
        for a in current:
            if a["starts_on"] >= body.starts_on:
                raise Problem(409, "assignment.overlap", "该户在此日期之后已有分配记录，请选择更晚的开始日期。")
            await Assignment.update({Assignment.ends_on: body.starts_on - dt.timedelta(days=1)}).where(
                Assignment.id == a["id"]
            )
        assignment = Assignment(
            household=body.household_id,
            worker=body.worker_id,
            organisation=worker["organisation"],
            starts_on=body.starts_on,
        )
        await assignment.save()
        await record(
            actor,
            "assignment.create",
            "assignment",
            assignment.id,
            after={"household": body.household_id, "worker": body.worker_id, "starts_on": body.starts_on.isoformat()},
        )
        row = await Assignment.select(*_COLUMNS).where(Assignment.id == assignment.id).first()
    return _out(row)


async def end_assignment(principal: Principal, assignment_id: int, ends_on: dt.date, actor: Actor) -> AssignmentOut:
    async with atomic():
        row = (
            await Assignment.select(*_COLUMNS)
            .where((Assignment.id == assignment_id) & _assignment_scope(principal))
            .first()
        )
        if row is None:
            raise not_found("assignment", "分配记录")
        if principal.role not in (Role.provider_manager, Role.city_admin, Role.county_auditor):
            raise forbidden()
        if ends_on < row["starts_on"]:
            raise Problem(400, "assignment.end_before_start", "结束日期不能早于开始日期。")
        await Assignment.update({Assignment.ends_on: ends_on}).where(Assignment.id == assignment_id)
        await record(
            actor,
            "assignment.end",
            "assignment",
            assignment_id,
            before={"ends_on": None},
            after={"ends_on": ends_on.isoformat()},
        )
        row = await Assignment.select(*_COLUMNS).where(Assignment.id == assignment_id).first()
    return _out(row)
