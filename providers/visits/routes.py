"""Visits over HTTP: a worker's day, check-in and check-out, supervisors' review."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import UNCOMPRESSED, Page, Paging, client_ip
from carepact.audit.services import actor_of
from carepact.catalogue import HOME_SERVICES
from providers.tables import Review
from providers.visits import services
from providers.visits.schemas import (
    MANUAL_REASON_LABELS,
    CheckinIn,
    CheckoutIn,
    CorrectionIn,
    ReviewIn,
    TodayHousehold,
    VisitDetail,
    VisitSummary,
)


class VisitController(Controller):
    path = "/api/visits"
    tags = ["上门服务 visits"]

    @get("/", operation_id="listVisits", summary="服务记录列表")
    async def list_visits(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        household_id: Annotated[int | None, Parameter(description="户 ID")] = None,
        worker_id: Annotated[int | None, Parameter(description="社工账号 ID")] = None,
        review: Annotated[Review | None, Parameter(description="审核状态")] = None,
        flagged: Annotated[bool | None, Parameter(description="只看有疑点的记录")] = None,
        since: Annotated[dt.date | None, Parameter(description="起始日期（含）")] = None,
        until: Annotated[dt.date | None, Parameter(description="截止日期（含）")] = None,
    ) -> Page[VisitSummary]:
        return await services.list_visits(
            principal,
            paging,
            household_id=household_id,
            worker_id=worker_id,
            review=review,
            flagged=flagged,
            since=since,
            until=until,
        )

    @get("/today", operation_id="getMyDay", summary="我的今日服务清单（社工）")
    async def today(self, principal: CurrentPrincipal) -> list[TodayHousehold]:
        return await services.today(principal)

    @get("/vocabulary", operation_id="getVisitVocabulary", summary="服务项目与无法扫码原因")
    async def vocabulary(self) -> dict[str, list[dict[str, str]]]:
        return {
            "services": [{"code": k.code.value, "label": k.label} for k in HOME_SERVICES],
            "manual_reasons": [{"code": r.value, "label": label} for r, label in MANUAL_REASON_LABELS.items()],
        }

    @get("/{visit_id:uuid}", operation_id="getVisit", summary="服务记录详情（含疑点与照片）")
    async def get_visit(self, principal: CurrentPrincipal, visit_id: FromPath[uuid.UUID]) -> VisitDetail:
        return await services.get_visit(principal, visit_id)

    @post(
        "/checkin",
        operation_id="checkinVisit",
        summary="签到（可重复提交：同一编号同一内容只保存一次）",
        description="手机生成服务记录 UUID。离线时记录保存在手机上，恢复网络后按原样提交；服务器记录手机时间、接收时间和时钟偏差。",
        opt={UNCOMPRESSED: True},
    )
    async def checkin(
        self, request: Request, principal: CurrentPrincipal, data: JSONBody[CheckinIn]
    ) -> Response[VisitDetail]:
        visit, created = await services.checkin(principal, data, actor_of(principal, client_ip(request)))
        return Response(visit, status_code=201 if created else 200)

    @post("/{visit_id:uuid}/checkout", operation_id="checkoutVisit", summary="签退：填写服务内容", status_code=200)
    async def checkout(
        self, request: Request, principal: CurrentPrincipal, visit_id: FromPath[uuid.UUID], data: JSONBody[CheckoutIn]
    ) -> VisitDetail:
        return await services.checkout(principal, visit_id, data, actor_of(principal, client_ip(request)))

    @post(
        "/{visit_id:uuid}/review",
        operation_id="reviewVisit",
        summary="审核手工录入的服务记录（通过后锁定）",
        status_code=200,
    )
    async def review(
        self, request: Request, principal: CurrentPrincipal, visit_id: FromPath[uuid.UUID], data: JSONBody[ReviewIn]
    ) -> VisitDetail:
        return await services.review(principal, visit_id, data, actor_of(principal, client_ip(request)))

    @post(
        "/{visit_id:uuid}/corrections",
        operation_id="correctVisit",
        summary="更正已锁定的服务记录（生成新记录，原记录保留）",
        status_code=201,
    )
    async def correct(
        self, request: Request, principal: CurrentPrincipal, visit_id: FromPath[uuid.UUID], data: JSONBody[CorrectionIn]
    ) -> VisitDetail:
        return await services.correct(principal, visit_id, data, actor_of(principal, client_ip(request)))
