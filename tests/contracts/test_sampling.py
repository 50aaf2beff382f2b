"""Audit samples: a draw is reproducible (same seed, same visits; checked by hand against plain SQL
and SHA-256), only verified visits are drawn, a contradicted call-back becomes one finding against
the provider that the engine leaves alone and settlement deducts once upheld, and a county never
sees another's samples, nor does any provider."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from carepact.dates import day_start, local_today
from tests.contracts.agreement_helpers import AUDITOR, MANAGER, RENHE, at, evaluate, new_household, sign, visit_on
from tests.contracts.helpers import new_contract, organisation_id, region

WEIBIN = "610302"
KANGLE = "陈仓区康乐居家养老服务有限公司"
PERIOD_DAYS = 40


def period() -> dict:
    today = local_today()
    return {"first_day": str(today - dt.timedelta(days=PERIOD_DAYS)), "last_day": str(today)}


async def draw(api, username: str = AUDITOR, **body) -> dict:
    r = await api(username).post("/api/samples", json=period() | body)
    assert r.status_code == 201, r.text
    return r.json()


def weibin_path_in(sql: str) -> bool:
    return "/610302/%" in sql


def drawn_ids(sample: dict) -> list[str]:
    return [v["visit_id"] for v in sample["visits"]]


async def population_by_sql(region_path: str, first: dt.date, last: dt.date) -> dict[int, list[str]]:
    """Verified visits per provider, selected with plain SQL: the rules as DOMAIN states them."""
    from providers.tables import Visit

    rows = await Visit.raw(
        """
        SELECT v.id AS id, v.organisation AS organisation
        FROM visit v JOIN household h ON h.id = v.household JOIN region r ON r.id = h.village
        WHERE r.path LIKE {}
          AND v.status = 'completed'
          AND v.review <> 'rejected'
          AND (v.presence = 'qr' OR (v.presence = 'manual' AND v.review = 'approved'))
          AND NOT EXISTS (SELECT 1 FROM visit_flag f WHERE f.visit = v.id AND f.severity = 'serious')
          AND NOT EXISTS (SELECT 1 FROM visit c WHERE c.corrects = v.id)
          AND v.checkin_at >= {} AND v.checkin_at < {}
        """,
        f"{region_path}%",
        day_start(first),
        day_start(last + dt.timedelta(days=1)),
    )
    population: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        population[r["organisation"]].append(str(r["id"]))
    return population


async def test_the_same_seed_draws_the_same_verified_visits(api, world) -> None:
    first = draw_one = await draw(api, seed="county-audit-2026", per_provider=4, note="第一次")
    again = await draw(api, seed="county-audit-2026", per_provider=4, note="第二次")
    assert first["id"] != again["id"]
    assert first["visits"], "the pilot's visits are a population"
    assert drawn_ids(again) == drawn_ids(first)
    assert [p["digest"] for p in again["providers"]] == [p["digest"] for p in first["providers"]]
    assert first["seed"] == "county-audit-2026"
    # The exact query, as SQL: the verified-visit rules and the region are in it.
    assert "visit_flag" in first["population_query"] and weibin_path_in(first["population_query"])

    # By hand: the same population by plain SQL, each visit's SHA-256("seed:id"), the smallest four.
    weibin = await region(WEIBIN)
    today = local_today()
    population = await population_by_sql(weibin["path"], today - dt.timedelta(days=PERIOD_DAYS), today)
    assert first["population_size"] == sum(len(v) for v in population.values())
    expected = []
    for org in sorted(population):
        ranked = sorted(population[org], key=lambda i: hashlib.sha256(f"county-audit-2026:{i}".encode()).hexdigest())
        expected += ranked[:4]
    assert drawn_ids(first) == expected
    for provider in first["providers"]:
        ids = sorted(population[provider["organisation_id"]], key=lambda i: i)
        assert provider["population"] == len(ids)
        assert provider["drawn"] == min(4, len(ids))
    assert {v["organisation_id"] for v in draw_one["visits"]} <= set(population)

    other = await draw(api, seed="another-seed", per_provider=4)
    assert drawn_ids(other) != drawn_ids(first)
    assert sorted(drawn_ids(other)) != sorted(drawn_ids(first))


async def test_a_generated_seed_is_recorded_and_draws_the_same_again(api, world) -> None:
    sample = await draw(api, per_provider=3)
    assert len(sample["seed"]) == 16
    again = await draw(api, seed=sample["seed"], per_provider=3)
    assert drawn_ids(again) == drawn_ids(sample)
    listed = (await api(AUDITOR).get("/api/samples")).json()["items"]
    assert {s["id"] for s in listed} >= {sample["id"], again["id"]}
    assert next(s for s in listed if s["id"] == sample["id"])["seed"] == sample["seed"]


async def test_only_verified_visits_of_the_chosen_providers_are_drawn(api, world) -> None:
    from contracts.delivery import verified_visit
    from providers.tables import Visit

    renhe, kangle = await organisation_id(RENHE), await organisation_id(KANGLE)
    sample = await draw(api, seed="all-of-them", per_provider=100, organisation_ids=[renhe, kangle])
    ids = [uuid.UUID(i) for i in drawn_ids(sample)]
    assert ids
    assert await Visit.count().where(Visit.id.is_in(ids) & verified_visit()) == len(ids)
    assert {v["organisation_id"] for v in sample["visits"]} == {renhe}
    by_org = {p["organisation_id"]: p for p in sample["providers"]}
    assert by_org[kangle]["population"] == 0 and by_org[kangle]["drawn"] == 0  # serves no household in 渭滨区
    # Every sampled visit links to its detail, which the auditor may open.
    r = await api(AUDITOR).get(f"/api/visits/{ids[0]}")
    assert r.status_code == 200


@settings(max_examples=60, deadline=None)
@given(
    visits=st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 10_000), st.uuids()),
        min_size=0,
        max_size=40,
        unique_by=lambda v: v[2],
    ),
    per_provider=st.integers(1, 8),
    seed=st.text(alphabet="abcdef0123456789", min_size=1, max_size=12),
    shuffle=st.randoms(),
)
def test_the_draw_depends_on_the_seed_and_the_population_only(visits, per_provider, seed, shuffle) -> None:
    from contracts.sampling.services import draw as draw_visits

    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    rows = [
        {"id": vid, "organisation": org, "household": org * 10, "checkin_at": base + dt.timedelta(minutes=m)}
        for org, m, vid in visits
    ]
    drawn = draw_visits(rows, seed, per_provider)
    shuffled = list(rows)
    shuffle.shuffle(shuffled)
    assert draw_visits(shuffled, seed, per_provider) == drawn
    per_org = defaultdict(list)
    for d in drawn:
        per_org[d.organisation_id].append(d)
    for org in {r["organisation"] for r in rows}:
        available = [r for r in rows if r["organisation"] == org]
        assert len(per_org[org]) == min(per_provider, len(available))
        # Nothing left out ranks before anything drawn.
        left = {str(r["id"]) for r in available} - {d.visit_id for d in per_org[org]}
        if left and per_org[org]:
            assert max(d.draw_number for d in per_org[org]) < min(
                hashlib.sha256(f"{seed}:{i}".encode()).hexdigest() for i in left
            )


async def test_a_draw_outside_the_callers_scope_or_period_is_refused(api, world) -> None:
    weibin = await region(WEIBIN)
    r = await api("jintai_auditor").post("/api/samples", json=period() | {"region_id": weibin["id"]})
    assert r.status_code == 404 and r.json()["code"] == "region.not_found"
    facility = await organisation_id("宝鸡市康宁精神康复医院")
    r = await api(AUDITOR).post("/api/samples", json=period() | {"organisation_ids": [facility]})
    assert r.status_code == 404 and r.json()["code"] == "organisation.not_found"
    today = local_today()
    r = await api(AUDITOR).post(
        "/api/samples", json={"first_day": str(today), "last_day": str(today - dt.timedelta(days=1))}
    )
    assert r.status_code == 400 and r.json()["code"] == "period.invalid" and "结束日期" in r.json()["message"]
    r = await api(AUDITOR).post("/api/samples", json=period() | {"seed": "不行"})
    assert r.status_code == 400
    for username in (MANAGER, "weibin_township", "weibin_worker"):
        r = await api(username).post("/api/samples", json=period())
        assert r.status_code in (403, 404), username


async def test_other_counties_and_every_provider_get_404(api, world) -> None:
    sample = await draw(api, seed="private", per_provider=2)
    visit_id = sample["visits"][0]["visit_id"]
    outcome = {"outcome": "confirmed", "method": "phone_callback"}
    for username in ("jintai_auditor", MANAGER, "kangle_manager", "weibin_township", "weibin_worker"):
        client = api(username)
        r = await client.get(f"/api/samples/{sample['id']}")
        assert r.status_code == 404 and r.json()["code"] == "audit_sample.not_found", username
        r = await client.post(f"/api/samples/{sample['id']}/visits/{visit_id}/outcome", json=outcome)
        assert r.status_code == 404, username
        listed = (await client.get("/api/samples")).json()["items"]
        assert sample["id"] not in {s["id"] for s in listed}, username
    # The city sees every county's.
    assert (await api("city_admin").get(f"/api/samples/{sample['id']}")).status_code == 200


async def sampled(api, household: int, day: dt.date) -> tuple[dict, str]:
    """A sample of every renhe visit in 渭滨区 on one day (so the household's visit is in it)."""
    sample = await draw(
        api,
        seed="one-day",
        per_provider=100,
        organisation_ids=[await organisation_id(RENHE)],
        first_day=str(day),
        last_day=str(day),
    )
    mine = [v for v in sample["visits"] if v["household_id"] == household]
    assert len(mine) == 1
    return sample, mine[0]["visit_id"]


async def outcome(api, sample: dict, visit_id: str, **body):
    return await api(AUDITOR).post(f"/api/samples/{sample['id']}/visits/{visit_id}/outcome", json=body)


async def test_a_contradicted_visit_becomes_one_finding_the_engine_leaves_alone(api, world) -> None:
    from carepact.audit.tables import AuditEvent
    from contracts.findings.services import deductions
    from contracts.tables import Finding

    household = await new_household(api, "able")
    day = local_today() - dt.timedelta(days=6)
    assert (await sign(api, household, day - dt.timedelta(days=14))).status_code == 201
    today = local_today()
    contract = await new_contract(
        api,
        supplier=RENHE,
        county_code=WEIBIN,
        households=[household],
        prices={"cleaning": 60_000},
        start=min(today.replace(month=1, day=1), day - dt.timedelta(days=30)),
        end=today.replace(month=12, day=31),
    )
    await visit_on(api, household, at(day, 10), ["cleaning"])
    sample, visit_id = await sampled(api, household, day)

    r = await outcome(api, sample, visit_id, outcome="contradicted", method="phone_callback", note="")
    assert r.status_code == 400 and r.json()["code"] == "audit_sample.note_required"
    assert r.json()["fields"][0]["field"] == "note"

    r = await outcome(api, sample, visit_id, outcome="contradicted", method="phone_callback", note="老人称当天无人上门")
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["outcome_label"] == "与记录不符" and item["method_label"] == "电话回访"
    assert item["finding_id"] and item["finding_state"] == "open" and item["finding_problem"] == ""

    finding = (await api(AUDITOR).get(f"/api/findings/{item['finding_id']}")).json()
    assert finding["clause_id"] == "sample_contradicted"
    assert finding["clause_title"] == "抽查核实与服务记录不符"
    assert finding["clause_kind_label"] == "抽查核实"
    assert "随机抽查" in finding["clause_text"]
    assert finding["organisation_name"] == RENHE and finding["units"] == 1
    assert finding["summary"] == "电话回访核实与服务记录不符：老人称当天无人上门"
    assert [v["id"] for v in finding["visits"]] == [visit_id]
    assert finding["evidence"]["note"] == "老人称当天无人上门"
    assert finding["month"] == f"{day:%Y-%m}"
    vocabulary = (await api(AUDITOR).get("/api/findings/vocabulary")).json()
    assert vocabulary["clause_kinds"]["audit_sample"] == "抽查核实"
    assert vocabulary["clauses"]["sample_contradicted"] == "抽查核实与服务记录不符"
    # The provider sees it among its findings, and may explain it.
    mine = (
        await api(MANAGER).get("/api/findings", params={"clause_id": "sample_contradicted", "page_size": 200})
    ).json()
    assert item["finding_id"] in {f["id"] for f in mine["items"]}
    events = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.action == "audit_sample.outcome") & (AuditEvent.object_id == str(sample["id"]))
    )
    assert len(events) == 1

    # Recorded again, and contradicted in a second sample: still one finding for the visit.
    again, same_visit = await sampled(api, household, day)
    assert same_visit == visit_id
    r = await outcome(api, again, visit_id, outcome="contradicted", method="revisit", note="入户复核，邻居证实无人来过")
    assert r.json()["finding_id"] == item["finding_id"]
    assert await Finding.count().where(Finding.key.like(f"%:sample_contradicted:visit:{visit_id}")) == 1

    # The engine's nightly run neither removes nor resolves it.
    await evaluate(api, household)
    assert (await api(AUDITOR).get(f"/api/findings/{item['finding_id']}")).json()["state"] == "open"

    # Found true after all in both samples: it no longer holds; contradicted again: back to the provider.
    for s in (sample, again):
        r = await outcome(api, s, visit_id, outcome="confirmed", method="revisit", note="")
        assert r.status_code == 200 and r.json()["finding_id"] is None
    assert (await api(AUDITOR).get(f"/api/findings/{item['finding_id']}")).json()["state"] == "resolved"
    r = await outcome(api, sample, visit_id, outcome="contradicted", method="revisit", note="复核确认无人上门")
    assert r.json()["finding_id"] == item["finding_id"] and r.json()["finding_state"] == "open"

    # Upheld by the county: deducted from the month's settlement of the provider's contract.
    r = await api(AUDITOR).post(
        f"/api/findings/{item['finding_id']}/decide", json={"decision": "uphold", "comment": "回访与复核均证实未服务"}
    )
    assert r.status_code == 200, r.text
    claims = await deductions(contract["id"], day.replace(day=1))
    assert [c.reference for c in claims] == [f"finding:{item['finding_id']}"]
    assert "抽查核实与服务记录不符" in claims[0].reason and claims[0].amount_fen > 0
    # A decided finding fixes the outcome.
    r = await outcome(api, sample, visit_id, outcome="confirmed", method="phone_callback", note="")
    assert r.status_code == 409 and r.json()["code"] == "audit_sample.finding_decided"


async def test_a_contradicted_visit_without_an_agreement_is_recorded_without_a_finding(api, world) -> None:
    household = await new_household(api, "able")  # no agreement signed
    day = local_today() - dt.timedelta(days=3)
    await visit_on(api, household, at(day, 11), ["cleaning"])
    sample, visit_id = await sampled(api, household, day)
    r = await outcome(api, sample, visit_id, outcome="contradicted", method="revisit", note="现场无人居住")
    assert r.status_code == 200, r.text
    assert r.json()["finding_id"] is None and "没有生效的服务协议" in r.json()["finding_problem"]
    detail = (await api(AUDITOR).get(f"/api/samples/{sample['id']}")).json()
    assert detail["contradicted_count"] == 1 and detail["checked_count"] == 1


def test_draw_numbers_are_spread_evenly() -> None:
    """A sanity check of the method: over many ids the first hex digit of the draw number is uniform."""
    from contracts.sampling.services import draw_number

    rng = random.Random(7)
    counts = defaultdict(int)
    for _ in range(16_000):
        counts[draw_number("seed", uuid.UUID(int=rng.getrandbits(128)))[0]] += 1
    assert len(counts) == 16 and all(800 < n < 1200 for n in counts.values())
