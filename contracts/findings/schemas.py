"""What crosses the wire for findings: the queue, one finding with its evidence, the workflow."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from contracts.tables import FindingState

STATE_LABELS = {
    FindingState.open: "待说明",
    FindingState.explained: "已说明，待审核",
    FindingState.accepted: "说明已采纳（不扣减）",
    FindingState.waived: "属实，免于扣减",
    FindingState.upheld: "属实，扣减",
    FindingState.resolved: "数据更新后不再成立",
}
DECIDABLE = (FindingState.open, FindingState.explained)


class ExplanationReason(enum.StrEnum):
    person_refused = "person_refused"
    person_away = "person_away"
    person_hospitalised = "person_hospitalised"
    records_delayed = "records_delayed"
    weather_or_roads = "weather_or_roads"
    worker_unavailable = "worker_unavailable"
    agreement_outdated = "agreement_outdated"
    other = "other"


REASON_LABELS = {
    ExplanationReason.person_refused: "服务对象拒绝服务",
    ExplanationReason.person_away: "服务对象外出（走亲访友等）",
    ExplanationReason.person_hospitalised: "服务对象住院，未及时登记",
    ExplanationReason.records_delayed: "服务记录未及时上传（离线）",
    ExplanationReason.weather_or_roads: "恶劣天气或道路中断",
    ExplanationReason.worker_unavailable: "护理员临时缺岗",
    ExplanationReason.agreement_outdated: "协议信息有误（如自理能力已变化）",
    ExplanationReason.other: "其他原因",
}
Decision = Literal["accept", "waive", "uphold"]
DECISION_STATES: dict[str, FindingState] = {
    "accept": FindingState.accepted,
    "waive": FindingState.waived,
    "uphold": FindingState.upheld,
}
DECISION_LABELS = {"accept": "采纳说明（不扣减）", "waive": "属实，免于扣减", "uphold": "属实，扣减"}


class AuditClause(msgspec.Struct, frozen=True, kw_only=True):
    """A rule findings are made under that no agreement template holds: an auditor finds the
    breach, not the engine (which leaves these findings alone). Shown like a template's clause."""

    kind: str
    kind_label: str
    title: str
    text: str


SAMPLE_CONTRADICTED = "sample_contradicted"
AUDIT_CLAUSES = {
    SAMPLE_CONTRADICTED: AuditClause(
        kind="audit_sample",
        kind_label="抽查核实",
        title="抽查核实与服务记录不符",
        text="县（区）民政局从已核验的服务记录中随机抽查，经电话回访或入户复核，服务对象或现场情况与服务记录"
        "不符的，该次服务不予认可，按一次违约处理。",
    ),
}
AUDIT_KIND_LABELS = {c.kind: c.kind_label for c in AUDIT_CLAUSES.values()}


class ExplainIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: ExplanationReason
    text: Annotated[str, Meta(min_length=2, max_length=1000)]


class DecideIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Decision
    comment: Annotated[str, Meta(min_length=2, max_length=1000)]


class FindingSummary(msgspec.Struct, kw_only=True):
    id: int
    household_id: int
    household_code: str
    village_name: str
    person_name_masked: str  # the cared-for person, as lists show people outside their case (张*明)
    organisation_id: int | None
    organisation_name: str
    agreement_id: int
    agreement_code: str
    clause_id: str
    clause_kind: str
    clause_kind_label: str
    clause_title: str  # as in the household's agreement, e.g. 上门照料频次
    month: str  # YYYY-MM: the settlement month it belongs to
    period_start: dt.date
    period_end: dt.date
    expected: int | None
    actual: int | None
    expected_text: str  # what the clause asks, in words: 每周上门不少于 1 天
    actual_text: str  # what happened, in words: 上门 0 天
    units: int
    summary: str
    state: FindingState
    state_label: str
    amount_fen: int  # what it deducts if upheld (before the household's monthly cap)
    found_at: dt.datetime
    changed_at: dt.datetime


class EvidenceVisit(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    checkin_at: dt.datetime
    duration_minutes: int | None
    worker_name: str
    presence: str
    presence_label: str
    review: str
    photo_count: int
    services: list[str]  # labels
    url: str


class FindingDetail(FindingSummary, kw_only=True):
    clause_text: str  # as in the household's agreement
    template_version: int
    evidence: dict[str, Any]  # contracts.agreement.engine.Evidence
    visits: list[EvidenceVisit]
    monthly_fee_fen: int
    per_breach_bp: int
    monthly_cap_fen: int
    explanation_reason: ExplanationReason | None
    explanation_reason_label: str
    explanation: str
    explained_by_name: str
    explained_at: dt.datetime | None
    decision_comment: str
    decided_by_name: str
    decided_at: dt.datetime | None
    resolved_at: dt.datetime | None
    can_explain: bool
    can_decide: bool


class Vocabulary(msgspec.Struct, kw_only=True):
    states: dict[str, str]
    reasons: dict[str, str]
    decisions: dict[str, str]
    clause_kinds: dict[str, str]
    clauses: dict[str, str]  # clause id → its title, over every published version (the latest wins)
    evidence_problems: dict[str, str]  # the codes in a finding's evidence.problems
    services: dict[str, str]  # the service codes in a finding's evidence (counted, required)
