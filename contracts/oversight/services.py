"""The county audit's figures for people: who may see which region's, the months they cover, the
few aggregate queries (``queries``) put together per region, provider and contract, and the
providers ranked by their score (``scoring``).

Access: a bureau sees the figures of its own region subtree (the city, a county, a township) and
of any region below it; another county's figures are not found (404). A provider's manager sees
only its own scorecard, over the whole city; no other role sees figures.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec

from carepact.accounts.access import Principal, region_in_scope
from carepact.accounts.tables import Role
from carepact.dates import local_today
from carepact.errors import Problem, forbidden, not_found
from carepact.registry.tables import Organisation, OrganisationKind, Region, RegionLevel, Resident
from contracts.budget.services import budget
from contracts.findings.services import clause_titles
from contracts.oversight import queries, rollup, scoring
from contracts.oversight.inputs import home_care_contracts, limits, month_end, month_key, periods, window
from contracts.oversight.queries import Scope
from contracts.oversight.schemas import (
    ClauseCount,
    ContractRow,
    Dashboard,
    Definition,
    FacilityFigures,
    FacilityRow,
    Figures,
    ProviderRow,
    RegionRef,
    Scorecard,
    Scorecards,
    ShortHousehold,
    Threshold,
    VillageRow,
)
from contracts.scope import visible_contracts
from contracts.settlement.services import first_of
from contracts.tables import Contract
from providers.residents.services import counted_days, present_on
from providers.tables import DoseOutcome

BUREAUS = (Role.city_admin, Role.county_auditor, Role.township_officer)
OLDEST_YEAR = 2000  # a trend reaches a year back from the month asked: the calendar must hold it

DEFINITIONS = [
    Definition(
        key="coverage",
        label=scoring.LABELS["coverage"],
        text="本月按协议上门天数达标的户 ÷ 本月应上门的户。应上门天数 = 协议每周上门天数（按协议签订时的自理能力和所依据的"
        "标准文本版本，第 1 版为全自理 1 天、半失能 3 天、全失能 7 天）× 本月内合同在服务期、该户在覆盖期和协议期内的"
        "天数 ÷ 7，向下取整，为 0 的户不计入；已上门天数 = 合同服务机构在这些天内核验通过的上门服务所在的天数，同一天多次"
        "只计一天。本月未结束时只计到昨天。患病、住院期间不作调整（看护要求见违约发现）。",
        target=f"≥ {scoring.percent(scoring.COVERAGE_TARGET)}",
    ),
    Definition(
        key="verified",
        label=scoring.LABELS["verified"],
        text="核验通过（与结算同一口径：已签退、未驳回、无严重疑点、未被更正记录替代）且扫描门牌卡签到、至少有一张现场照片、"
        "不是手工录入的上门服务 ÷ 本月已完成的上门服务（更正过的服务按最新一条计一次）。目标取电子服务核验（EVV）通行做法。",
        target=f"≥ {scoring.percent(scoring.VERIFIED_TARGET)}",
    ),
    Definition(
        key="on_time",
        label=scoring.LABELS["on_time"],
        text="各机构核验通过的上门日（每户每天计一次）中，距该户上一个上门日（无论哪家机构）不超过协议最长间隔（第 1 版为"
        "全自理 10 天、半失能 4 天、全失能 2 天）的所占比例；此前没有上门的，从协议开始的前一天起算。按上门日所在月份统计。",
        target=f"≥ {scoring.percent(scoring.ON_TIME_TARGET)}",
    ),
    Definition(
        key="illness",
        label=scoring.LABELS["illness"],
        text=f"本月登记的居家患病中，登记后 {scoring.ILLNESS_RESPONSE_HOURS:g} 小时内有核验通过的上门服务的所占比例"
        "（登记时正在进行的服务计 0 小时，康复后才来的不算）；另列登记到第一次上门的时长中位数。",
        target=f"≥ {scoring.percent(scoring.ILLNESS_TARGET)}",
    ),
    Definition(
        key="findings",
        label=scoring.LABELS["findings"],
        text="违约所属月份为本月、尚未处理、已说明、免于扣减或维持扣减的违约发现，按条款类型统计；已采纳说明或因数据更新"
        "不再成立的不计。审核抽查结果不符的每条按 5 条计分。",
        target=f"每百户 ≤ {scoring.FINDINGS_PER_100_TARGET:g} 条",
    ),
    Definition(
        key="residential",
        label="集中供养记录完整度",
        text="本月治疗、康复、养护服务记录数 ÷ 在院床日（入院当日计、出院当日不计，计到今天）；给药：已给药剂次 ÷ 在院床日。",
        target=f"每床日 ≥ {scoring.RECORDS_PER_RESIDENT_DAY_TARGET:g} 条",
    ),
    Definition(
        key="score",
        label="综合得分",
        text="覆盖率 35 分、电子核验率 25 分、按时上门率 25 分、患病看护 15 分，按达成比例计分（某项本月无数据时，其分值按"
        "比例分给其余各项）；再按违约发现扣分：每百户应上门户每条扣 0.5 分，最多扣 40 分。",
        target="排名按当月得分",
    ),
    Definition(
        key="freshness",
        label="数据时效",
        text="本月的数字为实时统计。往月的上门数字（覆盖率、电子核验率、按时率）每天汇总一次（夜间，或当天第一次查看时），"
        "当天补录、审核或更正的往月服务记录次日反映；违约发现、患病看护、集中供养记录和预算执行均为实时统计。",
        target="",
    ),
    Definition(
        key="budget",
        label="预算执行",
        text="预算年度为合同服务期开始的年份；承诺金额为今天生效的合同金额，已交付为已确认和已支付的结算单合计。",
        target="",
    ),
]
THRESHOLDS = [
    Threshold(key=key, label=scoring.LABELS[key], target=value, words=f"≥ {scoring.percent(value)}")
    for key, value in scoring.TARGETS.items()
] + [
    Threshold(
        key="findings_per_100",
        label="每百户违约发现",
        target=scoring.FINDINGS_PER_100_TARGET,
        words=f"≤ {scoring.FINDINGS_PER_100_TARGET:g}",
        at_most=True,
    ),
    Threshold(
        key="records_per_resident_day",
        label="每床日服务记录",
        target=scoring.RECORDS_PER_RESIDENT_DAY_TARGET,
        words=f"≥ {scoring.RECORDS_PER_RESIDENT_DAY_TARGET:g}",
    ),
]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- who sees what --------------------------------------------------------------------------------


class Place(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    level: str
    path: str

    def ref(self) -> RegionRef:
        return RegionRef(id=self.id, name=self.name, level=self.level)


_PLACE_COLUMNS = (Region.id, Region.name, Region.level, Region.path)


async def region_for(principal: Principal, region_id: int | None) -> Place:
    """The region whose figures a bureau asks for (its own by default): a city, county or township
    in its subtree, else not found. Other roles see no region's figures."""
    if principal.role not in BUREAUS or principal.region_id is None:
        raise forbidden("县（区）审核看板由市、县（区）民政局和乡镇（街道）查看。")
    row = await Region.select(*_PLACE_COLUMNS).where(Region.id == (region_id or principal.region_id)).first()
    if row is None or row["level"] == RegionLevel.village or not region_in_scope(principal, row["path"]):
        raise not_found("region", "行政区域")
    return Place(**row)


