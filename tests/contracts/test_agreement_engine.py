"""The agreement engine as a pure function: an example for every clause type, and properties that
hold for any visits and illnesses (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from carepact.dates import SHANGHAI
from carepact.registry.tables import CareLevel
from contracts.agreement.engine import AgreementFacts, EpisodeFacts, Period, VisitFacts, day_marks, evaluate
from contracts.agreement.rules import Deduction, VisitsPerWeek, bundled_source, load_template, within_cap
from contracts.tables import SickKind

V1 = load_template(bundled_source(1))
JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
TWO_MONTHS = Period(first=JAN, last=dt.date(2026, 2, 28))
AFTER = dt.datetime(2026, 3, 2, 12, tzinfo=SHANGHAI)
ALL = frozenset({"cleaning", "psychological_comfort", "personal_care", "hospital_accompaniment"})
_ids = itertools.count(1)


def agreement(level: CareLevel = CareLevel.partly_unable, starts: dt.date = JAN, ends: dt.date | None = None):
    return AgreementFacts(
        id=1, household_id=10, care_level=level, starts_on=starts, ends_on=ends, monthly_fee_fen=V1.fees.of(level)
    )


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def visit(day: dt.date | dt.datetime, **facts) -> VisitFacts:
    moment = day if isinstance(day, dt.datetime) else at(day)
    base = {
        "id": f"v{next(_ids):06d}",
        "at": moment,
        "minutes": 45,
        "counts": True,
        "presence": "qr",
        "manual_reason": "",
        "photos": 1,
        "services": frozenset({"personal_care", "cleaning", "psychological_comfort"}),
    }
    return VisitFacts(**(base | facts))


def days(first: dt.date, last: dt.date, weekdays: set[int] | None = None) -> list[dt.date]:
    out, day = [], first
    while day <= last:
        if weekdays is None or day.weekday() in weekdays:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def run(visits, episodes=(), level=CareLevel.partly_unable, period=TWO_MONTHS, as_of=AFTER, bought=None, **kw):
    return evaluate(agreement(level, **kw), V1, period, as_of, visits, episodes, bought)


def of(findings, kind: str):
    return [f for f in findings if f.clause_kind == kind]


MON_WED_FRI = {0, 2, 4}
COMPLIANT = [visit(d) for d in days(JAN, dt.date(2026, 2, 28), MON_WED_FRI)]


def test_a_compliant_household_has_no_findings() -> None:
    assert run(COMPLIANT) == []


# --- one example per clause type ----------------------------------------------------------------


def test_visits_per_week_names_the_week_and_its_days_without_a_visit() -> None:
    # Week 2026-W03 (Jan 12–18): only Monday and Wednesday; two visits on Wednesday count once.
    week = [d for d in days(dt.date(2026, 1, 12), dt.date(2026, 1, 18))]
    visits = [v for v in COMPLIANT if v.at.date() not in week]
    visits += [visit(week[0]), visit(week[2]), visit(at(week[2], 15))]
    [finding] = of(run(visits), "visits_per_week")
    assert finding.period_key == "2026-W03" and finding.key == "1:visits_per_week:2026-W03"
    assert (finding.expected, finding.actual, finding.units) == (3, 2, 1)
    assert finding.evidence.missing_days == [week[1], *week[3:]]
    assert len(finding.evidence.visits) == 3
    assert "缺 1 天" in finding.summary and finding.month == JAN


def test_a_skipped_week_has_all_its_days_missing() -> None:
    week = days(dt.date(2026, 2, 9), dt.date(2026, 2, 15))
    findings = run([v for v in COMPLIANT if v.at.date() not in week], level=CareLevel.able)
    [weekly] = of(findings, "visits_per_week")
    assert weekly.evidence.missing_days == week and weekly.units == 1


def test_a_partial_week_asks_its_share() -> None:
    # The agreement starts on a Friday: 3 days of the first week × 3 / 7 = 1 visit day due.
    friday = dt.date(2026, 1, 2)
    findings = run([], starts=friday, period=Period(first=JAN, last=dt.date(2026, 1, 4)))
    [weekly] = of(findings, "visits_per_week")
    assert (weekly.expected, weekly.actual, weekly.period_start) == (1, 0, friday)


def test_longest_gap_counts_overdue_days_per_month() -> None:
    # Able (10 days): visits on Jan 5 and Jan 20 → days 16–19 are overdue; gap of 14 days.
    visits = [visit(dt.date(2026, 1, d)) for d in (5, 20, 27)] + [
        visit(d) for d in days(FEB, dt.date(2026, 2, 28), {1})
    ]
    [gap] = of(run(visits, level=CareLevel.able), "longest_gap")
    assert gap.period_key == "2026-01" and gap.expected == 10 and gap.actual == 14
    assert gap.evidence.missing_days == [dt.date(2026, 1, d) for d in range(16, 20)]
    [stretch] = gap.evidence.gaps
    assert (stretch.last_visit, stretch.next_visit, stretch.days_without) == (
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 20),
        14,
    )
    assert gap.units == 1


def test_a_long_gap_is_several_missed_visits() -> None:
    # Unable (2 days): nothing from Feb 1 → Feb 3..28 overdue = 26 days = 13 missed visits.
    visits = [visit(d) for d in days(JAN, dt.date(2026, 1, 31))]
    [gap] = of(run(visits, level=CareLevel.unable), "longest_gap")
    assert gap.month == FEB and gap.units == 13 and gap.actual == 28


def test_illness_at_home_first_visit_too_late_then_days_missed() -> None:
    reported = at(dt.date(2026, 2, 10), 8)
    episode = EpisodeFacts(id=7, kind=SickKind.ill_at_home, started_at=reported, ended_at=at(dt.date(2026, 2, 16), 12))
    visits = [v for v in COMPLIANT if not dt.date(2026, 2, 10) <= v.at.date() <= dt.date(2026, 2, 16)]
    visits += [visit(reported + dt.timedelta(hours=30)), visit(dt.date(2026, 2, 13))]
    findings = run(visits, [episode])
    [first] = [f for f in findings if f.period_key == "episode7:first"]
    assert (first.expected, first.actual) == (24, 30)
    assert first.evidence.deadline == reported + dt.timedelta(hours=24)
    [daily] = [f for f in findings if f.period_key == "episode7:2026-02"]
    # Required: Feb 11..15 (after the report day, before the recovery day); visited 11 and 13.
    assert daily.evidence.missing_days == [dt.date(2026, 2, d) for d in (12, 14, 15)] and daily.units == 3
    # The ordinary rules stand aside while ill: no weekly finding for the week of Feb 9.
    assert not [f for f in of(findings, "visits_per_week") if f.period_key == "2026-W07"]


def test_illness_reported_during_a_visit_is_answered_by_that_visit() -> None:
    during = at(dt.date(2026, 2, 10), 9, 20)  # the worker reports it while there (visit 09:00–09:45)
    episode = EpisodeFacts(id=8, kind=SickKind.ill_at_home, started_at=during, ended_at=at(dt.date(2026, 2, 11), 10))
    assert not [f for f in run([*COMPLIANT, visit(dt.date(2026, 2, 10))], [episode]) if f.clause_kind == "ill_at_home"]


def test_no_visit_at_all_after_an_illness_report() -> None:
    reported = at(dt.date(2026, 2, 25), 10, 30)  # after that morning's visit (09:00–09:45)
    episode = EpisodeFacts(id=9, kind=SickKind.ill_at_home, started_at=reported, ended_at=None)
    visits = [v for v in COMPLIANT if v.at < reported]
    findings = run(visits, [episode], as_of=at(dt.date(2026, 2, 28), 20))
    [first] = [f for f in findings if f.period_key == "episode9:first"]
    assert first.actual is None and "至今无人上门" in first.summary
    [daily] = [f for f in findings if f.period_key == "episode9:2026-02"]
    assert daily.evidence.missing_days == [dt.date(2026, 2, 26), dt.date(2026, 2, 27)]


def test_a_first_visit_deadline_not_yet_passed_is_not_a_finding() -> None:
    reported = at(dt.date(2026, 2, 27), 18)
    episode = EpisodeFacts(id=10, kind=SickKind.ill_at_home, started_at=reported, ended_at=None)
    findings = run([v for v in COMPLIANT if v.at < reported], [episode], as_of=at(dt.date(2026, 2, 28), 12))
    assert not of(findings, "ill_at_home")


def test_hospital_stay_needs_accompaniment_every_two_days() -> None:
    stay = EpisodeFacts(
        id=11, kind=SickKind.hospitalised, started_at=at(dt.date(2026, 2, 2), 10), ended_at=at(dt.date(2026, 2, 12), 9)
    )
    visits = [v for v in COMPLIANT if not dt.date(2026, 2, 2) <= v.at.date() <= dt.date(2026, 2, 12)]
    visits += [
        visit(dt.date(2026, 2, 3), services=frozenset({"hospital_accompaniment"})),
        # By hand in hospital, approved: counts as accompaniment though no service says so.
        visit(dt.date(2026, 2, 5), presence="manual", manual_reason="person_hospitalised", services=frozenset()),
        # A visit without accompaniment does not count for this clause.
        visit(dt.date(2026, 2, 7), services=frozenset({"cleaning"})),
    ]
    findings = run(visits, [stay])
    [hospital] = of(findings, "hospitalised")
    # Accompanied on the 3rd and 5th; nothing after until discharge on the 12th: 8..11 overdue.
    assert hospital.evidence.missing_days == [dt.date(2026, 2, d) for d in range(8, 12)]
    assert (hospital.expected, hospital.actual, hospital.units) == (2, 6, 2)
    assert not [f for f in of(findings, "visits_per_week") if f.period_key in ("2026-W06", "2026-W07")]


def test_services_per_month_only_where_the_contract_buys_them() -> None:
    plain = frozenset({"personal_care"})
    visits = [visit(d, services=plain) for d in days(JAN, dt.date(2026, 2, 28), MON_WED_FRI)]
    bought = {JAN: frozenset({"cleaning"}), FEB: frozenset({"cleaning", "psychological_comfort"})}
    findings = of(run(visits, bought=bought), "services_per_month")
    assert [f.period_key for f in findings] == ["2026-01", "2026-02"]
    assert findings[0].evidence.required == {"cleaning": 2} and findings[0].units == 2
    assert findings[1].evidence.required == {"cleaning": 2, "psychological_comfort": 1}
    assert findings[1].evidence.counted == {"cleaning": 0, "psychological_comfort": 0} and findings[1].units == 3
    assert not of(run(visits, bought={}), "services_per_month")  # not bought: not required


def test_a_month_partly_under_the_agreement_asks_its_share_of_services() -> None:
    plain = frozenset({"personal_care"})
    starts = dt.date(2026, 1, 20)  # 12 of 31 days: cleaning 2 × 12 // 31 = 0, comfort 0
    visits = [visit(d, services=plain) for d in days(starts, dt.date(2026, 2, 28), MON_WED_FRI)]
    findings = of(run(visits, starts=starts), "services_per_month")
    assert [f.period_key for f in findings] == ["2026-02"]


@pytest.mark.parametrize(
    ("facts", "problems"),
    [
        ({"presence": "qr_failed", "counts": False}, ["qr_failed"]),
        ({"presence": "manual", "manual_reason": ""}, ["manual_without_reason"]),
        ({"photos": 0}, ["photos_short"]),
        ({"presence": "manual", "manual_reason": "", "photos": 0}, ["manual_without_reason", "photos_short"]),
        ({"presence": "manual", "manual_reason": "card_damaged"}, []),
    ],
)
def test_visit_evidence(facts, problems) -> None:
    odd = visit(dt.date(2026, 1, 14), **facts)
    visits = [v for v in COMPLIANT if v.at.date() != dt.date(2026, 1, 14)] + [odd]
    found = [f for f in of(run(visits), "visit_evidence") if f.period_key == f"visit:{odd.id}"]
    assert [f.evidence.problems for f in found] == ([problems] if problems else [])


def test_shortest_visit() -> None:
    short = visit(dt.date(2026, 1, 14), minutes=12)
    visits = [v for v in COMPLIANT if v.at.date() != dt.date(2026, 1, 14)] + [short]
    [finding] = of(run(visits), "shortest_visit")
    assert (finding.expected, finding.actual, finding.period_start) == (30, 12, dt.date(2026, 1, 14))


def test_a_visit_that_does_not_count_leaves_its_day_unvisited() -> None:
    week = days(dt.date(2026, 1, 12), dt.date(2026, 1, 18), MON_WED_FRI)
    visits = [v for v in COMPLIANT if v.at.date() != week[0]] + [visit(week[0], counts=False)]
    [weekly] = of(run(visits), "visits_per_week")
    assert week[0] in weekly.evidence.missing_days


def test_only_periods_that_are_over_are_judged() -> None:
    # As of Wednesday Feb 25: the week of Feb 23 is not over, February's services are not either.
    findings = run([], as_of=at(dt.date(2026, 2, 25), 12))
    assert "2026-W09" not in {f.period_key for f in findings}
    assert not [f for f in of(findings, "services_per_month") if f.month == FEB]
    assert max(f.period_end for f in findings) <= dt.date(2026, 2, 24)


def test_the_calendar_marks_required_visited_missed_and_sick_days() -> None:
    episode = EpisodeFacts(
        id=12, kind=SickKind.ill_at_home, started_at=at(dt.date(2026, 2, 10), 8), ended_at=at(dt.date(2026, 2, 13), 9)
    )
    visits = [v for v in COMPLIANT if not dt.date(2026, 2, 9) <= v.at.date() <= dt.date(2026, 2, 22)]
    visits.append(visit(at(dt.date(2026, 2, 10), 15)))
    marks = {m.day: m for m in day_marks(agreement(), V1, FEB, AFTER, visits, [episode])}
    assert marks[dt.date(2026, 2, 2)].visits and not marks[dt.date(2026, 2, 2)].missed
    assert marks[dt.date(2026, 2, 11)].required and marks[dt.date(2026, 2, 11)].missed  # ill, nobody came
    assert marks[dt.date(2026, 2, 10)].sick == SickKind.ill_at_home
    assert marks[dt.date(2026, 2, 17)].week_short  # the week of the 16th had no visit
    assert not marks[dt.date(2026, 2, 7)].required  # partly unable: a week's share, no given day


# --- properties -----------------------------------------------------------------------------------

LEVELS = st.sampled_from(list(CareLevel))
DAY = st.integers(min_value=-12, max_value=58).map(lambda n: JAN + dt.timedelta(days=n))
SERVICES = st.frozensets(st.sampled_from(sorted(ALL)), max_size=3)


@st.composite
def any_visit(draw) -> VisitFacts:
    presence = draw(st.sampled_from(["qr", "qr", "qr", "manual", "qr_failed"]))
    return visit(
        at(draw(DAY), draw(st.integers(6, 20)), draw(st.integers(0, 59))),
        minutes=draw(st.one_of(st.none(), st.integers(5, 120))),
        counts=presence != "qr_failed" and draw(st.booleans()),
        presence=presence,
        manual_reason=draw(st.sampled_from(["", "card_damaged", "person_hospitalised"]))
        if presence == "manual"
        else "",
        photos=draw(st.integers(0, 2)),
        services=draw(SERVICES),
    )


@st.composite
def valid_visit(draw) -> VisitFacts:
    return visit(
        at(draw(DAY), draw(st.integers(6, 20)), draw(st.integers(0, 59))),
        minutes=draw(st.integers(30, 120)),
        services=draw(SERVICES),
    )


@st.composite
def illnesses(draw) -> list[EpisodeFacts]:
    """Up to three episodes one after another, the last perhaps still open."""
    episodes, moment = [], at(JAN, 8) + dt.timedelta(hours=draw(st.integers(0, 24 * 20)))
    for n in range(draw(st.integers(0, 3))):
        hours = draw(st.integers(1, 24 * 12))
        open_ended = n == 2 and draw(st.booleans())
        end = None if open_ended else moment + dt.timedelta(hours=hours)
        episodes.append(
            EpisodeFacts(id=n + 1, kind=draw(st.sampled_from(list(SickKind))), started_at=moment, ended_at=end)
        )
        if end is None:
            break
        moment = end + dt.timedelta(hours=draw(st.integers(0, 24 * 10)))
    return episodes


BOUGHT = st.sampled_from([None, {}, {JAN: ALL, FEB: frozenset({"cleaning"})}])
AS_OF = st.sampled_from([AFTER, at(dt.date(2026, 2, 20), 10), at(dt.date(2026, 1, 31), 23)])
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def units(findings) -> dict[str, int]:
    return {f.key: f.units for f in findings}


@PROPERTY
@given(LEVELS, st.lists(any_visit(), max_size=60), illnesses(), valid_visit(), BOUGHT, AS_OF)
def test_adding_a_valid_visit_never_adds_a_finding(level, visits, episodes, extra, bought, as_of) -> None:
    before = units(run(visits, episodes, level=level, bought=bought, as_of=as_of))
    after = units(run([*visits, extra], episodes, level=level, bought=bought, as_of=as_of))
    assert set(after) <= set(before)
    assert all(after[k] <= before[k] for k in after), {k: (before[k], after[k]) for k in after if after[k] > before[k]}


@PROPERTY
@given(LEVELS, st.lists(any_visit(), min_size=1, max_size=60), illnesses(), st.data(), BOUGHT)
def test_removing_a_visit_never_takes_a_finding_away(level, visits, episodes, data, bought) -> None:
    gone = data.draw(st.sampled_from(visits))
    before = units(run(visits, episodes, level=level, bought=bought))
    after = units(run([v for v in visits if v is not gone], episodes, level=level, bought=bought))
    kept = {k: n for k, n in before.items() if not k.endswith(f"visit:{gone.id}")}  # its own evidence findings go
    assert set(kept) <= set(after)
    assert all(after[k] >= n for k, n in kept.items())


@st.composite
def weekly_schedules(draw):
    """A level and, for each week of January–February, the weekdays visited (around the rule)."""
    level = draw(LEVELS)
    per_week = V1.clause(VisitsPerWeek).per_week.of(level)
    visits = []
    monday = dt.date(2025, 12, 29)
    while monday <= dt.date(2026, 2, 23):
        count = max(0, min(7, per_week + draw(st.integers(-1, 1))))
        for weekday in draw(st.permutations(range(7)))[:count]:
            visits.append(visit(monday + dt.timedelta(days=weekday)))
        monday += dt.timedelta(days=7)
    return level, visits


@PROPERTY
@given(weekly_schedules(), st.data())
def test_removing_a_required_visit_always_adds_a_finding(schedule, data) -> None:
    level, visits = schedule
    per_week = V1.clause(VisitsPerWeek).per_week.of(level)
    by_week: dict[tuple[int, int], list[VisitFacts]] = {}
    for v in visits:
        iso = v.at.date().isocalendar()
        by_week.setdefault((iso.year, iso.week), []).append(v)
    # A visit is required when its week, whole and inside the period, has exactly the days due.
    required = [
        v
        for (year, week), week_visits in by_week.items()
        if JAN <= dt.date.fromisocalendar(year, week, 7) <= dt.date(2026, 2, 28)
        and dt.date.fromisocalendar(year, week, 1) >= JAN
        and len(week_visits) == per_week
        for v in week_visits
    ]
    assume(required)
    gone = data.draw(st.sampled_from(required))
    before = {f.key for f in run(visits, level=level)}
    after = {f.key for f in run([v for v in visits if v is not gone], level=level)}
    iso = gone.at.date().isocalendar()
    assert f"1:visits_per_week:{iso.year}-W{iso.week:02d}" in after - before


@PROPERTY
@given(LEVELS, st.lists(any_visit(), max_size=50), illnesses(), BOUGHT, st.randoms(use_true_random=False))
def test_the_order_of_the_inputs_does_not_matter(level, visits, episodes, bought, rng: random.Random) -> None:
    expected = msgspec.json.encode(run(visits, episodes, level=level, bought=bought))
    shuffled_visits, shuffled_episodes = visits[:], episodes[:]
    rng.shuffle(shuffled_visits)
    rng.shuffle(shuffled_episodes)
    assert msgspec.json.encode(run(shuffled_visits, shuffled_episodes, level=level, bought=bought)) == expected


@PROPERTY
@given(LEVELS, st.lists(any_visit(), max_size=50), illnesses(), BOUGHT)
def test_months_judged_apart_or_together_give_the_same_findings(level, visits, episodes, bought) -> None:
    """The nightly run (last month and this one) and a year's run never disagree about a month."""
    together = run(visits, episodes, level=level, bought=bought)
    january = run(visits, episodes, level=level, bought=bought, period=Period(first=JAN, last=dt.date(2026, 1, 31)))
    february = run(visits, episodes, level=level, bought=bought, period=Period(first=FEB, last=dt.date(2026, 2, 28)))
    assert msgspec.json.encode(together) == msgspec.json.encode(sorted(january + february, key=lambda f: f.key))


