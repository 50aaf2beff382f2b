"""Settlement over HTTP: compute a month, confirm, pay, adjust, print and export."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal, Principal
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from contracts.procurement.services import visible_contract
from contracts.settlement import services
from contracts.settlement.printing import Letterhead, statement_csv, statement_html
from contracts.settlement.schemas import (
    AdjustIn,
    ComputeIn,
    ConfirmIn,
    Month,
    PayIn,
    StatementDetail,
    StatementPatch,
    StatementSummary,
)
from contracts.tables import StatementStatus


class ContractStatementController(Controller):
    path = "/api/contracts/{contract_id:int}/statements"
    tags = ["月度结算 settlement"]

    @get("/", operation_id="listContractStatements", summary="合同的月度结算单（含调整结算单）")
    async def list_statements(
        self, principal: CurrentPrincipal, paging: Paging, contract_id: FromPath[int]
    ) -> Page[StatementSummary]:
        await visible_contract(principal, contract_id)
        return await services.list_statements(principal, paging, contract_id=contract_id)

    @post(
        "/",
        operation_id="computeStatement",
        summary="核算某月结算单（新建草稿，或重新核算草稿）",
        description="按该月核验通过的上门服务（每次服务每个服务项目计 1 次）或在院床日，以当日生效的合同单价计价，减去扣减。原结算单确认后不能重新核算（409 settlement.locked），更正请生成调整结算单。",
    )
    async def compute(
        self, request: Request, principal: CurrentPrincipal, contract_id: FromPath[int], data: JSONBody[ComputeIn]
    ) -> Response[StatementDetail]:
        await services.may_settle(principal, contract_id)
        month = services.parse_month(data.month)
        statement_id, created = await services.compute_statement(
            principal, contract_id, month, actor_of(principal, client_ip(request))
        )
        return Response(await services.get_statement(principal, statement_id), status_code=201 if created else 200)


async def _letterhead(principal: Principal, contract_id: int) -> Letterhead:
    row = await visible_contract(principal, contract_id)
    return Letterhead(buyer_name=row["buyer.name"], service_area_name=row["service_area.name"])


class StatementController(Controller):
    path = "/api/statements"
    tags = ["月度结算 settlement"]

    @get("/", operation_id="listStatements", summary="结算单列表（可按月份、状态筛选）")
    async def list_statements(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        month: Annotated[Month | None, Parameter(description="结算月份 YYYY-MM")] = None,
        status: Annotated[StatementStatus | None, Parameter(description="状态")] = None,
        contract_id: Annotated[int | None, Parameter(description="合同 ID")] = None,
    ) -> Page[StatementSummary]:
        first = services.first_of(month) if month else None
        return await services.list_statements(principal, paging, contract_id=contract_id, month=first, status=status)

    @get("/{statement_id:int}", operation_id="getStatement", summary="结算单详情")
    async def get_statement(self, principal: CurrentPrincipal, statement_id: FromPath[int]) -> StatementDetail:
        return await services.get_statement(principal, statement_id)

    @patch(
        "/{statement_id:int}", operation_id="updateStatementNote", summary="修改草稿结算单的备注（已确认的不能修改）"
    )
    async def update_note(
        self, request: Request, principal: CurrentPrincipal, statement_id: FromPath[int], data: JSONBody[StatementPatch]
    ) -> StatementDetail:
        await services.update_note(principal, statement_id, data, actor_of(principal, client_ip(request)))
        return await services.get_statement(principal, statement_id)

    @post(
        "/{statement_id:int}/recompute",
        operation_id="recomputeStatement",
        summary="重新核算草稿结算单",
        status_code=200,
    )
    async def recompute(
        self, request: Request, principal: CurrentPrincipal, statement_id: FromPath[int]
    ) -> StatementDetail:
        statement_id = await services.recompute(principal, statement_id, actor_of(principal, client_ip(request)))
        return await services.get_statement(principal, statement_id)

    @post(
        "/{statement_id:int}/confirm",
        operation_id="confirmStatement",
        summary="确认结算单（确认后不再改变）",
        description="须提交所核对的版本号 revision；核算结果在此之后变化时拒绝（409 settlement.stale）。",
        status_code=200,
    )
    async def confirm(
        self, request: Request, principal: CurrentPrincipal, statement_id: FromPath[int], data: JSONBody[ConfirmIn]
    ) -> StatementDetail:
        await services.confirm(principal, statement_id, data.revision, actor_of(principal, client_ip(request)))
        return await services.get_statement(principal, statement_id)

    @post("/{statement_id:int}/pay", operation_id="markStatementPaid", summary="登记支付（市民政局）", status_code=200)
    async def pay(
        self, request: Request, principal: CurrentPrincipal, statement_id: FromPath[int], data: JSONBody[PayIn]
    ) -> StatementDetail:
        await services.pay(principal, statement_id, data, actor_of(principal, client_ip(request)))
        return await services.get_statement(principal, statement_id)

    @post(
        "/{statement_id:int}/adjust",
        operation_id="adjustStatement",
        summary="生成调整结算单（已确认月份的更正）",
        description="按现有记录重新核算该月，与已确认的结算单之差作为调整结算单（草稿），引用原结算单。",
    )
    async def adjust(
        self, request: Request, principal: CurrentPrincipal, statement_id: FromPath[int], data: JSONBody[AdjustIn]
    ) -> Response[StatementDetail]:
        adjusted, created = await services.adjust(
            principal, statement_id, data, actor_of(principal, client_ip(request))
        )
        return Response(await services.get_statement(principal, adjusted), status_code=201 if created else 200)

    @get(
        "/{statement_id:int}/print",
        operation_id="printStatement",
        summary="打印结算单（A4 中文网页）",
        media_type="text/html; charset=utf-8",
    )
    async def print_statement(self, principal: CurrentPrincipal, statement_id: FromPath[int]) -> Response[str]:
        statement = await services.get_statement(principal, statement_id)
        html = statement_html(statement, await _letterhead(principal, statement.contract_id))
        return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    @get(
        "/{statement_id:int}/export.csv",
        operation_id="exportStatementCsv",
        summary="导出结算单 CSV（UTF-8，含 BOM）",
        media_type="text/csv; charset=utf-8",
    )
    async def export_csv(self, principal: CurrentPrincipal, statement_id: FromPath[int]) -> Response[bytes]:
        statement = await services.get_statement(principal, statement_id)
        content = statement_csv(statement, await _letterhead(principal, statement.contract_id))
        filename = f"{statement.code}.csv"
        return Response(
            content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
        )
