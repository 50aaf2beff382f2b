"""What crosses the wire for visits."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from carepact.catalogue import ServiceCode
from providers.tables import FlagSeverity, ManualReason, Presence, Review, VisitStatus

MANUAL_REASON_LABELS = {
    ManualReason.card_missing: "门牌卡丢失",
    ManualReason.card_damaged: "门牌卡损坏无法识别",
    ManualReason.camera_unavailable: "手机摄像头不可用",
    ManualReason.phone_problem: "手机故障或没电",
    ManualReason.person_not_home: "服务对象不在家",
    ManualReason.person_refused: "服务对象拒绝服务",
    ManualReason.person_hospitalised: "服务对象住院（在医院服务）",
    ManualReason.service_elsewhere: "在住址以外地点服务",
    ManualReason.other: "其他原因（须说明）",
}
PRESENCE_LABELS = {Presence.qr: "扫码签到", Presence.qr_failed: "扫码未通过", Presence.manual: "手工录入"}
REVIEW_LABELS = {
    Review.not_required: "无需审核",
    Review.awaiting_approval: "待审核",
    Review.approved: "已审核通过",
    Review.rejected: "已驳回",
}
STATUS_LABELS = {VisitStatus.in_progress: "服务中", VisitStatus.completed: "已完成"}

Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
Accuracy = Annotated[float, Meta(ge=0, le=100_000)]
PhotoIds = Annotated[list[uuid.UUID], Meta(max_length=10)]
CardToken = Annotated[str, Meta(min_length=1, max_length=200)]


class Position(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    latitude: Latitude
    longitude: Longitude
    accuracy_m: Accuracy | None = None


class CheckinIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Sent at the door, or later from the phone's offline queue."""

    id: uuid.UUID  # made by the phone
    household_id: Annotated[int, Meta(ge=1)]
    device_time: dt.datetime  # when the worker checked in, by the phone's clock
    sent_at: dt.datetime  # the phone's clock when this request was sent: gives the clock skew
    card_token: CardToken | None = None
    manual_reason: ManualReason | None = None
    manual_note: Annotated[str, Meta(max_length=300)] = ""
    position: Position | None = None
    photo_ids: PhotoIds = []


class CheckoutIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    device_time: dt.datetime
    sent_at: dt.datetime
    services: Annotated[list[ServiceCode], Meta(min_length=1, max_length=10)]
    notes: Annotated[str, Meta(max_length=1000)] = ""
    position: Position | None = None
    photo_ids: PhotoIds = []


class ReviewIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    comment: Annotated[str, Meta(max_length=300)] = ""


class CorrectionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A supervisor's correction of a locked visit: what was really done, and why it changed."""

    services: Annotated[list[ServiceCode], Meta(min_length=1, max_length=10)]
    notes: Annotated[str, Meta(max_length=1000)] = ""
    reason: Annotated[str, Meta(min_length=2, max_length=300)]


class FlagOut(msgspec.Struct, kw_only=True):
    code: str
    severity: FlagSeverity
    message: str
    evidence: dict[str, Any]
    source: str


class VisitPhotoOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    stage: str
    status: str
    thumb_url: str
    display_url: str


class VisitServiceOut(msgspec.Struct, kw_only=True):
    code: ServiceCode
    label: str


class VisitSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    household_id: int
    household_code: str
    household_names: list[str]
    village_name: str
    worker_id: int
    worker_name: str
    organisation_name: str
    status: VisitStatus
    status_label: str
    presence: Presence
    presence_label: str
    review: Review
    review_label: str
    checkin_at: dt.datetime
    checkout_at: dt.datetime | None
    duration_minutes: int | None
    flag_count: int
    serious_flag_count: int


class VisitDetail(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    household_id: int
    household_code: str
    household_names: list[str]
    village_name: str
    worker_id: int
    worker_name: str
    organisation_name: str
    status: VisitStatus
    status_label: str
    presence: Presence
    presence_label: str
    manual_reason: ManualReason | None
    manual_reason_label: str
    manual_note: str
    review: Review
    review_label: str
    review_comment: str
    checkin_at: dt.datetime
    checkin_device_at: dt.datetime
    checkin_received_at: dt.datetime
    checkout_at: dt.datetime | None
    clock_skew_seconds: int
    duration_minutes: int | None
    checkin_distance_m: int | None
    services: list[VisitServiceOut]
    notes: str
    photos: list[VisitPhotoOut]
    flags: list[FlagOut]
    corrects: uuid.UUID | None
    corrected_by: uuid.UUID | None
    can_review: bool
    can_correct: bool


class TodayHousehold(msgspec.Struct, kw_only=True):
    household_id: int
    code: str
    names: list[str]
    care_level_label: str
    village_name: str
    address: str
    last_visit_at: dt.datetime | None
    visited_today: bool
    open_visit_id: uuid.UUID | None
