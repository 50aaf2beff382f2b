"""Builds the synthetic demo city: regions, organisations, households, residents, accounts."""

from __future__ import annotations

import datetime as dt
import math
import random
import re

import msgspec
from piccolo.apps.user.tables import BaseUser

from carepact.accounts.access import ROLE_LABELS
from carepact.accounts.services import create_account
from carepact.accounts.tables import Assignment, Role
from carepact.audit.services import SYSTEM, record
from carepact.db import atomic
from carepact.demo import geography as geo
from carepact.privacy import digest, id_check_char, mask_id_number, protect
from carepact.registry.services import HEALTH_CONTEXT, ID_CONTEXT
from carepact.registry.tables import (
    CareLevel,
    Household,
    Organisation,
    OrganisationKind,
    Person,
    Region,
    RegionLevel,
    Resident,
    SupportMode,
)

DEMO_PASSWORD = "carepact-demo"
# Not an assigned address code: demo ID numbers are well-formed but can be nobody's.
DEMO_ID_PREFIX = "610399"
ASSIGNMENTS_START = dt.date(2026, 1, 1)
HOUSEHOLDS_PER_WORKER = 40
CARE_LEVEL_MIX = [92, 6, 2]  # able, partly unable, unable (per cent of households in dispersed support)

COUNTY_PINYIN = {
    "610302": "weibin",
    "610303": "jintai",
    "610304": "chencang",
    "610305": "fengxiang",
    "610323": "qishan",
    "610324": "fufeng",
    "610326": "meixian",
    "610327": "longxian",
    "610328": "qianyang",
    "610329": "linyou",
    "610330": "fengxian",
    "610331": "taibai",
}


class DemoAccount(msgspec.Struct, kw_only=True):
    username: str
    role: Role
    role_label: str
    scope: str


class DemoSummary(msgspec.Struct, kw_only=True):
    created: bool
    households: int
    residents: int
    accounts: list[DemoAccount]
    password: str = DEMO_PASSWORD


