"""The demo city's purchased-service programme, built on the kernel's demo city.

As reported: 3,350,000.00 yuan of home-care services bought from the five providers for the
households in dispersed support, one contract per provider and county it serves; and a
centralised-care contract with the psychiatric rehabilitation hospital for all its residents.

How the home-care programme sums to exactly 335,000,000 fen: the amount is split across the
contracts in whole ¥10 steps by largest remainder, in proportion to the households each covers;
each contract's item quantities are derived from its share (by service weights and unit prices,
all whole multiples of ¥10) and the remainder is balanced with ¥30 home-verification and ¥50
psychological-comfort visits (every multiple of ¥10 above ¥70 is a sum of 30s and 50s).
Contract values are what their items add up to, so this holds by construction; the builder
asserts it, and so does a test.

Coverage is derived from the kernel's assignments: a household is covered by the contract of
the provider whose worker is assigned to it, so coverage and assignments agree from the start.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import msgspec

from carepact.accounts.tables import Assignment
from carepact.audit.services import SYSTEM
from carepact.catalogue import ServiceCode
from carepact.dates import SHANGHAI, local_today
from carepact.db import atomic
from carepact.demo import geography as geo
from carepact.registry.tables import Organisation, OrganisationKind, Region, RegionLevel, Resident
from contracts.money import yuan
from contracts.procurement.schemas import AmendmentIn, Change, ContractIn, CoverageChange, Item, Period
from contracts.procurement.services import contract_row, record_amendment, record_contract, versions_of
from contracts.procurement.terms import final_terms, state_on
from contracts.settlement.schemas import PayIn
from contracts.settlement.services import SYSTEM_SIGNER, compute_statement, confirm_as, pay_as
from contracts.tables import Contract, ContractKind, Statement

HOME_CARE_PROGRAMME_FEN = 335_000_000  # 3.35 million yuan, as reported
STEP_FEN = 1_000  # contract shares are whole multiples of ¥10, as every unit price is

# Unit prices of the programme (fen) and the share of a contract's value each service takes.
HOME_CARE_PRICES = {
    ServiceCode.home_verification: 3_000,
    ServiceCode.environment_improvement: 20_000,
    ServiceCode.cleaning: 6_000,
    ServiceCode.personal_care: 8_000,
    ServiceCode.psychological_comfort: 5_000,
    ServiceCode.hospital_accompaniment: 12_000,
}
HOME_CARE_WEIGHTS = {
    ServiceCode.cleaning: 40,
    ServiceCode.personal_care: 25,
    ServiceCode.psychological_comfort: 12,
    ServiceCode.home_verification: 10,
    ServiceCode.environment_improvement: 8,
    ServiceCode.hospital_accompaniment: 5,
}
BED_DAY_PRICES = {
    ServiceCode.treatment: 3_000,
    ServiceCode.rehabilitation: 1_500,
    ServiceCode.custodial_nursing: 3_500,
}
# The mid-year amendment: renhe's 渭滨区 contract buys a fifth more cleaning from 1 July (or from
# today, early in the year: the programme's 3.35 million is what is in force now).
AMENDED = ("renhe", "610302")


class ProgrammeSummary(msgspec.Struct, kw_only=True):
    created: bool
    year: int
    home_care_contracts: int
    home_care_value_fen: int
    centralised_care_value_fen: int
    statements: int


def split(total: int, weights: list[int], step: int = STEP_FEN) -> list[int]:
    """``total`` in whole ``step``s, proportional to ``weights``, by largest remainder: exact."""
    units, weight_sum = total // step, sum(weights)
    shares = [units * w // weight_sum for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda n: (-(units * weights[n] % weight_sum), n))
    for n in by_remainder[: units - sum(shares)]:
        shares[n] += 1
    assert sum(shares) * step == total, "the total must be a whole number of steps"
    return [s * step for s in shares]


def home_care_items(value_fen: int) -> list[Item]:
    """Items whose amounts add up to exactly ``value_fen`` (a multiple of ¥10, at least ¥1,000)."""
    quantities = {
        code: max(1, value_fen * weight // 100 // HOME_CARE_PRICES[code]) for code, weight in HOME_CARE_WEIGHTS.items()
    }
    while True:
        rest = value_fen - sum(q * HOME_CARE_PRICES[c] for c, q in quantities.items())
        # rest in ¥10 steps; 50 ≡ 2 and 100 ≡ 1 (mod 30): one of 0, 1 or 2 comfort visits makes it a multiple of ¥30.
        extra_comfort = next((k for k in range(3) if rest >= k * 5_000 and (rest - k * 5_000) % 3_000 == 0), None)
        if extra_comfort is not None:
            break
        quantities[ServiceCode.cleaning] -= 1  # too little left to balance: free ¥60 and try again
    quantities[ServiceCode.psychological_comfort] += extra_comfort
    quantities[ServiceCode.home_verification] += (rest - extra_comfort * 5_000) // 3_000
    items = [Item(classification=c, quantity=q, unit_value_fen=HOME_CARE_PRICES[c]) for c, q in quantities.items()]
    assert sum(i.amount_fen for i in items) == value_fen
    return sorted(items, key=lambda i: list(HOME_CARE_PRICES).index(i.classification))


async def build_programme(year: int | None = None) -> ProgrammeSummary:
    """Create the programme on top of the demo city, in one transaction; does nothing if any contract exists."""
    year = year or local_today().year
    if await Contract.exists():
        return await _existing(year)
    async with atomic():
        city = await Region.select(Region.id).where(Region.level == RegionLevel.city.value).first()
        bureau = (
            await Organisation.select(Organisation.id)
            .where((Organisation.kind == OrganisationKind.bureau.value) & (Organisation.region == city["id"]))
            .first()
        )
        counties = {
            r["code"]: r
            for r in await Region.select(Region.id, Region.code, Region.name, Region.path).where(
                Region.level == RegionLevel.county.value
            )
        }
        orgs = {o["name"]: o["id"] for o in await Organisation.select(Organisation.id, Organisation.name)}
        period = Period(start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31))
        signed = dt.date(year - 1, 12, 20)
        households = await _assigned_households(period.start_date, counties)

        plan = [
            (stem, orgs[name], code, sorted(households[(orgs[name], code)]))
            for name, _, stem, served in geo.PROVIDERS
            for code in served
        ]
        values = split(HOME_CARE_PROGRAMME_FEN, [max(1, len(h)) for *_, h in plan])
        for n, ((stem, supplier, code, covered), value) in enumerate(zip(plan, values, strict=True), 1):
            items = home_care_items(value)
            amended = (stem, code) == AMENDED
            if amended:
                extra = next(i for i in items if i.classification == ServiceCode.cleaning).quantity // 5
                final_items, items = (
                    items,
                    [
                        msgspec.structs.replace(i, quantity=i.quantity - extra)
                        if i.classification == ServiceCode.cleaning
                        else i
                        for i in items
                    ],
                )
            contract_id = await record_contract(
                ContractIn(
                    code=f"BJMZ-{year}-JJ-{n:02d}",
                    title=f"{year}年{counties[code]['name']}分散供养特困人员居家照料服务",
                    kind=ContractKind.home_care,
                    buyer_id=bureau["id"],
                    supplier_id=supplier,
                    service_area_id=counties[code]["id"],
                    date_signed=signed,
                    period=period,
                    items=items,
                    coverage=CoverageChange(add_households=covered) if covered else None,
                ),
                None,
                SYSTEM,
            )
            if amended:
                effective = max(period.start_date, min(dt.date(year, 7, 1), local_today()))
                await record_amendment(
                    await contract_row(contract_id),
                    AmendmentIn(
                        date=max(signed, effective - dt.timedelta(days=10)),
                        effective_on=effective,
                        rationale="根据上半年服务需求评估，下半年增加家政保洁服务次数，相应追加合同金额。",
                        changes=Change(items=final_items),
                    ),
                    None,
                    SYSTEM,
                )
        facility_id = await _centralised_care(year, bureau["id"], orgs[geo.FACILITY[0]], city["id"], signed, period)
        statements = await _facility_history(facility_id, year)
    summary = await _existing(year)
    summary.created = True
    summary.statements = statements
    return summary


async def _assigned_households(day: dt.date, counties: dict[str, dict]) -> dict[tuple[int, str], set[int]]:
    """(provider, county code) → households its workers are assigned to on ``day``."""
    rows = await Assignment.select(
        Assignment.household, Assignment.organisation, Assignment.household._.village._.path
    ).where((Assignment.starts_on <= day) & (Assignment.ends_on.is_null() | (Assignment.ends_on >= day)))
    found: dict[tuple[int, str], set[int]] = defaultdict(set)
    for r in rows:
        county = next(code for code, c in counties.items() if r["household.village.path"].startswith(c["path"]))
        found[(r["organisation"], county)].add(r["household"])
    return found


async def _centralised_care(
    year: int, bureau_id: int, facility_id: int, city_id: int, signed: dt.date, period: Period
) -> int:
    stays = (
        await Resident.select(Resident.id)
        .where(
            (Resident.facility == facility_id)
            & (Resident.admitted_on <= period.end_date)
            & (Resident.discharged_on.is_null() | (Resident.discharged_on > period.start_date))
        )
        .order_by(Resident.id)
    )
    bed_days = len(stays) * ((period.end_date - period.start_date).days + 1)
    return await record_contract(
        ContractIn(
            code=f"BJMZ-{year}-JZ-01",
            title=f"{year}年农村特困人员（重度精神障碍）集中供养服务",
            kind=ContractKind.centralised_care,
            buyer_id=bureau_id,
            supplier_id=facility_id,
            service_area_id=city_id,
            date_signed=signed,
            period=period,
            items=[
                Item(classification=c, quantity=max(1, bed_days), unit_value_fen=p) for c, p in BED_DAY_PRICES.items()
            ],
            coverage=CoverageChange(add_residents=[s["id"] for s in stays]) if stays else None,
            rationale="购买服务试点：精神康复医院集中供养",
        ),
        None,
        SYSTEM,
    )


async def _facility_history(contract_id: int, year: int) -> int:
    """The hospital's past months: computed and confirmed on the 5th of the next month, paid on the 20th."""
    today = local_today()
    now = dt.datetime.now(dt.UTC)
    count = 0
    for month_number in range(1, 13):
        month = dt.date(year, month_number, 1)
        following = (month + dt.timedelta(days=32)).replace(day=1)
        if following > today.replace(day=1):
            break
        statement_id, _ = await compute_statement(None, contract_id, month, SYSTEM)
        confirmed_at = min(now, dt.datetime.combine(following.replace(day=5), dt.time(10), tzinfo=SHANGHAI))
        await confirm_as(SYSTEM_SIGNER, contract_id, statement_id, 1, SYSTEM, at=confirmed_at)
        paid_on = following.replace(day=20)
        if paid_on <= today:
            payment = PayIn(paid_on=paid_on, payment_reference=f"BJCZ-{paid_on:%Y%m%d}-{month_number:02d}")
            await pay_as(SYSTEM_SIGNER, contract_id, statement_id, payment, SYSTEM)
        count += 1
    return count


async def _existing(year: int) -> ProgrammeSummary:
    contracts = await Contract.select(Contract.id, Contract.kind)
    versions = await versions_of(c["id"] for c in contracts)
    today = local_today()
    value = {ContractKind.home_care: 0, ContractKind.centralised_care: 0}
    count = 0
    for c in contracts:
        terms = state_on(versions[c["id"]], today) or final_terms(versions[c["id"]])
        if terms is not None:
            value[ContractKind(c["kind"])] += terms.value_fen
            count += c["kind"] == ContractKind.home_care
    return ProgrammeSummary(
        created=False,
        year=year,
        home_care_contracts=count,
        home_care_value_fen=value[ContractKind.home_care],
        centralised_care_value_fen=value[ContractKind.centralised_care],
        statements=await Statement.count(),
    )


def describe_programme(summary: ProgrammeSummary) -> str:
    return (
        f"{summary.year}年购买服务：{summary.home_care_contracts} 份居家照料服务合同合计 "
        f"{yuan(summary.home_care_value_fen)}，集中供养服务合同 {yuan(summary.centralised_care_value_fen)}，"
        f"已有结算单 {summary.statements} 份。"
    )