async def _city() -> Place:
    row = await Region.select(*_PLACE_COLUMNS).where(Region.level == RegionLevel.city.value).first()
    assert row is not None, "the registry holds the city"
    return Place(**row)


async def _choices(principal: Principal, place: Place) -> list[RegionRef]:
    """The caller's own region and the regions one level below it (a city's counties, a county's townships)."""
    below = {RegionLevel.city: RegionLevel.county, RegionLevel.county: RegionLevel.township}
    own = await Region.select(*_PLACE_COLUMNS).where(Region.id == principal.region_id).first()
    assert own is not None
    rows = [own]
    child_level = below.get(RegionLevel(own["level"]))
    if child_level is not None:
        rows += (
            await Region.select(*_PLACE_COLUMNS)
            .where((Region.parent == own["id"]) & (Region.level == child_level.value))
            .order_by(Region.code)
        )
    refs = [Place(**r).ref() for r in rows]
    if all(r.id != place.id for r in refs):
        refs.append(place.ref())
    return refs


def _narrowed(principal: Principal, place: Place) -> Principal:
    """The caller as if their region were the one in view (always inside their own)."""
    return msgspec.structs.replace(principal, region_id=place.id, region_path=place.path, region_name=place.name)


def parse_month(text: str | None) -> dt.date:
    this_month = local_today().replace(day=1)
    if text is None:
        return this_month
    month = first_of(text) if text[:4] >= f"{OLDEST_YEAR}" else None
    if month is None:
        raise Problem(400, "oversight.month_too_early", f"只能查看 {OLDEST_YEAR} 年以后的月份。")
    if month > this_month:
        raise Problem(400, "oversight.month_in_future", "所选月份尚未开始。")
    return month


