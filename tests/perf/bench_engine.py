"""Benchmark: the agreement engine over a city's year, against the hand-written SQL aggregate of its
main question.

Builds a synthetic city year (in a temporary SQLite database, or in the PostgreSQL database named by
BENCH_DATABASE_URL, which it fills): 5,565 households under the standard agreement (version 1) and
one contract, about 320,000 visits with their services, photos and a few flags, and a few hundred
illnesses. Then times (the two baselines the best of three runs):

- the baseline, **the weekly aggregate**: per household and week (Monday to Sunday, Baoji's days),
  the days with a verified visit and their minutes, over the year. That is the agreement's main
  question (clause ``visits_per_week``: so many days a week with a visit) as a person would write
  it in SQL, with the one definition of a verified visit (``contracts.delivery.verified_visit``)
  and the same driver path as the engine's own reads; the engine needs at least that (the days
  with a verified visit of every household), and answers every other clause besides;
- for context only, the bare count of the year's visits by household (the baseline before: it
  asks nothing of a visit, so the ratio to it measured mostly what a count does not read);
- the evaluation of every agreement over the year (``contracts.agreement.evaluation.evaluate_scope``):
  loading the inputs in bulk plus the pure engine — **the figure**, target ≤ 1.5× the weekly
  aggregate — and saving the findings, against its own baseline: a plain bulk INSERT of the same
  finding rows (one executemany, one transaction) into the same table;
- a second, idempotent run (nothing changes), reported against the weekly aggregate.

On PostgreSQL the freshly built tables are ANALYZEd first (as autovacuum would have done by the
time a nightly run comes); SQLite is measured as the embedded default runs, without statistics.

Run with ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid

from common import Figure, Report

HOUSEHOLDS = 5_565
YEAR = 2025
# self-care level, share of households, the weekdays visited, the chance a visit is skipped
MIX = [("able", 0.95, {1}, 0.03), ("partly_unable", 0.04, {0, 2, 4}, 0.04), ("unable", 0.01, set(range(7)), 0.03)]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


async def build(rng: random.Random) -> dict[str, int]:
    from carepact import db
    from carepact.accounts.services import create_account
    from carepact.accounts.tables import Role
    from carepact.audit.services import SYSTEM
    from carepact.media.tables import Photo
    from carepact.registry.tables import Household, Organisation, OrganisationKind, Person, Region
    from contracts.agreement.rules import bundled_source, load_template
    from contracts.agreement.services import publish_template
    from contracts.procurement.schemas import ContractIn, CoverageChange, Item, Period
    from contracts.procurement.services import record_contract
    from contracts.tables import Agreement, AgreementTemplate, ContractKind, SickEpisode
    from providers.tables import Visit, VisitFlag, VisitPhoto, VisitService

    await db.migrate()
    await db.start()
    city = (
        await Region.insert(Region(code="610300", name="宝鸡市", level="city", path="/610300/")).returning(Region.id)
    )[0]["id"]
    county = (
        await Region.insert(
            Region(code="610302", name="渭滨区", level="county", parent=city, path="/610300/610302/")
        ).returning(Region.id)
    )[0]["id"]
    township = (
        await Region.insert(
            Region(code="610302001", name="金陵街道", level="township", parent=county, path="/610300/610302/610302001/")
        ).returning(Region.id)
    )[0]["id"]
    villages = []
    for n in range(60):
        code = f"610302001{n + 1:03d}"
        row = await Region.insert(
            Region(
                code=code,
                name=f"第{n + 1}村",
                level="village",
                parent=township,
                path=f"/610300/610302/610302001/{code}/",
            )
        ).returning(Region.id)
        villages.append(row[0]["id"])
    orgs = {}
    for name, kind, region in [
        ("宝鸡市民政局", OrganisationKind.bureau, city),
        ("金陵街道办事处", OrganisationKind.township_office, township),
        ("仁和社工中心", OrganisationKind.provider, county),
    ]:
        orgs[kind] = (
            await Organisation.insert(Organisation(name=name, kind=kind.value, region=region)).returning(
                Organisation.id
            )
        )[0]["id"]
    worker = await create_account(
        "bench_worker",
        "bench-password",
        role=Role.field_worker,
        display_name="社工",
        organisation_id=orgs[OrganisationKind.provider],
    )
    await publish_template(None, bundled_source(1), "bench", SYSTEM)
    template = load_template(bundled_source(1))
    template_id = (await AgreementTemplate.select(AgreementTemplate.id).first())["id"]

    levels = []
    async with db.atomic():
        await db.insert_many(
            Household,
            [
                {
                    "code": f"B{n:05d}",
                    "village": villages[n % len(villages)],
                    "address": "测试",
                    "created_at": _at(dt.date(YEAR - 1, 12, 1), 9, 0),
                }
                for n in range(HOUSEHOLDS)
            ],
        )
    households = [r["id"] for r in await Household.select(Household.id).order_by(Household.id)]
    for _ in households:
        pick = rng.random()
        levels.append(MIX[0] if pick < MIX[0][1] else MIX[1] if pick < MIX[0][1] + MIX[1][1] else MIX[2])
    async with db.atomic():
        await db.insert_many(
            Person,
            [
                {
                    "name": "某人",
                    "gender": "female",
                    "birth_year": 1950,
                    "id_number_protected": "bench",
                    "id_number_digest": f"bench{h}",
                    "id_number_masked": "610399********0000",
                    "care_level": level[0],
                    "support_mode": "dispersed",
                    "household": h,
                    "health_protected": "",
                    "created_at": _at(dt.date(YEAR - 1, 12, 1), 9, 0),
                }
                for h, level in zip(households, levels, strict=True)
            ],
        )
    persons = {r["household"]: r["id"] for r in await Person.select(Person.id, Person.household)}
    await record_contract(
        ContractIn(
            code="BENCH-01",
            title="基准测试合同",
            kind=ContractKind.home_care,
            buyer_id=orgs[OrganisationKind.bureau],
            supplier_id=orgs[OrganisationKind.provider],
            service_area_id=county,
            date_signed=dt.date(YEAR - 1, 12, 20),
            period=Period(start_date=dt.date(YEAR, 1, 1), end_date=dt.date(YEAR, 12, 31)),
            items=[
                Item(classification=c, quantity=100_000, unit_value_fen=6000)
                for c in ("cleaning", "personal_care", "psychological_comfort")
            ],
            coverage=CoverageChange(add_households=households),
        ),
        None,
        SYSTEM,
    )
    async with db.atomic():
        await db.insert_many(
            Agreement,
            [
                {
                    "code": f"XY-B{n:05d}",
                    "household": h,
                    "person": persons[h],
                    "template": template_id,
                    "township_office": orgs[OrganisationKind.township_office],
                    "caregiver_kind": "provider",
                    "caregiver_organisation": orgs[OrganisationKind.provider],
                    "caregiver_name": "仁和社工中心",
                    "care_level": level[0],
                    "monthly_fee_fen": template.fees.of(level[0]),
                    "starts_on": dt.date(YEAR, 1, 1),
                    "signed_on": dt.date(YEAR - 1, 12, 25),
                    "signed_by_name": "基准测试",
                }
                for n, (h, level) in enumerate(zip(households, levels, strict=True))
            ],
        )

    # The year's visits, by schedule with skips; a few by hand, short, without photo, doubtful.
    visits, services, photos, links, flags = [], [], [], [], []
    first = dt.date(YEAR, 1, 1)
    for h, (_, _, weekdays, skip) in zip(households, levels, strict=True):
        offset = rng.randrange(7) if len(weekdays) == 1 else 0
        for n in range(365):
            day = first + dt.timedelta(days=n)
            if (day.weekday() + offset) % 7 not in weekdays or rng.random() < skip:
                continue
            at = _at(day, rng.randrange(7, 18), rng.randrange(60))
            minutes = 15 if rng.random() < 0.01 else rng.randrange(35, 90)
            roll = rng.random()
            presence, review, reason = (
                ("manual", "approved", "card_damaged")
                if roll < 0.02
                else ("qr_failed", "awaiting_approval", "")
                if roll < 0.025
                else ("qr", "not_required", "")
            )
            visit_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            visits.append(
                (
                    visit_id,
                    h,
                    worker,
                    orgs[OrganisationKind.provider],
                    "completed",
                    presence,
                    reason,
                    at,
                    at,
                    at,
                    at + dt.timedelta(minutes=minutes),
                    minutes,
                    review,
                    "bench",
                )
            )
            services.append((visit_id, "personal_care"))
            if rng.random() < 0.75:
                services.append((visit_id, "cleaning"))
            if rng.random() < 0.45:
                services.append((visit_id, "psychological_comfort"))
            if rng.random() > 0.02:
                photo_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                photos.append((photo_id, h, "ready", "bench", "bench"))
                links.append((visit_id, photo_id, "checkout"))
            if rng.random() < 0.005:
                flags.append((visit_id, "impossible_travel", "serious", "bench"))
    episodes = []
    for h in rng.sample(households, 400):
        start = _at(first + dt.timedelta(days=rng.randrange(350)), 9, 0)
        end = start + dt.timedelta(days=rng.randrange(1, 12))
        episodes.append(
            {
                "household": h,
                "kind": rng.choice(["ill_at_home", "hospitalised"]),
                "started_at": start,
                "ended_at": end,
                "end_reason": "recovered",
                "reported_by_name": "社工",
            }
        )

    def rows(names: tuple[str, ...], values: list[tuple]) -> list[dict]:
        return [dict(zip(names, v, strict=True)) for v in values]

    for table, names, values in [
        (
            Visit,
            (
                "id",
                "household",
                "worker",
                "organisation",
                "status",
                "presence",
                "manual_reason",
                "checkin_at",
                "checkin_device_at",
                "checkin_received_at",
                "checkout_at",
                "duration_minutes",
                "review",
                "checkin_digest",
            ),
            visits,
        ),
        (VisitService, ("visit", "service"), services),
        (Photo, ("id", "household", "status", "sha256", "original_key"), photos),
        (VisitPhoto, ("visit", "photo", "stage"), links),
        (VisitFlag, ("visit", "code", "severity", "message"), flags),
    ]:
        for start in range(0, len(values), 50_000):
            async with db.atomic():
                await db.insert_many(table, rows(names, values[start : start + 50_000]))
    async with db.atomic():
        await db.insert_many(SickEpisode, episodes)
    return {
        "households": len(households),
        "visits": len(visits),
        "services": len(services),
        "photos": len(photos),
        "episodes": len(episodes),
    }


RUNS = 3


async def best(runs: int, fn) -> tuple[float, object]:
    fastest, answer = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        answer = await fn()
        fastest = min(fastest, time.perf_counter() - began)
    return fastest, answer


def _window() -> tuple[dt.datetime, dt.datetime]:
    return _at(dt.date(YEAR, 1, 1), 0, 0), _at(dt.date(YEAR + 1, 1, 1), 0, 0)


async def bare_count() -> list:
    from carepact.db import fetch

    since, until = _window()
    return await fetch(
        'SELECT "household", count(*) FROM "visit" WHERE "checkin_at" >= {} AND "checkin_at" < {} GROUP BY "household"',
        since,
        until,
        tuples=True,
    )


async def weekly_aggregate() -> list:
    """Per household and week: the days with a verified visit, and their minutes."""
    from carepact.db import fetch, is_postgres
    from contracts.delivery import verified_visit

    if is_postgres():
        day = "CAST((\"checkin_at\" AT TIME ZONE 'Asia/Shanghai') AS DATE)"
        week = f"CAST(date_trunc('week', {day}) AS DATE)"
    else:
        day = "date(\"checkin_at\", '+8 hours')"
        week = f"date({day}, 'weekday 0', '-6 days')"  # the Monday of the local day's week
    since, until = _window()
    return await fetch(
        f'SELECT "household", {week} AS week, count(DISTINCT {day}), sum("duration_minutes") FROM "visit" '
        'WHERE "checkin_at" >= {} AND "checkin_at" < {} AND {} GROUP BY "household", week',
        since,
        until,
        verified_visit().querystring,
        tuples=True,
    )


def _clause_statements() -> dict[str, tuple[str, tuple]]:
    """Each clause of the standard agreement (version 1) as the one aggregate statement a person
    would write for it over the year, with the template's own numbers: what answering the same
    seven questions in hand-written SQL costs. Each groups in the database and returns per
    household (or illness) and period only what a finding would be made of."""
    from carepact.db import is_postgres
    from contracts.agreement.rules import (
        Hospitalised,
        IllAtHome,
        LongestGap,
        ServicesPerMonth,
        ShortestVisit,
        VisitEvidence,
        bundled_source,
        load_template,
    )
    from contracts.delivery import verified_visit
    from contracts.oversight.queries import Dialect

    template = load_template(bundled_source(1))
    sql = Dialect(is_postgres())
    day, month = sql.local_day('"visit"."checkin_at"'), sql.local_month('"visit"."checkin_at"')
    since, until = _window()
    year = '"visit"."checkin_at" >= {} AND "visit"."checkin_at" < {}'
    verified = verified_visit().querystring
    gap, shortest = template.clause(LongestGap), template.clause(ShortestVisit)
    per_month, evidence = template.clause(ServicesPerMonth), template.clause(VisitEvidence)
    ill, hospital = template.clause(IllAtHome), template.clause(Hospitalised)
    limit = " ".join(f"WHEN '{level}' THEN {gap.max_days.of(level)}" for level in ("able", "partly_unable", "unable"))
    asked = ", ".join(f"'{s}'" for s in per_month.minimum)
    accompany = ", ".join(f"'{s}'" for s in hospital.services)
    reasons = ", ".join(f"'{r}'" for r in hospital.manual_reasons)
    number = sql.day_number("visit_day")
    first_visit_hours = sql.hours_between('min("visit"."checkin_at")', '"sick_episode"."started_at"')
    episode_end = sql.least('coalesce("sick_episode"."ended_at", {})', "{}")
    return {
        "longest_gap": (
            f"SELECT gaps.household, visit_day, gap FROM (SELECT household, visit_day, {number} - "
            f"lag({number}) OVER (PARTITION BY household ORDER BY visit_day) AS gap FROM (SELECT DISTINCT "
            f'"visit"."household" AS household, {day} AS visit_day FROM "visit" WHERE {year} AND {{}}) AS days) '
            'AS gaps JOIN "agreement" ON "agreement"."household" = gaps.household '
            f'WHERE gap > CASE "agreement"."care_level" {limit} END',
            (since, until, verified),
        ),
        "shortest_visit": (
            f'SELECT "visit"."household", {day} AS d, count(*) FROM "visit" WHERE {year} '
            f'AND "visit"."status" = \'completed\' AND "visit"."duration_minutes" < {shortest.min_minutes} '
            'GROUP BY "visit"."household", d',
            (since, until),
        ),
        "visit_evidence": (
            f'SELECT "visit"."household", {month} AS m, count(*) FROM "visit" LEFT JOIN (SELECT "visit" AS id, '
            'count(*) AS n FROM "visit_photo" GROUP BY "visit") AS shots ON shots.id = "visit"."id" '
            f'WHERE {year} AND ("visit"."presence" <> \'qr\' OR coalesce(shots.n, 0) < {evidence.min_photos} '
            'OR ("visit"."presence" = \'manual\' AND "visit"."manual_reason" = \'\')) '
            'GROUP BY "visit"."household", m',
            (since, until),
        ),
        "services_per_month": (
            f'SELECT "visit"."household", {month} AS m, "visit_service"."service", count(*) '
            'FROM "visit_service" JOIN "visit" ON "visit"."id" = "visit_service"."visit" '
            f'WHERE "visit_service"."service" IN ({asked}) AND {year} AND {{}} '
            'GROUP BY "visit"."household", m, "visit_service"."service"',
            (since, until, verified),
        ),
        "ill_at_home": (
            f'SELECT "sick_episode"."id", min("visit"."checkin_at"), count(DISTINCT {day}), '
            f'{first_visit_hours} > {ill.first_visit_within_hours} AS late FROM "sick_episode" '
            'LEFT JOIN "visit" ON "visit"."household" = "sick_episode"."household" '
            f'AND "visit"."checkin_at" >= "sick_episode"."started_at" AND "visit"."checkin_at" < {episode_end} '
            f'AND {{}} WHERE "sick_episode"."kind" = \'ill_at_home\' AND "sick_episode"."started_at" < {{}} '
            'GROUP BY "sick_episode"."id"',
            (until, until, verified, until),
        ),
        "hospitalised": (
            f'SELECT DISTINCT "sick_episode"."id", {day} FROM "sick_episode" JOIN "visit" '
            'ON "visit"."household" = "sick_episode"."household" '
            f'AND "visit"."checkin_at" >= "sick_episode"."started_at" AND "visit"."checkin_at" < {episode_end} '
            'LEFT JOIN "visit_service" ON "visit_service"."visit" = "visit"."id" '
            f'WHERE "sick_episode"."kind" = \'hospitalised\' AND ("visit_service"."service" IN ({accompany}) '
            f'OR "visit"."manual_reason" IN ({reasons}))',
            (until, until),
        ),
    }


async def clause_aggregates() -> dict[str, float]:
    """Best-of-RUNS seconds of each clause's hand-written statement (the weekly one is timed apart)."""
    from carepact.db import fetch

    seconds = {}
    for name, (statement, args) in _clause_statements().items():
        seconds[name], _ = await best(RUNS, lambda statement=statement, args=args: fetch(statement, *args, tuples=True))
    return seconds


