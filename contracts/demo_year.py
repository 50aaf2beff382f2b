"""The demo city's year on the buyer's side: illnesses reported over the history, the providers'
visits on top of them (``providers.visits.demo``, where some providers are deliberately worse),
every agreement judged over the whole history, and some findings of past months already
explained by the providers and decided by the counties, so the county's queue and the month's
deductions have something in them.

The history runs from the first day of the programme's year (its contracts' period) to
yesterday, or only its last months (the tests' small world). The pilot households of the
agreement demo keep their hand-made five weeks: a household that already has visits is left
alone. Built once: nothing happens if the history exists.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from typing import Any

import msgspec

from carepact.accounts.tables import Account, Assignment, Role
from carepact.audit.services import SYSTEM, record
from carepact.dates import SHANGHAI, local_today
from carepact.db import atomic, insert_many
from contracts.agreement.evaluation import RunResult, Scope, evaluate_scope
from contracts.findings.schemas import ExplanationReason
from contracts.tables import EpisodeEnd, Finding, FindingState, SickEpisode, SickKind
from providers.tables import Visit
from providers.visits.demo import (
    Illness,
    VisitHistorySummary,
    build_visit_history,
    describe_history,
    history_exists,
)

ILLNESSES_PER_HOUSEHOLD_YEAR = 0.06  # reported illnesses: a few hundred a year in the city
HOSPITALISED_SHARE = 0.3
ILL_NOTES = ["感冒发热", "腹泻，乏力", "高血压，头晕", "关节疼痛加重，行动不便", "咳嗽、咳痰"]
HOSPITAL_STAYS = [
    ("宝鸡市中心医院", "肺部感染住院"),
    ("宝鸡市人民医院", "脑梗死复查住院"),
    ("县人民医院", "股骨骨折住院"),
    ("县中医医院", "慢阻肺急性加重住院"),
]
EXPLAINED_SHARE = 0.06  # of the findings of past months, the provider explained ...
DECIDED_SHARE = 0.7  # ... and of those the county decided
UPHELD_UNEXPLAINED_SHARE = 0.01  # findings nobody explained, upheld by the county
EXPLANATIONS = {
    ExplanationReason.person_away: "服务对象外出走亲戚，护理员上门未遇，已电话联系。",
    ExplanationReason.weather_or_roads: "连续降雨，进村道路塌方，无法按时上门。",
    ExplanationReason.worker_unavailable: "护理员生病请假，临时安排人员未及时到位。",
    ExplanationReason.records_delayed: "山区无信号，服务记录未及时上传。",
    ExplanationReason.person_refused: "服务对象当天拒绝服务，已做好沟通。",
}
REASONS_BY_CLAUSE = {
    "visits_per_week": [
        ExplanationReason.person_away,
        ExplanationReason.weather_or_roads,
        ExplanationReason.worker_unavailable,
    ],
    "longest_gap": [ExplanationReason.weather_or_roads, ExplanationReason.worker_unavailable],
    "ill_at_home": [ExplanationReason.worker_unavailable, ExplanationReason.records_delayed],
    "hospitalised": [ExplanationReason.records_delayed],
    "services_per_month": [ExplanationReason.person_refused],
    "visit_evidence": [ExplanationReason.records_delayed],
    "shortest_visit": [ExplanationReason.person_refused],
}
DECISIONS = [  # (state, comment, weight)
    (FindingState.accepted, "经电话核实，说明属实，不予扣减。", 35),
    (FindingState.waived, "情况属实，考虑客观原因，本次免于扣减。", 15),
    (FindingState.upheld, "经核实，未按协议履行，按协议扣减。", 50),
]


STAGE_LABELS = {"illnesses": "患病登记", "visits": "上门记录", "evaluation": "协议核查", "decisions": "说明与审核"}


class YearSummary(msgspec.Struct, kw_only=True):
    created: bool
    start: dt.date
    end: dt.date
    episodes: int = 0
    history: VisitHistorySummary | None = None
    evaluation: RunResult | None = None
    explained: int = 0
    decided: dict[str, int] = {}
    seconds: dict[str, float] = {}  # per stage (STAGE_LABELS)


def history_window(today: dt.date | None = None, months: int | None = None) -> tuple[dt.date, dt.date]:
    """The history's days: from the first day of the programme's year (or of the month ``months``
    back, if later) to yesterday."""
    today = today or local_today()
    start = dt.date(today.year, 1, 1)
    if months:
        month = today.replace(day=1)
        for _ in range(months - 1):
            month = (month - dt.timedelta(days=1)).replace(day=1)
        start = max(start, month)
    # The agreement demo's pilot is recognised by its agreements' first day (five weeks back on a
    # Monday): the others' must never fall on it.
    pilot_start = today - dt.timedelta(days=today.weekday(), weeks=5)
    if start == pilot_start:
        start += dt.timedelta(days=1)
    return start, today - dt.timedelta(days=1)


async def build_year(*, start: dt.date, end: dt.date, seed: int = 2026) -> YearSummary:
    """Illnesses, visits, findings and decisions for the days from ``start`` to ``end``; once."""
    if await history_exists() or start > end:
        return YearSummary(created=False, start=start, end=end)
    rng = random.Random(seed)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    pilot = {r["household"] for r in await Visit.select(Visit.household).distinct()}
    illnesses = await _report_illnesses(rng, start, end, pilot)
    seconds["illnesses"] = round(time.perf_counter() - began, 2)
    history = await build_visit_history(start=start, end=end, seed=seed, skip_households=pilot, illnesses=illnesses)
    seconds["visits"] = history.seconds
    began = time.perf_counter()
    evaluation = await evaluate_scope(Scope(), start.replace(day=1), max(end, local_today()).replace(day=1))
    seconds["evaluation"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    explained, decided = await _explain_and_decide(rng, before=local_today().replace(day=1))
    seconds["decisions"] = round(time.perf_counter() - began, 2)
    return YearSummary(
        created=True,
        start=start,
        end=end,
        episodes=len(illnesses),
        history=history,
        evaluation=evaluation,
        explained=explained,
        decided=decided,
        seconds=seconds,
    )


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


async def _report_illnesses(rng: random.Random, start: dt.date, end: dt.date, skip: set[int]) -> list[Illness]:
    """A few illnesses per provider's households over the days, each reported by the household's
    worker and over before the history ends; recorded as sick episodes."""
    days = (end - start).days + 1
    if days < 14:
        return []
    assigned = await Assignment.select(
        Assignment.household, Assignment.worker, Assignment.worker._.display_name, Assignment.organisation
    ).where((Assignment.starts_on <= start) & (Assignment.ends_on.is_null() | (Assignment.ends_on >= end)))
    by_provider: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in sorted(assigned, key=lambda a: a["household"]):
        if a["household"] not in skip:
            by_provider[a["organisation"]].append(a)
    illnesses, rows = [], []
    for organisation in sorted(by_provider):
        households = by_provider[organisation]
        count = max(2, round(ILLNESSES_PER_HOUSEHOLD_YEAR * len(households) * days / 365))
        for a in rng.sample(households, min(count, len(households))):
            hospitalised = rng.random() < HOSPITALISED_SHARE
            length = rng.randint(3, 12) if hospitalised else rng.randint(2, 8)
            first = start + dt.timedelta(days=rng.randrange(days - length - 1))
            started = _at(first, rng.randrange(8, 18), rng.randrange(60))
            ended = _at(first + dt.timedelta(days=length), rng.randrange(9, 18), rng.randrange(60))
            hospital, note = rng.choice(HOSPITAL_STAYS) if hospitalised else ("", rng.choice(ILL_NOTES))
            kind = SickKind.hospitalised if hospitalised else SickKind.ill_at_home
            illnesses.append(Illness(household_id=a["household"], kind=kind.value, started_at=started, ended_at=ended))
            rows.append(
                {
                    "household": a["household"],
                    "kind": kind.value,
                    "started_at": started,
                    "ended_at": ended,
                    "end_reason": EpisodeEnd.recovered.value,
                    "hospital": hospital,
                    "note": note,
                    "reported_by": a["worker"],
                    "reported_by_name": a["worker.display_name"],
                    "ended_by": a["worker"],
                    "ended_by_name": a["worker.display_name"],
                    "recorded_at": started + dt.timedelta(minutes=rng.randrange(5, 60)),
                }
            )
    async with atomic():
        await insert_many(SickEpisode, rows)
        await record(SYSTEM, "demo.sick_episodes", "demo", "sick_episodes", detail={"episodes": len(rows)})
    return illnesses


async def _explain_and_decide(rng: random.Random, *, before: dt.date) -> tuple[int, dict[str, int]]:
    """Some of the past months' open findings explained by the provider's manager, and most of
    those decided by the county's auditor (a few upheld without an explanation too), in bulk."""
    findings = (
        await Finding.select(
            Finding.id,
            Finding.clause_id,
            Finding.month,
            Finding.organisation,
            Finding.household._.village._.parent._.parent.as_alias("county"),
        )
        .where((Finding.state == FindingState.open.value) & (Finding.month < before))
        .order_by(Finding.id)
    )
    managers = {
        a["organisation"]: a
        for a in await Account.select(Account.id, Account.display_name, Account.organisation)
        .where(Account.role == Role.provider_manager.value)
        .order_by(Account.id, ascending=False)
    }
    auditors = {
        a["region"]: a
        for a in await Account.select(Account.id, Account.display_name, Account.region)
        .where(Account.role == Role.county_auditor.value)
        .order_by(Account.id, ascending=False)
    }
    now = dt.datetime.now(dt.UTC)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for f in findings:
        manager, auditor = managers.get(f["organisation"]), auditors.get(f["county"])
        following = (f["month"].replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        explained = None
        if manager is not None and rng.random() < EXPLAINED_SHARE:
            explained = rng.choice(REASONS_BY_CLAUSE.get(f["clause_id"], [ExplanationReason.other]))
            decision = None
            if auditor is not None and rng.random() < DECIDED_SHARE:
                decision = rng.choices(range(len(DECISIONS)), [w for *_, w in DECISIONS])[0]
        elif auditor is not None and rng.random() < UPHELD_UNEXPLAINED_SHARE:
            decision = len(DECISIONS) - 1  # upheld
        else:
            continue
        groups[(following, f["organisation"], f["county"], explained, decision)].append(f["id"])

    explained_count = 0
    decided: defaultdict[str, int] = defaultdict(int)
    async with atomic():
        for (following, organisation, county, reason, decision), ids in groups.items():
            changes: dict[Any, Any] = {}
            if reason is not None:
                manager = managers[organisation]
                at = min(_at(following + dt.timedelta(days=2), 10), now)
                changes |= {
                    Finding.state: FindingState.explained.value,
                    Finding.explanation_reason: reason.value,
                    Finding.explanation: EXPLANATIONS.get(reason, "已说明情况。"),
                    Finding.explained_by: manager["id"],
                    Finding.explained_by_name: manager["display_name"],
                    Finding.explained_at: at,
                    Finding.changed_at: at,
                }
                explained_count += len(ids)
            if decision is not None:
                state, comment, _ = DECISIONS[decision]
                auditor = auditors[county]
                at = min(_at(following + dt.timedelta(days=9), 15), now)
                changes |= {
                    Finding.state: state.value,
                    Finding.decision_comment: comment,
                    Finding.decided_by: auditor["id"],
                    Finding.decided_by_name: auditor["display_name"],
                    Finding.decided_at: at,
                    Finding.changed_at: at,
                }
                decided[state.value] += len(ids)
            await Finding.update(changes).where(Finding.id.is_in(ids))
        await record(
            SYSTEM,
            "demo.findings_decided",
            "demo",
            "findings",
            detail={"explained": explained_count, **decided},
        )
    return explained_count, dict(decided)


def describe_year(summary: YearSummary) -> str:
    if not summary.created:
        return "演示服务历史已存在，未重复生成。" if summary.start <= summary.end else "本年度尚无可生成的服务历史。"
    lines = [describe_history(summary.history)] if summary.history else []
    evaluation = summary.evaluation
    if evaluation is not None:
        lines.append(
            f"患病登记 {summary.episodes} 起；按协议核查 {evaluation.agreements:,} 户 "
            f"{evaluation.since:%Y年%m月}至{evaluation.until:%m月}的服务，发现违约 {evaluation.findings:,} 条，"
            f"其中服务机构已说明 {summary.explained:,} 条，县区已审核 {sum(summary.decided.values()):,} 条"
            f"（扣减 {summary.decided.get(FindingState.upheld.value, 0):,} 条）。"
        )
    return "\n".join(lines)
