"""The demo's history of home care (providers.visits.demo, built by the world fixture through
contracts.demo_year): made the same way from the same seed, the deliberately worse providers
really worse in the tables, the pilot left alone, visits only where and when a worker was
assigned and a contract covered the household, and photos that are real files."""

from __future__ import annotations

import datetime as dt
import io
import os
import statistics
from collections import defaultdict
from pathlib import Path

import msgspec
import pytest
from PIL import Image

from carepact.dates import SHANGHAI
from providers.visits.demo import (
    HISTORY_DIGEST,
    PICTURES,
    QUALITY,
    WORSE_PROVIDERS,
    HistoryPlan,
    Illness,
    Picture,
    load_inputs,
)
from tests.conftest import TEST_HISTORY_MONTHS

PILOT_DIGEST = "demo"  # the agreement demo's hand-made pilot visits


def window() -> tuple[dt.date, dt.date]:
    from contracts.demo_year import history_window

    return history_window(months=TEST_HISTORY_MONTHS)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


async def rates() -> dict[str, dict[str, float]]:
    """Per provider, from the tables: the share of its visits proven by a door-card scan and a
    photo with no serious flag, the visits made against those the agreement asks for its
    households' self-care levels over the history, and the findings per household."""
    from contracts.agreement.rules import VisitsPerWeek, bundled_source, load_template
    from providers.tables import Visit

    start, end = window()
    weeks = ((end - start).days + 1) / 7
    [per_week] = [c.per_week for c in load_template(bundled_source(1)).clauses if isinstance(c, VisitsPerWeek)]
    evidence = await Visit.raw(
        "SELECT o.name AS provider, count(*) AS visits, "
        "sum(CASE WHEN v.presence = 'qr' "
        "AND EXISTS (SELECT 1 FROM visit_photo p WHERE p.visit = v.id) "
        "AND NOT EXISTS (SELECT 1 FROM visit_flag f WHERE f.visit = v.id AND f.severity = 'serious') "
        "THEN 1 ELSE 0 END) AS verified "
        "FROM visit v JOIN organisation o ON o.id = v.organisation "
        "WHERE v.checkin_digest = {} GROUP BY o.name",
        HISTORY_DIGEST,
    )
    # Each household once, with the self-care level of its first person.
    households = await Visit.raw(
        "SELECT o.name AS provider, p.care_level AS level, count(DISTINCT v.household) AS households "
        "FROM visit v JOIN organisation o ON o.id = v.organisation "
        "JOIN person p ON p.id = (SELECT min(q.id) FROM person q WHERE q.household = v.household) "
        "WHERE v.checkin_digest = {} GROUP BY o.name, p.care_level",
        HISTORY_DIGEST,
    )
    findings = await Visit.raw(
        "SELECT o.name AS provider, count(*) AS findings FROM finding f "
        "JOIN organisation o ON o.id = f.organisation "
        "WHERE f.household IN (SELECT household FROM visit WHERE checkin_digest = {}) GROUP BY o.name",
        HISTORY_DIGEST,
    )
    asked: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for r in households:
        asked[r["provider"]] += r["households"] * per_week.of(r["level"]) * weeks
        count[r["provider"]] += r["households"]
    found = {r["provider"]: r["findings"] for r in findings}
    return {
        r["provider"]: {
            "verified": r["verified"] / r["visits"],
            "completion": r["visits"] / asked[r["provider"]],
            "findings_per_household": found.get(r["provider"], 0) / count[r["provider"]],
        }
        for r in evidence
    }


def fake_pictures(n: int = 3) -> list[Picture]:
    return [
        Picture(
            original_key=f"x/{k}",
            display_key=f"x/{k}/d",
            thumb_key=f"x/{k}/t",
            size_bytes=1000,
            sha256="0" * 64,
            format="JPEG",
            width=640,
            height=480,
            phash=k,
        )
        for k in range(n)
    ]


