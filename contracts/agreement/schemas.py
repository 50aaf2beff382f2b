"""What crosses the wire for agreement templates, household agreements, sick episodes, evaluations
and the compliance calendar."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from carepact.registry.tables import CareLevel
from contracts.findings.schemas import FindingSummary
from contracts.settlement.schemas import Month
from contracts.tables import CaregiverKind, EpisodeEnd, SickKind

CAREGIVER_KIND_LABELS = {CaregiverKind.provider: "服务机构", CaregiverKind.person: "个人"}
SICK_KIND_LABELS = {SickKind.ill_at_home: "居家患病", SickKind.hospitalised: "住院"}
EPISODE_END_LABELS = {
    EpisodeEnd.recovered: "已康复",
    EpisodeEnd.hospitalised: "转为住院",
    EpisodeEnd.discharged_ill: "出院居家继续治疗",
}
AgreementStatus = Literal["not_started", "in_force", "ended", "superseded"]
AGREEMENT_STATUS_LABELS = {
    "not_started": "尚未生效",
    "in_force": "履行中",
    "ended": "已到期",
    "superseded": "已重新签订",
}
Id = Annotated[int, Meta(ge=1)]
Note = Annotated[str, Meta(max_length=300)]


# --- templates ------------------------------------------------------------------------------------


class PublishIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new version's TOML text (its ``version`` must be the next number) and what it changes."""

    source: Annotated[str, Meta(min_length=1, max_length=200_000)]
    note: Annotated[str, Meta(max_length=500)] = ""


class TemplateCheck(msgspec.Struct, kw_only=True):
    """The result of checking a template's text without publishing it (for an editor)."""

    ok: bool
    version: int | None = None
    title: str = ""
    clauses: int = 0
    line: int | None = None  # the line at fault
    path: str = ""  # the value at fault, e.g. clauses[2].per_week.able
    code: str = ""
    message: str = ""


class TemplateSummary(msgspec.Struct, kw_only=True):
    version: int
    title: str
    note: str
    digest: str
    published_at: dt.datetime
    published_by_name: str
    agreements: int  # signed under this version


class ClauseOut(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    kind_label: str
    title: str
    text: str  # as written, with its {placeholders}
    rule: dict[str, Any]  # the clause's numbers


class PartyOut(msgspec.Struct, kw_only=True):
    role: str
    title: str
    duties: list[str]


class TemplateDetail(TemplateSummary, kw_only=True):
    preamble: str
    fees_fen: dict[str, int]  # by care level
    fee_text: str
    per_breach_bp: int
    monthly_cap_bp: int
    deduction_text: str
    parties: list[PartyOut]
    clauses: list[ClauseOut]
    closing: list[str]
    source_url: str


# --- household agreements -------------------------------------------------------------------------


class CaregiverIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The caregiver: a provider (``organisation_id``) or a named person (``name``, ``phone``)."""

    kind: CaregiverKind
    organisation_id: Id | None = None
    name: Annotated[str, Meta(max_length=64)] = ""
    phone: Annotated[str, Meta(max_length=20, pattern=r"^[0-9+\- ]*$")] = ""


class AgreementIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    household_id: Id
    caregiver: CaregiverIn
    starts_on: dt.date
    ends_on: dt.date | None = None
    signed_on: dt.date | None = None  # default: today
    template_version: Annotated[int, Meta(ge=1)] | None = None  # default: the latest published
    person_id: Id | None = None  # default: the household's (first) person


class AgreementSummary(msgspec.Struct, kw_only=True):
    id: int
    code: str
    household_id: int
    household_code: str
    village_name: str
    person_name: str
    template_version: int
    care_level: CareLevel
    care_level_label: str
    monthly_fee_fen: int
    caregiver_kind: CaregiverKind
    caregiver_kind_label: str
    caregiver_name: str
    caregiver_organisation_id: int | None
    starts_on: dt.date
    ends_on: dt.date | None
    signed_on: dt.date
    status: AgreementStatus
    status_label: str


class RenderedClause(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    kind_label: str
    title: str
    text: str  # with this household's values


class AgreementDetail(AgreementSummary, kw_only=True):
    township_office_name: str
    address: str
    person_id_masked: str
    caregiver_phone: str
    signed_by_name: str
    superseded_by_id: int | None
    template_title: str
    preamble: str
    fee_text: str
    deduction_text: str
    per_breach_fen: int  # what one breach costs this household
    monthly_cap_fen: int
    parties: list[PartyOut]
    clauses: list[RenderedClause]
    closing: list[str]
    open_findings: int
    print_url: str


# --- sick episodes --------------------------------------------------------------------------------


class SickEpisodeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Reported ill at home, or admitted to hospital. A report while another is open closes it."""

    kind: SickKind
    started_at: dt.datetime | None = None  # default: now
    hospital: Annotated[str, Meta(max_length=100)] = ""
    note: Note = ""


class RecoverIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ended_at: dt.datetime | None = None  # default: now
    note: Note = ""


class SickEpisodeOut(msgspec.Struct, kw_only=True):
    id: int
    household_id: int
    household_code: str
    kind: SickKind
    kind_label: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: EpisodeEnd | None
    end_reason_label: str
    hospital: str
    note: str
    reported_by_name: str
    ended_by_name: str
    open: bool


# --- evaluation -----------------------------------------------------------------------------------


class EvaluateIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One household (answered at once), or a provider's or a county's households (a job);
    none of them: the caller's whole region (a job). Months default to this year up to now."""

    household_id: Id | None = None
    organisation_id: Id | None = None
    county_id: Id | None = None
    since: Month | None = None
    until: Month | None = None


class EvaluationOut(msgspec.Struct, kw_only=True):
    since: str  # YYYY-MM
    until: str
    as_of: dt.datetime
    agreements: int
    visits: int
    findings: int  # holding now, in the months evaluated
    created: int
    updated: int
    unchanged: int
    resolved: int  # no longer holding; kept because they had been explained or decided
    removed: int  # no longer holding and never acted on
    seconds: float


# --- the compliance calendar ----------------------------------------------------------------------

DayStatus = Literal["outside", "future", "visited", "missed", "week_short", "sick", "hospitalised", "ordinary"]
DAY_STATUS_LABELS = {
    "outside": "不在协议期内",
    "future": "尚未到期",
    "visited": "已上门",
    "missed": "应上门未上门",
    "week_short": "本周上门不足",
    "sick": "居家患病",
    "hospitalised": "住院",
    "ordinary": "无需上门",
}


class CalendarDay(msgspec.Struct, kw_only=True):
    date: dt.date
    status: DayStatus  # the one word for the day's colour
    status_label: str
    in_agreement: bool
    required: bool  # a visit was due that very day (daily care, illness at home)
    visited: bool
    visit_ids: list[uuid.UUID]
    missed: bool
    week_short: bool
    sick: SickKind | None
    # Visits recorded that day that do not count (awaiting approval, a failed scan, a serious flag):
    # someone came, but it is not proven, so the day is judged as unvisited.
    unverified_visit_ids: list[uuid.UUID] = []


class CalendarOut(msgspec.Struct, kw_only=True):
    household_id: int
    household_code: str
    month: str
    agreement: AgreementSummary | None
    days: list[CalendarDay]
    findings: list[FindingSummary]
    can_evaluate: bool = False  # the caller may re-run the engine for this household now
