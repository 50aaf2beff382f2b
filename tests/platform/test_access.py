"""Role × region: each account reads and changes only what its region subtree or organisation holds.

The expected scope of every account is computed here from the tables (regions, assignments,
facilities), independently of carepact.accounts.access, and the API is held to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import pytest

from carepact.accounts.tables import Account, Assignment, Role
from carepact.audit.tables import AuditEvent
from carepact.registry.tables import Household, Organisation, OrganisationKind, Person, Region, Resident
from tests.support import csv_file, csv_row, household_body, principal, upload, villages

BUREAU = {Role.city_admin.value, Role.county_auditor.value, Role.township_officer.value}

# Every scoped demo account; city_admin's scope is the whole city, so it has nothing "outside".
SCOPED = [
    "weibin_auditor",
    "jintai_auditor",
    "chencang_auditor",
    "weibin_township",
    "jintai_township",
    "renhe_manager",
    "kangle_manager",
    "weibin_worker",
    "jintai_worker",
    "kangning_staff",
]
EVERYONE = ["city_admin", *SCOPED]

# The account whose objects are the nearest miss for each account: same city, next district;
# same district, other township; same provider, other worker.
NEIGHBOUR = {
    "weibin_auditor": "jintai_auditor",
    "jintai_auditor": "weibin_auditor",
    "chencang_auditor": "kangle_manager",
    "weibin_township": "weibin_auditor",
    "jintai_township": "jintai_auditor",
    "renhe_manager": "kangle_manager",
    "kangle_manager": "renhe_manager",
    "weibin_worker": "jintai_worker",
    "jintai_worker": "weibin_worker",
    "kangning_staff": "city_admin",
}


@dataclass(frozen=True)
class Scope:
    account_id: int
    role: str
    region_path: str | None
    organisation_id: int | None


async def scope_of(username: str) -> Scope:
    row = (
        await Account.select(Account.id, Account.role, Account.region._.path, Account.organisation)
        .where(Account.user._.username == username)
        .first()
    )
    return Scope(row["id"], row["role"], row["region.path"], row["organisation"])


async def expected_households(username: str) -> set[int]:
    s = await scope_of(username)
    if s.role in BUREAU:
        rows = await Household.select(Household.id, Household.village._.path)
        return {r["id"] for r in rows if r["village.path"].startswith(s.region_path)}
    today = dt.date.today()
    open_rows = [
        a
        for a in await Assignment.select()
        if a["starts_on"] <= today and (a["ends_on"] is None or a["ends_on"] >= today)
    ]
    if s.role == Role.provider_manager.value:
        return {a["household"] for a in open_rows if a["organisation"] == s.organisation_id}
    if s.role == Role.field_worker.value:
        return {a["household"] for a in open_rows if a["worker"] == s.account_id}
    return set()


async def expected_residents(username: str) -> set[int]:
    """Resident persons (facility stays) the account may see."""
    s = await scope_of(username)
    rows = await Resident.select(Resident.person, Resident.facility, Resident.facility._.region._.path)
    if s.role in (Role.city_admin.value, Role.county_auditor.value):
        return {r["person"] for r in rows if r["facility.region.path"].startswith(s.region_path)}
    if s.role == Role.care_home_staff.value:
        return {r["person"] for r in rows if r["facility"] == s.organisation_id}
    return set()


def spread(ids: set[int], n: int) -> list[int]:
    """n ids spread evenly over the sorted set (deterministic, covers many counties)."""
    ordered = sorted(ids)
    if len(ordered) <= n:
        return ordered
    step = len(ordered) / n
    return [ordered[int(i * step)] for i in range(n)]


async def person_of(household_id: int) -> dict:
    return await Person.select().where(Person.household == household_id).order_by(Person.id).first()


async def all_pages(client, url: str) -> tuple[list[dict], int]:
    items: list[dict] = []
    page = 1
    while True:
        sep = "&" if "?" in url else "?"
        r = await client.get(f"{url}{sep}page={page}&page_size=200")
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items, body["total"]
        page += 1


# --- fixtures: objects only some accounts may see ---------------------------------------------


@pytest.fixture(scope="module")
async def township_households(api, world) -> dict[str, int]:
    """For each township officer: a household in its own township and one in a sibling township
    of the same district (the demo's small city has none in the officers' townships)."""
    made: dict[str, int] = {}
    for officer in ("weibin_township", "jintai_township"):
        s = await scope_of(officer)
        own_code = s.region_path.rstrip("/").rsplit("/", 1)[1]
        county_code = s.region_path.rstrip("/").rsplit("/", 2)[1]
        sibling = next(v for v in await villages(county_code) if not v.startswith(own_code))
        for key, village in ((officer, (await villages(own_code))[0]), (f"{officer}:sibling", sibling)):
            r = await api("city_admin").post("/api/households", json=household_body(village))
            assert r.status_code == 201, r.text
            made[key] = r.json()["id"]
    return made


@pytest.fixture(scope="module")
async def second_facility(world, tokens) -> dict[str, int | str]:
    """Another facility (in 陈仓区) with one resident and one staff account of its own."""
    from carepact.accounts.services import create_account, issue_api_token
    from carepact.privacy import digest, mask_id_number, protect
    from carepact.registry.services import ID_CONTEXT
    from tests.support import new_id_number

    suffix = uuid.uuid4().hex[:8]
    county = await Region.select(Region.id).where(Region.code == "610304").first()
    facility = Organisation(
        name=f"陈仓区中心敬老院-{suffix}", kind=OrganisationKind.facility.value, region=county["id"]
    )
    await facility.save()
    number = new_id_number(1988)
    person = Person(
        name="院内老人",
        gender="male",
        birth_year=1988,
        id_number_protected=protect(number, context=ID_CONTEXT),
        id_number_digest=digest(number, purpose="id_number"),
        id_number_masked=mask_id_number(number),
        care_level="unable",
        support_mode="centralised",
        household=None,
    )
    await person.save()
    await Resident(
        person=person.id, facility=facility.id, ward="一病区", bed="01床", admitted_on=dt.date(2025, 5, 1)
    ).save()
    username = f"staff_{suffix}"
    account_id = await create_account(
        username, "staff-pass-123", role=Role.care_home_staff, display_name="敬老院护理员", organisation_id=facility.id
    )
    tokens[username] = await issue_api_token(account_id, "tests")
    return {"facility_id": facility.id, "person_id": person.id, "staff": username}


# --- the matrix: nothing outside scope can be read or changed ---------------------------------


OPERATIONS = ["GET household", "PATCH household", "GET person sensitive", "PATCH person"]
# What an out-of-scope attempt answers: 404 says nothing about whether the object exists.
# A role that may never read sensitive data is refused before any object is looked up.
REFUSAL = {
    "GET household": (404, "household.not_found"),
    "PATCH household": (404, "household.not_found"),
    "GET person sensitive": (404, "person.not_found"),
    "PATCH person": (404, "person.not_found"),
}
REFUSAL_FOR_ROLE = {("kangning_staff", "GET person sensitive"): (403, "permission.denied")}


@pytest.mark.parametrize("username", SCOPED)
@pytest.mark.parametrize("operation", OPERATIONS)
async def test_objects_outside_scope_are_refused(
    api, township_households, second_facility, caplog, username: str, operation: str
) -> None:
    caplog.set_level(logging.WARNING, logger="carepact.access")
    mine = await expected_households(username)
    everything = {r["id"] for r in await Household.select(Household.id)}
    outside = everything - mine
    near = (await expected_households(NEIGHBOUR[username])) - mine
    targets = spread(near, 4) + spread(outside - near, 6)
    if username.endswith("_township"):
        targets.append(township_households[f"{username}:sibling"])
    assert targets, "the matrix needs objects outside the account's scope"
    status, code = REFUSAL_FOR_ROLE.get((username, operation), REFUSAL[operation])
    client = api(username)
    account_id = (await scope_of(username)).account_id
    last_seq = (await AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq, ascending=False).first())["seq"]

    if operation.endswith("household"):
        before = {r["id"]: r for r in await Household.select().where(Household.id.is_in(targets))}
        for hid in targets:
            if operation == "GET household":
                r = await client.get(f"/api/households/{hid}")
            else:
                r = await client.patch(f"/api/households/{hid}", json={"address": "越权修改的地址"})
            assert (r.status_code, r.json()["code"]) == (status, code), f"{operation} {hid}: {r.text}"
        after = {r["id"]: r for r in await Household.select().where(Household.id.is_in(targets))}
        assert after == before
        refused = len(targets)
    else:
        persons = [(await person_of(hid))["id"] for hid in targets]
        all_residents = {r["person"] for r in await Resident.select(Resident.person)}
        persons += spread(all_residents - await expected_residents(username), 3)
        before = {r["id"]: r for r in await Person.select().where(Person.id.is_in(persons))}
        for pid in persons:
            if operation == "GET person sensitive":
                r = await client.get(f"/api/persons/{pid}/sensitive")
            else:
                other = "able" if before[pid]["care_level"] != "able" else "unable"
                r = await client.patch(f"/api/persons/{pid}", json={"care_level": other, "illness": "越权"})
            assert (r.status_code, r.json()["code"]) == (status, code), f"{operation} {pid}: {r.text}"
            assert "id_number" not in r.json()
        after = {r["id"]: r for r in await Person.select().where(Person.id.is_in(persons))}
        assert after == before
        refused = len(persons)
    # A refused attempt reveals nothing, so it is not a read of sensitive data either...
    assert not await AuditEvent.exists().where((AuditEvent.seq > last_seq) & (AuditEvent.actor_id == account_id))
    # ...but each one is in the access log, naming who asked and the code they got.
    lines = [r.getMessage() for r in caplog.records if r.name == "carepact.access"]
    mine_refused = [x for x in lines if f"(account {account_id}," in x and code in x]
    assert len(mine_refused) == refused, lines[-3:]


@pytest.mark.parametrize("username", EVERYONE)
async def test_household_list_is_exactly_the_scope(api, township_households, username: str) -> None:
    items, total = await all_pages(api(username), "/api/households")
    expected = await expected_households(username)
    assert {h["id"] for h in items} == expected
    assert total == len(expected) == len(items)
    if username == "kangning_staff":
        assert total == 0


@pytest.mark.parametrize("username", ["weibin_auditor", "weibin_township", "renhe_manager", "weibin_worker"])
async def test_list_filters_never_widen_the_scope(api, township_households, username: str) -> None:
    """Searching by region, name or code for someone else's households finds nothing of theirs."""
    client = api(username)
    mine = await expected_households(username)
    jintai = await Region.select(Region.id).where(Region.code == "610303").first()
    items, total = await all_pages(client, f"/api/households?region_id={jintai['id']}")
    assert {h["id"] for h in items} <= mine
    if username in ("weibin_auditor", "weibin_township", "weibin_worker"):
        assert total == 0
    stranger = min((await expected_households("kangle_manager")) - mine)
    code = (await Household.select(Household.code).where(Household.id == stranger).first())["code"]
    name = (await person_of(stranger))["name"]
    for q in (code, name, code[:6]):
        items, _ = await all_pages(client, f"/api/households?q={q}")
        assert {h["id"] for h in items} <= mine, q


