"""What crosses the wire for audit samples: drawing one, reading it, recording a call-back's outcome."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.tables import CheckMethod, FindingState, SampleOutcome

OUTCOME_LABELS = {
    SampleOutcome.confirmed: "核实属实",
    SampleOutcome.unconfirmed: "无法核实",
    SampleOutcome.contradicted: "与记录不符",
}
METHOD_LABELS = {CheckMethod.phone_callback: "电话回访", CheckMethod.revisit: "入户复核"}

Seed = Annotated[str, Meta(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="随机种子：字母、数字、- 或 _，最多 64 位")]


class DrawIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    first_day: dt.date
    last_day: dt.date
    per_provider: Annotated[int, Meta(ge=1, le=100)] = 10
    # Empty: every provider with verified visits in the region and period.
    organisation_ids: Annotated[list[int], Meta(max_length=50)] = []
    region_id: int | None = None  # the caller's own region when not given
    seed: Seed | None = None  # generated when not given
    note: Annotated[str, Meta(max_length=300)] = ""


class OutcomeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcome: SampleOutcome
    method: CheckMethod
    note: Annotated[str, Meta(max_length=1000)] = ""  # required unless confirmed


class ProviderDraw(msgspec.Struct, kw_only=True):
    organisation_id: int
    organisation_name: str
    population: int  # verified visits of this provider in the region and period
    drawn: int
    digest: str  # SHA-256 of the population's visit ids in order, one per line


class SampleSummary(msgspec.Struct, kw_only=True):
    id: int
    region_id: int
    region_name: str
    first_day: dt.date
    last_day: dt.date
    per_provider: int
    seed: str
    population_size: int
    drawn_count: int
    checked_count: int
    contradicted_count: int
    providers: list[ProviderDraw]
    note: str
    drawn_by_name: str
    drawn_at: dt.datetime


class SampledVisitOut(msgspec.Struct, kw_only=True):
    visit_id: uuid.UUID
    position: int
    draw_number: str
    organisation_id: int
    organisation_name: str
    household_id: int
    household_code: str
    household_names: list[str]
    village_name: str
    worker_name: str
    checkin_at: dt.datetime
    duration_minutes: int | None
    presence_label: str
    services: list[str]  # labels
    photo_count: int
    outcome: SampleOutcome | None
    outcome_label: str
    method: CheckMethod | None
    method_label: str
    note: str
    recorded_by_name: str
    recorded_at: dt.datetime | None
    finding_id: int | None
    finding_state: FindingState | None
    finding_state_label: str
    finding_problem: str  # why a contradicted visit did not become a finding ("" when it did)


class SampleDetail(SampleSummary, kw_only=True):
    method: str  # how the visits were drawn, in words
    ordering: str  # how the population is ordered before drawing
    population_query: str  # the exact query that selected the population
    visits: list[SampledVisitOut]
    can_record: bool


class SampleVocabulary(msgspec.Struct, kw_only=True):
    outcomes: dict[str, str]
    methods: dict[str, str]