async def plain_insert() -> tuple[float, int]:
    """The findings the first run saved, deleted and inserted again in one plain executemany."""
    from carepact import db
    from contracts.tables import Finding

    rows = await Finding.select()
    await Finding.delete(force=True)
    began = time.perf_counter()
    async with db.atomic():
        await db.insert_many(Finding, rows)
    return time.perf_counter() - began, len(rows)


async def main() -> None:
    from carepact import db
    from contracts.agreement.evaluation import Scope, evaluate_scope

    rng = random.Random(5565)
    began = time.perf_counter()
    built = await build(rng)
    if db.is_postgres():
        # The planner's statistics, as autovacuum would have gathered them by the time a nightly
        # evaluation runs: right after a bulk load it has none, and plans nested loops over 300,000 rows.
        await db.engine().run_ddl("ANALYZE")
    print(f"built in {time.perf_counter() - began:.1f} s: {built}", flush=True)
    count_seconds, counts = await best(RUNS, bare_count)
    assert sum(r[1] for r in counts) == built["visits"]
    week_seconds, weeks = await best(RUNS, weekly_aggregate)
    clause_seconds = {"visits_per_week": week_seconds, **await clause_aggregates()}
    all_clauses = sum(clause_seconds.values())
    as_of = dt.datetime(YEAR + 1, 1, 2, 3, 0, tzinfo=dt.UTC)
    runs = []
    for label in ("first run (creates the findings)", "second run (idempotent: nothing changes)"):
        began = time.perf_counter()
        result = await evaluate_scope(Scope(), dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 1), as_of=as_of)
        total = time.perf_counter() - began
        runs.append((label, result, total))
    insert_seconds, inserted = await plain_insert()
    await db.stop()

    print(
        f"\nweekly aggregate (per household and week: days with a verified visit, minutes): "
        f"{week_seconds * 1000:.0f} ms ({len(weeks):,} household-weeks, {sum(r[2] for r in weeks):,} visit days)"
    )
    print(f"bare count of the year's visits by household (context): {count_seconds * 1000:.0f} ms")
    print(
        "each clause as its own hand-written aggregate: "
        + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in clause_seconds.items())
        + f"; together {all_clauses:.2f} s"
    )
    for label, r, total in runs:
        print(
            f"\n{label}: {r.agreements:,} agreements, {r.visits:,} visits → {r.findings:,} findings "
            f"(created {r.created:,}, updated {r.updated:,}, unchanged {r.unchanged:,}, removed {r.removed:,})"
        )
        print(
            f"  load inputs (bulk queries)  {r.load_seconds:7.2f} s   ×{r.load_seconds / week_seconds:5.2f} the weekly aggregate"
        )
        print(f"  engine (pure, in memory)    {r.engine_seconds:7.2f} s   ×{r.engine_seconds / week_seconds:5.2f}")
        print(f"  save findings               {r.save_seconds:7.2f} s   ×{r.save_seconds / week_seconds:5.2f}")
        print(f"  whole evaluation            {total:7.2f} s   ×{total / week_seconds:5.2f}")
    first_run, second_run = runs[0][1], runs[1][1]
    assert second_run.created == second_run.updated == second_run.removed == 0
    assert second_run.unchanged == first_run.findings == inserted
    print(f"plain bulk INSERT of the same {inserted:,} finding rows: {insert_seconds:.2f} s\n")

    report = Report("engine")
    report.add(
        Figure(
            "agreement evaluation of the city year (7 clauses), load + engine vs the same 7 questions as "
            "hand-written SQL aggregates",
            first_run.load_seconds + first_run.engine_seconds,
            all_clauses,
            "s",
            "≤ 1.5",
            f"(load {first_run.load_seconds:.2f} s, engine {first_run.engine_seconds:.2f} s; SQL "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in clause_seconds.items())
            + ")",
        )
    )
    report.add(
        Figure(
            "the same evaluation vs the weekly aggregate alone (one clause of seven, context)",
            first_run.load_seconds + first_run.engine_seconds,
            week_seconds,
            "s",
            "",
        )
    )
    report.add(
        Figure(
            f"saving {first_run.findings:,} new findings vs a plain bulk INSERT of the same rows",
            first_run.save_seconds,
            insert_seconds,
            "s",
            "",
        )
    )
    report.add(
        Figure(
            "second, idempotent run (load, engine, compare, nothing written) vs the weekly aggregate",
            runs[1][2],
            week_seconds,
            "s",
            "",
        )
    )
    report.add(
        Figure(
            "the weekly aggregate vs the bare count of the same year's visits (context)",
            week_seconds,
            count_seconds,
            "s",
            "",
        )
    )
    report.write()


if __name__ == "__main__":
    asyncio.run(main())