@pytest.mark.parametrize("username", ["weibin_township", "jintai_township"])
async def test_township_officer_sees_only_its_township(api, township_households, username: str) -> None:
    client = api(username)
    own, sibling = township_households[username], township_households[f"{username}:sibling"]
    assert (await client.get(f"/api/households/{own}")).status_code == 200
    assert (await client.get(f"/api/households/{sibling}")).status_code == 404
    s = await scope_of(username)
    items, _ = await all_pages(client, "/api/households")
    assert own in {h["id"] for h in items} and sibling not in {h["id"] for h in items}
    paths = await Household.select(Household.village._.path).where(Household.id.is_in([h["id"] for h in items]))
    assert all(p["village.path"].startswith(s.region_path) for p in paths)


@pytest.mark.parametrize("username", ["renhe_manager", "kangle_manager", "weibin_worker", "jintai_worker"])
async def test_providers_see_only_open_assignments(api, world, username: str) -> None:
    """A manager sees what its organisation's workers are assigned; a worker only its own; an
    assignment that has ended no longer counts."""
    s = await scope_of(username)
    client = api(username)
    mine = (
        Assignment.worker == s.account_id
        if s.role == Role.field_worker.value
        else Assignment.organisation == s.organisation_id
    )
    # Open assignments (other tests hand households over, leaving ended ones behind).
    assigned = await Assignment.select().where(mine & Assignment.ends_on.is_null())
    assert {h["id"] for h in (await all_pages(client, "/api/households"))[0]} == {a["household"] for a in assigned}

    # End one assignment: that household disappears from the list and from reads.
    row = assigned[0]
    await Assignment.update({Assignment.ends_on: dt.date.today() - dt.timedelta(days=1)}).where(
        Assignment.id == row["id"]
    )
    try:
        _, total = await all_pages(client, "/api/households")
        assert total == len({a["household"] for a in assigned}) - 1
        assert (await client.get(f"/api/households/{row['household']}")).status_code == 404
    finally:
        await Assignment.update({Assignment.ends_on: row["ends_on"]}).where(Assignment.id == row["id"])


