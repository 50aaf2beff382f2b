"""The agreement over HTTP: template versions, household agreements (sign, read, print), sick
episodes, evaluations on demand and a household's compliance calendar."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal, Principal, may, require
from carepact.api import Page, PageRequest, Paging, client_ip
from carepact.audit.services import actor_of
from carepact.dates import day_start, local_today
from carepact.errors import not_found
from carepact.jobs.routes import job_out
from carepact.jobs.schemas import JobOut
from carepact.jobs.tables import Job
from contracts.agreement import evaluation, services
from contracts.agreement.calendar import calendar
from contracts.agreement.printing import agreement_html
from contracts.agreement.schemas import (
    AgreementDetail,
    AgreementIn,
    AgreementSummary,
    CalendarOut,
    EvaluateIn,
    EvaluationOut,
    PublishIn,
    RecoverIn,
    SickEpisodeIn,
    SickEpisodeOut,
    TemplateCheck,
    TemplateDetail,
    TemplateSummary,
)
from contracts.delivery import local_day
from contracts.settlement.schemas import Month
from contracts.settlement.services import first_of
from contracts.tables import SickKind
from providers.tables import Review, Visit

TAGS = ["服务协议 agreement"]


class AgreementTemplateController(Controller):
    path = "/api/agreement-templates"
    tags = TAGS

    @get("/", operation_id="listAgreementTemplates", summary="协议标准文本的各个版本")
    async def list_templates(self, principal: CurrentPrincipal) -> list[TemplateSummary]:
        return await services.list_templates()

    @get("/{version:int}", operation_id="getAgreementTemplate", summary="某版本的协议标准文本（条款与规则数字）")
    async def get_template(self, principal: CurrentPrincipal, version: FromPath[int]) -> TemplateDetail:
        return await services.get_template(version)

    @get(
        "/{version:int}/source",
        operation_id="getAgreementTemplateSource",
        summary="下载某版本的模板原文（TOML）",
        media_type="text/plain; charset=utf-8",
    )
    async def get_source(self, principal: CurrentPrincipal, version: FromPath[int]) -> Response[str]:
        return Response(
            await services.template_source(version),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="agreement-v{version}.toml"'},
        )

    @post(
        "/check",
        operation_id="checkAgreementTemplate",
        summary="检查模板原文（不发布），指出出错的行",
        status_code=200,
    )
    async def check(self, principal: CurrentPrincipal, data: JSONBody[PublishIn]) -> TemplateCheck:
        require(principal, "agreement.template_publish")
        return services.check_template(data.source)

    @post(
        "/",
        operation_id="publishAgreementTemplate",
        summary="发布协议标准文本的新版本（市民政局）",
        description="模板原文为 TOML；其中 version 必须是下一个版本号。模板有误时返回 400 agreement.template_invalid，"
        "并指出出错的行。已发布的版本不能修改；已签订的协议沿用原版本，重新签订后才适用新版本。",
        status_code=201,
    )
    async def publish(self, request: Request, principal: CurrentPrincipal, data: JSONBody[PublishIn]) -> TemplateDetail:
        version = await services.publish_template(
            principal, data.source, data.note, actor_of(principal, client_ip(request))
        )
        return await services.get_template(version)


class AgreementController(Controller):
    path = "/api/agreements"
    tags = TAGS

    @get("/", operation_id="listAgreements", summary="分散供养户的照料服务协议")
    async def list_agreements(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        household_id: Annotated[int | None, Parameter(description="户 ID")] = None,
        county_id: Annotated[int | None, Parameter(description="县（区）ID")] = None,
        organisation_id: Annotated[int | None, Parameter(description="照料服务机构 ID")] = None,
        template_version: Annotated[int | None, Parameter(description="标准文本版本")] = None,
        in_force_on: Annotated[dt.date | None, Parameter(description="只看此日期有效的协议")] = None,
    ) -> Page[AgreementSummary]:
        return await services.list_agreements(
            principal,
            paging,
            household_id=household_id,
            county_id=county_id,
            organisation_id=organisation_id,
            template_version=template_version,
            in_force_on=in_force_on,
        )

    @post(
        "/",
        operation_id="signAgreement",
        summary="签订照料服务协议（乡镇、街道经办人）",
        description="甲方为经办人所在的乡镇人民政府（街道办事处），乙方为服务机构或个人，丙方为该户供养人员；"
        "照料护理费按签订时的自理能力和标准文本版本确定。该户原有协议在新协议开始前一天终止。",
        status_code=201,
    )
    async def sign(self, request: Request, principal: CurrentPrincipal, data: JSONBody[AgreementIn]) -> AgreementDetail:
        agreement_id = await services.sign(principal, data, actor_of(principal, client_ip(request)))
        return await services.get_agreement(principal, agreement_id)

    @get("/{agreement_id:int}", operation_id="getAgreement", summary="协议详情（条款按本户取值）")
    async def get_agreement(self, principal: CurrentPrincipal, agreement_id: FromPath[int]) -> AgreementDetail:
        return await services.get_agreement(principal, agreement_id)

    @get(
        "/{agreement_id:int}/print",
        operation_id="printAgreement",
        summary="打印协议（A4 中文网页）",
        media_type="text/html; charset=utf-8",
    )
    async def print_agreement(self, principal: CurrentPrincipal, agreement_id: FromPath[int]) -> Response[str]:
        html = agreement_html(await services.get_agreement(principal, agreement_id))
        return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


class HouseholdCareController(Controller):
    """What the agreement says about one household: its agreement, its month, its illnesses."""

    path = "/api/households/{household_id:int}"
    tags = TAGS

    @get("/agreement", operation_id="getHouseholdAgreement", summary="本户在某日有效的协议（默认今天）")
    async def agreement(
        self,
        principal: CurrentPrincipal,
        household_id: FromPath[int],
        on: Annotated[dt.date | None, Parameter(description="日期（默认今天）")] = None,
    ) -> AgreementDetail:
        page = await services.list_agreements(
            principal,
            PageRequest(page=1, page_size=1),
            household_id=household_id,
            in_force_on=on or local_today(),
        )
        if not page.items:
            raise not_found("agreement", "服务协议")
        return await services.get_agreement(principal, page.items[0].id)

    @get(
        "/compliance",
        operation_id="getComplianceCalendar",
        summary="本户某月履约日历：应上门、已上门、未上门、患病的日子",
    )
    async def compliance(
        self,
        principal: CurrentPrincipal,
        household_id: FromPath[int],
        month: Annotated[Month | None, Parameter(description="月份 YYYY-MM（默认本月）")] = None,
    ) -> CalendarOut:
        found = await calendar(principal, household_id, first_of(month) if month else local_today().replace(day=1))
        return await _with_unverified(principal, found)

    @post(
        "/sick-episodes",
        operation_id="reportSickEpisode",
        summary="登记居家患病或住院（社工、乡镇经办人）",
        description="登记时间起适用看护条款；该户正在登记中的另一种情况（如居家患病转住院）在此时结束。",
        status_code=201,
    )
    async def report(
        self, request: Request, principal: CurrentPrincipal, household_id: FromPath[int], data: JSONBody[SickEpisodeIn]
    ) -> SickEpisodeOut:
        episode_id = await services.report_episode(
            principal, household_id, data, actor_of(principal, client_ip(request))
        )
        return services.episode_out(await services.visible_episode(principal, episode_id))


async def _with_unverified(principal: Principal, found: CalendarOut) -> CalendarOut:
    """The calendar plus, per day, the visits recorded that do not count (so "someone came, not
    proven" is told apart from "nobody came"), and whether the caller may re-evaluate now."""
    first, last = found.days[0].date, found.days[-1].date
    counted = {str(v) for day in found.days for v in day.visit_ids}
    corrected = Visit.select(Visit.corrects).where(Visit.corrects.is_not_null())
    rows = (
        await Visit.select(Visit.id, Visit.checkin_at)
        .where(
            (Visit.household == found.household_id)
            & (Visit.checkin_at >= day_start(first))
            & (Visit.checkin_at < day_start(last + dt.timedelta(days=1)))
            & (Visit.review != Review.rejected.value)
            & Visit.id.not_in(corrected)
        )
        .order_by(Visit.checkin_at)
    )
    unverified: dict[dt.date, list[uuid.UUID]] = defaultdict(list)
    for r in rows:
        if str(r["id"]) not in counted:
            unverified[local_day(r["checkin_at"])].append(uuid.UUID(str(r["id"])))
    days = [msgspec.structs.replace(d, unverified_visit_ids=unverified.get(d.date, [])) for d in found.days]
    return msgspec.structs.replace(found, days=days, can_evaluate=may(principal, "agreement.evaluate"))


class SickEpisodeController(Controller):
    path = "/api/sick-episodes"
    tags = TAGS

    @get("/", operation_id="listSickEpisodes", summary="患病、住院登记")
    async def list_episodes(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        household_id: Annotated[int | None, Parameter(description="户 ID")] = None,
        open: Annotated[bool, Parameter(description="只看尚未结束的")] = False,
        kind: Annotated[SickKind | None, Parameter(description="居家患病或住院")] = None,
    ) -> Page[SickEpisodeOut]:
        return await services.list_episodes(principal, paging, household_id=household_id, open_only=open, kind=kind)

    @post("/{episode_id:int}/recover", operation_id="recoverSickEpisode", summary="登记康复", status_code=200)
    async def recover(
        self, request: Request, principal: CurrentPrincipal, episode_id: FromPath[int], data: JSONBody[RecoverIn]
    ) -> SickEpisodeOut:
        await services.recover(principal, episode_id, data, actor_of(principal, client_ip(request)))
        return services.episode_out(await services.visible_episode(principal, episode_id))


class EvaluationController(Controller):
    path = "/api/agreement-evaluations"
    tags = TAGS

    @post(
        "/",
        operation_id="evaluateAgreements",
        summary="按协议核查履约情况（一户立即返回；服务机构、县区或全市为后台任务）",
        description="按月核查：默认本年 1 月至本月。重复核查不会产生重复的违约发现：已成立的发现更新，"
        "不再成立的发现若尚未处理则删除，已说明或已审核的标为“数据更新后不再成立”。每晚也会自动核查上月和本月。",
        responses={202: ResponseSpec(data_container=JobOut, description="后台任务：按任务 ID 查看进度与结果")},
        status_code=200,
    )
    async def evaluate(
        self, request: Request, principal: CurrentPrincipal, data: JSONBody[EvaluateIn]
    ) -> Response[EvaluationOut]:
        answer = await evaluation.request(principal, data, actor_of(principal, client_ip(request)))
        if isinstance(answer, EvaluationOut):
            return Response(answer, status_code=200)
        job = await Job.select().where(Job.id == answer).first()
        return Response(job_out(job), status_code=202)  # type: ignore[arg-type]
