"""The agreement engine: one household's agreement, its template, a period, its visits and sick
episodes in; the breaches out, each naming its clause, dates, expected and actual, and evidence.

A pure function: no database, no clock (``as_of`` is an input), no order dependence (inputs are
sorted here), and the same inputs always give the same findings. Days are Baoji's calendar days
(Asia/Shanghai), handled as date ordinals so a city's year runs in a few seconds.

What the rules mean, precisely:

- A **counting visit** is a verified visit (``contracts.delivery.verified_visit``: completed, not
  rejected, a valid door-card scan or an approved entry by hand, no serious flag). Frequency, gap,
  illness and monthly-service rules count only these. A visit that does not count is still judged
  by the per-visit rules (evidence, shortest visit), so an unproven visit shows as its own breach.
- A **sick day** is a local day on which an illness or hospital stay lasted at any time. Sick days
  are outside the ordinary rules (weekly visits, longest gap): the illness rules apply instead.
- **Visits per week** counts days with a counting visit, over ISO weeks (Monday to Sunday). A
  week partly outside the agreement, or with sick days, asks its share: per_week × ordinary days
  ÷ 7, rounded down. One finding per week short, with the days of that week without a visit.
- **Longest gap**: from a visit day (or a sick day, or the day before the agreement starts) the
  next visit is due within ``max_days`` days; each day past that is overdue. One finding per
  month with overdue days; each overdue stretch of L days counts ceil(L / max_days) breaches.
- **Ill at home**: the first counting visit must come within the hours after the report (a visit
  under way when the report was made counts), unless the episode ended first; then a counting
  visit on every day strictly between the report day and the recovery day. Findings: one for a
  late or missing first visit, one per month for days missed.
- **Hospitalised**: accompaniment (a counting visit with one of the clause's services, or entered
  by hand with one of its reasons, during the stay) at least every ``every_days`` days from the
  admission day to the day before discharge, counted like the longest gap. One finding per month.
- **Services per month**: for each required service the contract buys that month, counting
  visits performing it; a month partly outside the agreement or in hospital asks its share,
  rounded down. One finding per month short.
- **Visit evidence** and **shortest visit**: one finding per completed, unrejected visit at fault.

A finding belongs to the month of its last day; a period is evaluated for the findings whose
last day falls in it, and only once that day is over (the day before ``as_of``) — or, for the
first-visit rule, once the deadline has passed. Visits and episodes before the period are looked
back on (``lookback_days``) so a week or a gap that began earlier is judged whole.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from operator import attrgetter

import msgspec

from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.registry.tables import CareLevel
from contracts.agreement.rules import (
    Clause,
    Hospitalised,
    IllAtHome,
    LongestGap,
    ServicesPerMonth,
    ShortestVisit,
    Template,
    VisitEvidence,
    VisitsPerWeek,
    kind_of,
)
from contracts.tables import SickKind

_EPOCH = dt.date(1970, 1, 1).toordinal()
_SHANGHAI_SECONDS = 8 * 3600
_EIGHT_HOURS = dt.timedelta(hours=8)
_FAR = dt.date.max.toordinal()
_EVERY_SERVICE = frozenset(s.value for s in ServiceCode)


def local_ordinal(moment: dt.datetime) -> int:
    """The ordinal of the Baoji calendar day of an aware moment (UTC+8 all year, no DST)."""
    if moment.tzinfo is dt.UTC:  # as stored: the quick way
        return (moment + _EIGHT_HOURS).toordinal()
    return int((moment.timestamp() + _SHANGHAI_SECONDS) // 86400) + _EPOCH


_date = dt.date.fromordinal


def _month(ordinal: int) -> dt.date:
    return _date(ordinal).replace(day=1)


def _cn(ordinal: int) -> str:
    day = _date(ordinal)
    return f"{day.month}月{day.day}日"


@functools.cache
def _month_bounds(month: dt.date) -> tuple[int, int, dt.date]:
    """A month's first and last day (ordinals) and the first of the next month."""
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return month.toordinal(), following.toordinal() - 1, following


