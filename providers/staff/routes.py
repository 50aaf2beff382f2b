"""A provider's staff and assignments over HTTP."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from providers.staff import services
from providers.staff.schemas import AssignmentEnd, AssignmentIn, AssignmentOut, StaffIn, StaffOut


class StaffController(Controller):
    path = "/api/staff"
    tags = ["机构人员 staff"]

    @get("/", operation_id="listStaff", summary="本机构人员")
    async def list_staff(self, principal: CurrentPrincipal) -> list[StaffOut]:
        return await services.list_staff(principal)

    @post("/", operation_id="addFieldWorker", summary="添加社工 / 护理员账号", status_code=201)
    async def add(self, request: Request, principal: CurrentPrincipal, data: JSONBody[StaffIn]) -> StaffOut:
        return await services.add_field_worker(principal, data, actor_of(principal, client_ip(request)))


class AssignmentController(Controller):
    path = "/api/assignments"
    tags = ["服务分配 assignments"]

    @get("/", operation_id="listAssignments", summary="服务分配记录")
    async def list_assignments(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        household_id: Annotated[int | None, Parameter()] = None,
        worker_id: Annotated[int | None, Parameter()] = None,
        current_only: Annotated[bool, Parameter(description="只看当前有效的分配")] = True,
    ) -> Page[AssignmentOut]:
        return await services.list_assignments(principal, paging, household_id, worker_id, current_only)

    @post(
        "/",
        operation_id="createAssignment",
        summary="把一户分配给社工（自开始日期起，原分配在前一天结束）",
        status_code=201,
    )
    async def assign(
        self, request: Request, principal: CurrentPrincipal, data: JSONBody[AssignmentIn]
    ) -> AssignmentOut:
        return await services.assign(principal, data, actor_of(principal, client_ip(request)))

    @post("/{assignment_id:int}/end", operation_id="endAssignment", summary="结束一条分配", status_code=200)
    async def end(
        self, request: Request, principal: CurrentPrincipal, assignment_id: FromPath[int], data: JSONBody[AssignmentEnd]
    ) -> AssignmentOut:
        return await services.end_assignment(
            principal, assignment_id, data.ends_on, actor_of(principal, client_ip(request))
        )