async def test_the_same_seed_makes_the_same_history(world) -> None:
    start, end = window()
    inputs = await load_inputs(start, end)
    illnesses = [
        Illness(
            household_id=inputs.spans[0].household,
            kind="ill_at_home",
            started_at=dt.datetime.combine(start + dt.timedelta(days=10), dt.time(9), tzinfo=SHANGHAI),
            ended_at=dt.datetime.combine(start + dt.timedelta(days=14), dt.time(17), tzinfo=SHANGHAI),
        )
    ]

    def made(seed: int) -> bytes:
        plan = HistoryPlan(inputs, fake_pictures(), seed=seed, illnesses=illnesses)
        return msgspec.json.encode([list(plan.months()), plan.tally])

    first = made(7)
    assert first == made(7)
    assert first != made(8)


async def test_the_worse_providers_are_worse_in_the_tables(world) -> None:
    found = await rates()
    good = [name for name, q in QUALITY.items() if not q.worse]
    assert set(WORSE_PROVIDERS) == {"陇州乐龄养老服务中心", "秦岭山区助老服务中心"}
    assert set(found) == set(QUALITY)  # every provider serves households of the test city
    for name in good:
        assert found[name]["verified"] >= 0.85 and found[name]["completion"] >= 0.9, (name, found[name])
    for worse in WORSE_PROVIDERS:
        for name in good:
            assert found[worse]["verified"] < found[name]["verified"] - 0.03, (worse, name, found)
            assert found[worse]["completion"] < found[name]["completion"] - 0.03, (worse, name, found)
            assert found[worse]["findings_per_household"] > found[name]["findings_per_household"], (worse, found)
    # Distinct ways of being worse: one mostly misses visits, the other mostly lacks proof.
    leling, qinling = found["陇州乐龄养老服务中心"], found["秦岭山区助老服务中心"]
    assert leling["completion"] < qinling["completion"] and qinling["verified"] < leling["verified"]


async def test_good_providers_answer_an_illness_in_time_and_a_worse_one_late(world) -> None:
    from contracts.tables import SickEpisode, SickKind
    from providers.tables import Visit

    history = await Visit.select(Visit.household, Visit.checkin_at, Visit.organisation._.name).where(
        Visit.checkin_digest == HISTORY_DIGEST
    )
    by_household = defaultdict(list)
    for v in history:
        by_household[v["household"]].append(v)
    hours: dict[str, list[float]] = defaultdict(list)
    for e in await SickEpisode.select().where(SickEpisode.kind == SickKind.ill_at_home.value):
        after = [v for v in by_household.get(e["household"], []) if v["checkin_at"] >= e["started_at"]]
        if after:
            first = min(after, key=lambda v: v["checkin_at"])
            hours[first["organisation.name"]].append((first["checkin_at"] - e["started_at"]).total_seconds() / 3600)
    assert hours, "the history answers some illnesses"
    for name, waited in hours.items():
        if not QUALITY[name].worse:
            assert max(waited) < 24, (name, waited)
    if hours.get("陇州乐龄养老服务中心"):
        assert statistics.median(hours["陇州乐龄养老服务中心"]) > 24


async def test_the_pilot_households_keep_their_own_five_weeks(world) -> None:
    from providers.tables import Visit

    pilot = {r["household"] for r in await Visit.select(Visit.household).where(Visit.checkin_digest == PILOT_DIGEST)}
    generated = {
        r["household"] for r in await Visit.select(Visit.household).where(Visit.checkin_digest == HISTORY_DIGEST)
    }
    assert len(pilot) == 6 and generated
    assert not pilot & generated


async def test_visits_only_on_covered_days_by_the_assigned_worker(world) -> None:
    from carepact.accounts.tables import Assignment
    from contracts.tables import Coverage
    from providers.tables import Visit

    start, end = window()
    assigned = defaultdict(list)
    for a in await Assignment.select():
        assigned[(a["household"], a["worker"])].append((a["starts_on"], a["ends_on"] or dt.date.max))
    covered = defaultdict(list)
    for c in await Coverage.select(
        Coverage.household, Coverage.starts_on, Coverage.ends_on, Coverage.contract._.supplier
    ).where(Coverage.household.is_not_null()):
        covered[(c["household"], c["contract.supplier"])].append((c["starts_on"], c["ends_on"] or dt.date.max))
    visits = await Visit.select(Visit.household, Visit.worker, Visit.organisation, Visit.checkin_at).where(
        Visit.checkin_digest == HISTORY_DIGEST
    )
    assert visits
    for v in visits:
        day = local_day(v["checkin_at"])
        assert start <= day <= end, v
        assert any(a <= day <= b for a, b in assigned[(v["household"], v["worker"])]), v
        assert any(a <= day <= b for a, b in covered[(v["household"], v["organisation"])]), v


