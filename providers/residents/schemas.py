"""What crosses the wire for residents in centralised care: stays, care plans, daily records,
medication, incidents, handovers, monthly summaries and bed-days."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from carepact.catalogue import ServiceCode
from carepact.registry.schemas import ONE_LINE, IdNumber, Name, Notes
from carepact.registry.tables import CareLevel, Gender
from providers.tables import (
    CareKind,
    DoseOutcome,
    GoalKind,
    GoalOutcome,
    GoalStatus,
    IncidentKind,
    IncidentSeverity,
    MedicationRoute,
)

# --- vocabulary ----------------------------------------------------------------------------------

CARE_KIND_LABELS = {
    CareKind.treatment: "治疗",
    CareKind.rehabilitation: "康复",
    CareKind.nursing_hygiene: "护理与个人卫生",
    CareKind.meal: "进餐",
    CareKind.sleep: "睡眠",
    CareKind.mood_behaviour: "情绪与行为",
}
# Which catalogue service a kind of record delivers; observations deliver none. Custodial
# nursing (养护) is the daily-living care: hygiene, help at meals, the night's supervision.
SERVICE_OF_KIND: dict[CareKind, ServiceCode | None] = {
    CareKind.treatment: ServiceCode.treatment,
    CareKind.rehabilitation: ServiceCode.rehabilitation,
    CareKind.nursing_hygiene: ServiceCode.custodial_nursing,
    CareKind.meal: ServiceCode.custodial_nursing,
    CareKind.sleep: ServiceCode.custodial_nursing,
    CareKind.mood_behaviour: None,
}
FACILITY_SERVICES = [ServiceCode.treatment, ServiceCode.rehabilitation, ServiceCode.custodial_nursing]
# Suggested activities per kind (the tablet's quick-pick list; other short labels are accepted).
ACTIVITIES: dict[CareKind, list[str]] = {
    CareKind.treatment: ["医生查房", "个别心理治疗", "团体心理治疗", "生命体征测量", "物理治疗", "血液检查"],
    CareKind.rehabilitation: ["工娱治疗", "手工作业训练", "体育锻炼", "社交技能训练", "音乐治疗", "生活技能训练"],
    CareKind.nursing_hygiene: ["晨间护理", "洗漱", "沐浴", "更衣", "理发修甲", "床单位整理", "协助如厕"],
    CareKind.meal: ["早餐", "午餐", "晚餐", "加餐"],
    CareKind.sleep: ["夜间睡眠", "午休"],
    CareKind.mood_behaviour: ["日间观察", "夜间巡视"],
}
# Coded ratings: a kind listed here needs one of its codes; other kinds take none.
OBSERVATIONS: dict[CareKind, dict[str, str]] = {
    CareKind.meal: {
        "all": "全部进食",
        "most": "大部分进食",
        "half": "进食一半",
        "little": "少量进食",
        "none": "未进食",
    },
    CareKind.sleep: {"good": "睡眠良好", "fair": "睡眠一般", "poor": "睡眠差", "awake": "彻夜未眠"},
    CareKind.mood_behaviour: {
        "stable": "情绪稳定",
        "low": "情绪低落",
        "anxious": "焦虑不安",
        "agitated": "兴奋激越",
        "withdrawn": "退缩少语",
        "psychotic": "幻觉妄想表现",
    },
}
GOAL_KIND_LABELS = {GoalKind.treatment: "治疗目标", GoalKind.rehabilitation: "康复目标", GoalKind.nursing: "护理目标"}
GOAL_STATUS_LABELS = {GoalStatus.active: "进行中", GoalStatus.achieved: "已达成", GoalStatus.discontinued: "已停止"}
GOAL_OUTCOME_LABELS = {
    GoalOutcome.continued: "继续执行",
    GoalOutcome.revised: "修订目标",
    GoalOutcome.achieved: "已达成",
    GoalOutcome.discontinued: "停止",
}
ROUTE_LABELS = {
    MedicationRoute.oral: "口服",
    MedicationRoute.injection: "注射",
    MedicationRoute.topical: "外用",
    MedicationRoute.other: "其他",
}
DOSE_OUTCOME_LABELS = {
    DoseOutcome.given: "已服药",
    DoseOutcome.refused: "拒服",
    DoseOutcome.held: "暂停给药",
    DoseOutcome.missed: "漏服",
}
INCIDENT_KIND_LABELS = {
    IncidentKind.fall: "跌倒",
    IncidentKind.aggression: "冲动伤人",
    IncidentKind.self_harm_risk: "自伤自杀风险",
    IncidentKind.absconding: "擅自离院",
    IncidentKind.illness: "躯体疾病",
    IncidentKind.hospital_transfer: "转院治疗",
    IncidentKind.other: "其他",
}
SEVERITY_LABELS = {IncidentSeverity.minor: "轻微", IncidentSeverity.moderate: "中度", IncidentSeverity.serious: "严重"}
# What a screen shows instead of a health text it does not need (or the caller may not read).
MASKED = "有记录"

# --- shared field types ----------------------------------------------------------------------------

Ward = Annotated[str, Meta(min_length=1, max_length=32, pattern=ONE_LINE)]
Bed = Annotated[str, Meta(min_length=1, max_length=16, pattern=ONE_LINE)]
ContractCode = Annotated[
    str, Meta(max_length=40, pattern=r"^([A-Za-z0-9][A-Za-z0-9._/-]*)?$", description="支付本次住院费用的合同编号")
]
Reason = Annotated[str, Meta(min_length=2, max_length=200, pattern=ONE_LINE)]
Activity = Annotated[str, Meta(min_length=1, max_length=40, pattern=ONE_LINE)]
Observation = Annotated[str, Meta(max_length=16, pattern=r"^[a-z_]*$")]
LongText = Annotated[str, Meta(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
TimeOfDay = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM（北京时间）")]
ResidentId = Annotated[int, Meta(ge=1)]


class Labelled(msgspec.Struct, kw_only=True):
    code: str
    label: str


# --- stays -----------------------------------------------------------------------------------------


class NewPerson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag="new", tag_field="source"):
    """A person admitted for the first time. An ID number already in the registry (someone who
    lived at home in dispersed support) admits that person, if the name matches."""

    name: Name
    gender: Gender
    birth_year: Annotated[int, Meta(ge=1900, le=2100)]
    id_number: IdNumber
    care_level: CareLevel
    diagnosis: Notes = ""
    disability: Notes = ""


class ReturningPerson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag="returning", tag_field="source"):
    """A former resident of this facility, admitted again."""

    person_id: Annotated[int, Meta(ge=1)]


class AdmissionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    person: NewPerson | ReturningPerson
    ward: Ward
    bed: Bed
    admitted_on: dt.date
    contract_code: ContractCode = ""


class DischargeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    discharged_on: dt.date
    reason: Reason


class ResidentPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    ward: Ward | UnsetType = UNSET
    bed: Bed | UnsetType = UNSET
    contract_code: ContractCode | UnsetType = UNSET


class Alert(msgspec.Struct, kw_only=True):
    code: str  # review_overdue / doses_overdue / incident_recent / concern / new_admission
    label: str


class ResidentSummary(msgspec.Struct, kw_only=True):
    id: int  # the stay
    person_id: int
    name: str
    gender_label: str
    age: int
    care_level_label: str
    facility_id: int
    ward: str
    bed: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    present: bool
    contract_code: str
    recorded_today: list[CareKind]
    alerts: list[Alert]


# --- care plans --------------------------------------------------------------------------------------


class GoalIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: GoalKind
    goal: Annotated[str, Meta(min_length=2, max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
    review_due_on: dt.date


class GoalReviewIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcome: GoalOutcome
    note: Notes = ""
    next_review_on: dt.date | None = None  # needed to continue or revise a goal
    revised_goal: Annotated[str, Meta(max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")] = ""


class GoalReviewOut(msgspec.Struct, kw_only=True):
    reviewed_on: dt.date
    outcome: GoalOutcome
    outcome_label: str
    note: str
    next_review_on: dt.date | None
    reviewed_by_name: str


class GoalOut(msgspec.Struct, kw_only=True):
    id: int
    kind: GoalKind
    kind_label: str
    goal: str
    status: GoalStatus
    status_label: str
    set_on: dt.date
    review_due_on: dt.date
    last_reviewed_on: dt.date | None
    overdue: bool  # an active goal whose review date has passed
    days_overdue: int
    reviews: list[GoalReviewOut] = []


class CarePlanOut(msgspec.Struct, kw_only=True):
    resident_id: int
    goals: list[GoalOut]
    overdue_reviews: int
    next_review_on: dt.date | None


# --- daily records --------------------------------------------------------------------------------


class CareRecordIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID  # made by the tablet: a resubmission is stored once
    kind: CareKind
    activity: Activity
    observation: Observation = ""
    details: LongText = ""
    concern: bool = False
    performed_at: dt.datetime


class WardRoundIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID  # made by the tablet: a resubmission is stored once
    ward: Ward
    kind: CareKind
    activity: Activity
    observation: Observation = ""
    details: LongText = ""
    performed_at: dt.datetime
    resident_ids: Annotated[list[ResidentId], Meta(min_length=1, max_length=200)]


class CareRecordOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    resident_id: int
    kind: CareKind
    kind_label: str
    service: ServiceCode | None
    activity: str
    observation: str
    observation_label: str
    details: str
    concern: bool
    performed_at: dt.datetime
    recorded_by_name: str
    ward_round_id: uuid.UUID | None


class WardRoundOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    facility_id: int
    ward: str
    kind: CareKind
    kind_label: str
    activity: str
    performed_at: dt.datetime
    resident_ids: list[int]
    record_ids: list[uuid.UUID]
    recorded_by_name: str


# --- medication ---------------------------------------------------------------------------------------


class MedicationOrderIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    drug: Annotated[str, Meta(min_length=1, max_length=60, pattern=ONE_LINE)]
    dose: Annotated[str, Meta(min_length=1, max_length=40, pattern=ONE_LINE)]
    route: MedicationRoute
    times: Annotated[list[TimeOfDay], Meta(min_length=1, max_length=8)]
    starts_on: dt.date
    ends_on: dt.date | None = None
    prescribed_by: Annotated[str, Meta(max_length=32, pattern=ONE_LINE)] = ""
    instructions: Notes = ""


class MedicationStopIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ends_on: dt.date  # the last day the drug is given
    reason: Reason


class MedicationOrderOut(msgspec.Struct, kw_only=True):
    id: int
    resident_id: int
    drug: str
    dose: str
    instructions: str
    route: MedicationRoute
    route_label: str
    times: list[str]
    starts_on: dt.date
    ends_on: dt.date | None
    prescribed_by: str
    active: bool


class DoseIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    order_id: Annotated[int, Meta(ge=1)]
    scheduled_for: dt.datetime  # the scheduled time of the dose (from the due list)
    outcome: DoseOutcome
    reason: Annotated[str, Meta(max_length=200, pattern=ONE_LINE)] = ""  # needed unless given
    recorded_at: dt.datetime | None = None  # when it was given or decided; now when omitted


class DoseOut(msgspec.Struct, kw_only=True):
    """One scheduled dose, recorded or not (``outcome`` is None until it is)."""

    order_id: int
    resident_id: int
    resident_name: str
    ward: str
    bed: str
    drug: str
    dose: str
    route_label: str
    scheduled_for: dt.datetime
    outcome: DoseOutcome | None
    outcome_label: str
    reason: str
    overdue: bool  # not recorded, and its time plus the grace period has passed
    recorded_at: dt.datetime | None
    recorded_by_name: str


# --- incidents ------------------------------------------------------------------------------------------


class IncidentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID  # made by the device: a resubmission is stored once
    resident_id: ResidentId
    kind: IncidentKind
    severity: IncidentSeverity
    occurred_at: dt.datetime
    description: Annotated[str, Meta(min_length=2, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
    actions: LongText = ""


class IncidentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    resident_id: int
    resident_name: str
    facility_id: int
    ward: str
    bed: str
    kind: IncidentKind
    kind_label: str
    severity: IncidentSeverity
    severity_label: str
    occurred_at: dt.datetime
    description: str
    actions: str
    reported_by_name: str
    reported_at: dt.datetime
    auditor_notified: bool


# --- handovers ------------------------------------------------------------------------------------------


class HandoverIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ward: Ward
    note: LongText = ""


class ResidentRef(msgspec.Struct, kw_only=True):
    resident_id: int
    name: str
    bed: str


class IncidentBrief(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    resident_id: int
    name: str
    bed: str
    kind: IncidentKind
    kind_label: str
    severity: IncidentSeverity
    severity_label: str
    occurred_at: dt.datetime


class DoseBrief(msgspec.Struct, kw_only=True):
    resident_id: int
    name: str
    bed: str
    order_id: int
    scheduled_for: dt.datetime
    outcome: DoseOutcome | None  # None: not recorded and overdue
    outcome_label: str


class AttentionItem(msgspec.Struct, kw_only=True):
    resident_id: int
    name: str
    bed: str
    reasons: list[str]


class HandoverSummary(msgspec.Struct, kw_only=True):
    """What happened on a ward between two handovers: codes and names, never the notes."""

    ward: str
    period_start: dt.datetime
    period_end: dt.datetime
    residents_present: int
    admissions: list[ResidentRef]
    discharges: list[ResidentRef]
    incidents: list[IncidentBrief]
    doses_not_given: list[DoseBrief]
    doses_overdue: list[DoseBrief]
    records_by_kind: dict[str, int]
    attention: list[AttentionItem]


class HandoverOut(msgspec.Struct, kw_only=True):
    id: int | None  # None for a preview
    facility_id: int
    ward: str
    period_start: dt.datetime
    period_end: dt.datetime
    note: str
    created_by_name: str
    created_at: dt.datetime | None
    summary: HandoverSummary


# --- facility views --------------------------------------------------------------------------------------


class WardOverview(msgspec.Struct, kw_only=True):
    ward: str
    present: int
    doses_due: int  # in the shift window, not yet recorded
    doses_overdue: int
    incidents_24h: int
    concerns_24h: int


class OverdueReview(msgspec.Struct, kw_only=True):
    resident_id: int
    name: str
    ward: str
    bed: str
    goal_id: int
    kind: GoalKind
    kind_label: str
    review_due_on: dt.date
    days_overdue: int


class FacilityOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    region_name: str
    present: int
    wards: list[str]


class FacilityOverview(msgspec.Struct, kw_only=True):
    facility: FacilityOut
    as_of: dt.datetime
    wards: list[WardOverview]
    reviews_overdue: list[OverdueReview]
    serious_incidents_7d: list[IncidentBrief]
    can_write: bool


# --- the resident's record --------------------------------------------------------------------------------


class ResidentDetail(msgspec.Struct, kw_only=True):
    id: int
    person_id: int
    name: str
    gender_label: str
    birth_year: int
    age: int
    care_level_label: str
    id_number_masked: str
    diagnosis: str
    disability: str
    health_shown: bool  # False: health texts in this response are masked for the caller's role
    facility_id: int
    facility_name: str
    ward: str
    bed: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    discharge_reason: str
    present: bool
    contract_code: str
    card_version: int | None
    alerts: list[Alert]
    care_plan: CarePlanOut
    medications: list[MedicationOrderOut]
    doses_today: list[DoseOut]
    recent_records: list[CareRecordOut]  # the last 24 hours
    recent_incidents: list[IncidentOut]  # the last 30 days
    can_write: bool


class ResidentCardOut(msgspec.Struct, kw_only=True):
    resident_id: int
    version: int
    url: str


class ResidentCardCheck(msgspec.Struct, kw_only=True):
    """What a staff device shows after scanning a wristband or bed card."""

    ok: bool
    code: str
    message: str
    resident_id: int | None = None
    name_masked: str | None = None
    ward: str | None = None
    bed: str | None = None


# --- monthly -------------------------------------------------------------------------------------------------


class ServiceDelivered(msgspec.Struct, kw_only=True):
    service: ServiceCode
    label: str
    records: int  # care records of this service
    days: int  # bed-days with at least one such record
    days_without: int  # bed-days with none


class KindCount(msgspec.Struct, kw_only=True):
    kind: CareKind
    label: str
    count: int


class ObservationCount(msgspec.Struct, kw_only=True):
    kind: CareKind
    observation: str
    label: str
    count: int


class DoseTally(msgspec.Struct, kw_only=True):
    scheduled: int
    given: int
    refused: int
    held: int
    missed: int
    unrecorded: int  # scheduled (before now) with no record at all


class MonthlySummary(msgspec.Struct, kw_only=True):
    resident_id: int
    name: str
    gender_label: str
    age: int
    id_number_masked: str
    facility_name: str
    ward: str
    bed: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    contract_code: str
    month: str  # YYYY-MM
    days_in_month: int
    bed_days: int
    month_complete: bool
    services: list[ServiceDelivered]
    records_by_kind: list[KindCount]
    observations: list[ObservationCount]
    concern_days: int
    doses: DoseTally
    incidents: list[IncidentBrief]
    goals: list[GoalOut]
    health_shown: bool


class BedDayLine(msgspec.Struct, kw_only=True):
    resident_id: int
    person_id: int
    name: str
    ward: str
    bed: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    contract_code: str
    bed_days: int
    service_days: dict[str, int]  # service code → bed-days with a record of it
    records: dict[str, int]  # service code → care records


class BedDayReport(msgspec.Struct, kw_only=True):
    """A facility's month: the bed-days each stay occupied (what the contract prices) and the
    services its records show were delivered on those days."""

    facility_id: int
    facility_name: str
    month: str
    days_counted: int  # days of the month counted so far (all of them once the month is over)
    month_complete: bool
    bed_days: int
    by_contract: dict[str, int]  # contract code ("" = none named) → bed-days
    services: list[ServiceDelivered]
    residents: list[BedDayLine]


class Vocabulary(msgspec.Struct, kw_only=True):
    care_kinds: list[Labelled]
    activities: dict[str, list[str]]
    observations: dict[str, list[Labelled]]
    goal_kinds: list[Labelled]
    goal_outcomes: list[Labelled]
    routes: list[Labelled]
    dose_outcomes: list[Labelled]
    incident_kinds: list[Labelled]
    severities: list[Labelled]
