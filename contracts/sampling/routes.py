"""Audit samples over HTTP: draw one, list and read them, record a call-back's outcome."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from contracts.sampling import services
from contracts.sampling.schemas import (
    METHOD_LABELS,
    OUTCOME_LABELS,
    DrawIn,
    OutcomeIn,
    SampleDetail,
    SampledVisitOut,
    SampleSummary,
    SampleVocabulary,
)


class SampleController(Controller):
    path = "/api/samples"
    tags = ["抽查回访 audit samples"]

    @get("/", operation_id="listSamples", summary="抽查列表（县区审核员：本县区；市局：全市）")
    async def list_samples(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        organisation_id: Annotated[int | None, Parameter(description="只看抽到该服务机构的抽查")] = None,
    ) -> Page[SampleSummary]:
        return await services.list_samples(principal, paging, organisation_id=organisation_id)

    @post(
        "/",
        operation_id="drawSample",
        summary="随机抽取已核验的服务记录（按服务机构，每家若干条），用于电话回访或入户复核",
        description="总体为该区域内、该期间的有效服务记录（与结算口径相同）。每条记录的抽签号为 "
        "SHA-256(“种子:记录编号”)，每家服务机构取最小的若干条；不填种子则随机生成。种子、总体查询和各机构总体的摘要"
        "都记录在抽查上：同一种子、同一总体再抽一次，结果相同。",
        status_code=201,
    )
    async def draw(self, request: Request, principal: CurrentPrincipal, data: JSONBody[DrawIn]) -> SampleDetail:
        sample_id = await services.draw_sample(principal, data, actor_of(principal, client_ip(request)))
        return await services.get_sample(principal, sample_id)

    @get("/vocabulary", operation_id="getSampleVocabulary", summary="核实结论与核实方式")
    async def vocabulary(self) -> SampleVocabulary:
        return SampleVocabulary(
            outcomes={o.value: label for o, label in OUTCOME_LABELS.items()},
            methods={m.value: label for m, label in METHOD_LABELS.items()},
        )

    @get("/{sample_id:int}", operation_id="getSample", summary="抽查详情：抽中的服务记录和核实结果")
    async def get_sample(self, principal: CurrentPrincipal, sample_id: FromPath[int]) -> SampleDetail:
        return await services.get_sample(principal, sample_id)

    @post(
        "/{sample_id:int}/visits/{visit_id:uuid}/outcome",
        operation_id="recordSampleOutcome",
        summary="登记核实结果：属实、无法核实或与记录不符（不符时形成违约发现）",
        description="“与记录不符”按该户服务当日生效的协议形成一条违约发现（条款：抽查核实与服务记录不符），"
        "由服务机构说明、县区审核；同一条服务记录只形成一条。结果可以更正：改为其他结论时，尚未审核的违约发现"
        "标为“数据更新后不再成立”，已审核的则不能再改。",
        status_code=200,
    )
    async def record_outcome(
        self,
        request: Request,
        principal: CurrentPrincipal,
        sample_id: FromPath[int],
        visit_id: FromPath[uuid.UUID],
        data: JSONBody[OutcomeIn],
    ) -> SampledVisitOut:
        return await services.record_outcome(
            principal, sample_id, visit_id, data, actor_of(principal, client_ip(request))
        )
