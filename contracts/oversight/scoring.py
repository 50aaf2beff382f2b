"""A provider's score from its month's figures: the targets a county holds providers to, the weights,
and the reasons a score is what it is. Pure functions, no database.

The targets are the platform's defaults, grounded in DOMAIN.md and the issue that asked for them;
like the agreement's numbers they are a starting point a bureau may change, not official figures.
"""

from __future__ import annotations

import msgspec

from contracts.findings.schemas import SAMPLE_CONTRADICTED

# Verified-visit rate: visits proven electronically (door-card scan and photo, no entry by hand).
# Electronic visit verification practice expects at least 80 % (issue #7).
VERIFIED_TARGET = 0.80
# Coverage: every household covered is to be visited as its agreement requires ("cared for on
# ordinary days"); 95 % leaves room for a household away or refusing, which findings explain.
COVERAGE_TARGET = 0.95
# On time: visit days within the agreement's longest gap (DOMAIN: able 10, partly unable 4, unable 2 days).
ON_TIME_TARGET = 0.90
# Reported illness at home: the agreement asks for a visit within 24 hours of the report (DOMAIN).
ILLNESS_RESPONSE_HOURS = 24.0
ILLNESS_TARGET = 0.90  # share of illnesses answered within those hours
# Centralised care buys treatment, rehabilitation and custodial nursing per bed-day (DOMAIN): a
# record of each per resident-day.
RECORDS_PER_RESIDENT_DAY_TARGET = 3.0
# Findings: standing findings per 100 households due a visit in the month.
FINDINGS_PER_100_TARGET = 10.0

# Points of 100, shared among the figures a month has (a figure without data gives its share to the rest).
WEIGHTS = {"coverage": 35.0, "verified": 25.0, "on_time": 25.0, "illness": 15.0}
# Each standing finding per 100 households due costs this many points, at most FINDINGS_MAX_POINTS.
POINTS_PER_FINDING_PER_100 = 0.5
FINDINGS_MAX_POINTS = 40.0
# A finding counts once, whatever its clause, except where a clause weighs more: an audit call-back
# that contradicts a visit the provider claimed is worse than a late one.
CLAUSE_WEIGHTS = {SAMPLE_CONTRADICTED: 5.0}


class Reason(msgspec.Struct, kw_only=True):
    """One figure's share in what a score lost."""

    key: str
    label: str
    value: str  # the figure, as words ("72.5%")
    target: str  # the target, as words ("≥ 95%")
    below_target: bool
    points_lost: float


class Score(msgspec.Struct, kw_only=True):
    score: float | None  # 0–100; None when the month has no figure to judge
    reasons: list[Reason]  # what pulled the score down, the heaviest first


class Month(msgspec.Struct, frozen=True, kw_only=True):
    """The figures a score is made of (shares 0–1, None where there was nothing to count)."""

    coverage: float | None
    verified: float | None
    on_time: float | None
    illness: float | None  # share of illnesses answered within ILLNESS_RESPONSE_HOURS
    households_due: int
    findings_by_clause: dict[str, int]


LABELS = {
    "coverage": "覆盖率（按协议上门）",
    "verified": "电子核验率",
    "on_time": "按时上门率",
    "illness": "患病24小时内看护率",
    "findings": "违约发现",
}
TARGETS = {
    "coverage": COVERAGE_TARGET,
    "verified": VERIFIED_TARGET,
    "on_time": ON_TIME_TARGET,
    "illness": ILLNESS_TARGET,
}


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%".replace(".0%", "%")


def weighted_findings(by_clause: dict[str, int]) -> float:
    return sum(CLAUSE_WEIGHTS.get(clause, 1.0) * n for clause, n in by_clause.items())


def findings_per_100(month: Month) -> float | None:
    if month.households_due == 0:
        return None
    return 100.0 * weighted_findings(month.findings_by_clause) / month.households_due


def score(month: Month) -> Score:
    """100 × the weighted figures (weights shared among those with data) − the findings' points."""
    shares = {key: getattr(month, key) for key in WEIGHTS}
    present = {key: value for key, value in shares.items() if value is not None}
    if not present:
        return Score(score=None, reasons=[])
    weight_sum = sum(WEIGHTS[key] for key in present)
    reasons = []
    total = 0.0
    for key, value in present.items():
        points = 100.0 * WEIGHTS[key] / weight_sum
        total += points * value
        reasons.append(
            Reason(
                key=key,
                label=LABELS[key],
                value=percent(value),
                target=f"≥ {percent(TARGETS[key])}",
                below_target=value < TARGETS[key],
                points_lost=round(points * (1 - value), 1),
            )
        )
    rate = findings_per_100(month)
    lost = 0.0 if rate is None else min(FINDINGS_MAX_POINTS, rate * POINTS_PER_FINDING_PER_100)
    count = sum(month.findings_by_clause.values())
    reasons.append(
        Reason(
            key="findings",
            label=LABELS["findings"],
            value=f"{count} 条" + ("" if rate is None else f"（每百户 {rate:.1f} 条）"),
            target=f"每百户 ≤ {FINDINGS_PER_100_TARGET:g} 条",
            below_target=rate is not None and rate > FINDINGS_PER_100_TARGET,
            points_lost=round(lost, 1),
        )
    )
    reasons.sort(key=lambda r: (-r.points_lost, r.key))
    return Score(score=round(max(0.0, total - lost), 1), reasons=[r for r in reasons if r.points_lost > 0])
