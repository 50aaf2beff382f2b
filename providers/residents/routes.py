"""Residents in centralised care over HTTP: the facility's lists and shift views, each resident's
record, bedside entries, wristband cards, monthly summaries and bed-days."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from carepact.cards import services as cards
from carepact.cards.schemas import ReissueIn
from carepact.cards.sheet import card_url, qr_png
from carepact.cards.tables import CardSubject
from carepact.cards.tokens import TokenRefused
from carepact.dates import local_today, month_start
from carepact.errors import Problem
from carepact.privacy import mask_name
from providers.residents import handover, incidents, medication, records, scope, services, summary
from providers.residents.schemas import (
    ACTIVITIES,
    CARE_KIND_LABELS,
    DOSE_OUTCOME_LABELS,
    GOAL_KIND_LABELS,
    GOAL_OUTCOME_LABELS,
    INCIDENT_KIND_LABELS,
    OBSERVATIONS,
    ROUTE_LABELS,
    SEVERITY_LABELS,
    AdmissionIn,
    BedDayReport,
    CarePlanOut,
    CareRecordIn,
    CareRecordOut,
    DischargeIn,
    DoseIn,
    DoseOut,
    FacilityOut,
    FacilityOverview,
    GoalIn,
    GoalReviewIn,
    HandoverIn,
    HandoverOut,
    IncidentIn,
    IncidentOut,
    Labelled,
    MedicationOrderIn,
    MedicationOrderOut,
    MedicationStopIn,
    MonthlySummary,
    ResidentCardCheck,
    ResidentCardOut,
    ResidentDetail,
    ResidentPatch,
    ResidentSummary,
    Vocabulary,
    WardRoundIn,
    WardRoundOut,
)
from providers.tables import CareKind, IncidentSeverity

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
WardName = Annotated[str, Parameter(min_length=1, max_length=32, description="病区")]


def _month(value: str | None) -> dt.date:
    return month_start(value) if value else local_today().replace(day=1)


def _labelled(labels: dict) -> list[Labelled]:
    return [Labelled(code=k.value if hasattr(k, "value") else k, label=v) for k, v in labels.items()]


class FacilityController(Controller):
    path = "/api/facilities"
    tags = ["集中供养机构 facilities"]

    @get("/", operation_id="listFacilities", summary="我可查看的供养机构（在院人数、病区）")
    async def list_facilities(self, principal: CurrentPrincipal) -> list[FacilityOut]:
        return await services.list_facilities(principal)

    @get(
        "/{facility_id:int}/overview",
        operation_id="getFacilityOverview",
        summary="机构当班概览：各病区待给药与逾期、事件、需关注，护理计划评估逾期",
    )
    async def overview(
        self, request: Request, principal: CurrentPrincipal, facility_id: FromPath[int]
    ) -> FacilityOverview:
        return await services.overview(principal, facility_id, actor_of(principal, client_ip(request)))

    @get(
        "/{facility_id:int}/residents",
        operation_id="listResidents",
        summary="住院人员列表（按病区、床位；含今日已记录项目与提醒）",
        description="每次查看写入一条审计记录，列出所显示的住院人员。",
    )
    async def list_residents(
        self,
        request: Request,
        principal: CurrentPrincipal,
        facility_id: FromPath[int],
        ward: Annotated[str | None, Parameter(max_length=32, description="病区")] = None,
        q: Annotated[str | None, Parameter(max_length=32, description="姓名或床号")] = None,
        include_discharged: Annotated[bool, Parameter(description="包括已出院人员")] = False,
    ) -> list[ResidentSummary]:
        return await services.list_residents(
            principal,
            facility_id,
            actor_of(principal, client_ip(request)),
            ward=ward,
            q=q,
            include_discharged=include_discharged,
        )

    @post("/{facility_id:int}/residents", operation_id="admitResident", summary="办理入院", status_code=201)
    async def admit(
        self, request: Request, principal: CurrentPrincipal, facility_id: FromPath[int], data: JSONBody[AdmissionIn]
    ) -> ResidentDetail:
        return await services.admit(principal, facility_id, data, actor_of(principal, client_ip(request)))

    @get(
        "/{facility_id:int}/doses/due",
        operation_id="listDueDoses",
        summary="当班待给药（过去 12 小时未记录的与未来 2 小时的剂次，逾期标出）",
    )
    async def due_doses(
        self,
        request: Request,
        principal: CurrentPrincipal,
        facility_id: FromPath[int],
        ward: Annotated[str | None, Parameter(max_length=32, description="病区")] = None,
        overdue_only: Annotated[bool, Parameter(description="只看逾期")] = False,
    ) -> list[DoseOut]:
        return await medication.due(principal, facility_id, actor_of(principal, client_ip(request)), ward, overdue_only)

    @get("/{facility_id:int}/incidents", operation_id="listFacilityIncidents", summary="机构事件列表（描述已隐去）")
    async def list_incidents(
        self,
        request: Request,
        principal: CurrentPrincipal,
        paging: Paging,
        facility_id: FromPath[int],
        severity: Annotated[IncidentSeverity | None, Parameter(description="严重程度")] = None,
        since: Annotated[dt.date | None, Parameter(description="起始日期（含）")] = None,
    ) -> Page[IncidentOut]:
        return await incidents.list_facility(
            principal, facility_id, paging, actor_of(principal, client_ip(request)), severity=severity, since=since
        )

    @post(
        "/{facility_id:int}/ward-rounds",
        operation_id="recordWardRound",
        summary="查房批量记录：多名住院人员同一项目（可重复提交：同一编号只保存一次）",
    )
    async def ward_round(
        self, request: Request, principal: CurrentPrincipal, facility_id: FromPath[int], data: JSONBody[WardRoundIn]
    ) -> Response[WardRoundOut]:
        out, created = await records.add_ward_round(
            principal, facility_id, data, actor_of(principal, client_ip(request))
        )
        return Response(out, status_code=201 if created else 200)

    @get("/{facility_id:int}/handovers", operation_id="listHandovers", summary="交班记录（最新在前）")
    async def list_handovers(
        self,
        request: Request,
        principal: CurrentPrincipal,
        facility_id: FromPath[int],
        ward: Annotated[str | None, Parameter(max_length=32, description="病区")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> list[HandoverOut]:
        return await handover.list_handovers(
            principal, facility_id, actor_of(principal, client_ip(request)), ward, limit
        )

    @get(
        "/{facility_id:int}/handovers/preview",
        operation_id="previewHandover",
        summary="交班预览：自本病区上次交班以来的事件、未服药、需关注人员（不保存）",
    )
    async def preview_handover(
        self, request: Request, principal: CurrentPrincipal, facility_id: FromPath[int], ward: WardName
    ) -> HandoverOut:
        return await handover.preview(principal, facility_id, ward, actor_of(principal, client_ip(request)))

    @post(
        "/{facility_id:int}/handovers", operation_id="createHandover", summary="交班（保存当时的小结）", status_code=201
    )
    async def create_handover(
        self, request: Request, principal: CurrentPrincipal, facility_id: FromPath[int], data: JSONBody[HandoverIn]
    ) -> HandoverOut:
        return await handover.hand_over(principal, facility_id, data, actor_of(principal, client_ip(request)))

    @get(
        "/{facility_id:int}/bed-days",
        operation_id="getBedDays",
        summary="月度床日与服务提供情况（合同结算按床日计价）",
        description="入院当日计床日，出院当日不计；本月只计到今天。服务天数来自日常记录的服务项目。",
    )
    async def bed_days(
        self,
        request: Request,
        principal: CurrentPrincipal,
        facility_id: FromPath[int],
        month: Annotated[str | None, Parameter(pattern=MONTH, description="月份 YYYY-MM，默认本月")] = None,
    ) -> BedDayReport:
        return await services.bed_day_report(
            principal, facility_id, _month(month), actor_of(principal, client_ip(request))
        )


class ResidentController(Controller):
    path = "/api/residents"
    tags = ["住院人员 residents"]

    @get("/vocabulary", operation_id="getResidentVocabulary", summary="记录类别、常用项目、评估等级、事件类别等选项")
    async def vocabulary(self) -> Vocabulary:
        return Vocabulary(
            care_kinds=_labelled(CARE_KIND_LABELS),
            activities={k.value: v for k, v in ACTIVITIES.items()},
            observations={k.value: _labelled(v) for k, v in OBSERVATIONS.items()},
            goal_kinds=_labelled(GOAL_KIND_LABELS),
            goal_outcomes=_labelled(GOAL_OUTCOME_LABELS),
            routes=_labelled(ROUTE_LABELS),
            dose_outcomes=_labelled(DOSE_OUTCOME_LABELS),
            incident_kinds=_labelled(INCIDENT_KIND_LABELS),
            severities=_labelled(SEVERITY_LABELS),
        )

    @get(
        "/{resident_id:int}",
        operation_id="getResident",
        summary="住院人员记录（护理计划、在用医嘱、今日给药、24 小时记录、30 天事件）",
        description="每次查看写入审计日志。健康信息仅对本机构工作人员和县区审核员显示原文。",
    )
    async def get_resident(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int]
    ) -> ResidentDetail:
        return await services.detail(principal, resident_id, actor_of(principal, client_ip(request)))

    @patch("/{resident_id:int}", operation_id="updateResident", summary="调整病区、床位或付费合同")
    async def update(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int], data: JSONBody[ResidentPatch]
    ) -> ResidentDetail:
        return await services.update_stay(principal, resident_id, data, actor_of(principal, client_ip(request)))

    @post(
        "/{resident_id:int}/discharge",
        operation_id="dischargeResident",
        summary="办理出院（须填写原因）",
        status_code=200,
    )
    async def discharge(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int], data: JSONBody[DischargeIn]
    ) -> ResidentDetail:
        return await services.discharge(principal, resident_id, data, actor_of(principal, client_ip(request)))

    @get("/{resident_id:int}/records", operation_id="listCareRecords", summary="日常服务记录（最新在前）")
    async def list_records(
        self,
        request: Request,
        principal: CurrentPrincipal,
        paging: Paging,
        resident_id: FromPath[int],
        kind: Annotated[CareKind | None, Parameter(description="记录类别")] = None,
        since: Annotated[dt.date | None, Parameter(description="起始日期（含）")] = None,
        until: Annotated[dt.date | None, Parameter(description="截止日期（含）")] = None,
    ) -> Page[CareRecordOut]:
        return await records.list_records(
            principal, resident_id, paging, actor_of(principal, client_ip(request)), kind=kind, since=since, until=until
        )

    @post(
        "/{resident_id:int}/records",
        operation_id="addCareRecord",
        summary="记录一项服务或观察（可重复提交：同一编号只保存一次）",
    )
    async def add_record(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int], data: JSONBody[CareRecordIn]
    ) -> Response[CareRecordOut]:
        out, created = await records.add_record(principal, resident_id, data, actor_of(principal, client_ip(request)))
        return Response(out, status_code=201 if created else 200)

    @get("/{resident_id:int}/care-plan", operation_id="getCarePlan", summary="护理计划（目标、评估记录、逾期提醒）")
    async def care_plan(self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int]) -> CarePlanOut:
        return await records.read_care_plan(principal, resident_id, actor_of(principal, client_ip(request)))

    @post("/{resident_id:int}/care-plan/goals", operation_id="addCareGoal", summary="新增护理计划目标", status_code=201)
    async def add_goal(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int], data: JSONBody[GoalIn]
    ) -> CarePlanOut:
        return await records.add_goal(principal, resident_id, data, actor_of(principal, client_ip(request)))

    @get("/{resident_id:int}/medications", operation_id="listMedicationOrders", summary="医嘱（含已停止）")
    async def list_medications(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int]
    ) -> list[MedicationOrderOut]:
        return await medication.read_orders(principal, resident_id, actor_of(principal, client_ip(request)))

    @post("/{resident_id:int}/medications", operation_id="addMedicationOrder", summary="新开长期医嘱", status_code=201)
    async def add_medication(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resident_id: FromPath[int],
        data: JSONBody[MedicationOrderIn],
    ) -> MedicationOrderOut:
        return await medication.add_order(principal, resident_id, data, actor_of(principal, client_ip(request)))

    @get("/{resident_id:int}/doses", operation_id="listResidentDoses", summary="某日给药计划与执行情况")
    async def doses(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resident_id: FromPath[int],
        day: Annotated[dt.date | None, Parameter(description="日期，默认今天")] = None,
    ) -> list[DoseOut]:
        return await medication.resident_day(
            principal, resident_id, day or local_today(), actor_of(principal, client_ip(request))
        )

    @get("/{resident_id:int}/incidents", operation_id="listResidentIncidents", summary="该住院人员的全部事件")
    async def list_incidents(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int]
    ) -> list[IncidentOut]:
        return await incidents.read_resident_incidents(principal, resident_id, actor_of(principal, client_ip(request)))

    @post(
        "/{resident_id:int}/card",
        operation_id="issueResidentCard",
        summary="制作 / 补发腕带或床头卡（旧卡立即作废）",
        status_code=201,
    )
    async def issue_card(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int], data: JSONBody[ReissueIn]
    ) -> ResidentCardOut:
        await scope.writable_stay(principal, resident_id, "resident.card_issue")
        token = await cards.issue(
            CardSubject.resident, resident_id, actor_of(principal, client_ip(request)), reason=data.reason
        )
        version = await cards.current_version(CardSubject.resident, resident_id)
        return ResidentCardOut(resident_id=resident_id, version=version or 1, url=card_url(token))

    @get(
        "/{resident_id:int}/card.png",
        operation_id="getResidentCardImage",
        summary="当前腕带 / 床头卡二维码图片（没有时制作第一张）",
        media_type="image/png",
    )
    async def card_png(
        self, request: Request, principal: CurrentPrincipal, resident_id: FromPath[int]
    ) -> Response[bytes]:
        await scope.writable_stay(principal, resident_id, "resident.card_issue")
        token = await cards.token_for(CardSubject.resident, resident_id, actor_of(principal, client_ip(request)))
        return Response(qr_png(card_url(token)), media_type="image/png", headers={"Cache-Control": "no-store"})

    @get("/{resident_id:int}/summary", operation_id="getResidentMonth", summary="月度照护小结（数据）")
    async def month_summary(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resident_id: FromPath[int],
        month: Annotated[str | None, Parameter(pattern=MONTH, description="月份 YYYY-MM，默认本月")] = None,
    ) -> MonthlySummary:
        return await summary.summarise(
            principal, resident_id, _month(month), actor_of(principal, client_ip(request)), "summary"
        )

    @get(
        "/{resident_id:int}/summary/print",
        operation_id="printResidentMonth",
        summary="月度照护小结（可打印的 A4 页面）",
        media_type="text/html",
    )
    async def print_summary(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resident_id: FromPath[int],
        month: Annotated[str | None, Parameter(pattern=MONTH, description="月份 YYYY-MM，默认本月")] = None,
    ) -> Response[str]:
        s = await summary.summarise(
            principal, resident_id, _month(month), actor_of(principal, client_ip(request)), "summary_print"
        )
        return Response(
            summary.print_html(s, dt.datetime.now(dt.UTC)),
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )


class ResidentCareController(Controller):
    """Entries addressed by their own id (a goal, an order, a dose, an incident) and the wristband scan."""

    path = "/api"
    tags = ["住院人员 residents"]

    @post(
        "/care-goals/{goal_id:int}/reviews", operation_id="reviewCareGoal", summary="评估护理计划目标", status_code=201
    )
    async def review_goal(
        self, request: Request, principal: CurrentPrincipal, goal_id: FromPath[int], data: JSONBody[GoalReviewIn]
    ) -> CarePlanOut:
        return await records.review_goal(principal, goal_id, data, actor_of(principal, client_ip(request)))

    @post("/medications/{order_id:int}/stop", operation_id="stopMedicationOrder", summary="停止医嘱", status_code=200)
    async def stop_medication(
        self, request: Request, principal: CurrentPrincipal, order_id: FromPath[int], data: JSONBody[MedicationStopIn]
    ) -> MedicationOrderOut:
        return await medication.stop_order(principal, order_id, data, actor_of(principal, client_ip(request)))

    @post(
        "/doses",
        operation_id="recordDose",
        summary="记录一个剂次：已服药、拒服、暂停或漏服（非已服药须填原因；同一剂次只保存一次）",
    )
    async def record_dose(
        self, request: Request, principal: CurrentPrincipal, data: JSONBody[DoseIn]
    ) -> Response[DoseOut]:
        out, created = await medication.record_dose(principal, data, actor_of(principal, client_ip(request)))
        return Response(out, status_code=201 if created else 200)

    @post(
        "/incidents",
        operation_id="reportIncident",
        summary="上报事件（严重事件同时通知县区审核员；事件不能修改或删除）",
    )
    async def report_incident(
        self, request: Request, principal: CurrentPrincipal, data: JSONBody[IncidentIn]
    ) -> Response[IncidentOut]:
        out, created = await incidents.report(principal, data, actor_of(principal, client_ip(request)))
        return Response(out, status_code=201 if created else 200)

    @get("/incidents/{incident_id:uuid}", operation_id="getIncident", summary="事件详情")
    async def get_incident(
        self, request: Request, principal: CurrentPrincipal, incident_id: FromPath[uuid.UUID]
    ) -> IncidentOut:
        return await incidents.get_incident(principal, incident_id, actor_of(principal, client_ip(request)))

    @get("/cards/resident-check", operation_id="checkResidentCard", summary="核验扫描到的腕带 / 床头卡，返回住院人员")
    async def check_card(
        self,
        request: Request,
        principal: CurrentPrincipal,
        token: Annotated[str, Parameter(max_length=400, description="卡片令牌或卡片网址")],
    ) -> ResidentCardCheck:
        token = token.rsplit("/c/", 1)[-1].strip()
        try:
            claim = await cards.verify(token, CardSubject.resident)
        except TokenRefused as exc:
            return ResidentCardCheck(ok=False, code=exc.code, message=exc.message)
        try:
            stay = await scope.visible_stay(principal, claim.subject_id)
        except Problem:
            return ResidentCardCheck(ok=False, code="card.not_in_scope", message="此腕带不属于您所在机构的住院人员。")
        await scope.log_read(actor_of(principal, client_ip(request)), stay["id"], "card_scan", version=claim.version)
        return ResidentCardCheck(
            ok=True,
            code="card.ok",
            message="腕带有效",
            resident_id=stay["id"],
            name_masked=mask_name(stay["person.name"]),
            ward=stay["ward"],
            bed=stay["bed"],
        )