# --- visible but not writable ----------------------------------------------------------------


@pytest.mark.parametrize("username", ["renhe_manager", "weibin_worker", "jintai_worker"])
async def test_providers_cannot_change_households_they_serve(api, world, username: str) -> None:
    client = api(username)
    hid = min(await expected_households(username))
    detail = (await client.get(f"/api/households/{hid}")).json()
    assert detail["can_edit"] is False
    r = await client.patch(f"/api/households/{hid}", json={"address": "服务机构改的地址"})
    assert (r.status_code, r.json()["code"]) == (403, "permission.denied")
    pid = detail["persons"][0]["id"]
    r = await client.patch(f"/api/persons/{pid}", json={"care_level": "unable"})
    assert (r.status_code, r.json()["code"]) == (403, "permission.denied")
    assert (await Household.select(Household.address).where(Household.id == hid).first())["address"] == detail[
        "address"
    ]
    # They may read the sensitive record of a household they serve, but never the ID number.
    r = await client.get(f"/api/persons/{pid}/sensitive")
    assert r.status_code == 200
    assert r.json()["id_number_shown"] is False
    assert "*" in r.json()["id_number"]


@pytest.mark.parametrize(
    ("username", "which"),
    [
        ("city_admin", "weibin_township:sibling"),
        ("weibin_auditor", "weibin_township:sibling"),
        ("weibin_township", "weibin_township"),
        ("jintai_township", "jintai_township"),
    ],
)
async def test_bureaus_change_households_in_their_region(api, township_households, username: str, which: str) -> None:
    client = api(username)
    hid = township_households[which]
    assert (await client.get(f"/api/households/{hid}")).json()["can_edit"] is True
    address = f"{username}改的地址{uuid.uuid4().hex[:4]}"
    r = await client.patch(f"/api/households/{hid}", json={"address": address})
    assert r.status_code == 200, r.text
    assert (await Household.select(Household.address).where(Household.id == hid).first())["address"] == address
    r = await client.get(f"/api/persons/{r.json()['persons'][0]['id']}/sensitive")
    assert r.status_code == 200 and r.json()["id_number_shown"] is True and "*" not in r.json()["id_number"]