def _month_cn(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


# --- inputs ---------------------------------------------------------------------------------------


class AgreementFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    household_id: int
    care_level: CareLevel
    starts_on: dt.date
    ends_on: dt.date | None
    monthly_fee_fen: int


class VisitFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A completed, unrejected visit to the household."""

    id: str
    at: dt.datetime  # check-in, aware
    minutes: int | None
    counts: bool  # a verified visit (contracts.delivery)
    presence: str  # qr / qr_failed / manual
    manual_reason: str
    photos: int
    services: frozenset[str]  # at least those the template's clauses ask about (``services_asked``)
    day: int = 0  # local_ordinal(at) when the caller knows it (a bulk load); 0: computed here


_VISIT_ORDER = attrgetter("at", "id")


class EpisodeFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: SickKind
    started_at: dt.datetime
    ended_at: dt.datetime | None


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """The days whose findings are wanted (usually whole months), both included."""

    first: dt.date
    last: dt.date


# --- outputs --------------------------------------------------------------------------------------


class Gap(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A stretch of overdue days: ``since`` is the last day that reset the clock (a visit, a sick
    day, or the day before the agreement or stay began); ``last_visit`` it, when it was a visit."""

    since: dt.date
    last_visit: dt.date | None = None
    overdue_from: dt.date
    overdue_to: dt.date
    days_without: int  # from ``since`` to ``overdue_to``
    next_visit: dt.date | None = None


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    visits: list[str] = []  # the visits that counted (or the visit at fault)
    missing_days: list[dt.date] = []  # required days without a counting visit, or overdue days
    gaps: list[Gap] = []
    sick_days: list[dt.date] = []
    episode_id: int | None = None
    reported_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    first_visit_at: dt.datetime | None = None
    problems: list[str] = []  # per-visit evidence problems (codes)
    counted: dict[str, int] = {}  # per service: visits performing it
    required: dict[str, int] = {}  # per service: visits required


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    agreement_id: int
    household_id: int
    clause_id: str
    clause_kind: str
    period_key: str
    period_start: dt.date
    period_end: dt.date
    month: dt.date
    expected: int | None
    actual: int | None
    units: int
    summary: str
    evidence: Evidence

    @property
    def key(self) -> str:
        """The identity: re-running the engine finds the same key for the same breach."""
        return f"{self.agreement_id}:{self.clause_id}:{self.period_key}"


EVIDENCE_PROBLEMS = {
    "qr_failed": "门牌卡扫码未通过",
    "not_scanned": "未扫描门牌卡",
    "manual_without_reason": "手工录入未选择原因",
    "photos_short": "照片不足",
}


def services_asked(template: Template) -> frozenset[str]:
    """The services whose performance a clause of the template counts: a visit's other services
    change no finding, so a bulk load need not read them."""
    asked: set[str] = set()
    for clause in template.clauses:
        if isinstance(clause, ServicesPerMonth):
            asked |= {s.value for s in clause.minimum}
        elif isinstance(clause, Hospitalised):
            asked |= {s.value for s in clause.services}
    return frozenset(asked)


def lookback_days(template: Template) -> int:
    """How many days before a period its findings may depend on."""
    days = 7
    for clause in template.clauses:
        if isinstance(clause, LongestGap):
            days = max(days, clause.max_days.able, clause.max_days.partly_unable, clause.max_days.unable)
        elif isinstance(clause, Hospitalised):
            days = max(days, clause.every_days)
        elif isinstance(clause, IllAtHome):
            days = max(days, math.ceil(clause.first_visit_within_hours / 24) + 1)
    return days + 1


# --- the evaluation -------------------------------------------------------------------------------


class _Household:
    """One agreement's facts, prepared once for every clause."""

    def __init__(
        self,
        agreement: AgreementFacts,
        period: Period,
        as_of: dt.datetime,
        visits: Iterable[VisitFacts],
        episodes: Iterable[EpisodeFacts],
    ) -> None:
        self.agreement = agreement
        self.start = agreement.starts_on.toordinal()
        self.end = agreement.ends_on.toordinal() if agreement.ends_on else _FAR
        self.last_complete = local_ordinal(as_of) - 1
        self.as_of = as_of
        self.first = period.first.toordinal()
        self.period_last = period.last.toordinal()
        # The last day whose findings this run may give: in the period, over, under the agreement.
        self.last = min(period.last.toordinal(), self.last_complete, self.end)
        start, end = self.start, self.end
        dated = [(v.day or local_ordinal(v.at), v) for v in sorted(visits, key=_VISIT_ORDER)]
        if dated and (dated[0][0] < start or dated[-1][0] > end):  # in time order, so in day order
            dated = [(day, v) for day, v in dated if start <= day <= end]
        self.visits = dated
        self.counted_days: dict[int, list[str]] = defaultdict(list)
        for day, v in dated:
            if v.counts:
                self.counted_days[day].append(v.id)
        self.episodes = sorted(episodes, key=lambda e: (e.started_at, e.id))
        self.sick: dict[int, SickKind] = {}
        for e in self.episodes:
            # Only days under the agreement matter (the day before it is a gap's first anchor anyway).
            first = max(local_ordinal(e.started_at), self.start - 1)
            last = min(local_ordinal(e.ended_at) if e.ended_at else self.last_complete, self.end)
            for day in range(first, last + 1):
                # A day in hospital at any time is a hospital day (the stricter absence from home).
                if self.sick.get(day) != SickKind.hospitalised:
                    self.sick[day] = e.kind

    def in_result(self, last_day: int) -> bool:
        """Whether a finding whose last day is this belongs to this run."""
        return self.first <= last_day <= self.last and last_day >= self.start

    def finding(self, clause: Clause, period_key: str, first: int, last: int, **fields: object) -> Finding:
        return Finding(
            agreement_id=self.agreement.id,
            household_id=self.agreement.household_id,
            clause_id=clause.id,
            clause_kind=kind_of(clause),
            period_key=period_key,
            period_start=_date(first),
            period_end=_date(last),
            month=_month(last),
            **fields,  # type: ignore[arg-type]
        )


def _overdue(anchors: list[int], every: int, first: int, last: int) -> list[tuple[int, int, int, int | None]]:
    """Stretches of days in [first, last] more than ``every`` days after the latest anchor:
    (anchor, overdue from, overdue to, next anchor or None)."""
    stretches = []
    for n, anchor in enumerate(anchors):
        following = anchors[n + 1] if n + 1 < len(anchors) else None
        if following is not None and following - anchor <= every:
            continue  # the next anchor came in time: nothing overdue (the usual case)
        start = max(anchor + every + 1, first)
        stop = min(following - 1 if following is not None else last, last)
        if start <= stop:
            stretches.append((anchor, start, stop, following))
    return stretches


def _by_month(
    stretches: list[tuple[int, int, int, int | None]],
) -> dict[dt.date, list[tuple[int, int, int, int | None]]]:
    """Stretches cut at month ends: a finding belongs to one month."""
    months: dict[dt.date, list[tuple[int, int, int, int | None]]] = defaultdict(list)
    for anchor, start, stop, following in stretches:
        day = start
        while day <= stop:
            month = _month(day)
            month_end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1).toordinal() - 1
            piece_end = min(stop, month_end)
            # The visit that ended a stretch is named only within the month, so a month's finding
            # reads the same whether judged alone or with the next month.
            ends = following if piece_end == stop and following is not None and following <= month_end else None
            months[month].append((anchor, day, piece_end, ends))
            day = piece_end + 1
    return months


