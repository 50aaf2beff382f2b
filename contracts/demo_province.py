"""The province-scale demo data set (``carepact demo-data --scale province``): about 200,000
households in dispersed support and ten million visits a year, on PostgreSQL only.

The platform serves one deploying bureau whose region is the one root of level ``city``; there is no
province level. The province is therefore modelled as one such root (a synthetic 省级演示 region,
code 990000) over about 100 counties of 10 townships of 10 villages each (generated names, codes
under 99), ~20 households a village. Fifty providers serve two counties each, with the five quality
profiles of the city demo (``providers.visits.demo.QUALITY``) in turn, so two in five are worse on
purpose. No facility, residents or centralised care: the province is the home-care programme.

What is written and how:

- regions, organisations, workers' accounts, households and their people, door cards, assignments
  and agreements: PostgreSQL COPY (``copy_records_to_table`` on the transaction's own asyncpg
  connection), ids given here; the few accounts a newcomer signs in with through ``create_account``;
- the contracts (one per provider and county, with coverage) through ``record_contract``, as the
  city's; illnesses as the city's year reports them;
- the visits with their services, photos (rows of their own sharing the city demo's few picture
  files: ``visit_photo.photo`` is unique), links and flags: the city demo's own generator
  (``HistoryPlan``), planned a month at a time (each household keeps its weekdays) and written by
  COPY in parts of ``BATCH`` visits while the next part is made in a thread; the five tables' keys,
  indexes and foreign keys are dropped first and built once at the end (one sort each instead of
  millions of inserts at random places), all in one transaction;
- then VACUUM ANALYZE, and the past months rolled up for the audit dashboard (``contracts.oversight.rollup``).

The agreement engine is not run over the province (a city year takes about a minute; see
docs/PERFORMANCE.md): the province has no findings until the nightly evaluation runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table

from carepact.accounts.services import create_account
from carepact.accounts.tables import Account, Assignment, Role
from carepact.audit.services import SYSTEM, record
from carepact.cards.tables import Card, CardSubject
from carepact.db import atomic, engine, is_postgres
from carepact.demo import geography as geo
from carepact.demo.build import ASSIGNMENTS_START, CARE_LEVEL_MIX, DEMO_PASSWORD, HOUSEHOLDS_PER_WORKER, _People
from carepact.media.tables import Photo
from carepact.privacy import digest, mask_id_number, protect
from carepact.registry.services import HEALTH_CONTEXT, ID_CONTEXT
from carepact.registry.tables import (
    CareLevel,
    Household,
    Organisation,
    OrganisationKind,
    Person,
    Region,
    RegionLevel,
    SupportMode,
)
from contracts.agreement.rules import bundled_source, load_template
from contracts.agreement.services import publish_template
from contracts.demo import HOME_CARE_PROGRAMME_FEN, STEP_FEN, home_care_items, split
from contracts.demo_year import _report_illnesses
from contracts.oversight import rollup
from contracts.procurement.schemas import ContractIn, CoverageChange, Period
from contracts.procurement.services import record_contract
from contracts.tables import Agreement, AgreementTemplate, CaregiverKind, ContractKind
from providers.tables import Visit, VisitFlag, VisitPhoto, VisitService
from providers.visits.demo import (
    GOOD,
    QUALITY,
    History,
    HistoryPlan,
    Illness,
    demo_pictures,
    load_inputs,
)

PROVINCE_HOUSEHOLDS = 200_000
HOUSEHOLDS_PER_COUNTY = 2_000  # 100 counties at the full scale
MAX_COUNTIES = 100
TOWNSHIPS_PER_COUNTY = 10
VILLAGES_PER_TOWNSHIP = 10
COUNTIES_PER_PROVIDER = 2
BATCH = 50_000  # visits per COPY
ROOT = ("990000", "省级演示区", 34.3, 108.9)  # a synthetic code: no real region is 99xxxx
ROOT_BUREAU = "省级演示区民政厅"
PROVINCE_PREFIX = "province"
# The five profiles of the city demo, in turn: providers 0, 1 good; 2 fair; 3, 4 worse on purpose.
PROFILES = [(name, QUALITY.get(name, GOOD)) for name, *_ in geo.PROVIDERS]
PROVIDER_STEMS = [
    "仁和社会工作服务中心",
    "康乐居家养老服务有限公司",
    "善德社会工作服务社",
    "乐龄养老服务中心",
    "山区助老服务中心",
]
COUNTY_FIRST = "东西南北上下前后新老青白黄石平安永宁泰丰长兴清河"
COUNTY_SECOND = "川原阳城峪塬山水"
TOWNSHIP_STEMS = ["城关", "河口", "新庄", "王家", "李村", "高桥", "马营", "石门", "柳林", "张湾", "赵坪", "双庙"]
COPY_TABLES: tuple[type[Table], ...] = (Visit, VisitService, Photo, VisitPhoto, VisitFlag)


class ProvinceSummary(msgspec.Struct, kw_only=True):
    created: bool
    households: int = 0
    counties: int = 0
    townships: int = 0
    villages: int = 0
    providers: int = 0
    workers: int = 0
    contracts: int = 0
    episodes: int = 0
    start: dt.date | None = None
    end: dt.date | None = None
    written: dict[str, int] = {}  # rows per bulk table
    rolled_up: int = 0  # oversight rows of the past months
    seconds: dict[str, float] = {}  # per stage
    accounts: list[str] = []


def county_names(count: int) -> list[str]:
    """Distinct generated county names ("东川县", "西原区" ...)."""
    names = []
    for n in range(count):
        first = COUNTY_FIRST[n % len(COUNTY_FIRST)]
        second = COUNTY_SECOND[(n // len(COUNTY_FIRST)) % len(COUNTY_SECOND)]
        suffix = "区" if n % 7 == 0 else "县"
        names.append(f"{first}{second}{suffix}")
    assert len(set(names)) == count, "county names must be distinct"
    return names


def shift_of(household: int, level: str) -> int:
    """A household's weekly pattern, the same every month (``scheduled``'s shift)."""
    return household % 7 if level == CareLevel.able else household % 2


def months_between(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """(first, last) local days of each calendar month from ``start`` to ``end``, cut to them."""
    found = []
    month = start.replace(day=1)
    while month <= end:
        following = rollup.following(month)
        found.append((max(month, start), min(following - dt.timedelta(days=1), end)))
        month = following
    return found


# --- COPY ------------------------------------------------------------------------------------------


def _connection() -> Any:
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("COPY runs inside atomic()")
    return transaction.connection


async def copy_rows(table: type[Table], columns: Sequence[str], records: Iterable[Sequence[Any]]) -> int:
    """Rows into ``table`` by COPY on the current transaction's connection; returns how many."""
    records = list(records)
    if records:
        await _connection().copy_records_to_table(table._meta.tablename, records=records, columns=list(columns))
    return len(records)