# --- collecting: the queries, once per request ------------------------------------------------------


class Collected(msgspec.Struct, kw_only=True):
    months: list[str]
    coverage: dict[tuple[int, str], tuple[int, int, int]]  # (contract, month) → due, met, unvisited
    suppliers: dict[int, int]  # home-care contract → supplier
    proof: dict[tuple[int, str], tuple[int, int, int]]  # (organisation, month) → completed, verified, evv
    on_time: dict[tuple[int, str], tuple[int, int]]  # (organisation, month) → judged, on time
    findings: dict[tuple[int | None, str], Counter[str]]  # (organisation, month) → clause → count
    illness: list[tuple[int | None, str, float | None]]  # organisation, month, hours
    villages: dict[int, tuple[int, int, int]]  # the month in view: village → due, met, unvisited
    care: dict[tuple[int, str], Counter[str]]  # (facility, month) → "record" or dose outcome → count
    resident_days: dict[tuple[int, str], int]  # (facility, month) → bed-days
    live_as_of: dt.datetime | None = None  # this month's visit figures were rolled up then (a large deployment)


async def _facilities(scope: Scope) -> dict[int, str]:
    where = Organisation.kind == OrganisationKind.facility.value
    if not scope.whole_city:
        where &= Organisation.region._.path.like(scope.region_path + "%")
    if scope.organisation_id is not None:
        where &= Organisation.id == scope.organisation_id
    return {r["id"]: r["name"] for r in await Organisation.select(Organisation.id, Organisation.name).where(where)}


async def _resident_days(facilities: Iterable[int], months: list[dt.date]) -> dict[tuple[int, str], int]:
    """Bed-days per facility and month, by the facility's own rule (``present_on``), up to today."""
    ids = list(facilities)
    if not ids:
        return {}
    first, last = months[0], month_end(months[-1])
    stays = await Resident.select(Resident.facility, Resident.admitted_on, Resident.discharged_on).where(
        Resident.facility.is_in(ids)
        & (Resident.admitted_on <= last)
        & (Resident.discharged_on.is_null() | (Resident.discharged_on > first))
    )
    days = {month_key(m): counted_days(m) for m in months}
    found: Counter[tuple[int, str]] = Counter()
    for stay in stays:
        for key, month_days in days.items():
            found[(stay["facility"], key)] += sum(
                1 for d in month_days if present_on(d, stay["admitted_on"], stay["discharged_on"])
            )
    return dict(found)


def _date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


