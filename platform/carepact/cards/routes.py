"""Cards over HTTP: checking a scanned card, reissuing one, printing sheets, the card URL."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Redirect

from carepact.accounts.access import CurrentPrincipal, region_in_scope, require, visible_households
from carepact.api import client_ip
from carepact.audit.services import actor_of
from carepact.cards import services
from carepact.cards.schemas import CardCheck, CardOut, CardSheetIn, ReissueIn
from carepact.cards.sheet import card_url, qr_png
from carepact.cards.tables import CardSubject
from carepact.cards.tokens import TokenRefused
from carepact.errors import Problem, not_found
from carepact.jobs import services as jobs
from carepact.jobs.routes import job_out
from carepact.jobs.schemas import JobOut
from carepact.jobs.tables import Job
from carepact.privacy import mask_name
from carepact.registry.tables import Household, Person, Region


@get(
    "/c/{token:str}",
    operation_id="openCard",
    summary="扫描门牌卡打开的地址：转到签到页面",
    exclude_from_auth=True,
    tags=["门牌卡 cards"],
)
async def open_card(token: str) -> Redirect:
    # The phone's camera (or WeChat) opens this URL; the app shell takes the token from the hash.
    # A wristband ("k1.r.…") opens the resident's record on a staff device, a door card the check-in.
    page = "residents/scan" if token.split(".")[1:2] == [CardSubject.resident.value] else "checkin"
    return Redirect(path=f"/#/{page}?card={token[:100]}", status_code=302)


class CardController(Controller):
    path = "/api"
    tags = ["门牌卡 cards"]

    @get("/cards/check", operation_id="checkCard", summary="核验扫描到的门牌卡")
    async def check(
        self,
        principal: CurrentPrincipal,
        token: Annotated[str, Parameter(max_length=400, description="卡片令牌或卡片网址")],
    ) -> CardCheck:
        token = token.rsplit("/c/", 1)[-1].strip()
        try:
            claim = await services.verify(token, CardSubject.household)
        except TokenRefused as exc:
            return CardCheck(ok=False, code=exc.code, message=exc.message)
        row = (
            await Household.select(Household.id, Household.code, Household.village._.name)
            .where((Household.id == claim.subject_id) & visible_households(principal))
            .first()
        )
        if row is None:
            return CardCheck(ok=False, code="card.not_assigned", message="此户不在您的服务名单中，不能为其签到。")
        names = await Person.select(Person.name).where(Person.household == row["id"]).order_by(Person.id)
        return CardCheck(
            ok=True,
            code="card.ok",
            message="门牌卡有效",
            household_id=row["id"],
            household_code=row["code"],
            names_masked=[mask_name(n["name"]) for n in names],
            village_name=row["village.name"],
            assigned_to_me=True,
        )

    async def _household_in_scope(self, principal: CurrentPrincipal, household_id: int) -> dict:
        row = (
            await Household.select(Household.id, Household.village._.path)
            .where((Household.id == household_id) & visible_households(principal))
            .first()
        )
        if row is None:
            raise not_found("household", "户")
        return row

    @post(
        "/households/{household_id:int}/card",
        operation_id="reissueCard",
        summary="补发 / 换发门牌卡（旧卡立即作废）",
        status_code=201,
    )
    async def reissue(
        self, request: Request, principal: CurrentPrincipal, household_id: FromPath[int], data: JSONBody[ReissueIn]
    ) -> CardOut:
        row = await self._household_in_scope(principal, household_id)
        require(principal, "card.issue")
        if not region_in_scope(principal, row["village.path"]):
            raise Problem(403, "permission.denied", "该户不在您的管辖范围内。")
        token = await services.issue(
            CardSubject.household, household_id, actor_of(principal, client_ip(request)), reason=data.reason
        )
        version = await services.current_version(CardSubject.household, household_id)
        return CardOut(household_id=household_id, version=version or 1, url=card_url(token))

    @get(
        "/households/{household_id:int}/card.png",
        operation_id="getCardImage",
        summary="当前门牌卡二维码图片",
        media_type="image/png",
    )
    async def card_png(
        self, request: Request, principal: CurrentPrincipal, household_id: FromPath[int]
    ) -> Response[bytes]:
        row = await self._household_in_scope(principal, household_id)
        require(principal, "card.issue")
        if not region_in_scope(principal, row["village.path"]):
            raise Problem(403, "permission.denied", "该户不在您的管辖范围内。")
        token = await services.token_for(CardSubject.household, household_id, actor_of(principal, client_ip(request)))
        return Response(qr_png(card_url(token)), media_type="image/png", headers={"Cache-Control": "no-store"})

    @post(
        "/cards/sheets",
        operation_id="createCardSheet",
        summary="生成一个村或乡镇的门牌卡打印页（后台任务）",
        status_code=202,
    )
    async def create_sheet(self, principal: CurrentPrincipal, data: JSONBody[CardSheetIn]) -> JobOut:
        require(principal, "card.issue")
        region = await Region.select(Region.id, Region.path, Region.level).where(Region.id == data.region_id).first()
        if region is None or not region_in_scope(principal, region["path"]):
            raise not_found("region", "行政区域")
        if region["level"] not in ("village", "township"):
            raise Problem(400, "cards.region_level", "请选择一个村（社区）或乡镇（街道）生成门牌卡。")
        job_id = await jobs.submit(
            "make_card_sheet", {"region_id": data.region_id, "owner": principal.account_id}, owner=principal.account_id
        )
        row = await Job.select().where(Job.id == job_id).first()
        return job_out(row)