async def test_the_photos_are_a_few_dozen_real_jpegs_shared_by_many_rows(world) -> None:
    from carepact.media.tables import Photo
    from providers.tables import Visit, VisitPhoto

    rows = await VisitPhoto.select(VisitPhoto.photo._.display_key, VisitPhoto.photo._.thumb_key).where(
        VisitPhoto.visit.is_in(Visit.select(Visit.id).where(Visit.checkin_digest == HISTORY_DIGEST))
    )
    files = {r["photo.display_key"] for r in rows} | {r["photo.thumb_key"] for r in rows}
    assert len(rows) > 2 * len(files) and len(files) <= 2 * PICTURES
    media = Path(os.environ["MEDIA_DIR"])
    for key in sorted(files):
        with Image.open(io.BytesIO((media / key).read_bytes())) as image:
            image.load()
            assert image.format == "JPEG" and min(image.size) > 0
    ready = await Photo.count().where(Photo.display_key.is_in(sorted(files)) & (Photo.status != "ready"))
    assert ready == 0


async def test_past_months_have_findings_explained_and_decided(world) -> None:
    from carepact.dates import local_today
    from contracts.demo_year import DECISIONS, EXPLANATIONS
    from contracts.tables import Finding, FindingState

    start, _ = window()
    this_month = local_today().replace(day=1)
    if start >= this_month:
        pytest.skip("the history has no past month yet")
    # The demo's own words, so what other tests explain and decide is left out.
    demo = Finding.explanation.is_in(list(EXPLANATIONS.values())) | Finding.decision_comment.is_in(
        [comment for _, comment, _ in DECISIONS]
    )
    decided = await Finding.select(Finding.state, Finding.month, Finding.explained_at, Finding.decided_at).where(
        demo & (Finding.decided_at.is_not_null() | Finding.explained_at.is_not_null())
    )
    assert {f["state"] for f in decided} >= {FindingState.explained.value, FindingState.upheld.value}
    now = dt.datetime.now(dt.UTC)
    for f in decided:
        assert f["month"] < this_month
        assert all(at is None or at <= now for at in (f["explained_at"], f["decided_at"]))
        if f["explained_at"] and f["decided_at"]:
            assert f["explained_at"] < f["decided_at"]
    assert await Finding.count().where(Finding.state == FindingState.open.value)


def test_times_and_ids_written_as_text_are_what_piccolo_would_write() -> None:
    """On SQLite the history hands the driver text instead of objects: the very text Piccolo's own
    adapters make, so the rows sort, compare and read back like any other."""
    import random
    import uuid

    from piccolo.engine.sqlite import convert_datetime_in, convert_uuid_in

    from providers.visits.demo import Values, local_minute, moment

    text, objects = Values(text=True), Values(text=False)
    rng = random.Random(1)
    for day in (dt.date(2026, 1, 1), dt.date(2026, 2, 28), dt.date(2026, 12, 31)):
        for hour, minute, second in ((0, 0, 0), (7, 59, 3), (8, 30, 5), (23, 59, 0)):
            at = local_minute(day, hour, minute)
            assert text.time(at, second) == convert_datetime_in(objects.time(at, second))
            assert moment(at).astimezone(SHANGHAI).replace(tzinfo=None) == dt.datetime.combine(
                day, dt.time(hour, minute)
            )
    for _ in range(50):
        value = uuid.uuid4().int ^ rng.getrandbits(64)
        assert text.id(value) == convert_uuid_in(objects.id(value))