class _Tallies:
    """The visit figures as they come in, rolled up or live: (part, contract or organisation, month)
    → three numbers (``queries.visit_figures``'s a, b, c), and the month in view's villages."""

    def __init__(self, in_view: str) -> None:
        self.in_view = in_view
        self.parts: dict[tuple[str, int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.villages: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.live_as_of: dt.datetime | None = None

    def add(self, part: str, who: int, month: str, numbers: tuple[int, int, int], village: int | None = None) -> None:
        for n, value in enumerate(numbers):
            self.parts[(part, who, month)][n] += value
            if village is not None and part == "coverage" and month == self.in_view:
                self.villages[village][n] += value

    def part(self, name: str, width: int = 3) -> dict[tuple[int, str], Any]:
        return {(who, month): tuple(v[:width]) for (part, who, month), v in self.parts.items() if part == name}


async def _visit_tallies(scope: Scope, months: list[dt.date], suppliers: dict[int, int]) -> _Tallies:
    """Rolled-up months from ``OversightFigure``; the others (this month, and any not rolled up yet,
    which a job is asked to roll up) in one live pass."""
    in_view = months[-1]
    tallies = _Tallies(month_key(in_view))
    done = await rollup.rolled(months)
    await rollup.refresh_if_stale(months, done)
    tallies.live_as_of = done.get(rollup.first_live_month())
    for r in await rollup.figures(scope, sorted(done)):
        key = month_key(_date(r["month"]))
        if r["contract"] is not None:
            tallies.add(
                "coverage", r["contract"], key, (r["households_due"], r["households_met"], r["households_unvisited"])
            )
        else:
            tallies.add("proof", r["organisation"], key, (r["visits_completed"], r["visits_verified"], r["visits_evv"]))
            tallies.add("on_time", r["organisation"], key, (r["on_time_judged"], r["on_time"], 0))
    if in_view in done:
        for r in await rollup.figures(scope, [in_view], by_village=True):
            tallies.villages[r["village"]] = [r["households_due"], r["households_met"], r["households_unvisited"]]
    live = [m for m in months if m not in done]
    if live:
        live_keys = {month_key(m) for m in live}
        until = month_end(months[-1]) + dt.timedelta(days=1)
        rows = await queries.visit_figures(
            scope,
            live[0],
            until,
            await periods(live, suppliers),
            await limits(),
            by_village=("coverage",) if in_view not in done else (),
        )
        for r in rows:
            if r["month"] in live_keys:
                who = r["contract"] if r["part"] == "coverage" else r["organisation"]
                tallies.add(r["part"], who, r["month"], (r["a"], r["b"], r["c"]), r["village"])
    return tallies


# Care homes' record counts of months before the last two, per scope and window, for the day: a year
# of a hospital's records is ~400,000 rows and counting them took most of a city dashboard's time.
# A record entered late for an old month shows the next day, as the visit roll-up's months do.
_care_memo: dict[tuple[Scope, dt.date, dt.date, dt.date], list[dict[str, Any]]] = {}


async def _care_rows(scope: Scope, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    today = local_today()
    live_from = min(max(since, (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)), until)
    rows: list[dict[str, Any]] = []
    if since < live_from:
        key = (scope, since, live_from, today)
        if key not in _care_memo:
            if len(_care_memo) > 512:
                _care_memo.clear()
            _care_memo[key] = await queries.care_records(scope, since, live_from)
        rows += _care_memo[key]
    if live_from < until:
        rows += await queries.care_records(scope, live_from, until)
    return rows


async def collect(scope: Scope, months: list[dt.date], *, residential: bool = True) -> Collected:
    """Every figure of the window (its last month is the one in view): the visit figures (see
    ``_visit_tallies``), findings, illnesses and residential care (see ``_care_rows``)."""
    suppliers = await home_care_contracts(scope)
    since, until = months[0], month_end(months[-1]) + dt.timedelta(days=1)
    tallies = await _visit_tallies(scope, months, suppliers)
    findings: dict[tuple[int | None, str], Counter[str]] = defaultdict(Counter)
    for r in await queries.findings(scope, months[0], months[-1]):
        findings[(r["organisation"], month_key(_date(r["month"])))][r["clause"]] += r["findings"]
    illness = [
        (r["organisation"], r["month"], None if r["hours"] is None else float(r["hours"]))
        for r in await queries.illness_responses(scope, since, until)
    ]
    care: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    resident_days: dict[tuple[int, str], int] = {}
    if residential:
        facilities = await _facilities(scope)
        for r in await _care_rows(scope, since, until):
            care[(r["facility"], r["month"])][r["outcome"]] += r["n"]
        resident_days = await _resident_days(facilities, months)
    return Collected(
        months=[month_key(m) for m in months],
        coverage=tallies.part("coverage"),
        suppliers=suppliers,
        proof=tallies.part("proof"),
        on_time=tallies.part("on_time", 2),
        findings=dict(findings),
        illness=illness,
        villages={village: (due, met, unvisited) for village, (due, met, unvisited) in tallies.villages.items()},
        care=dict(care),
        resident_days=resident_days,
        live_as_of=tallies.live_as_of,
    )


# --- from the collected rows to figures -------------------------------------------------------------


def figures(c: Collected, month: str, organisation_id: int | None = None) -> Figures:
    """One month's figures of the whole scope, or of one provider within it."""
    mine = (lambda org: org == organisation_id) if organisation_id is not None else (lambda org: True)
    due = met = unvisited = 0
    for (contract, key), (d, m, u) in c.coverage.items():
        if key == month and mine(c.suppliers.get(contract)):
            due, met, unvisited = due + d, met + m, unvisited + u
    completed = verified = evv = 0
    for (org, key), (total, ok, proven) in c.proof.items():
        if key == month and mine(org):
            completed, verified, evv = completed + total, verified + ok, evv + proven
    judged = in_time = 0
    for (org, key), (j, t) in c.on_time.items():
        if key == month and mine(org):
            judged, in_time = judged + j, in_time + t
    clauses: Counter[str] = Counter()
    for (found_against, key), counts in c.findings.items():
        if key == month and mine(found_against):
            clauses.update(counts)
    hours = [h for org, key, h in c.illness if key == month and mine(org)]
    answered = [h for h in hours if h is not None]
    within = sum(1 for h in answered if h <= scoring.ILLNESS_RESPONSE_HOURS)
    return Figures(
        month=month,
        households_due=due,
        households_met=met,
        households_unvisited=unvisited,
        coverage=_share(met, due),
        visits_completed=completed,
        visits_verified=verified,
        visits_evv=evv,
        verified_rate=_share(evv, completed),
        on_time_judged=judged,
        on_time=in_time,
        on_time_rate=_share(in_time, judged),
        findings=sum(clauses.values()),
        findings_by_clause=dict(sorted(clauses.items())),
        findings_per_100=_per_100(clauses, due),
        illness_reported=len(hours),
        illness_answered=len(answered),
        illness_within_target=within,
        illness_rate=_share(within, len(hours)),
        illness_median_hours=round(statistics.median(answered), 1) if answered else None,
    )


def _per_100(clauses: dict[str, int], due: int) -> float | None:
    return round(100 * scoring.weighted_findings(clauses) / due, 1) if due else None


def _score(f: Figures) -> scoring.Score:
    return scoring.score(
        scoring.Month(
            coverage=f.coverage,
            verified=f.verified_rate,
            on_time=f.on_time_rate,
            illness=f.illness_rate,
            households_due=f.households_due,
            findings_by_clause=f.findings_by_clause,
        )
    )


def _empty(f: Figures) -> bool:
    return not (f.households_due or f.visits_completed or f.findings or f.illness_reported)


def provider_rows(c: Collected, month: str, names: dict[int, str]) -> list[ProviderRow]:
    """The providers with anything to show in the window, ranked by the month's score (best first)."""
    rows = []
    for org, name in names.items():
        trend = [figures(c, m, org) for m in c.months]
        if all(_empty(f) for f in trend):
            continue
        scores = [_score(f) for f in trend]
        current = scores[c.months.index(month)]
        rows.append(
            ProviderRow(
                organisation_id=org,
                name=name,
                figures=trend[c.months.index(month)],
                trend=trend,
                score=current.score,
                score_trend=[s.score for s in scores],
                rank=None,
                reasons=current.reasons,
            )
        )
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), r.name))
    for n, row in enumerate(r for r in rows if r.score is not None):
        row.rank = n + 1
    return rows


