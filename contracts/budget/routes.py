"""The programme budget over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.dates import local_today
from contracts.budget import services
from contracts.budget.schemas import Budget


class BudgetController(Controller):
    path = "/api/budget"
    tags = ["预算执行 budget"]

    @get(
        "/",
        operation_id="getBudget",
        summary="预算执行：合同承诺金额、已交付（已确认结算）、已支付（按合同或县区）",
        description="预算年度为合同服务期开始的年份；as_of 指定日期时按该日生效的合同条款计算承诺金额。",
    )
    async def budget(
        self,
        principal: CurrentPrincipal,
        year: Annotated[int | None, Parameter(ge=2000, le=2100, description="预算年度（默认今年）")] = None,
        group: Annotated[Literal["contract", "county"], Parameter(description="分组")] = "contract",
        as_of: Annotated[dt.date | None, Parameter(description="按此日期生效的条款（默认今天）")] = None,
    ) -> Budget:
        today = local_today()
        return await services.budget(principal, year or today.year, group, as_of or today)