# --- facilities ------------------------------------------------------------------------------


async def test_care_home_staff_see_only_their_own_facility(api, second_facility, tokens) -> None:
    from carepact.accounts.access import visible_residents

    other_resident = second_facility["person_id"]
    kangning = await Organisation.select(Organisation.id).where(Organisation.name == "宝鸡市康宁精神康复医院").first()
    kangning_resident = (
        await Resident.select(Resident.person).where(Resident.facility == kangning["id"]).order_by(Resident.id).first()
    )["person"]

    # The staff of each facility: their own residents are visible (writing them is refused: 403),
    # the other facility's are not found at all (404).
    for staff, own, other in (
        ("kangning_staff", kangning_resident, other_resident),
        (second_facility["staff"], other_resident, kangning_resident),
    ):
        client = api(staff)
        r = await client.patch(f"/api/persons/{own}", json={"care_level": "able"})
        assert (r.status_code, r.json()["code"]) == (403, "permission.denied")
        r = await client.patch(f"/api/persons/{other}", json={"care_level": "able"})
        assert (r.status_code, r.json()["code"]) == (404, "person.not_found")
        assert (await client.get("/api/households")).json()["total"] == 0

    # The permission filter itself: exactly the facility's own stays.
    for staff, facility_id in (
        ("kangning_staff", kangning["id"]),
        (second_facility["staff"], second_facility["facility_id"]),
    ):
        seen = await Resident.select(Resident.person).where(visible_residents(await principal(staff)))
        expected = await Resident.select(Resident.person).where(Resident.facility == facility_id)
        assert {r["person"] for r in seen} == {r["person"] for r in expected} != set()