def facility_rows(c: Collected, names: dict[int, str], month: str) -> list[FacilityRow]:
    rows = []
    for org, name in sorted(names.items(), key=lambda x: x[1]):
        trend = []
        for key in c.months:
            days = c.resident_days.get((org, key), 0)
            counts = c.care.get((org, key), Counter())
            doses = sum(n for outcome, n in counts.items() if outcome != "record")
            trend.append(
                FacilityFigures(
                    month=key,
                    resident_days=days,
                    service_records=counts["record"],
                    records_per_resident_day=round(counts["record"] / days, 2) if days else None,
                    doses_recorded=doses,
                    doses_given=counts[DoseOutcome.given.value],
                    doses_missed=counts[DoseOutcome.missed.value],
                    doses_per_resident_day=round(counts[DoseOutcome.given.value] / days, 2) if days else None,
                )
            )
        current = trend[c.months.index(month)]
        rate = current.records_per_resident_day
        rows.append(
            FacilityRow(
                organisation_id=org,
                name=name,
                figures=current,
                trend=trend,
                below_target=rate is not None and rate < scoring.RECORDS_PER_RESIDENT_DAY_TARGET,
            )
        )
    return rows


def clause_counts(counts: dict[str, int], titles: dict[str, str]) -> list[ClauseCount]:
    return [
        ClauseCount(clause=k, label=titles.get(k, k), findings=n)
        for k, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    ]


async def _names(ids: Iterable[int | None], kind: OrganisationKind) -> dict[int, str]:
    wanted = [i for i in set(ids) if i is not None]
    if not wanted:
        return {}
    rows = await Organisation.select(Organisation.id, Organisation.name).where(
        Organisation.id.is_in(wanted) & (Organisation.kind == kind.value)
    )
    return {r["id"]: r["name"] for r in rows}