def _gap_evidence(
    pieces: list[tuple[int, int, int, int | None]], counted: Mapping[int, list[str]]
) -> tuple[list[Gap], list[dt.date], int]:
    gaps, days = [], []
    longest = 0
    for anchor, start, stop, following in pieces:
        gaps.append(
            Gap(
                since=_date(anchor),
                last_visit=_date(anchor) if anchor in counted else None,
                overdue_from=_date(start),
                overdue_to=_date(stop),
                days_without=stop - anchor,
                next_visit=_date(following) if following is not None and following in counted else None,
            )
        )
        days += [_date(d) for d in range(start, stop + 1)]
        longest = max(longest, stop - anchor)
    return gaps, days, longest


def _stretch_units(pieces: list[tuple[int, int, int, int | None]], every: int) -> int:
    # A stretch of L overdue days is ceil(L / every) visits not made: the one due, and one more
    # for every further ``every`` days without.
    return sum(math.ceil((stop - start + 1) / every) for _, start, stop, _ in pieces)


def _visits_per_week(h: _Household, clause: VisitsPerWeek) -> list[Finding]:
    per_week = clause.per_week.of(h.agreement.care_level)
    if per_week == 0:
        return []
    findings = []
    counted, sick = h.counted_days, h.sick
    # Weeks numbered (ordinal - 1) // 7 run Monday to Sunday: most weeks, without a sick day, are
    # decided by their number of visit days alone (every counted day is under the agreement).
    days_in_week = Counter((d - 1) // 7 for d in counted)
    sick_weeks = {(d - 1) // 7 for d in sick}
    monday = max(h.start, h.first - 6)
    monday -= (monday - 1) % 7  # ordinal 1 (0001-01-01) is a Monday
    # The weeks judged: each starting by the agreement's end and over by ``h.last`` (a prefix).
    mondays = range(monday, (h.end if h.end <= h.last else h.last - 6) + 1, 7)
    # A whole week under the agreement, without a sick day, with enough visit days: no finding.
    start, end = h.start, h.end
    for monday in [
        m
        for m in mondays
        if days_in_week[(m - 1) // 7] < per_week or (m - 1) // 7 in sick_weeks or m < start or m + 6 > end
    ]:
        last = min(monday + 6, h.end)
        first = max(monday, h.start)
        if h.in_result(last):
            ordinary = [d for d in range(first, last + 1) if d not in sick] if sick else range(first, last + 1)
            required = per_week * len(ordinary) // 7
            visited = [d for d in ordinary if d in counted] if required else []
            if len(visited) < required:
                iso = _date(monday).isocalendar()
                findings.append(
                    h.finding(
                        clause,
                        f"{iso.year}-W{iso.week:02d}",
                        first,
                        last,
                        expected=required,
                        actual=len(visited),
                        units=required - len(visited),
                        summary=(
                            f"{_cn(first)}至{_cn(last)}这一周上门 {len(visited)} 天，"
                            f"应不少于 {required} 天，缺 {required - len(visited)} 天"
                        ),
                        evidence=Evidence(
                            visits=[v for d in visited for v in counted[d]],
                            missing_days=[_date(d) for d in ordinary if d not in counted],
                            sick_days=[_date(d) for d in range(first, last + 1) if d in sick],
                        ),
                    )
                )
    return findings


def _longest_gap(h: _Household, clause: LongestGap) -> list[Finding]:
    every = clause.max_days.of(h.agreement.care_level)
    anchors = sorted({h.start - 1, *h.counted_days, *h.sick})
    stretches = _overdue([a for a in anchors if a <= h.last], every, max(h.first, h.start), h.last)
    findings = []
    for month, pieces in sorted(_by_month(stretches).items()):
        gaps, days, longest = _gap_evidence(pieces, h.counted_days)
        units = _stretch_units(pieces, every)
        findings.append(
            h.finding(
                clause,
                f"{month:%Y-%m}",
                pieces[0][1],
                pieces[-1][2],
                expected=every,
                actual=longest,
                units=units,
                summary=(
                    f"{_month_cn(month)}有 {len(pieces)} 段超过 {every} 天无人上门"
                    f"（最长连续 {longest} 天，计 {units} 次），逾期 {len(days)} 天"
                ),
                evidence=Evidence(gaps=gaps, missing_days=days),
            )
        )
    return findings


def _ill_at_home(h: _Household, clause: IllAtHome) -> list[Finding]:
    findings = []
    window = dt.timedelta(hours=clause.first_visit_within_hours)
    for e in h.episodes:
        if e.kind != SickKind.ill_at_home:
            continue
        reported = local_ordinal(e.started_at)
        if not h.start <= reported <= h.end:
            continue
        deadline = e.started_at + window
        due = e.ended_at is None or e.ended_at > deadline
        # Judged as soon as the deadline has passed, not only once its day is over.
        if due and deadline <= h.as_of and h.first <= local_ordinal(deadline) <= min(h.period_last, h.end):
            # A visit under way when the illness was reported counts as the first.
            first = next(
                (
                    v
                    for _, v in h.visits
                    if v.counts
                    and v.at <= deadline
                    and (v.at >= e.started_at or v.at + dt.timedelta(minutes=v.minutes or 0) >= e.started_at)
                ),
                None,
            ) or next((v for _, v in h.visits if v.counts and v.at > deadline), None)
            if first is None or first.at > deadline:
                hours = math.ceil((first.at - e.started_at).total_seconds() / 3600) if first else None
                findings.append(
                    h.finding(
                        clause,
                        f"episode{e.id}:first",
                        reported,
                        local_ordinal(deadline),
                        expected=clause.first_visit_within_hours,
                        actual=hours,
                        units=1,
                        summary=(
                            f"{_cn(reported)}登记居家患病后 {clause.first_visit_within_hours} 小时内无人上门看护"
                            + (f"（首次上门在登记后 {hours} 小时）" if hours is not None else "（至今无人上门）")
                        ),
                        evidence=Evidence(
                            visits=[first.id] if first else [],
                            episode_id=e.id,
                            reported_at=e.started_at,
                            deadline=deadline,
                            first_visit_at=first.at if first else None,
                        ),
                    )
                )
        if not clause.daily_until_recovered:
            continue
        stop = min(local_ordinal(e.ended_at) - 1 if e.ended_at else h.last_complete, h.last)
        days = range(max(reported + 1, h.start), stop + 1)
        by_month: dict[dt.date, list[int]] = defaultdict(list)
        for day in days:
            by_month[_month(day)].append(day)
        for month, month_days in sorted(by_month.items()):
            if not h.in_result(month_days[-1]):
                continue
            missed = [d for d in month_days if d not in h.counted_days]
            if missed:
                visited = len(month_days) - len(missed)
                findings.append(
                    h.finding(
                        clause,
                        f"episode{e.id}:{month:%Y-%m}",
                        month_days[0],
                        month_days[-1],
                        expected=len(month_days),
                        actual=visited,
                        units=len(missed),
                        summary=(
                            f"居家患病期间（{_cn(month_days[0])}至{_cn(month_days[-1])}）应每天上门，"
                            f"{len(missed)} 天无人上门"
                        ),
                        evidence=Evidence(
                            visits=[v for d in month_days for v in h.counted_days.get(d, [])],
                            missing_days=[_date(d) for d in missed],
                            episode_id=e.id,
                            reported_at=e.started_at,
                        ),
                    )
                )
    return findings


def _hospitalised(h: _Household, clause: Hospitalised) -> list[Finding]:
    findings = []
    services = {s.value for s in clause.services}
    reasons = {r.value for r in clause.manual_reasons}
    for e in h.episodes:
        if e.kind != SickKind.hospitalised:
            continue
        admitted = local_ordinal(e.started_at)
        stop = min(local_ordinal(e.ended_at) - 1 if e.ended_at else h.last_complete, h.last)
        ended = e.ended_at or dt.datetime.max.replace(tzinfo=dt.UTC)
        accompanied: dict[int, list[str]] = defaultdict(list)
        for day, v in h.visits:
            if (
                v.counts
                and e.started_at <= v.at < ended
                and (services & v.services or (v.presence == "manual" and v.manual_reason in reasons))
            ):
                accompanied[day].append(v.id)
        anchors = sorted({max(admitted, h.start) - 1, *accompanied})
        stretches = _overdue([a for a in anchors if a <= stop], clause.every_days, max(admitted, h.start), stop)
        for month, pieces in sorted(_by_month(stretches).items()):
            if not h.in_result(pieces[-1][2]):
                continue
            gaps, days, longest = _gap_evidence(pieces, accompanied)
            units = _stretch_units(pieces, clause.every_days)
            findings.append(
                h.finding(
                    clause,
                    f"episode{e.id}:{month:%Y-%m}",
                    pieces[0][1],
                    pieces[-1][2],
                    expected=clause.every_days,
                    actual=longest,
                    units=units,
                    summary=(
                        f"住院期间（{_month_cn(month)}）{len(pieces)} 段超过 {clause.every_days} 天没有陪护记录"
                        f"（最长连续 {longest} 天，计 {units} 次）"
                    ),
                    evidence=Evidence(
                        visits=[v for d in sorted(accompanied) for v in accompanied[d]],
                        gaps=gaps,
                        missing_days=days,
                        episode_id=e.id,
                        reported_at=e.started_at,
                    ),
                )
            )
    return findings


def _services_per_month(
    h: _Household, clause: ServicesPerMonth, bought: Mapping[dt.date, frozenset[str]] | None
) -> list[Finding]:
    findings = []
    month = _month(max(h.first, h.start))
    hospital = {d for d, kind in h.sick.items() if kind == SickKind.hospitalised}
    minimum = [(s.value, n) for s, n in clause.minimum.items()]
    only_bought = clause.only_where_bought
    counting = [(day, v) for day, v in h.visits if v.counts]  # in time order, so in day order
    days_counted = [day for day, _ in counting]
    while True:
        first_day, month_last, following = _month_bounds(month)
        last = min(month_last, h.end)
        if first_day > h.end or last > h.last:
            break
        if h.in_result(last):
            in_month = [v for _, v in counting[bisect_left(days_counted, first_day) : bisect_right(days_counted, last)]]
            start = max(first_day, h.start)
            # A month partly outside the agreement, or in hospital, asks its share.
            days = last - start + 1 - (sum(1 for d in hospital if start <= d <= last) if hospital else 0)
            buys = _EVERY_SERVICE if bought is None else bought.get(month, frozenset())
            length = month_last - first_day + 1
            required = {s: n * days // length for s, n in minimum if not only_bought or s in buys}
            counted = dict.fromkeys(required, 0)
            for v in in_month:
                for s in v.services:
                    if s in counted:
                        counted[s] += 1
            short = {s: n - counted[s] for s, n in required.items() if counted[s] < n}
            if short:
                words = "、".join(
                    f"{CATALOGUE[ServiceCode(s)].label} {counted[s]} 次（应 {required[s]} 次）" for s in sorted(short)
                )
                findings.append(
                    h.finding(
                        clause,
                        f"{month:%Y-%m}",
                        start,
                        last,
                        expected=sum(required.values()),
                        actual=sum(min(counted[s], n) for s, n in required.items()),
                        units=sum(short.values()),
                        summary=f"{_month_cn(month)}服务项目不足：{words}",
                        evidence=Evidence(
                            visits=[v.id for v in in_month],
                            counted=dict(sorted(counted.items())),
                            required=dict(sorted(required.items())),
                        ),
                    )
                )
        month = following
    return findings


def _per_visit(h: _Household, clause: VisitEvidence | ShortestVisit) -> list[Finding]:
    findings = []
    lo, hi = max(h.first, h.start), h.last
    shortest = isinstance(clause, ShortestVisit)
    # Only the visits that may be at fault (most are not) go through the checks below.
    if isinstance(clause, ShortestVisit):
        least = clause.min_minutes
        suspects = [(d, v) for d, v in h.visits if v.minutes is not None and v.minutes < least]
    else:
        photos, scan = clause.min_photos, clause.qr_required
        suspects = [(d, v) for d, v in h.visits if v.photos < photos or (scan and v.presence != "qr")]
    for day, v in suspects:
        if not lo <= day <= hi:
            continue
        if shortest:
            assert isinstance(clause, ShortestVisit)
            if v.minutes is None or v.minutes >= clause.min_minutes:
                continue
            problems: list[str] = []
            expected, actual = clause.min_minutes, v.minutes
            summary = f"{_cn(day)}的服务只有 {v.minutes} 分钟，应不少于 {clause.min_minutes} 分钟"
        else:
            assert isinstance(clause, VisitEvidence)
            if v.presence == "qr" and v.photos >= clause.min_photos:
                continue  # the usual case, decided at once
            problems = []
            if clause.qr_required and v.presence != "qr":
                if v.presence == "qr_failed":
                    problems.append("qr_failed")
                elif clause.manual_needs_reason and not v.manual_reason:
                    problems.append("manual_without_reason")
            if v.photos < clause.min_photos:
                problems.append("photos_short")
            if not problems:
                continue
            expected, actual = clause.min_photos, v.photos
            words = "；".join(
                f"照片 {v.photos} 张（应不少于 {clause.min_photos} 张）"
                if p == "photos_short"
                else EVIDENCE_PROBLEMS[p]
                for p in problems
            )
            summary = f"{_cn(day)}的服务记录凭证不全：{words}"
        findings.append(
            h.finding(
                clause,
                f"visit:{v.id}",
                day,
                day,
                expected=expected,
                actual=actual,
                units=1,
                summary=summary,
                evidence=Evidence(visits=[v.id], problems=problems),
            )
        )
    return findings


def evaluate(
    agreement: AgreementFacts,
    template: Template,
    period: Period,
    as_of: dt.datetime,
    visits: Iterable[VisitFacts],
    episodes: Iterable[EpisodeFacts] = (),
    bought: Mapping[dt.date, frozenset[str]] | None = None,
) -> list[Finding]:
    """The breaches of one agreement whose last day lies in ``period`` and is over by ``as_of``.

    ``visits`` are the household's completed, unrejected visits (from ``lookback_days`` before the
    period on); ``bought`` maps the first of each month to the services the contract covering the
    household buys then (None: every service is bought). Sorted by key; each key at most once.
    """
    h = _Household(agreement, period, as_of, visits, episodes)
    if h.last < max(h.first, h.start):
        return []
    findings: list[Finding] = []
    for clause in template.clauses:
        if isinstance(clause, VisitsPerWeek):
            findings += _visits_per_week(h, clause)
        elif isinstance(clause, LongestGap):
            findings += _longest_gap(h, clause)
        elif isinstance(clause, IllAtHome):
            findings += _ill_at_home(h, clause)
        elif isinstance(clause, Hospitalised):
            findings += _hospitalised(h, clause)
        elif isinstance(clause, ServicesPerMonth):
            findings += _services_per_month(h, clause, bought)
        elif isinstance(clause, VisitEvidence | ShortestVisit):
            findings += _per_visit(h, clause)
    return sorted(findings, key=lambda f: f.key)


# --- a month's days, for the compliance calendar --------------------------------------------------


class DayMark(msgspec.Struct, frozen=True, kw_only=True):
    day: dt.date
    in_agreement: bool
    over: bool  # the day has ended (judged)
    visits: list[str]  # counting visits that day
    sick: SickKind | None
    required: bool  # a visit was due that very day (daily care, illness at home)
    missed: bool  # required or overdue and no counting visit
    week_short: bool  # in a week with too few visit days


def day_marks(
    agreement: AgreementFacts,
    template: Template,
    month: dt.date,
    as_of: dt.datetime,
    visits: Iterable[VisitFacts],
    episodes: Iterable[EpisodeFacts] = (),
    bought: Mapping[dt.date, frozenset[str]] | None = None,
) -> list[DayMark]:
    """Which days of a month were required, visited, missed or sick, from the same rules."""
    visits, episodes = list(visits), list(episodes)
    first = month.replace(day=1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    # The week ending after the month end is judged with the month's days too.
    judged = evaluate(
        agreement, template, Period(first=first, last=last + dt.timedelta(days=6)), as_of, visits, episodes, bought
    )
    h = _Household(agreement, Period(first=first, last=last), as_of, visits, episodes)
    missed: set[dt.date] = set()
    short: set[dt.date] = set()
    required: set[int] = set()
    weekly = template.clause(VisitsPerWeek)
    if weekly is not None and weekly.per_week.of(agreement.care_level) >= 7:
        required |= {d for d in range(first.toordinal(), last.toordinal() + 1) if d not in h.sick}
    for f in judged:
        if f.clause_kind == "visits_per_week":
            short.update(f.evidence.missing_days)
        elif f.clause_kind in ("longest_gap", "hospitalised", "ill_at_home"):
            missed.update(f.evidence.missing_days)
    illness = template.clause(IllAtHome)
    if illness is not None and illness.daily_until_recovered:
        for e in h.episodes:
            if e.kind == SickKind.ill_at_home:
                stop = local_ordinal(e.ended_at) - 1 if e.ended_at else h.last_complete
                required |= set(range(local_ordinal(e.started_at) + 1, stop + 1))
    marks = []
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        day = _date(ordinal)
        inside = h.start <= ordinal <= h.end
        over = ordinal <= h.last_complete
        is_required = inside and ordinal in required
        marks.append(
            DayMark(
                day=day,
                in_agreement=inside,
                over=over,
                visits=list(h.counted_days.get(ordinal, [])),
                sick=h.sick.get(ordinal),
                required=is_required,
                missed=inside and over and (day in missed or (is_required and ordinal not in h.counted_days)),
                week_short=inside and day in short,
            )
        )
    return marks