@pytest.mark.parametrize(
    ("username", "facility", "status"),
    [
        ("jintai_auditor", "kangning", 200),
        ("weibin_auditor", "kangning", 404),
        ("chencang_auditor", "kangning", 404),
        ("chencang_auditor", "second", 200),
        ("jintai_auditor", "second", 404),
        ("city_admin", "second", 200),
        ("weibin_township", "kangning", 404),
        ("renhe_manager", "kangning", 404),
    ],
)
async def test_facility_residents_follow_the_facility_region(
    api, second_facility, username: str, facility: str, status: int
) -> None:
    if facility == "second":
        pid = second_facility["person_id"]
    else:
        pid = (await Resident.select(Resident.person).where(Resident.person != second_facility["person_id"]).first())[
            "person"
        ]
    r = await api(username).get(f"/api/persons/{pid}/sensitive")
    assert r.status_code == status, r.text


# --- creating and importing outside scope ------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "target_under"),
    [("weibin_auditor", "610303"), ("jintai_auditor", "610302"), ("weibin_township", "sibling")],
)
async def test_cannot_register_households_outside_scope(api, township_households, username: str, target_under: str):
    if target_under == "sibling":
        hid = township_households[f"{username}:sibling"]
        village = (await Household.select(Household.village._.code).where(Household.id == hid).first())["village.code"]
    else:
        village = (await villages(target_under))[0]
    client = api(username)
    before = await Household.count()

    r = await client.post("/api/households", json=household_body(village))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "household.invalid"
    assert [f["code"] for f in r.json()["fields"]] == ["region.out_of_scope"]

    body = csv_file([csv_row(village), csv_row(village)])
    r = await client.post("/api/households/import", files=upload(body))
    assert r.status_code == 422, r.text
    rows = r.json()["rows"]
    assert [(e["row"], e["column"], e["code"]) for e in rows] == [
        (2, "村（社区）代码", "region.out_of_scope"),
        (3, "村（社区）代码", "region.out_of_scope"),
    ]
    assert await Household.count() == before


@pytest.mark.parametrize("username", ["renhe_manager", "weibin_worker", "kangning_staff"])
async def test_non_bureau_roles_cannot_register_or_import(api, world, username: str) -> None:
    hid = min(await expected_households("weibin_worker"))
    village = (await Household.select(Household.village._.code).where(Household.id == hid).first())["village.code"]
    client = api(username)
    before = await Household.count()
    r = await client.post("/api/households", json=household_body(village))
    assert (r.status_code, r.json()["code"]) == (403, "permission.denied")
    r = await client.post("/api/households/import", files=upload(csv_file([csv_row(village)])))
    assert (r.status_code, r.json()["code"]) == (403, "permission.denied")
    assert await Household.count() == before


# --- other lists -------------------------------------------------------------------------------


@pytest.mark.parametrize("username", EVERYONE)
async def test_organisation_list_is_exactly_the_scope(api, second_facility, username: str) -> None:
    s = await scope_of(username)
    rows = await Organisation.select(Organisation.id, Organisation.kind, Organisation.region._.path)
    if s.role in BUREAU:
        expected = {
            r["id"]
            for r in rows
            if r["region.path"].startswith(s.region_path)
            or r["kind"] in (OrganisationKind.provider.value, OrganisationKind.facility.value)
        }
    else:
        expected = {s.organisation_id}
    items, total = await all_pages(api(username), "/api/organisations")
    assert {o["id"] for o in items} == expected
    assert total == len(expected)


@pytest.mark.parametrize("username", EVERYONE)
async def test_only_the_city_bureau_reads_the_audit_log(api, world, username: str) -> None:
    client = api(username)
    for url in ("/api/audit/events", "/api/audit/verify"):
        r = await client.get(url)
        if username == "city_admin":
            assert r.status_code == 200, r.text
        else:
            assert (r.status_code, r.json()["code"]) == (403, "permission.denied")