async def contract_rows(
    principal: Principal, c: Collected, month: str, supplier: int | None = None
) -> list[ContractRow]:
    """The home-care contracts the caller may see with households in view, and their budget year."""
    year = int(month[:4])
    in_view = {contract for contract, key in c.coverage if key == month}
    where = visible_contracts(principal) & Contract.id.is_in(list(in_view) or [-1])
    if supplier is not None:
        where &= Contract.supplier == supplier
    rows = await Contract.select(Contract.id, Contract.code, Contract.supplier, Contract.supplier._.name).where(where)
    money = {b.key: b for b in (await budget(principal, year, "contract", local_today())).rows}
    found = []
    for r in sorted(rows, key=lambda r: r["code"]):
        due, met, unvisited = c.coverage[(r["id"], month)]
        b = money.get(r["code"])
        found.append(
            ContractRow(
                contract_id=r["id"],
                code=r["code"],
                title=b.label if b else r["code"],
                supplier_id=r["supplier"],
                supplier_name=r["supplier.name"],
                households_due=due,
                households_met=met,
                households_unvisited=unvisited,
                coverage=_share(met, due),
                year=year,
                committed_fen=b.committed_fen if b else 0,
                delivered_fen=b.delivered_fen if b else 0,
                paid_fen=b.paid_fen if b else 0,
                remaining_fen=b.remaining_fen if b else 0,
            )
        )
    return found


async def village_rows(c: Collected) -> list[VillageRow]:
    """Villages with households not visited as required in the month in view, the most first."""
    short = {v: t for v, t in c.villages.items() if t[1] < t[0]}
    if not short:
        return []
    places = {
        p["id"]: p
        for p in await Region.select(Region.id, Region.name, Region.parent._.name).where(Region.id.is_in(list(short)))
    }
    found = [
        VillageRow(
            village_id=village,
            village_name=places[village]["name"],
            township_name=places[village]["parent.name"],
            households_due=due,
            households_met=met,
            households_short=due - met - unvisited,
            households_unvisited=unvisited,
        )
        for village, (due, met, unvisited) in short.items()
    ]
    found.sort(key=lambda v: (-(v.households_due - v.households_met), -v.households_unvisited, v.village_name))
    return found


def _trimmed(c: Collected, month: str) -> Collected:
    """Leading months with nothing at all left out (before the programme began)."""
    keep = list(c.months)
    while (
        len(keep) > 1
        and keep[0] != month
        and _empty(figures(c, keep[0]))
        and not any(days for (_, key), days in c.resident_days.items() if key == keep[0])
    ):
        keep.pop(0)
    return msgspec.structs.replace(c, months=keep)


# --- the answers -------------------------------------------------------------------------------------


def _scope(place: Place, organisation_id: int | None = None) -> Scope:
    return Scope(region_path=place.path, whole_city=place.level == RegionLevel.city, organisation_id=organisation_id)


def _sees_care_homes(principal: Principal) -> bool:
    return principal.role in (Role.city_admin, Role.county_auditor)


async def _ranked(
    principal: Principal, place: Place, month: dt.date
) -> tuple[Collected, list[ProviderRow], list[FacilityRow]]:
    c = _trimmed(await collect(_scope(place), window(month), residential=_sees_care_homes(principal)), month_key(month))
    key = month_key(month)
    organisations = [org for org, _ in c.proof] + [org for org, _ in c.findings] + list(c.suppliers.values())
    providers = provider_rows(c, key, await _names(organisations, OrganisationKind.provider))
    facilities = facility_rows(c, await _facilities(_scope(place)), key) if _sees_care_homes(principal) else []
    return c, providers, facilities


async def dashboard(principal: Principal, region_id: int | None, month_text: str | None) -> Dashboard:
    began = time.perf_counter()
    place = await region_for(principal, region_id)
    month = parse_month(month_text)
    key = month_key(month)
    c, providers, facilities = await _ranked(principal, place, month)
    totals = [figures(c, m) for m in c.months]
    titles = await clause_titles()
    return Dashboard(
        region=place.ref(),
        regions=await _choices(principal, place),
        month=key,
        months=c.months,
        definitions=DEFINITIONS,
        thresholds=THRESHOLDS,
        totals=totals[-1],
        trend=totals,
        providers=providers,
        contracts=await contract_rows(_narrowed(principal, place), c, key),
        findings_by_clause=clause_counts(totals[-1].findings_by_clause, titles),
        clause_titles=titles,
        villages=await village_rows(c),
        facilities=facilities,
        computed_at=dt.datetime.now(dt.UTC),
        seconds=round(time.perf_counter() - began, 3),
        live_as_of=c.live_as_of,
    )


