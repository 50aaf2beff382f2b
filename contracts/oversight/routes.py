"""The county audit over HTTP: the dashboard, villages' households not visited, scorecards, and the
monthly county report (a job, and the same page to print)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import client_ip
from carepact.audit.services import actor_of, record
from carepact.jobs import services as jobs
from carepact.jobs.routes import job_out
from carepact.jobs.schemas import JobOut
from carepact.jobs.tables import Job
from contracts.oversight import services
from contracts.oversight.jobs import REPORT_JOB
from contracts.oversight.printing import report_html
from contracts.oversight.schemas import Dashboard, ReportIn, Scorecard, Scorecards, ShortHousehold
from contracts.settlement.schemas import Month

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

RegionId = Annotated[int | None, Parameter(ge=1, description="行政区域 ID（市、县区或乡镇；默认本人管辖范围）")]
# The pattern again on the parameter: Litestar does not apply a nested msgspec Meta to a query string.
MonthParam = Annotated[Month | None, Parameter(pattern=MONTH_PATTERN, description="月份 YYYY-MM（默认本月）")]


class OversightController(Controller):
    path = "/api/oversight"
    tags = ["县区审核 oversight"]

    @get(
        "/dashboard",
        operation_id="getOversightDashboard",
        summary="审核看板：覆盖率、电子核验率、按时率、违约发现、患病看护、集中供养记录、预算执行（按月、按机构、按合同）",
        description="各项指标的口径见返回的 definitions。县（区）审核员只能查看本县（区）及以下；其他县（区）返回 404。",
    )
    async def dashboard(
        self, principal: CurrentPrincipal, region_id: RegionId = None, month: MonthParam = None
    ) -> Dashboard:
        return await services.dashboard(principal, region_id, month)

    @get(
        "/villages/{village_id:int}/short-households",
        operation_id="listShortHouseholds",
        summary="某村（社区）本月未按协议上门的户：应上门天数与实际上门天数",
    )
    async def short_households(
        self,
        principal: CurrentPrincipal,
        village_id: FromPath[int],
        region_id: RegionId = None,
        month: MonthParam = None,
    ) -> list[ShortHousehold]:
        return await services.short_households(principal, region_id, month, village_id)

    @get("/scorecards", operation_id="listScorecards", summary="服务机构评分排名（含拉低得分的指标）")
    async def scorecards(
        self, principal: CurrentPrincipal, region_id: RegionId = None, month: MonthParam = None
    ) -> Scorecards:
        return await services.scorecards(principal, region_id, month)

    @get(
        "/scorecards/{organisation_id:int}",
        operation_id="getScorecard",
        summary="一个服务机构的评分卡：逐月指标与得分、违约发现、合同",
        description="服务机构负责人只能查看本机构的评分卡（全市范围，不显示排名）。",
    )
    async def scorecard(
        self,
        principal: CurrentPrincipal,
        organisation_id: FromPath[int],
        region_id: RegionId = None,
        month: MonthParam = None,
    ) -> Scorecard:
        return await services.scorecard(principal, organisation_id, region_id, month)

    @post(
        "/reports",
        operation_id="makeCountyReport",
        summary="生成县（区）月度审核报告（后台任务，完成后下载可打印的网页）",
        status_code=202,
    )
    async def make_report(self, request: Request, principal: CurrentPrincipal, data: JSONBody[ReportIn]) -> JobOut:
        place = await services.region_for(principal, data.region_id)
        month = services.parse_month(data.month)
        params = {"region_id": place.id, "month": services.month_key(month), "label": place.name}
        job_id = await jobs.submit(REPORT_JOB, params | {"owner": principal.account_id}, owner=principal.account_id)
        await record(actor_of(principal, client_ip(request)), "oversight.report", "job", str(job_id), detail=params)
        return job_out(await Job.select().where(Job.id == job_id).first())  # type: ignore[arg-type]

    @get(
        "/report",
        operation_id="printCountyReport",
        summary="打印县（区）月度审核报告（A4 中文网页，即时生成）",
        media_type="text/html; charset=utf-8",
    )
    async def print_report(
        self, principal: CurrentPrincipal, region_id: RegionId = None, month: MonthParam = None
    ) -> Response[str]:
        html = report_html(await services.dashboard(principal, region_id, month))
        return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})
