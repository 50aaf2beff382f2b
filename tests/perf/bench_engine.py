"""Benchmark: the agreement engine over a city's year, against a plain SQL count of the same visits.

Builds, in a temporary SQLite database, a synthetic city year: 5,565 households under the standard
agreement (version 1) and one contract, about 300,000 visits with their services, photos and a few
flags, and a few hundred illnesses. Then times

- the plain count: SELECT household, count(*) FROM visit WHERE checkin_at in the year GROUP BY household;
- the evaluation of every agreement over the year (``contracts.agreement.evaluation.evaluate_scope``):
  loading the inputs in bulk, the pure engine, saving the findings; and a second, idempotent run,

and prints each with its ratio to the plain count. Run with ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import pathlib
import random
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
_TMP = pathlib.Path(tempfile.mkdtemp(prefix="carepact-bench-"))
os.environ["CAREPACT_VAR_DIR"] = str(_TMP)
os.environ["MEDIA_DIR"] = str(_TMP / "media")
os.environ["SECRET_KEY"] = "bench-only-secret-key-0123456789-abcdefghijklmnop"
os.environ["PICCOLO_CONF"] = "carepact.piccolo_conf"
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'bench.sqlite3'}"
os.environ.pop("REDIS_URL", None)
os.environ.pop("CAREPACT_ENV", None)
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

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


async def plain_count() -> tuple[float, int]:
    from providers.tables import Visit

    since = _at(dt.date(YEAR, 1, 1), 0, 0)
    until = _at(dt.date(YEAR + 1, 1, 1), 0, 0)
    best, counted = float("inf"), 0
    for _ in range(3):
        began = time.perf_counter()
        rows = await Visit.raw(
            "SELECT household, count(*) AS n FROM visit WHERE checkin_at >= {} AND checkin_at < {} GROUP BY household",
            since,
            until,
        )
        best = min(best, time.perf_counter() - began)
        counted = sum(r["n"] for r in rows)
    return best, counted


async def main() -> None:
    from carepact import db
    from contracts.agreement.evaluation import Scope, evaluate_scope

    rng = random.Random(5565)
    began = time.perf_counter()
    built = await build(rng)
    print(f"built in {time.perf_counter() - began:.1f} s: {built}")
    sql_seconds, counted = await plain_count()
    assert counted == built["visits"]
    as_of = dt.datetime(YEAR + 1, 1, 2, 3, 0, tzinfo=dt.UTC)
    runs = []
    for label in ("first run (creates the findings)", "second run (idempotent: nothing changes)"):
        began = time.perf_counter()
        result = await evaluate_scope(Scope(), dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 1), as_of=as_of)
        total = time.perf_counter() - began
        runs.append((label, result, total))
    await db.stop()

    print(f"\nplain SQL count of the year's visits by household: {sql_seconds * 1000:.0f} ms ({counted:,} visits)")
    for label, r, total in runs:
        print(
            f"\n{label}: {r.agreements:,} agreements, {r.visits:,} visits → {r.findings:,} findings "
            f"(created {r.created:,}, updated {r.updated:,}, unchanged {r.unchanged:,}, removed {r.removed:,})"
        )
        print(
            f"  load inputs (bulk queries)  {r.load_seconds:7.2f} s   ×{r.load_seconds / sql_seconds:6.1f} the plain count"
        )
        print(f"  engine (pure, in memory)    {r.engine_seconds:7.2f} s   ×{r.engine_seconds / sql_seconds:6.1f}")
        print(f"  save findings               {r.save_seconds:7.2f} s   ×{r.save_seconds / sql_seconds:6.1f}")
        print(f"  whole evaluation            {total:7.2f} s   ×{total / sql_seconds:6.1f}")
    first_run = runs[0][1]
    assert runs[1][1].created == runs[1][1].updated == runs[1][1].removed == 0
    assert runs[1][1].unchanged == first_run.findings
    print(f"\nratio (engine alone / plain SQL count): {first_run.engine_seconds / sql_seconds:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