async def scorecards(principal: Principal, region_id: int | None, month_text: str | None) -> Scorecards:
    place = await region_for(principal, region_id)
    month = parse_month(month_text)
    c, providers, facilities = await _ranked(principal, place, month)
    return Scorecards(
        region=place.ref(),
        regions=await _choices(principal, place),
        month=month_key(month),
        months=c.months,
        definitions=DEFINITIONS,
        thresholds=THRESHOLDS,
        providers=providers,
        facilities=facilities,
    )


async def scorecard(
    principal: Principal, organisation_id: int, region_id: int | None, month_text: str | None
) -> Scorecard:
    """One provider's (or care facility's) scorecard: a bureau sees any within its region, ranked
    among the region's providers; a provider's manager only its own, over the whole city."""
    org = (
        await Organisation.select(Organisation.id, Organisation.name, Organisation.kind)
        .where(
            (Organisation.id == organisation_id)
            & Organisation.kind.is_in([OrganisationKind.provider.value, OrganisationKind.facility.value])
        )
        .first()
    )
    own = principal.role == Role.provider_manager and principal.organisation_id == organisation_id
    if org is None or not (own or principal.role in BUREAUS):
        raise not_found("organisation", "服务机构")
    if org["kind"] == OrganisationKind.facility and not (own or _sees_care_homes(principal)):
        raise not_found("organisation", "服务机构")
    month = parse_month(month_text)
    key = month_key(month)
    if own:
        place = await _city()
        c = _trimmed(await collect(_scope(place, organisation_id), window(month)), key)
        providers = provider_rows(c, key, {organisation_id: org["name"]})
        facilities = facility_rows(c, await _facilities(_scope(place, organisation_id)), key)
        ranked_among = None
        viewer = principal
    else:
        place = await region_for(principal, region_id)
        c, providers, facilities = await _ranked(principal, place, month)
        ranked_among = sum(1 for p in providers if p.rank is not None)
        viewer = _narrowed(principal, place)
    provider = next((p for p in providers if p.organisation_id == organisation_id), None)
    titles = await clause_titles()
    if own and provider is not None:
        provider.rank = None  # a provider sees its own score, not where the others stand
    facility = next((f for f in facilities if f.organisation_id == organisation_id), None)
    return Scorecard(
        organisation_id=organisation_id,
        name=org["name"],
        kind=org["kind"],
        region=place.ref(),
        month=key,
        months=c.months,
        definitions=DEFINITIONS,
        thresholds=THRESHOLDS,
        provider=provider,
        ranked_among=ranked_among,
        findings_by_clause=clause_counts(provider.figures.findings_by_clause, titles) if provider else [],
        clause_titles=titles,
        contracts=await contract_rows(viewer, c, key, supplier=organisation_id),
        facility=facility,
    )


async def short_households(
    principal: Principal, region_id: int | None, month_text: str | None, village_id: int
) -> list[ShortHousehold]:
    """A village's households visited on fewer days than their agreement asks, in the month."""
    place = await region_for(principal, region_id)
    village = (
        await Region.select(Region.path)
        .where((Region.id == village_id) & (Region.level == RegionLevel.village.value))
        .first()
    )
    if village is None or not village["path"].startswith(place.path):
        raise not_found("region", "村（社区）")
    month = parse_month(month_text)
    scope = _scope(place)
    suppliers = await home_care_contracts(scope)
    rows = await queries.households_short(scope, await periods([month], suppliers), await limits(), village_id)
    names = await _names([r["supplier"] for r in rows], OrganisationKind.provider)
    return [
        ShortHousehold(
            household_id=r["household"],
            code=r["code"],
            provider_name=names.get(r["supplier"], ""),
            required_days=r["required"],
            visited_days=r["visited"],
        )
        for r in rows
    ]


def describe(d: Dashboard) -> dict[str, Any]:
    """The month's headline numbers, as the report job's result says them."""
    t = d.totals
    return {
        "region": d.region.name,
        "month": d.month,
        "households_due": t.households_due,
        "coverage": scoring.percent(t.coverage),
        "verified_rate": scoring.percent(t.verified_rate),
        "providers": len(d.providers),
    }
