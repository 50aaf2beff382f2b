"""The county audit on known data: a township of its own (two villages) in 麟游县, two providers, two
months of visits written straight into the tables, findings and illnesses; every figure the
dashboard shows is counted again here by hand from the seeds, the worse provider ranks lower with
its reasons, and nobody sees figures outside their region or organisation.

岐山善德 (good): four households able to care for themselves, visited weekly by door card with a photo.
陇州乐龄 (worse): one visited weekly but entered by hand (approved: paid, not proven electronically);
one visited every other week (short and late); one never visited; one partly unable (three days a
week asked) visited weekly by door card without a photo. Plus findings (one an audit sample that
contradicted a visit) and an illness nobody answered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import defaultdict

import pytest

from carepact.dates import SHANGHAI, local_today
from tests.contracts.helpers import new_code, new_contract, organisation_id
from tests.support import household_body

GOOD_NAME = "岐山县善德社会工作服务社"  # an ordinary provider in the demo
WORSE_NAME = "陇州乐龄养老服务中心"  # one the demo makes worse (providers.visits.demo.QUALITY)
COUNTY = "610329"  # 麟游县: no other test writes there
TOWNSHIP_CODE = "610329901"
VILLAGE_CODES = ("610329901001", "610329901002")
AUDITOR = "linyou_auditor"
PER_WEEK = {"able": 1, "partly_unable": 3}
MAX_GAP = {"able": 10, "partly_unable": 4}


def months_back(n: int) -> dt.date:
    month = local_today().replace(day=1)
    for _ in range(n):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def month_days(month: dt.date) -> list[dt.date]:
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return [month + dt.timedelta(days=n) for n in range((following - month).days)]


M1, M2 = months_back(2), months_back(1)
KEY = f"{M2:%Y-%m}"


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


async def _township() -> dict:
    """A township with two villages under 麟游县, made for this module (its figures are only ours)."""
    from carepact.registry.tables import Region

    county = await Region.select(Region.id, Region.path).where(Region.code == COUNTY).first()
    path = f"{county['path']}{TOWNSHIP_CODE}/"
    township = (
        await Region.insert(
            Region(code=TOWNSHIP_CODE, name="审核试点镇", level="township", parent=county["id"], path=path)
        ).returning(Region.id)
    )[0]["id"]
    villages = []
    for n, code in enumerate(VILLAGE_CODES, 1):
        row = await Region.insert(
            Region(code=code, name=f"试点{n}村", level="village", parent=township, path=f"{path}{code}/")
        ).returning(Region.id)
        villages.append(row[0]["id"])
    return {"id": township, "path": path, "villages": villages}


async def _worker(org: int) -> int:
    from carepact.accounts.tables import Account

    row = (
        await Account.select(Account.id).where((Account.organisation == org) & (Account.role == "field_worker")).first()
    )
    return row["id"]


async def _agreements(households: dict[int, tuple[int, str]]) -> dict[int, int]:
    """household → agreement id, each signed from the first day of M1 with its provider as caregiver."""
    from carepact.registry.tables import Organisation, Person
    from contracts.tables import Agreement, AgreementTemplate

    template = await AgreementTemplate.select(AgreementTemplate.id).where(AgreementTemplate.version == 1).first()
    office = await Organisation.select(Organisation.id).where(Organisation.kind == "township_office").first()
    persons = {
        r["household"]: r["id"]
        for r in await Person.select(Person.id, Person.household).where(Person.household.is_in(list(households)))
    }
    ids = {}
    for household, (org, level) in households.items():
        row = await Agreement.insert(
            Agreement(
                code=new_code("XY"),
                household=household,
                person=persons[household],
                template=template["id"],
                township_office=office["id"],
                caregiver_kind="provider",
                caregiver_organisation=org,
                caregiver_name="服务机构",
                care_level=level,
                monthly_fee_fen=30000 if level == "able" else 60000,
                starts_on=M1,
                signed_on=M1 - dt.timedelta(days=3),
                signed_by_name="测试",
            )
        ).returning(Agreement.id)
        ids[household] = row[0]["id"]
    return ids


async def _seed(visits: list[dict]) -> None:
    from carepact.media.tables import Photo
    from providers.tables import Visit, VisitPhoto, VisitService

    for v in visits:
        await Visit.insert(
            Visit(
                id=v["id"],
                household=v["household"],
                worker=v["worker"],
                organisation=v["org"],
                status="completed",
                presence=v["presence"],
                manual_reason="card_damaged" if v["presence"] == "manual" else "",
                review=v["review"],
                checkin_at=v["at"],
                checkin_device_at=v["at"],
                checkin_received_at=v["at"],
                checkout_at=v["at"] + dt.timedelta(minutes=45),
                duration_minutes=45,
                checkin_digest="seeded",
            )
        )
        await VisitService.insert(VisitService(visit=v["id"], service="personal_care"))
        if v["photo"]:
            photo = uuid.uuid4()
            await Photo.insert(
                Photo(id=photo, household=v["household"], status="ready", sha256=photo.hex, original_key="seeded")
            )
            await VisitPhoto.insert(VisitPhoto(visit=v["id"], photo=photo, stage="checkin"))


async def _finding(agreement: int, household: int, org: int, clause: str, state: str = "open") -> None:
    from contracts.tables import Finding

    await Finding.insert(
        Finding(
            key=f"test-oversight:{uuid.uuid4().hex}",
            agreement=agreement,
            household=household,
            organisation=org,
            clause_id=clause,
            clause_kind=clause,
            period_key=KEY,
            month=M2,
            period_start=M2,
            period_end=M2,
            units=1,
            summary="测试",
            digest="seeded",
            state=state,
        )
    )


@pytest.fixture(scope="module")
async def pilot(api, world) -> dict:
    """The township, its households, contracts, agreements, visits, findings and illnesses."""
    from contracts.tables import SickEpisode

    township = await _township()
    good_org, worse_org = await organisation_id(GOOD_NAME), await organisation_id(WORSE_NAME)
    workers = {good_org: await _worker(good_org), worse_org: await _worker(worse_org)}

    async def register(village: int, level: str) -> int:
        from carepact.registry.tables import Region

        code = (await Region.select(Region.code).where(Region.id == village).first())["code"]
        r = await api("city_admin").post("/api/households", json=household_body(code, care_level=level))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    v1, v2 = township["villages"]
    good = [await register(v1, "able") for _ in range(4)]
    b_manual, b_fortnight = await register(v1, "able"), await register(v1, "able")
    b_never, b_partly = await register(v2, "able"), await register(v2, "partly_unable")
    worse = [b_manual, b_fortnight, b_never, b_partly]
    end = local_today() + dt.timedelta(days=60)
    contracts = {
        good_org: (await new_contract(api, supplier=GOOD_NAME, county_code=COUNTY, households=good, start=M1, end=end))[
            "id"
        ],
        worse_org: (
            await new_contract(api, supplier=WORSE_NAME, county_code=COUNTY, households=worse, start=M1, end=end)
        )["id"],
    }
    levels = (
        {h: (good_org, "able") for h in good}
        | {h: (worse_org, "able") for h in worse[:3]}
        | {b_partly: (worse_org, "partly_unable")}
    )
    agreements = await _agreements(levels)

    days = [d for d in month_days(M1) + month_days(M2)]
    weekly = [d for d in days if (d - M1).days % 7 == 0]
    fortnightly = [d for d in days if (d - M1).days % 14 == 0]
    visits = []

    def add(household: int, day: dt.date, presence: str, review: str, photo: bool) -> None:
        org = levels[household][0]
        visits.append(
            {
                "id": uuid.uuid4(),
                "household": household,
                "org": org,
                "worker": workers[org],
                "at": at(day),
                "presence": presence,
                "review": review,
                "photo": photo,
            }
        )

    for household in good:
        for day in weekly:
            add(household, day, "qr", "not_required", True)
    for day in weekly:
        add(b_manual, day, "manual", "approved", False)
        add(b_partly, day, "qr", "not_required", False)
    for day in fortnightly:
        add(b_fortnight, day, "qr", "not_required", True)
    await _seed(visits)

    # One of 善德's households falls ill at 05:00 on the day of its 10:00 visit: answered in 5 hours.
    ill_day = next(d for d in weekly if d >= M2 + dt.timedelta(days=3))
    await SickEpisode.insert(
        SickEpisode(
            household=good[0],
            kind="ill_at_home",
            started_at=at(ill_day, 5),
            ended_at=at(ill_day + dt.timedelta(days=2)),
            end_reason="recovered",
            reported_by_name="测试",
        ),
        SickEpisode(
            household=b_never,
            kind="ill_at_home",
            started_at=at(M2 + dt.timedelta(days=5), 9),
            ended_at=at(M2 + dt.timedelta(days=9)),
            end_reason="recovered",
            reported_by_name="测试",
        ),
    )
    for household, clause in [
        (b_fortnight, "visits_per_week"),
        (b_fortnight, "longest_gap"),
        (b_never, "visits_per_week"),
        (b_manual, "sample_contradicted"),
    ]:
        await _finding(agreements[household], household, worse_org, clause)
    await _finding(
        agreements[b_never], b_never, worse_org, "longest_gap", state="accepted"
    )  # explained away: not counted
    await _finding(agreements[good[1]], good[1], good_org, "shortest_visit")
    return {
        "township": township,
        "good_org": good_org,
        "worse_org": worse_org,
        "good": good,
        "worse": worse,
        "levels": levels,
        "visits": visits,
        "contracts": contracts,
    }


# --- the figures, counted again by hand -------------------------------------------------------------


def _verified(v: dict) -> bool:
    return v["presence"] == "qr" or (v["presence"] == "manual" and v["review"] == "approved")


def expected(pilot: dict, org: int | None = None) -> dict:
    """M2's figures from the seeds: plain loops over our own list, none of the platform's code."""
    mine = [h for h, (o, _) in pilot["levels"].items() if org in (None, o)]
    in_m2 = [v for v in pilot["visits"] if v["at"].date().replace(day=1) == M2 and v["household"] in mine]
    days_in_month = len(month_days(M2))
    due = met = unvisited = 0
    for h in mine:
        level = pilot["levels"][h][1]
        required = PER_WEEK[level] * days_in_month // 7
        visited = len({v["at"].date() for v in in_m2 if v["household"] == h and _verified(v)})
        due += 1
        met += visited >= required
        unvisited += visited == 0
    evv = sum(1 for v in in_m2 if v["presence"] == "qr" and v["photo"])
    judged = on_time = 0
    by_household = defaultdict(list)
    for v in pilot["visits"]:
        if _verified(v):
            by_household[v["household"]].append(v["at"].date())
    for h in mine:
        previous = M1 - dt.timedelta(days=1)  # the day before the agreement
        for day in sorted(set(by_household[h])):
            if day >= M2:
                judged += 1
                on_time += (day - previous).days <= MAX_GAP[pilot["levels"][h][1]]
            previous = day
    return {
        "households_due": due,
        "households_met": met,
        "households_unvisited": unvisited,
        "visits_completed": len(in_m2),
        "visits_verified": sum(1 for v in in_m2 if _verified(v)),
        "visits_evv": evv,
        "on_time_judged": judged,
        "on_time": on_time,
    }


async def dashboard(api, user: str, pilot: dict, **params) -> dict:
    r = await api(user).get(
        "/api/oversight/dashboard", params={"region_id": pilot["township"]["id"], "month": KEY} | params
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_figures_equal_what_the_seeds_say(api, pilot) -> None:
    d = await dashboard(api, AUDITOR, pilot)
    assert d["region"]["name"] == "审核试点镇" and d["month"] == KEY and d["months"][-1] == KEY
    totals = d["totals"]
    for key, value in expected(pilot).items():
        assert totals[key] == value, key
    # Written out for the reader: 8 households due; 善德's four and the manual-entry one met it.
    assert (totals["households_due"], totals["households_met"], totals["households_unvisited"]) == (8, 5, 1)
    assert totals["coverage"] == pytest.approx(5 / 8)
    assert totals["verified_rate"] == pytest.approx(totals["visits_evv"] / totals["visits_completed"])
    # Standing findings by clause: the accepted one is left out, the audit sample counted.
    assert totals["findings_by_clause"] == {
        "longest_gap": 1,
        "sample_contradicted": 1,
        "shortest_visit": 1,
        "visits_per_week": 2,
    }
    assert totals["illness_reported"] == 2 and totals["illness_answered"] == 1 and totals["illness_within_target"] == 1
    assert totals["illness_median_hours"] == pytest.approx(5.0)
    # The same figures per provider.
    rows = {p["organisation_id"]: p for p in d["providers"]}
    for org in (pilot["good_org"], pilot["worse_org"]):
        for key, value in expected(pilot, org).items():
            assert rows[org]["figures"][key] == value, (org, key)
    # Per contract, with its budget year.
    contracts = {c["contract_id"]: c for c in d["contracts"]}
    assert contracts[pilot["contracts"][pilot["good_org"]]]["coverage"] == 1.0
    worse_row = contracts[pilot["contracts"][pilot["worse_org"]]]
    assert (worse_row["households_due"], worse_row["households_met"], worse_row["households_unvisited"]) == (4, 1, 1)
    assert worse_row["committed_fen"] > 0 and worse_row["year"] == M2.year
    # Every figure says what it means, on screen.
    assert {x["key"] for x in d["definitions"]} >= {"coverage", "verified", "on_time", "illness", "findings", "score"}
    # The trend holds M1 too, and M1's figures are M1's (weekly visits from its first day).
    m1 = next(f for f in d["trend"] if f["month"] == f"{M1:%Y-%m}")
    assert m1["households_due"] == 8 and m1["visits_completed"] > 0


async def test_villages_list_the_households_not_visited_as_required(api, pilot) -> None:
    d = await dashboard(api, AUDITOR, pilot)
    v1, v2 = pilot["township"]["villages"]
    rows = {v["village_id"]: v for v in d["villages"]}
    assert (rows[v1]["households_due"], rows[v1]["households_met"], rows[v1]["households_short"]) == (6, 5, 1)
    assert (rows[v2]["households_short"], rows[v2]["households_unvisited"]) == (1, 1)
    assert d["villages"][0]["village_id"] == v2  # the most households short first
    r = await api(AUDITOR).get(
        f"/api/oversight/villages/{v2}/short-households", params={"region_id": pilot["township"]["id"], "month": KEY}
    )
    assert r.status_code == 200, r.text
    households = {x["household_id"]: x for x in r.json()}
    _, _, b_never, b_partly = pilot["worse"]
    assert set(households) == {b_never, b_partly}
    assert households[b_never]["visited_days"] == 0 and households[b_never]["provider_name"] == WORSE_NAME
    assert households[b_partly]["required_days"] == 3 * len(month_days(M2)) // 7


async def test_the_worse_provider_ranks_lower_with_its_reasons(api, pilot) -> None:
    r = await api(AUDITOR).get("/api/oversight/scorecards", params={"region_id": pilot["township"]["id"], "month": KEY})
    assert r.status_code == 200, r.text
    ranked = r.json()["providers"]
    assert [p["organisation_id"] for p in ranked] == [pilot["good_org"], pilot["worse_org"]]
    good, worse = ranked
    assert (good["rank"], worse["rank"]) == (1, 2) and good["score"] > worse["score"]
    pulled_down = {x["key"]: x for x in worse["reasons"]}
    assert {"coverage", "verified", "on_time", "findings", "illness"} <= set(pulled_down)
    assert all(pulled_down[k]["below_target"] for k in ("coverage", "verified", "on_time", "findings"))
    assert worse["reasons"] == sorted(worse["reasons"], key=lambda x: -x["points_lost"])
    # The contradicted audit sample weighs five findings: (2 + 1 + 5) per 4 households due.
    assert worse["figures"]["findings_per_100"] == pytest.approx(100 * 8 / 4)
    # 善德 loses points only for its one finding (a short visit): one per four households is many.
    assert {x["key"] for x in good["reasons"] if x["below_target"]} <= {"findings"}
    assert {t["key"] for t in r.json()["thresholds"]} >= {"coverage", "verified", "on_time", "findings_per_100"}
    # The scorecard of one provider: its months, its findings by clause, its place.
    r = await api(AUDITOR).get(
        f"/api/oversight/scorecards/{pilot['worse_org']}", params={"region_id": pilot["township"]["id"], "month": KEY}
    )
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["provider"]["rank"] == 2 and card["ranked_among"] == 2
    assert {c["clause"]: c["findings"] for c in card["findings_by_clause"]}["sample_contradicted"] == 1
    assert [c["contract_id"] for c in card["contracts"]] == [pilot["contracts"][pilot["worse_org"]]]
    assert len(card["provider"]["score_trend"]) == len(card["months"])


async def test_a_county_never_sees_another_countys_figures(api, pilot) -> None:
    township = pilot["township"]["id"]
    for user in ("jintai_auditor", "weibin_auditor"):
        r = await api(user).get("/api/oversight/dashboard", params={"region_id": township, "month": KEY})
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "region.not_found"
        r = await api(user).get("/api/oversight/scorecards", params={"region_id": township})
        assert r.status_code == 404
        r = await api(user).get(f"/api/oversight/villages/{pilot['township']['villages'][0]}/short-households")
        assert r.status_code == 404
        r = await api(user).post("/api/oversight/reports", json={"month": KEY, "region_id": township})
        assert r.status_code == 404
    # Their own county's figures hold none of 麟游县's providers' work.
    d = (await api("jintai_auditor").get("/api/oversight/dashboard", params={"month": KEY})).json()
    assert d["region"]["name"] == "金台区"
    assert not {p["organisation_id"] for p in d["providers"]} & {pilot["good_org"], pilot["worse_org"]}
    # The city sees the township, and its county's auditor the whole county including it.
    assert (
        await api("city_admin").get("/api/oversight/dashboard", params={"region_id": township, "month": KEY})
    ).status_code == 200
    county = (await api(AUDITOR).get("/api/oversight/dashboard", params={"month": KEY})).json()
    assert county["region"]["name"] == "麟游县"
    assert county["totals"]["households_due"] >= 8
    # A township officer sees its township's figures, not its county's (above it) nor contracts.
    from carepact.registry.tables import Region

    weibin = await Region.select(Region.id).where(Region.code == "610302").first()
    r = await api("weibin_township").get("/api/oversight/dashboard", params={"month": KEY})
    assert r.status_code == 200 and r.json()["region"]["level"] == "township" and r.json()["contracts"] == []
    assert (
        await api("weibin_township").get("/api/oversight/dashboard", params={"region_id": weibin["id"]})
    ).status_code == 404
    # Other roles see no dashboard at all.
    for user in ("shande_manager", "weibin_worker", "kangning_staff"):
        assert (await api(user).get("/api/oversight/dashboard")).status_code == 403


async def test_a_provider_sees_only_its_own_scorecard(api, pilot) -> None:
    r = await api("shande_manager").get(f"/api/oversight/scorecards/{pilot['good_org']}", params={"month": KEY})
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["name"] == GOOD_NAME and card["region"]["level"] == "city"
    assert card["provider"]["rank"] is None and card["ranked_among"] is None  # not where the others stand
    assert card["provider"]["figures"]["households_due"] >= 4
    r = await api("shande_manager").get(f"/api/oversight/scorecards/{pilot['worse_org']}", params={"month": KEY})
    assert r.status_code == 404
    assert (await api("shande_manager").get("/api/oversight/scorecards")).status_code == 403


async def test_the_monthly_report_job_writes_the_months_figures(api, pilot) -> None:
    r = await api(AUDITOR).post("/api/oversight/reports", json={"month": KEY, "region_id": pilot["township"]["id"]})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(200):
        r = await api(AUDITOR).get(f"/api/jobs/{job['id']}")
        job = r.json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["result"]["coverage"] == "62.5%"
    r = await api(AUDITOR).get(job["download_url"])
    assert r.status_code == 200
    html = r.content.decode()
    assert "审核试点镇" in html and f"{M2.year}年{M2.month}月" in html
    assert "62.5%（5 / 8 户，一次未上门 1 户）" in html
    assert GOOD_NAME in html and WORSE_NAME in html and "抽查核实与服务记录不符" in html
    assert html.count("<svg") >= 2 and "<script" not in html and "<style>" in html  # standalone: prints from disk
    # The same report, printed straight from the app under its CSP: the stylesheet is linked.
    r = await api(AUDITOR).get("/api/oversight/report", params={"month": KEY, "region_id": pilot["township"]["id"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/print.css">' in r.text and "<style>" not in r.text
    # Another county's auditor cannot read the job's file.
    assert (await api("jintai_auditor").get(job["download_url"])).status_code == 404


async def test_a_month_to_come_is_refused(api, pilot) -> None:
    following = (local_today().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    r = await api(AUDITOR).get("/api/oversight/dashboard", params={"month": f"{following:%Y-%m}"})
    assert r.status_code == 400 and r.json()["code"] == "oversight.month_in_future"
    r = await api(AUDITOR).get("/api/oversight/dashboard", params={"month": "2026-13"})
    assert r.status_code == 400
    r = await api(AUDITOR).get("/api/oversight/scorecards", params={"month": "0000-01"})
    assert r.status_code == 400 and r.json()["code"] == "oversight.month_too_early"


def test_the_score_falls_with_findings_by_clause() -> None:
    from contracts.oversight.scoring import Month, score

    base = {"coverage": 1.0, "verified": 1.0, "on_time": 1.0, "illness": None, "households_due": 100}
    clean = score(Month(**base, findings_by_clause={}))
    late = score(Month(**base, findings_by_clause={"longest_gap": 10}))
    contradicted = score(Month(**base, findings_by_clause={"sample_contradicted": 10}))
    unknown = score(Month(**base, findings_by_clause={"a_clause_added_later": 10}))
    assert clean.score == 100 and clean.reasons == []
    assert contradicted.score < late.score == unknown.score < clean.score
    assert [r.key for r in contradicted.reasons] == ["findings"]
    assert (
        score(
            Month(coverage=None, verified=None, on_time=None, illness=None, households_due=0, findings_by_clause={})
        ).score
        is None
    )


async def test_rolled_up_months_read_as_they_were_counted_live(api, pilot) -> None:
    """Months before last month are read from the roll-up; it must say what the live queries say."""
    from carepact.jobs.tables import Job
    from contracts.oversight import inputs, queries, rollup
    from contracts.oversight.queries import Scope

    scope = Scope(region_path=pilot["township"]["path"])
    periods = await inputs.periods([M1], await inputs.home_care_contracts(scope))
    live = await queries.visit_figures(scope, M1, M2, periods, await inputs.limits())
    await rollup.roll_up_month(M1)
    rolled = await rollup.figures(scope, [M1])
    counted = {
        (r["part"], r["contract"] if r["part"] == "coverage" else r["organisation"]): (r["a"], r["b"], r["c"])
        for r in live
    }
    assert {
        ("coverage", r["contract"]): (r["households_due"], r["households_met"], r["households_unvisited"])
        for r in rolled
        if r["contract"]
    } == {k: v for k, v in counted.items() if k[0] == "coverage"}
    assert {
        ("proof", r["organisation"]): (r["visits_completed"], r["visits_verified"], r["visits_evv"])
        for r in rolled
        if not r["contract"]
    } == {k: v for k, v in counted.items() if k[0] == "proof"}
    assert {
        ("on_time", r["organisation"]): (r["on_time_judged"], r["on_time"], 0) for r in rolled if not r["contract"]
    } == {k: v for k, v in counted.items() if k[0] == "on_time"}
    # The dashboard reads M1 from the roll-up now, and says the same.
    d = await dashboard(api, AUDITOR, pilot)
    m1 = next(f for f in d["trend"] if f["month"] == f"{M1:%Y-%m}")
    assert m1["households_due"] == sum(v[0] for k, v in counted.items() if k[0] == "coverage") == 8
    assert m1["visits_evv"] == sum(v[2] for k, v in counted.items() if k[0] == "proof")
    # A dashboard asks for months not rolled up today in the background (once a day per span).
    assert await Job.exists().where(Job.kind == rollup.ROLLUP_JOB)


async def test_the_demo_citys_worse_providers_rank_lower_with_their_reasons(api, world) -> None:
    """The demo's history makes some providers deliberately worse: the city's ranking of last month
    puts every one of them below every other, and says which figures pulled each down."""
    from providers.visits.demo import WORSE_PROVIDERS

    r = await api("city_admin").get("/api/oversight/scorecards", params={"month": KEY})
    assert r.status_code == 200, r.text
    ranked = [p for p in r.json()["providers"] if p["score"] is not None]
    names = [p["name"] for p in ranked]
    assert set(WORSE_PROVIDERS) <= set(names), names
    first_worse = min(names.index(name) for name in WORSE_PROVIDERS)
    assert set(names[first_worse:]) == set(WORSE_PROVIDERS), [(p["name"], p["score"]) for p in ranked]
    for provider in ranked[first_worse:]:
        assert any(reason["below_target"] for reason in provider["reasons"]), provider


async def test_care_home_records_fall_in_their_beijing_month(world) -> None:
    """Residential completeness counts each record and dose in its local (Asia/Shanghai) month,
    including the ones written in the first hours of a month, which are the previous month in UTC."""
    from contracts.oversight import queries
    from providers.tables import CareRecord, DoseRecord, Resident

    facility = {r["id"]: r["facility"] for r in await Resident.select(Resident.id, Resident.facility)}
    today = local_today()
    since, until = (today.replace(day=1) - dt.timedelta(days=40)).replace(day=1), today + dt.timedelta(days=1)
    expected: dict[tuple, int] = defaultdict(int)
    for r in await CareRecord.select(CareRecord.resident, CareRecord.performed_at, CareRecord.service):
        local = r["performed_at"].astimezone(SHANGHAI).date()
        if r["service"] and since <= local < until:
            expected[(facility[r["resident"]], f"{local:%Y-%m}", "record")] += 1
    for r in await DoseRecord.select(DoseRecord.resident, DoseRecord.scheduled_for, DoseRecord.outcome):
        local = r["scheduled_for"].astimezone(SHANGHAI).date()
        if since <= local < until:
            expected[(facility[r["resident"]], f"{local:%Y-%m}", r["outcome"])] += 1
    # A record at 00:30 on the 1st, Beijing time: still the day before in UTC.
    resident = next(iter(facility))
    first = today.replace(day=1)
    early = dt.datetime.combine(first, dt.time(0, 30), tzinfo=SHANGHAI)
    template = await CareRecord.select().where(CareRecord.service != "").first()
    await CareRecord.insert(CareRecord(**{**template, "id": uuid.uuid4(), "resident": resident, "performed_at": early}))
    expected[(facility[resident], f"{first:%Y-%m}", "record")] += 1

    rows = await queries.care_records(queries.Scope(region_path="/", whole_city=True), since, until)
    assert {(r["facility"], r["month"], r["outcome"]): r["n"] for r in rows} == dict(expected)


async def test_a_large_deployment_shows_this_month_as_last_rolled_up(api, world, monkeypatch) -> None:
    """Above CAREPACT_LIVE_MONTH_HOUSEHOLDS (a province), this month is rolled up too instead of
    counted on every view: the dashboard says as of when, its figures are what counting live says,
    and one over an hour old is asked for again."""
    from carepact.jobs.tables import Job
    from contracts.oversight import rollup
    from contracts.oversight.tables import OversightFigure, OversightMonth

    live = rollup.first_live_month()
    key = f"{live:%Y-%m}"
    board = api("city_admin")

    async def figures() -> dict:
        r = await board.get("/api/oversight/dashboard", params={"month": key})
        assert r.status_code == 200, r.text
        return r.json()

    counted = await figures()
    assert counted["live_as_of"] is None  # the test city is small: counted live

    async def large() -> bool:
        return True

    monkeypatch.setattr(rollup, "rolls_this_month", large)
    try:
        asked = await figures()  # not rolled up yet: counted live meanwhile, and the roll-up asked for
        assert asked["live_as_of"] is None and asked["totals"] == counted["totals"]
        assert await Job.exists().where((Job.kind == rollup.ROLLUP_JOB) & Job.key.like(f"%:{key}"))
        await rollup.roll_up([live])
        shown = await figures()
        as_of = dt.datetime.fromisoformat(shown["live_as_of"])
        assert dt.datetime.now(dt.UTC) - as_of < dt.timedelta(minutes=5)
        assert shown["totals"] == counted["totals"] and shown["villages"] == counted["villages"]
        # Over an hour old, it is asked for again (the job's key holds the hour: once an hour).
        await OversightMonth.update({OversightMonth.computed_at: as_of - dt.timedelta(hours=2)}).where(
            OversightMonth.month == live
        )
        await Job.delete().where((Job.kind == rollup.ROLLUP_JOB) & Job.key.like(f"%:{key}"))  # this test's
        stale = await figures()
        assert stale["live_as_of"] is not None and stale["totals"] == counted["totals"]
        assert await Job.exists().where((Job.kind == rollup.ROLLUP_JOB) & Job.key.like(f"%:{key}"))
    finally:
        await Job.delete().where((Job.kind == rollup.ROLLUP_JOB) & Job.key.like(f"%:{key}"))
        await OversightFigure.delete().where(OversightFigure.month == live)
        await OversightMonth.delete().where(OversightMonth.month == live)
