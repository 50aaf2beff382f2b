"""What crosses the wire for the county audit: dashboard figures, scorecards, the report job."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.oversight.scoring import Reason
from contracts.settlement.schemas import Month


class RegionRef(msgspec.Struct, kw_only=True):
    id: int
    name: str
    level: str


class Definition(msgspec.Struct, kw_only=True):
    """What a figure means, exactly, as shown under it; and its target."""

    key: str
    label: str
    text: str
    target: str


class Figures(msgspec.Struct, kw_only=True):
    """One month's figures (of a region, a provider or a contract)."""

    month: str  # YYYY-MM
    households_due: int  # covered households whose agreement asks at least one visit day this month
    households_met: int  # visited on as many days as required
    households_unvisited: int  # no verified visit at all
    coverage: float | None  # met / due
    visits_completed: int
    visits_verified: int  # contracts.delivery.verified_visit: what settlement pays for
    visits_evv: int  # verified, by door-card scan, with a photo, not entered by hand
    verified_rate: float | None  # evv / completed
    on_time_judged: int
    on_time: int
    on_time_rate: float | None
    findings: int
    findings_by_clause: dict[str, int]
    findings_per_100: float | None  # per 100 households due, clauses weighted as the score weighs them
    illness_reported: int
    illness_answered: int  # with a visit so far
    illness_within_target: int  # with a visit within ILLNESS_RESPONSE_HOURS
    illness_rate: float | None  # within target / reported
    illness_median_hours: float | None


class ProviderRow(msgspec.Struct, kw_only=True):
    organisation_id: int
    name: str
    figures: Figures  # the month asked for
    trend: list[Figures]  # every month of the window, oldest first
    score: float | None
    score_trend: list[float | None]
    rank: int | None  # 1 is best; None when the month gives nothing to judge
    reasons: list[Reason]  # what pulled the score down, the heaviest first


class ContractRow(msgspec.Struct, kw_only=True):
    contract_id: int
    code: str
    title: str
    supplier_id: int
    supplier_name: str
    households_due: int
    households_met: int
    households_unvisited: int
    coverage: float | None
    year: int  # the budget year shown (the month's year)
    committed_fen: int
    delivered_fen: int  # confirmed and paid statements
    paid_fen: int
    remaining_fen: int


class ClauseCount(msgspec.Struct, kw_only=True):
    clause: str
    label: str
    findings: int


class VillageRow(msgspec.Struct, kw_only=True):
    village_id: int
    village_name: str
    township_name: str
    households_due: int
    households_met: int
    households_short: int  # visited, but on fewer days than required
    households_unvisited: int


class ShortHousehold(msgspec.Struct, kw_only=True):
    household_id: int
    code: str
    provider_name: str
    required_days: int
    visited_days: int


class FacilityFigures(msgspec.Struct, kw_only=True):
    month: str
    resident_days: int  # bed-days (providers.residents.services.present_on)
    service_records: int
    records_per_resident_day: float | None
    doses_recorded: int
    doses_given: int
    doses_missed: int
    doses_per_resident_day: float | None  # doses given


class FacilityRow(msgspec.Struct, kw_only=True):
    organisation_id: int
    name: str
    figures: FacilityFigures
    trend: list[FacilityFigures]
    below_target: bool


class Threshold(msgspec.Struct, kw_only=True):
    key: str
    label: str
    target: float
    words: str
    at_most: bool = False  # the figure meets it by staying at or under it


class Dashboard(msgspec.Struct, kw_only=True):
    region: RegionRef
    regions: list[RegionRef]  # what the region picker offers
    month: str
    months: list[str]  # the trend's months, oldest first
    definitions: list[Definition]
    thresholds: list[Threshold]
    totals: Figures
    trend: list[Figures]
    providers: list[ProviderRow]  # ranked, best first
    contracts: list[ContractRow]
    findings_by_clause: list[ClauseCount]
    clause_titles: dict[str, str]  # every clause id → its title (for the providers' findings_by_clause)
    villages: list[VillageRow]  # villages with households not visited as required, most first
    facilities: list[FacilityRow]
    computed_at: dt.datetime
    seconds: float
    # This month's visit figures as of this moment: a deployment larger than
    # CAREPACT_LIVE_MONTH_HOUSEHOLDS rolls them up hourly instead of counting them on every view.
    live_as_of: dt.datetime | None = None


class Scorecards(msgspec.Struct, kw_only=True):
    region: RegionRef
    regions: list[RegionRef]
    month: str
    months: list[str]
    definitions: list[Definition]
    thresholds: list[Threshold]
    providers: list[ProviderRow]
    facilities: list[FacilityRow]


class Scorecard(msgspec.Struct, kw_only=True):
    """One provider over time: its figures and score each month, what lowered them, its contracts."""

    organisation_id: int
    name: str
    kind: str  # provider / facility
    region: RegionRef
    month: str
    months: list[str]
    definitions: list[Definition]
    thresholds: list[Threshold]
    provider: ProviderRow | None  # home care
    ranked_among: int | None  # how many providers were ranked (bureaus only)
    findings_by_clause: list[ClauseCount]
    clause_titles: dict[str, str]
    contracts: list[ContractRow]
    facility: FacilityRow | None  # centralised care


class ReportIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    month: Month
    region_id: Annotated[int, Meta(ge=1)] | None = None