@PROPERTY
@given(LEVELS, st.lists(any_visit(), max_size=40), illnesses(), BOUGHT)
def test_every_finding_is_keyed_once_and_lies_in_its_month(level, visits, episodes, bought) -> None:
    findings = run(visits, episodes, level=level, bought=bought)
    assert len({f.key for f in findings}) == len(findings)
    for f in findings:
        assert f.units >= 1 and f.period_start <= f.period_end and f.month == f.period_end.replace(day=1)
        assert JAN <= f.period_end <= dt.date(2026, 2, 28)
    assert run(visits, episodes, level=level, bought=bought) == findings


@given(
    st.lists(st.tuples(st.uuids(), st.integers(0, 100_000)), max_size=20),
    st.integers(0, 500_000),
)
def test_deductions_never_pass_the_monthly_cap(amounts, cap) -> None:
    applied = within_cap(amounts, cap)
    assert [ref for ref, _ in applied] == [ref for ref, _ in amounts]
    assert sum(a for _, a in applied) == min(cap, sum(a for _, a in amounts))
    assert all(0 <= a <= amount for (_, a), (_, amount) in zip(applied, amounts, strict=True))


@given(st.integers(0, 10_000_000), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 60))
def test_a_breach_costs_whole_fen_of_the_fee(fee, per_breach_bp, cap_bp, units) -> None:
    rule = Deduction(per_breach_bp=per_breach_bp, monthly_cap_bp=cap_bp, text="x")
    amount = rule.amount(fee, units)
    assert isinstance(amount, int) and amount * 10_000 <= fee * per_breach_bp * units < (amount + 1) * 10_000
    assert rule.cap(fee) <= fee


def test_uuid_ids_are_fine_too() -> None:
    v = visit(dt.date(2026, 1, 5), id=str(uuid.uuid4()), minutes=5)
    assert of(run([*COMPLIANT, v]), "shortest_visit")[0].evidence.visits == [v.id]


def test_an_agreement_that_ended_is_judged_up_to_its_last_day() -> None:
    ends = dt.date(2026, 1, 20)
    findings = run([], level=CareLevel.unable, ends=ends)
    assert findings and max(f.period_end for f in findings) == ends
    assert {f.month for f in findings} == {JAN}


@PROPERTY
@given(LEVELS, DAY, st.one_of(st.none(), DAY), st.lists(any_visit(), max_size=30), illnesses(), BOUGHT, AS_OF)
def test_findings_lie_within_the_agreement(level, starts, ends, visits, episodes, bought, as_of) -> None:
    assume(ends is None or ends >= starts)
    findings = run(visits, episodes, level=level, bought=bought, as_of=as_of, starts=starts, ends=ends)
    for f in findings:
        assert starts <= f.period_start <= f.period_end and (ends is None or f.period_end <= ends)
        assert f.period_end < as_of.date() or f.clause_kind == "ill_at_home"