def _county_shares(total: int) -> list[int]:
    """The demo's per-county households scaled to ``total`` (5,565 → the reported figures)."""
    full = sum(c[4] for c in geo.COUNTIES)
    shares = [max(3, c[4] * total // full) for c in geo.COUNTIES]
    shares[0] += total - sum(shares)  # rounding goes to the first district
    return shares


class _People:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def name(self) -> str:
        given = self.rng.choice(geo.GIVEN) + (self.rng.choice(geo.GIVEN) if self.rng.random() < 0.8 else "")
        return self.rng.choice(geo.SURNAMES) + given

    def identity(self, birth_year: int, gender: str) -> str:
        while True:
            day = dt.date(birth_year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))
            seq = self.rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
            first17 = f"{DEMO_ID_PREFIX}{day:%Y%m%d}{seq:03d}"
            number = first17 + id_check_char(first17)
            if number not in self.used:
                self.used.add(number)
                return number

    def person(self, *, household: int | None, support: SupportMode, care: str, notes: tuple[str, str]) -> Person:
        gender = self.rng.choice(["male", "female"])
        birth_year = self.rng.randrange(1936, 1975)
        number = self.identity(birth_year, gender)
        illness, disability = notes
        health = (
            protect(
                msgspec.json.encode({"illness": illness, "disability": disability}).decode(), context=HEALTH_CONTEXT
            )
            if illness or disability
            else ""
        )
        return Person(
            name=self.name(),
            gender=gender,
            birth_year=birth_year,
            id_number_protected=protect(number, context=ID_CONTEXT),
            id_number_digest=digest(number, purpose="id_number"),
            id_number_masked=mask_id_number(number),
            care_level=care,
            support_mode=support.value,
            household=household,
            health_protected=health,
        )


async def _insert(table: type, rows: list, chunk: int = 400) -> None:
    for start in range(0, len(rows), chunk):
        await table.insert(*rows[start : start + chunk])


async def build_demo(households: int = 5565, residents: int = 100, seed: int = 2026) -> DemoSummary:
    """Create the demo city in one transaction; does nothing if regions already exist."""
    if await Region.exists():
        return DemoSummary(
            created=False,
            households=await Household.count(),
            residents=await Resident.count(),
            accounts=await demo_accounts(),
        )
    rng = random.Random(seed)
    people = _People(rng)
    password_hash = BaseUser.hash_password(DEMO_PASSWORD)
    async with atomic():
        # Regions
        city_code, city_name, city_lat, city_lng = geo.CITY
        city = Region(
            code=city_code,
            name=city_name,
            level=RegionLevel.city.value,
            parent=None,
            path=f"/{city_code}/",
            latitude=city_lat,
            longitude=city_lng,
        )
        await city.save()
        counties: dict[str, Region] = {}
        villages: dict[str, list[Region]] = {}
        townships: dict[str, list[Region]] = {}
        for code, name, lat, lng, _, township_names in geo.COUNTIES:
            county = Region(
                code=code,
                name=name,
                level=RegionLevel.county.value,
                parent=city.id,
                path=f"{city.path}{code}/",
                latitude=lat,
                longitude=lng,
            )
            await county.save()
            counties[code] = county
            township_rows = [
                Region(
                    code=f"{code}{i + 1:03d}",
                    name=t,
                    level=RegionLevel.township.value,
                    parent=county.id,
                    path=f"{county.path}{code}{i + 1:03d}/",
                    latitude=lat + rng.uniform(-0.08, 0.08),
                    longitude=lng + rng.uniform(-0.08, 0.08),
                )
                for i, t in enumerate(township_names)
            ]
            await _insert(Region, township_rows)
            saved = await Region.objects().where(Region.parent == county.id).order_by(Region.code)
            townships[code] = saved
            village_rows = []
            for township in saved:
                street = township.name.endswith("街道")
                stems = rng.sample(geo.VILLAGE_STEMS, geo.VILLAGES_PER_TOWNSHIP)
                for j, stem in enumerate(stems):
                    suffix = rng.choice(geo.COMMUNITY_SUFFIXES if street else geo.VILLAGE_SUFFIXES)
                    village_rows.append(
                        Region(
                            code=f"{township.code}{j + 1:03d}",
                            name=stem + suffix,
                            level=RegionLevel.village.value,
                            parent=township.id,
                            path=f"{township.path}{township.code}{j + 1:03d}/",
                            latitude=township.latitude + rng.uniform(-0.03, 0.03),
                            longitude=township.longitude + rng.uniform(-0.03, 0.03),
                        )
                    )
            await _insert(Region, village_rows)
            villages[code] = (
                await Region.objects()
                .where(Region.path.like(f"{county.path}%") & (Region.level == RegionLevel.village.value))
                .order_by(Region.code)
            )

        # Organisations
        city_bureau = Organisation(
            name="宝鸡市民政局", kind=OrganisationKind.bureau.value, region=city.id, address="宝鸡市渭滨区"
        )
        await city_bureau.save()
        orgs = [
            Organisation(name=f"{c.name}民政局", kind=OrganisationKind.bureau.value, region=c.id)
            for c in counties.values()
        ]
        for code, ts in townships.items():
            for t in ts:
                office = f"{counties[code].name}{t.name}{'办事处' if t.name.endswith('街道') else '人民政府'}"
                orgs.append(Organisation(name=office, kind=OrganisationKind.township_office.value, region=t.id))
        await _insert(Organisation, orgs)
        providers: dict[str, Organisation] = {}
        for name, county_code, stem, _ in geo.PROVIDERS:
            org = Organisation(
                name=name,
                kind=OrganisationKind.provider.value,
                region=counties[county_code].id,
                credit_code=f"52610300MJ{rng.randrange(10**7, 10**8)}",
                phone=f"0917-{rng.randrange(3000000, 3999999)}",
            )
            await org.save()
            providers[stem] = org
        facility_name, facility_county, facility_stem = geo.FACILITY
        facility = Organisation(
            name=facility_name,
            kind=OrganisationKind.facility.value,
            region=counties[facility_county].id,
            credit_code=f"12610300MB{rng.randrange(10**7, 10**8)}",
            phone="0917-3288000",
        )
        await facility.save()

        # Households and their people
        household_rows: list[Household] = []
        care_by_code: dict[str, str] = {}
        for (code, *_), share in zip(geo.COUNTIES, _county_shares(households), strict=True):
            vs = villages[code]
            counters: dict[int, int] = {}
            for k in range(share):
                village = vs[k % len(vs)]
                counters[village.id] = counters.get(village.id, 0) + 1
                hh_code = f"{village.code}-{counters[village.id]:04d}"
                household_rows.append(
                    Household(
                        code=hh_code,
                        village=village.id,
                        address=f"{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号",
                        latitude=round(village.latitude + rng.uniform(-0.01, 0.01), 6),
                        longitude=round(village.longitude + rng.uniform(-0.01, 0.01), 6),
                    )
                )
                # Mostly able to look after themselves (those who cannot are mostly in centralised
                # care): with the agreement's visits per week this is DOMAIN's "weekly-or-more
                # visits, about 300,000 a year" for the city.
                care_by_code[hh_code] = rng.choices(
                    [CareLevel.able.value, CareLevel.partly_unable.value, CareLevel.unable.value], CARE_LEVEL_MIX
                )[0]
        await _insert(Household, household_rows)
        saved_households = await Household.select(Household.id, Household.code, Household.village._.path).order_by(
            Household.code
        )
        await _insert(
            Person,
            [
                people.person(
                    household=h["id"],
                    support=SupportMode.dispersed,
                    care=care_by_code[h["code"]],
                    notes=(rng.choice(geo.ILLNESSES), rng.choice(geo.DISABILITIES)),
                )
                for h in saved_households
            ],
        )

        # Residents of the psychiatric rehabilitation hospital
        resident_people = [
            people.person(
                household=None,
                support=SupportMode.centralised,
                care=rng.choice([CareLevel.partly_unable.value, CareLevel.unable.value]),
                notes=(rng.choice(geo.DIAGNOSES), "精神残疾" + rng.choice(["一级", "二级", "三级"])),
            )
            for _ in range(residents)
        ]
        await _insert(Person, resident_people)
        resident_ids = [
            r["id"]
            for r in await Person.select(Person.id)
            .where(Person.support_mode == SupportMode.centralised.value)
            .order_by(Person.id)
        ]
        await _insert(
            Resident,
            [
                Resident(
                    person=pid,
                    facility=facility.id,
                    ward=geo.WARDS[i % len(geo.WARDS)],
                    bed=f"{i // len(geo.WARDS) + 1:02d}床",
                    admitted_on=dt.date(2023, 3, 1) + dt.timedelta(days=rng.randrange(900)),
                )
                for i, pid in enumerate(resident_ids)
            ],
        )

        # Accounts
        async def account(
            username: str, role: Role, name: str, region: int | None = None, org: int | None = None
        ) -> int:
            return await create_account(
                username,
                DEMO_PASSWORD,
                role=role,
                display_name=name,
                region_id=region,
                organisation_id=org,
                password_hash=password_hash,
            )

        await account("city_admin", Role.city_admin, "市局管理员", city.id, city_bureau.id)
        county_bureaus = {
            o["region"]: o["id"]
            for o in await Organisation.select(Organisation.id, Organisation.region).where(
                Organisation.kind == OrganisationKind.bureau.value
            )
        }
        for code, county in counties.items():
            await account(
                f"{COUNTY_PINYIN[code]}_auditor",
                Role.county_auditor,
                f"{county.name}审核员",
                county.id,
                county_bureaus[county.id],
            )
        for code in ("610302", "610303"):
            township = townships[code][-1]  # a rural township, with villages
            office = await Organisation.select(Organisation.id).where(Organisation.region == township.id).first()
            await account(
                f"{COUNTY_PINYIN[code]}_township",
                Role.township_officer,
                f"{township.name}经办人",
                township.id,
                office["id"],
            )
        workers_by_county: dict[str, list[tuple[int, int]]] = {}
        for name, _, stem, served in geo.PROVIDERS:
            org = providers[stem]
            await account(f"{stem}_manager", Role.provider_manager, f"{name[:6]}负责人", None, org.id)
            n = 0
            for code in served:
                count = sum(1 for h in saved_households if h["village.path"].startswith(counties[code].path))
                for _ in range(max(1, math.ceil(count / HOUSEHOLDS_PER_WORKER))):
                    n += 1
                    username = f"{stem}_w{n:03d}"
                    if code in ("610302", "610303") and not any(w for w in workers_by_county.get(code, [])):
                        username = f"{COUNTY_PINYIN[code]}_worker"
                    wid = await account(username, Role.field_worker, people.name(), None, org.id)
                    workers_by_county.setdefault(code, []).append((wid, org.id))
        await account(f"{facility_stem}_staff", Role.care_home_staff, "康宁医院护士", None, facility.id)

        assignments = []
        for code, county in counties.items():
            in_county = [h for h in saved_households if h["village.path"].startswith(county.path)]
            workers = workers_by_county[code]
            for k, h in enumerate(in_county):
                worker_id, org_id = workers[min(k // HOUSEHOLDS_PER_WORKER, len(workers) - 1)]
                assignments.append(
                    Assignment(household=h["id"], worker=worker_id, organisation=org_id, starts_on=ASSIGNMENTS_START)
                )
        await _insert(Assignment, assignments)
        await record(
            SYSTEM,
            "demo.load",
            "city",
            city_code,
            detail={"households": len(saved_households), "residents": residents, "seed": seed},
        )
    return DemoSummary(
        created=True, households=len(saved_households), residents=residents, accounts=await demo_accounts()
    )


async def demo_accounts() -> list[DemoAccount]:
    """The accounts worth showing a newcomer: every role in 渭滨区 and 金台区, each provider."""
    from carepact.accounts.tables import Account

    rows = await Account.select(
        Account.user._.username, Account.role, Account.region._.name, Account.organisation._.name
    ).order_by(Account.id)
    shown = []
    for r in rows:
        username = r["user.username"]
        if re.search(r"_w\d{3}$", username):  # the many numbered workers; the named ones stay
            continue
        if r["role"] == Role.county_auditor.value and not username.startswith(("weibin", "jintai")):
            continue
        role = Role(r["role"])
        shown.append(
            DemoAccount(
                username=username,
                role=role,
                role_label=ROLE_LABELS[role],
                scope=r["region.name"] or r["organisation.name"] or "",
            )
        )
    return shown
