"""Coverage over HTTP: who is covered, how many were served, assignments against coverage."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Page, Paging
from carepact.dates import local_today
from contracts.coverage import services
from contracts.coverage.schemas import AssignmentMismatch, CoverageFigures, CoverageOut
from contracts.settlement.schemas import Month
from contracts.settlement.services import first_of


class CoverageController(Controller):
    path = "/api/coverage"
    tags = ["服务覆盖 coverage"]

    @get(
        "/",
        operation_id="listCoverage",
        summary="合同覆盖对象（一份合同的名单，或一户在各合同间的覆盖历史）",
    )
    async def list_coverage(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        contract_id: Annotated[int | None, Parameter(description="合同 ID")] = None,
        household_id: Annotated[int | None, Parameter(description="户 ID：该户的全部覆盖历史")] = None,
        resident_id: Annotated[int | None, Parameter(description="住院记录 ID")] = None,
        on: Annotated[dt.date | None, Parameter(description="只看此日期有效的覆盖")] = None,
    ) -> Page[CoverageOut]:
        return await services.list_coverage(
            principal, paging, contract_id=contract_id, household_id=household_id, resident_id=resident_id, on=on
        )

    @get(
        "/figures",
        operation_id="getCoverageFigures",
        summary="覆盖与服务情况：覆盖、本月已服务、未服务（按合同、县区或全市）",
    )
    async def figures(
        self,
        principal: CurrentPrincipal,
        month: Annotated[Month | None, Parameter(description="月份 YYYY-MM（默认本月）")] = None,
        group: Annotated[Literal["contract", "county", "city"], Parameter(description="分组")] = "contract",
    ) -> CoverageFigures:
        first = first_of(month) if month else local_today().replace(day=1)
        return await services.figures(principal, first, group)

    @get(
        "/assignment-check",
        operation_id="checkAssignmentsAgainstCoverage",
        summary="核对服务分配与合同覆盖（分配的机构不是覆盖合同的服务机构的户）",
    )
    async def assignment_check(
        self,
        principal: CurrentPrincipal,
        on: Annotated[dt.date | None, Parameter(description="核对日期（默认今天）")] = None,
    ) -> list[AssignmentMismatch]:
        return await services.assignment_mismatches(principal, on or local_today())
