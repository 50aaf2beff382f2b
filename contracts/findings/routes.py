"""Findings over HTTP: the queue with filters, one finding with its evidence, explain, decide."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from carepact.catalogue import CATALOGUE
from contracts.agreement.engine import EVIDENCE_PROBLEMS
from contracts.agreement.rules import CLAUSE_KIND_LABELS
from contracts.findings import services
from contracts.findings.schemas import (
    AUDIT_KIND_LABELS,
    DECISION_LABELS,
    REASON_LABELS,
    STATE_LABELS,
    DecideIn,
    ExplainIn,
    FindingDetail,
    FindingSummary,
    Vocabulary,
)
from contracts.settlement.schemas import Month
from contracts.settlement.services import first_of
from contracts.tables import FindingState


class FindingController(Controller):
    path = "/api/findings"
    tags = ["违约发现 findings"]

    @get(
        "/",
        operation_id="listFindings",
        summary="违约发现列表（可按县区、乡镇、服务机构、户、条款、状态、月份筛选）",
    )
    async def list_findings(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        county_id: Annotated[int | None, Parameter(description="县（区）ID")] = None,
        township_id: Annotated[int | None, Parameter(description="乡镇（街道）ID")] = None,
        organisation_id: Annotated[int | None, Parameter(description="照料服务机构 ID")] = None,
        household_id: Annotated[int | None, Parameter(description="户 ID")] = None,
        clause_id: Annotated[str | None, Parameter(description="条款编号，如 visits_per_week", max_length=40)] = None,
        finding_state: Annotated[FindingState | None, Parameter(query="state", description="处理状态")] = None,
        month: Annotated[Month | None, Parameter(description="所属月份 YYYY-MM")] = None,
    ) -> Page[FindingSummary]:
        return await services.list_findings(
            principal,
            paging,
            county_id=county_id,
            township_id=township_id,
            organisation_id=organisation_id,
            household_id=household_id,
            clause_id=clause_id,
            state=finding_state,
            month=first_of(month) if month else None,
        )

    @get(
        "/vocabulary",
        operation_id="getFindingVocabulary",
        summary="违约发现的状态、说明原因、审核结论、条款类型和各条款名称",
    )
    async def vocabulary(self) -> Vocabulary:
        return Vocabulary(
            states={s.value: label for s, label in STATE_LABELS.items()},
            reasons={r.value: label for r, label in REASON_LABELS.items()},
            decisions=dict(DECISION_LABELS),
            clause_kinds=dict(CLAUSE_KIND_LABELS) | AUDIT_KIND_LABELS,
            clauses=await services.clause_titles(),
            evidence_problems=dict(EVIDENCE_PROBLEMS),
            services={code.value: service.label for code, service in CATALOGUE.items()},
        )

    @get("/{finding_id:int}", operation_id="getFinding", summary="违约发现详情：条款、日期、应达与实际、证据、扣减金额")
    async def get_finding(self, principal: CurrentPrincipal, finding_id: FromPath[int]) -> FindingDetail:
        return await services.get_finding(principal, finding_id)

    @post(
        "/{finding_id:int}/explain",
        operation_id="explainFinding",
        summary="服务机构说明原因（原因代码与说明）",
        status_code=200,
    )
    async def explain(
        self, request: Request, principal: CurrentPrincipal, finding_id: FromPath[int], data: JSONBody[ExplainIn]
    ) -> FindingDetail:
        await services.explain(principal, finding_id, data, actor_of(principal, client_ip(request)))
        return await services.get_finding(principal, finding_id)

    @post(
        "/{finding_id:int}/decide",
        operation_id="decideFinding",
        summary="县区审核：采纳说明、免于扣减或维持扣减",
        description="维持（uphold）的发现在该月结算单中按协议标准扣减，每户每月不超过上限；结论作出后不能更改。",
        status_code=200,
    )
    async def decide(
        self, request: Request, principal: CurrentPrincipal, finding_id: FromPath[int], data: JSONBody[DecideIn]
    ) -> FindingDetail:
        await services.decide(principal, finding_id, data, actor_of(principal, client_ip(request)))
        return await services.get_finding(principal, finding_id)