async def _reset_sequence(table: type[Table]) -> None:
    name = table._meta.tablename
    await table.raw(
        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), COALESCE((SELECT MAX(id) FROM \"{name}\"), 0) + 1, false)"
    )


async def _next_id(table: type[Table]) -> int:
    [row] = await table.raw(f'SELECT COALESCE(MAX(id), 0) + 1 AS n FROM "{table._meta.tablename}"')
    return int(row["n"])


@asynccontextmanager
async def constraints_built_after(tables: Sequence[type[Table]], say: Callable[[str], None]) -> Any:
    """Inside the transaction: the tables' keys, unique constraints, indexes and foreign keys (those
    on them and those pointing at them) dropped for the load and created again from their own
    definitions afterwards; a failure rolls both back."""
    names = [t._meta.tablename for t in tables]
    quoted = ", ".join(f"'{n}'" for n in names)
    foreign = await Visit.raw(
        "SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint "
        f"WHERE contype = 'f' AND (conrelid::regclass::text IN ({quoted}) OR confrelid::regclass::text IN ({quoted}))"
    )
    keys = await Visit.raw(
        "SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint "
        f"WHERE contype IN ('p', 'u') AND conrelid::regclass::text IN ({quoted})"
    )
    indexes = await Visit.raw(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i "
        f"WHERE i.indrelid::regclass::text IN ({quoted}) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    )
    for c in foreign:
        await Visit.raw(f'ALTER TABLE "{c["tbl"]}" DROP CONSTRAINT "{c["name"]}"')
    for c in keys:
        await Visit.raw(f'ALTER TABLE "{c["tbl"]}" DROP CONSTRAINT "{c["name"]}"')
    for i in indexes:
        await Visit.raw(f"DROP INDEX {i['name']}")
    yield
    await Visit.raw("SET LOCAL maintenance_work_mem = '512MB'")
    began = time.perf_counter()
    for c in keys:
        await Visit.raw(f'ALTER TABLE "{c["tbl"]}" ADD CONSTRAINT "{c["name"]}" {c["def"]}')
    for i in indexes:
        await Visit.raw(i["def"])
    say(f"  索引与主键已重建（{len(keys) + len(indexes)} 个，{time.perf_counter() - began:.0f} 秒）")
    began = time.perf_counter()
    for c in foreign:
        await Visit.raw(f'ALTER TABLE "{c["tbl"]}" ADD CONSTRAINT "{c["name"]}" {c["def"]}')
    say(f"  外键已重建并校验（{len(foreign)} 个，{time.perf_counter() - began:.0f} 秒）")


# --- the registry, accounts, programme and agreements ---------------------------------------------


class _Built(msgspec.Struct, kw_only=True):
    root: int
    counties: list[tuple[int, str, str]]  # id, code, name
    townships: int
    villages: int
    households: int
    providers: list[int]
    workers: int
    accounts: list[str]


async def _registry(households: int, seed: int, say: Callable[[str], None]) -> _Built:
    """Regions, organisations, accounts, households, people, door cards and assignments."""
    rng = random.Random(seed)
    people = _People(rng)
    county_count = max(2, min(MAX_COUNTIES, households // HOUSEHOLDS_PER_COUNTY))
    now = dt.datetime.now(dt.UTC)

    # Regions, ids given here: the root, counties, townships, villages.
    region_id = await _next_id(Region)
    regions: list[tuple[Any, ...]] = []
    code, name, lat, lng = ROOT
    root = region_id
    root_path = f"/{code}/"
    regions.append((root, code, name, RegionLevel.city.value, None, root_path, lat, lng))
    region_id += 1
    counties: list[tuple[int, str, str]] = []
    villages: list[list[tuple[int, str, str, float, float]]] = []  # per county: id, code, name, lat, lng
    township_count = 0
    township_of: dict[int, int] = {}  # village → township
    township_regions: list[tuple[int, str, str, int]] = []  # id, name, county name, county index
    for n, county_name in enumerate(county_names(county_count)):
        county_code = f"99{n + 1:04d}"
        county_path = f"{root_path}{county_code}/"
        c_lat, c_lng = lat + rng.uniform(-2, 2), lng + rng.uniform(-2, 2)
        county_id = region_id
        region_id += 1
        regions.append((county_id, county_code, county_name, RegionLevel.county.value, root, county_path, c_lat, c_lng))
        counties.append((county_id, county_code, county_name))
        in_county = []
        for t in range(TOWNSHIPS_PER_COUNTY):
            t_code = f"{county_code}{t + 1:03d}"
            t_name = TOWNSHIP_STEMS[t % len(TOWNSHIP_STEMS)] + ("街道" if t == 0 else "镇")
            t_path = f"{county_path}{t_code}/"
            t_lat, t_lng = c_lat + rng.uniform(-0.08, 0.08), c_lng + rng.uniform(-0.08, 0.08)
            township_id = region_id
            region_id += 1
            township_count += 1
            regions.append((township_id, t_code, t_name, RegionLevel.township.value, county_id, t_path, t_lat, t_lng))
            township_regions.append((township_id, t_name, county_name, n))
            stems = rng.sample(geo.VILLAGE_STEMS, VILLAGES_PER_TOWNSHIP)
            for v, stem in enumerate(stems):
                v_code = f"{t_code}{v + 1:03d}"
                v_name = stem + rng.choice(geo.COMMUNITY_SUFFIXES if t == 0 else geo.VILLAGE_SUFFIXES)
                v_lat, v_lng = t_lat + rng.uniform(-0.03, 0.03), t_lng + rng.uniform(-0.03, 0.03)
                regions.append(
                    (
                        region_id,
                        v_code,
                        v_name,
                        RegionLevel.village.value,
                        township_id,
                        f"{t_path}{v_code}/",
                        v_lat,
                        v_lng,
                    )
                )
                in_county.append((region_id, v_code, v_name, v_lat, v_lng))
                township_of[region_id] = township_id
                region_id += 1
        villages.append(in_county)
    await copy_rows(Region, ("id", "code", "name", "level", "parent", "path", "latitude", "longitude"), regions)
    await _reset_sequence(Region)

    # Organisations: the root bureau, county bureaus, township offices, providers.
    org_id = await _next_id(Organisation)
    orgs: list[tuple[Any, ...]] = []
    root_bureau = org_id
    orgs.append((org_id, ROOT_BUREAU, OrganisationKind.bureau.value, root, None, "", "", now))
    org_id += 1
    county_bureaus = []
    for county_id, _, county_name in counties:
        orgs.append((org_id, f"{county_name}民政局", OrganisationKind.bureau.value, county_id, None, "", "", now))
        county_bureaus.append(org_id)
        org_id += 1
    offices: dict[int, int] = {}  # township → its office
    for township_id, t_name, county_name, _ in township_regions:
        office = f"{county_name}{t_name}{'办事处' if t_name.endswith('街道') else '人民政府'}"
        orgs.append((org_id, office, OrganisationKind.township_office.value, township_id, None, "", "", now))
        offices[township_id] = org_id
        org_id += 1
    providers: list[int] = []
    provider_of_county: list[int] = []
    for k in range(math.ceil(county_count / COUNTIES_PER_PROVIDER)):
        served = range(k * COUNTIES_PER_PROVIDER, min(county_count, (k + 1) * COUNTIES_PER_PROVIDER))
        home = counties[served[0]]
        orgs.append(
            (
                org_id,
                f"{home[2][:-1]}{PROVIDER_STEMS[k % len(PROVIDER_STEMS)]}",
                OrganisationKind.provider.value,
                home[0],
                f"52990000MJ{k:08d}",
                "",
                f"0917-{3000000 + k}",
                now,
            )
        )
        providers.append(org_id)
        provider_of_county += [org_id] * len(served)
        org_id += 1
    await copy_rows(
        Organisation,
        ("id", "name", "kind", "region", "credit_code", "address", "phone", "created_at"),
        orgs,
    )
    await _reset_sequence(Organisation)

    # Households and their people, spread evenly over the villages of each county.
    per_county = [households // county_count + (n < households % county_count) for n in range(county_count)]
    household_id, person_id = await _next_id(Household), await _next_id(Person)
    house_rows: list[tuple[Any, ...]] = []
    person_rows: list[tuple[Any, ...]] = []
    by_county: list[list[int]] = []
    village_of: dict[int, int] = {}
    id_context, health_context = ID_CONTEXT, HEALTH_CONTEXT
    for n, share in enumerate(per_county):
        vs = villages[n]
        members = []
        counters: Counter[int] = Counter()
        for k in range(share):
            v_id, v_code, v_name, v_lat, v_lng = vs[k % len(vs)]
            counters[v_id] += 1
            house_rows.append(
                (
                    household_id,
                    f"{v_code}-{counters[v_id]:04d}",
                    v_id,
                    f"{v_name}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号",
                    round(v_lat + rng.uniform(-0.01, 0.01), 6),
                    round(v_lng + rng.uniform(-0.01, 0.01), 6),
                    now,
                )
            )
            level = rng.choices(
                [CareLevel.able.value, CareLevel.partly_unable.value, CareLevel.unable.value], CARE_LEVEL_MIX
            )[0]
            gender = rng.choice(["male", "female"])
            birth_year = rng.randrange(1936, 1975)
            number = people.identity(birth_year, gender)
            illness, disability = rng.choice(geo.ILLNESSES), rng.choice(geo.DISABILITIES)
            health = (
                protect(
                    msgspec.json.encode({"illness": illness, "disability": disability}).decode(), context=health_context
                )
                if illness or disability
                else ""
            )
            person_rows.append(
                (
                    person_id,
                    people.name(),
                    gender,
                    birth_year,
                    protect(number, context=id_context),
                    digest(number, purpose="id_number"),
                    mask_id_number(number),
                    level,
                    SupportMode.dispersed.value,
                    household_id,
                    health,
                    now,
                )
            )
            members.append(household_id)
            village_of[household_id] = v_id
            household_id += 1
            person_id += 1
        by_county.append(members)
    await copy_rows(Household, ("id", "code", "village", "address", "latitude", "longitude", "created_at"), house_rows)
    await copy_rows(
        Person,
        (
            "id",
            "name",
            "gender",
            "birth_year",
            "id_number_protected",
            "id_number_digest",
            "id_number_masked",
            "care_level",
            "support_mode",
            "household",
            "health_protected",
            "created_at",
        ),
        person_rows,
    )
    await _reset_sequence(Household)
    await _reset_sequence(Person)
    await copy_rows(
        Card,
        ("subject", "subject_id", "version", "issued_at", "issued_by", "reason"),
        ((CardSubject.household.value, h[0], 1, now, None, "首次制卡") for h in house_rows),
    )
    say(f"  区域 {len(regions):,} 个，机构 {len(orgs):,} 家，{len(house_rows):,} 户及其人员已写入")

    # Accounts: the few a newcomer signs in with, then every worker by COPY (one password hash).
    password_hash = BaseUser.hash_password(DEMO_PASSWORD)
    shown = [f"{PROVINCE_PREFIX}_admin"]
    await create_account(
        shown[0],
        DEMO_PASSWORD,
        role=Role.city_admin,
        display_name="省级演示管理员",
        region_id=root,
        organisation_id=root_bureau,
        password_hash=password_hash,
    )
    for n, (county_id, _, county_name) in enumerate(counties):
        username = f"county{n + 1:03d}_auditor"
        await create_account(
            username,
            DEMO_PASSWORD,
            role=Role.county_auditor,
            display_name=f"{county_name}审核员",
            region_id=county_id,
            organisation_id=county_bureaus[n],
            password_hash=password_hash,
        )
        if n == 0:
            shown.append(username)
    first_township, t_name, *_ = township_regions[TOWNSHIPS_PER_COUNTY - 1]
    await create_account(
        f"{PROVINCE_PREFIX}_township",
        DEMO_PASSWORD,
        role=Role.township_officer,
        display_name=f"{t_name}经办人",
        region_id=first_township,
        organisation_id=offices[first_township],
        password_hash=password_hash,
    )
    shown.append(f"{PROVINCE_PREFIX}_township")
    for k, provider in enumerate(providers):
        username = f"p{k + 1:02d}_manager"
        await create_account(
            username,
            DEMO_PASSWORD,
            role=Role.provider_manager,
            display_name=f"第{k + 1}服务机构负责人",
            organisation_id=provider,
            password_hash=password_hash,
        )
        if k < len(PROVIDER_STEMS):
            shown.append(username)
    user_id, account_id = await _next_id(BaseUser), await _next_id(Account)
    users, accounts, assignments = [], [], []
    worker_counter: Counter[int] = Counter()
    for n, members in enumerate(by_county):
        provider = provider_of_county[n]
        k = providers.index(provider)
        workers = []
        for _ in range(max(1, math.ceil(len(members) / HOUSEHOLDS_PER_WORKER))):
            worker_counter[provider] += 1
            username = f"p{k + 1:02d}_w{worker_counter[provider]:04d}"
            users.append((user_id, username, password_hash, f"{username}@carepact.invalid", True, False, "", "", False))
            accounts.append((account_id, user_id, people.name(), Role.field_worker.value, None, provider, "", now))
            workers.append(account_id)
            user_id += 1
            account_id += 1
        for j, h in enumerate(members):
            worker = workers[min(j // HOUSEHOLDS_PER_WORKER, len(workers) - 1)]
            assignments.append((h, worker, provider, ASSIGNMENTS_START, None))
    await copy_rows(
        BaseUser,
        ("id", "username", "password", "email", "active", "admin", "first_name", "last_name", "superuser"),
        users,
    )
    await copy_rows(
        Account, ("id", "user", "display_name", "role", "region", "organisation", "phone", "created_at"), accounts
    )
    await copy_rows(Assignment, ("household", "worker", "organisation", "starts_on", "ends_on"), assignments)
    await _reset_sequence(BaseUser)
    await _reset_sequence(Account)
    say(f"  服务机构 {len(providers)} 家，护理员账号 {len(accounts):,} 个，派单 {len(assignments):,} 条已写入")
    return _Built(
        root=root,
        counties=counties,
        townships=township_count,
        villages=sum(len(v) for v in villages),
        households=len(house_rows),
        providers=providers,
        workers=len(accounts),
        accounts=shown,
    )


async def _programme(built: _Built, start: dt.date, year: int) -> int:
    """One home-care contract per provider and county, covering the households its workers are
    assigned to, the programme's value scaled from the city's; every household's agreement."""
    bureau = await Organisation.select(Organisation.id).where(Organisation.region == built.root).first()
    assigned: dict[tuple[int, int], list[int]] = {}
    rows = await Assignment.raw(
        'SELECT a.household, a.organisation, t.parent AS county FROM "assignment" a '
        'JOIN "household" h ON h.id = a.household JOIN "region" v ON v.id = h.village '
        'JOIN "region" t ON t.id = v.parent ORDER BY a.household'
    )
    for r in rows:
        assigned.setdefault((r["organisation"], r["county"]), []).append(r["household"])
    plan = sorted(assigned.items())
    total = max(len(plan) * 100_000, HOME_CARE_PROGRAMME_FEN * built.households // 5565 // STEP_FEN * STEP_FEN)
    values = split(total, [len(h) for _, h in plan])
    names = {county_id: name for county_id, _, name in built.counties}
    period = Period(start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31))
    for n, (((supplier, county), covered), value) in enumerate(zip(plan, values, strict=True), 1):
        await record_contract(
            ContractIn(
                code=f"SJYS-{year}-JJ-{n:03d}",
                title=f"{year}年{names[county]}分散供养特困人员居家照料服务",
                kind=ContractKind.home_care,
                buyer_id=bureau["id"],
                supplier_id=supplier,
                service_area_id=county,
                date_signed=dt.date(year - 1, 12, 20),
                period=period,
                items=home_care_items(value),
                coverage=CoverageChange(add_households=covered),
            ),
            None,
            SYSTEM,
        )
    # Agreements, as the city demo signs them (contracts.agreement.demo), by COPY.
    template = load_template(bundled_source(1))
    version = await publish_template(None, bundled_source(1), "首版：按 DOMAIN 默认值", SYSTEM)
    template_id = (
        await AgreementTemplate.select(AgreementTemplate.id).where(AgreementTemplate.version == version).first()
    )["id"]
    parties = await Assignment.raw(
        "SELECT h.id, h.code, p.id AS person, p.care_level, o.id AS office, a.organisation AS provider, "
        'q.name AS provider_name, q.phone AS provider_phone FROM "household" h '
        'JOIN "person" p ON p.household = h.id JOIN "region" v ON v.id = h.village '
        'JOIN "organisation" o ON o.region = v.parent AND o.kind = {} '
        'JOIN "assignment" a ON a.household = h.id JOIN "organisation" q ON q.id = a.organisation ORDER BY h.code',
        OrganisationKind.township_office.value,
    )
    now = dt.datetime.now(dt.UTC)
    await copy_rows(
        Agreement,
        (
            "code",
            "household",
            "person",
            "template",
            "township_office",
            "caregiver_kind",
            "caregiver_organisation",
            "caregiver_name",
            "caregiver_phone",
            "care_level",
            "monthly_fee_fen",
            "starts_on",
            "ends_on",
            "signed_on",
            "signed_by",
            "signed_by_name",
            "superseded_by",
            "created_at",
        ),
        (
            (
                f"XY-{h['code']}-01",
                h["id"],
                h["person"],
                template_id,
                h["office"],
                CaregiverKind.provider.value,
                h["provider"],
                h["provider_name"],
                h["provider_phone"],
                h["care_level"],
                template.fees.of(CareLevel(h["care_level"])),
                start,
                None,
                start - dt.timedelta(days=3),
                None,
                "系统（演示数据）",
                None,
                now,
            )
            for h in parties
        ),
    )
    return len(plan)


# --- the visits ------------------------------------------------------------------------------------


def _parts(
    inputs: Any, pictures: Sequence[Any], illnesses: Sequence[Illness], start: dt.date, end: dt.date, seed: int
) -> Iterator[tuple[dt.date, History]]:
    """(month, part of its rows), month by month: the city's generator planned per month over the
    province's assignments, ids counting up across months (rows go in id order)."""
    serial = None
    for n, (first, last) in enumerate(months_between(start, end)):
        month_inputs = msgspec.structs.replace(
            inputs,
            spans=[
                msgspec.structs.replace(s, first=max(s.first, first), last=min(s.last, last))
                for s in inputs.spans
                if s.first <= last and s.last >= first
            ],
        )
        plan = HistoryPlan(month_inputs, pictures, seed=seed + n, illnesses=illnesses, shifts=shift_of)
        if serial is not None:
            plan.serial = serial
        for part in plan.months(batch=BATCH):
            yield first.replace(day=1), part
        serial = plan.serial


def _records(part: History) -> list[tuple[type[Table], list[str], list[tuple[Any, ...]]]]:
    found: list[tuple[type[Table], list[str], list[tuple[Any, ...]]]] = []
    tables: tuple[tuple[type[Table], list[dict[str, Any]]], ...] = (
        (Visit, part.visits),
        (VisitService, part.services),
        (Photo, part.photos),
        (VisitPhoto, part.links),
        (VisitFlag, part.flags),
    )
    for table, rows in tables:
        if rows:
            found.append((table, list(rows[0]), [tuple(r.values()) for r in rows]))
    return found


async def _visits(
    start: dt.date, end: dt.date, illnesses: Sequence[Illness], seed: int, say: Callable[[str], None]
) -> Counter[str]:
    inputs = await load_inputs(start, end)
    providers = sorted(inputs.names)
    inputs.quality = {p: PROFILES[k % len(PROFILES)][1] for k, p in enumerate(providers)}
    pictures = demo_pictures(seed)
    written: Counter[str] = Counter()
    upcoming = _parts(inputs, pictures, illnesses, start, end, seed)
    # The rows hold no reference cycles, and the cyclic collector walking the month's plan (a million
    # planned visits) again and again took ~40 % of the time: off for the load, on again after.
    gc.disable()
    try:
        async with constraints_built_after(COPY_TABLES, say):
            await _write(upcoming, written, say)
    finally:
        gc.enable()
    return written


async def _write(
    upcoming: Iterator[tuple[dt.date, History]], written: Counter[str], say: Callable[[str], None]
) -> None:
    """Each part by COPY while the next is made (and turned into records) in a thread."""

    def following() -> tuple[dt.date, list[Any]] | None:
        nxt = next(upcoming, None)
        return None if nxt is None else (nxt[0], _records(nxt[1]))

    began = time.perf_counter()
    month_began, current, month_visits = began, None, 0
    made = asyncio.ensure_future(asyncio.to_thread(following))
    try:
        while (part := await made) is not None:
            made = asyncio.ensure_future(asyncio.to_thread(following))
            month, records = part
            if current is not None and month != current:
                say(
                    f"  {current:%Y年%m月}：上门 {month_visits:,} 次（{time.perf_counter() - month_began:.0f} 秒，"
                    f"累计 {written['visit']:,} 次，{time.perf_counter() - began:.0f} 秒）"
                )
                month_began, month_visits = time.perf_counter(), 0
            current = month
            for table, columns, rows in records:
                written[table._meta.tablename] += await copy_rows(table, columns, rows)
                if table is Visit:
                    month_visits += len(rows)
    finally:
        await asyncio.gather(made, return_exceptions=True)  # never leave the thread behind
    if current is not None:
        say(
            f"  {current:%Y年%m月}：上门 {month_visits:,} 次（{time.perf_counter() - month_began:.0f} 秒，"
            f"累计 {written['visit']:,} 次，{time.perf_counter() - began:.0f} 秒）"
        )


# --- the whole -------------------------------------------------------------------------------------


async def province_exists() -> bool:
    return await Region.exists().where(Region.code == ROOT[0])


async def build_province(
    *,
    households: int = PROVINCE_HOUSEHOLDS,
    start: dt.date,
    end: dt.date,
    seed: int = 2026,
    say: Callable[[str], None] = print,
) -> ProvinceSummary:
    """Build the province into an empty PostgreSQL database (nothing if it is there already)."""
    if not is_postgres():
        raise RuntimeError("the province data set is for PostgreSQL only")
    if await province_exists():
        return ProvinceSummary(
            created=False, households=await Household.count(), written={"visit": await Visit.count()}
        )
    if await Region.exists():
        raise RuntimeError("the database already holds another region tree")
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    say(f"生成省级演示数据：{households:,} 户，{start:%Y年%m月%d日}至{end:%m月%d日}。")
    async with atomic():
        built = await _registry(households, seed, say)
    seconds["registry"] = time.perf_counter() - began
    mark = time.perf_counter()
    async with atomic():
        contracts = await _programme(built, start, start.year)
    seconds["programme"] = time.perf_counter() - mark
    say(f"  合同 {contracts} 份及每户照料服务协议已写入（{seconds['programme']:.0f} 秒）")
    mark = time.perf_counter()
    illnesses = await _report_illnesses(random.Random(seed), start, end, set())
    seconds["illnesses"] = time.perf_counter() - mark
    say(f"  患病登记 {len(illnesses):,} 起")
    mark = time.perf_counter()
    say("上门服务记录（按月写入，COPY）：")
    async with atomic():
        written = await _visits(start, end, illnesses, seed, say)
        await record(
            SYSTEM,
            "demo.province",
            "region",
            ROOT[0],
            detail={"households": built.households, "start": start, "end": end, "seed": seed, **written},
        )
    seconds["visits"] = time.perf_counter() - mark
    mark = time.perf_counter()
    analysed: tuple[type[Table], ...] = (Household, Person, Assignment, Agreement, *COPY_TABLES)
    for table in analysed:
        # VACUUM too: it sets the visibility map, without which every index-only scan of the new
        # rows (a visit's photo, a correction) still reads the table (1.1 million heap fetches in
        # a month's dashboard query).
        await Visit.raw(f'VACUUM (ANALYZE) "{table._meta.tablename}"')
    seconds["analyze"] = time.perf_counter() - mark
    say(f"  统计信息与可见性映射已更新（VACUUM ANALYZE，{seconds['analyze']:.0f} 秒）")
    mark = time.perf_counter()
    # As the nightly job keeps them: the twelve months before this one, those before the history too
    # (empty), or every dashboard would count them live, which at this scale means a year of visits.
    past = rollup.nightly_months()

    async def progress(n: int, total: int, note: str) -> None:
        say(f"  {note}（{n + 1}/{total}，已用 {time.perf_counter() - mark:.0f} 秒）")

    say("审计看板：汇总已过去的月份：")
    rolled = await rollup.roll_up(past, progress)
    seconds["rollup"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - began
    return ProvinceSummary(
        created=True,
        households=built.households,
        counties=len(built.counties),
        townships=built.townships,
        villages=built.villages,
        providers=len(built.providers),
        workers=built.workers,
        contracts=contracts,
        episodes=len(illnesses),
        start=start,
        end=end,
        written=dict(written),
        rolled_up=rolled,
        seconds={k: round(v, 1) for k, v in seconds.items()},
        accounts=built.accounts,
    )


STAGES = {
    "registry": "区域、机构、人员与账号",
    "programme": "合同与协议",
    "illnesses": "患病登记",
    "visits": "上门记录（含建索引）",
    "analyze": "VACUUM ANALYZE",
    "rollup": "看板月度汇总",
    "total": "合计",
}


def describe_province(summary: ProvinceSummary) -> str:
    if not summary.created:
        return f"省级演示数据已存在（{summary.households:,} 户，上门 {summary.written.get('visit', 0):,} 次），未重复生成。"
    w = summary.written
    lines = [
        f"已生成省级演示数据：{summary.counties} 个县区、{summary.townships:,} 个乡镇街道、{summary.villages:,} 个村社区，"
        f"{summary.households:,} 户分散供养；服务机构 {summary.providers} 家（其中每 5 家有 2 家为演示而设定得较差），"
        f"护理员 {summary.workers:,} 名，居家照料合同 {summary.contracts} 份。",
        f"{summary.start:%Y年%m月%d日}至{summary.end:%m月%d日}：上门 {w.get('visit', 0):,} 次，服务项目 "
        f"{w.get('visit_service', 0):,} 条，照片 {w.get('photo', 0):,} 张（共用少量演示图片文件），可信度提示 "
        f"{w.get('visit_flag', 0):,} 条，患病登记 {summary.episodes:,} 起；看板月度汇总 {summary.rolled_up:,} 行。"
        "未运行协议核查（省级数据量下由每日任务进行），暂无违约发现。",
        "用时：" + "，".join(f"{STAGES.get(k, k)} {v:.0f} 秒" for k, v in summary.seconds.items()) + "。",
        f"演示账号（密码均为 {DEMO_PASSWORD}）：" + "、".join(summary.accounts),
    ]
    return "\n".join(lines)
