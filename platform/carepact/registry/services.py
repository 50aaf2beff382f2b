"""The registry's rules: listing and reading within scope, registering and editing households."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import msgspec
from msgspec import UNSET

from carepact.accounts.access import (
    Principal,
    may,
    region_in_scope,
    require,
    visible_households,
    visible_organisations,
    visible_persons,
    visible_regions,
)
from carepact.accounts.tables import Assignment
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.db import atomic, is_postgres
from carepact.errors import FieldError, Problem, not_found
from carepact.privacy import (
    coarse_coordinate,
    digest,
    id_number_problem,
    mask_id_number,
    protect,
    reveal,
)
from carepact.registry.schemas import (
    CARE_LEVEL_LABELS,
    GENDER_LABELS,
    ORGANISATION_KIND_LABELS,
    AssignmentOut,
    HouseholdCreate,
    HouseholdDetail,
    HouseholdPatch,
    HouseholdSummary,
    OrganisationOut,
    PersonOut,
    PersonPatch,
    PersonSensitive,
    RegionOut,
)
from carepact.registry.tables import (
    CareLevel,
    Gender,
    Household,
    Organisation,
    OrganisationKind,
    Person,
    Region,
    RegionLevel,
    SupportMode,
)

ID_CONTEXT = "person.id_number"
HEALTH_CONTEXT = "person.health"


def _like(text: str) -> str:
    return "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"


# --- regions and organisations ---------------------------------------------------------------


async def list_regions(
    principal: Principal, page: PageRequest, parent_id: int | None, level: RegionLevel | None
) -> Page[RegionOut]:
    where = visible_regions(principal)
    if parent_id is not None:
        where &= Region.parent == parent_id
    if level is not None:
        where &= Region.level == level.value
    total = await Region.count().where(where)
    rows = (
        await Region.select(Region.id, Region.code, Region.name, Region.level, Region.parent)
        .where(where)
        .order_by(Region.code)
        .offset(page.offset)
        .limit(page.page_size)
    )
    items = [
        RegionOut(id=r["id"], code=r["code"], name=r["name"], level=RegionLevel(r["level"]), parent_id=r["parent"])
        for r in rows
    ]
    return Page(items=items, total=total, page=page.page, page_size=page.page_size)


async def list_organisations(
    principal: Principal, page: PageRequest, kind: OrganisationKind | None
) -> Page[OrganisationOut]:
    where = visible_organisations(principal)
    if kind is not None:
        where &= Organisation.kind == kind.value
    total = await Organisation.count().where(where)
    rows = (
        await Organisation.select(
            Organisation.id, Organisation.name, Organisation.kind, Organisation.region, Organisation.region._.name
        )
        .where(where)
        .order_by(Organisation.id)
        .offset(page.offset)
        .limit(page.page_size)
    )
    items = [
        OrganisationOut(
            id=r["id"],
            name=r["name"],
            kind=OrganisationKind(r["kind"]),
            kind_label=ORGANISATION_KIND_LABELS[OrganisationKind(r["kind"])],
            region_id=r["region"],
            region_name=r["region.name"],
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=page.page, page_size=page.page_size)


# --- households: reading -----------------------------------------------------------------------


def _person_out(row: dict[str, Any]) -> PersonOut:
    care = CareLevel(row["care_level"])
    gender = Gender(row["gender"])
    return PersonOut(
        id=row["id"],
        name=row["name"],
        gender=gender,
        gender_label=GENDER_LABELS[gender],
        birth_year=row["birth_year"],
        care_level=care,
        care_level_label=CARE_LEVEL_LABELS[care],
        id_number_masked=row["id_number_masked"],
        has_health_notes=bool(row["health_protected"]),
    )


_PERSON_COLUMNS = (
    Person.id,
    Person.name,
    Person.gender,
    Person.birth_year,
    Person.care_level,
    Person.id_number_masked,
    Person.health_protected,
    Person.household,
)


async def list_households(
    principal: Principal,
    page: PageRequest,
    q: str | None = None,
    region_id: int | None = None,
    care_level: CareLevel | None = None,
) -> Page[HouseholdSummary]:
    where = visible_households(principal)
    if q:
        pattern = _like(q.strip())
        where &= (
            Household.id.is_in(Person.select(Person.household).where(Person.name.like(pattern)))
            | Household.village._.name.like(pattern)
            | Household.code.like(pattern)
        )
    if region_id is not None:
        region = await Region.select(Region.path).where(Region.id == region_id).first()
        if region is None:
            raise not_found("region", "行政区域")
        where &= Household.village._.path.like(region["path"] + "%")
    if care_level is not None:
        where &= Household.id.is_in(Person.select(Person.household).where(Person.care_level == care_level.value))
    total = await Household.count().where(where)
    rows = (
        await Household.select(
            Household.id,
            Household.code,
            Household.address,
            Household.village._.name,
            Household.village._.parent._.name,
            Household.village._.parent._.parent._.name,
        )
        .where(where)
        .order_by(Household.code)
        .offset(page.offset)
        .limit(page.page_size)
    )
    persons: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for person in (
            await Person.select(Person.household, Person.name, Person.care_level)
            .where(Person.household.is_in([r["id"] for r in rows]))
            .order_by(Person.id)
        ):
            persons[person["household"]].append(person)
    items = []
    for r in rows:
        members = persons[r["id"]]
        care = CareLevel(members[0]["care_level"]) if members else None
        items.append(
            HouseholdSummary(
                id=r["id"],
                code=r["code"],
                names=[m["name"] for m in members],
                care_level=care,
                care_level_label=CARE_LEVEL_LABELS[care] if care else "",
                village_name=r["village.name"],
                township_name=r["village.parent.name"],
                county_name=r["village.parent.parent.name"],
                address=r["address"],
            )
        )
    return Page(items=items, total=total, page=page.page, page_size=page.page_size)


async def _visible_household_row(principal: Principal, household_id: int) -> dict[str, Any]:
    row = (
        await Household.select(
            Household.id,
            Household.code,
            Household.address,
            Household.latitude,
            Household.longitude,
            Household.village,
            Household.village._.name,
            Household.village._.path,
            Household.village._.parent._.name,
            Household.village._.parent._.parent._.name,
        )
        .where((Household.id == household_id) & visible_households(principal))
        .first()
    )
    if row is None:
        raise not_found("household", "户")
    return row


async def get_household(principal: Principal, household_id: int) -> HouseholdDetail:
    row = await _visible_household_row(principal, household_id)
    persons = await Person.select(*_PERSON_COLUMNS).where(Person.household == household_id).order_by(Person.id)
    assignments = (
        await Assignment.select(
            Assignment.worker._.display_name,
            Assignment.organisation._.name,
            Assignment.starts_on,
            Assignment.ends_on,
        )
        .where(Assignment.household == household_id)
        .order_by(Assignment.starts_on, ascending=False)
    )
    return HouseholdDetail(
        id=row["id"],
        code=row["code"],
        address=row["address"],
        village_id=row["village"],
        village_name=row["village.name"],
        township_name=row["village.parent.name"],
        county_name=row["village.parent.parent.name"],
        approx_latitude=coarse_coordinate(row["latitude"]),
        approx_longitude=coarse_coordinate(row["longitude"]),
        persons=[_person_out(p) for p in persons],
        assignments=[
            AssignmentOut(
                worker_name=a["worker.display_name"],
                organisation_name=a["organisation.name"],
                starts_on=a["starts_on"],
                ends_on=a["ends_on"],
            )
            for a in assignments
        ],
        can_edit=may(principal, "household.update") and region_in_scope(principal, row["village.path"]),
        can_read_sensitive=may(principal, "person.read_sensitive"),
    )


def _health(illness: str, disability: str) -> str:
    if not illness and not disability:
        return ""
    return protect(msgspec.json.encode({"illness": illness, "disability": disability}).decode(), context=HEALTH_CONTEXT)


def _health_of(protected: str) -> dict[str, str]:
    if not protected:
        return {"illness": "", "disability": ""}
    return msgspec.json.decode(reveal(protected, context=HEALTH_CONTEXT))


async def read_sensitive(principal: Principal, person_id: int, actor: Actor) -> PersonSensitive:
    """The unmasked record. Each call is one audit row naming exactly which fields were shown."""
    require(principal, "person.read_sensitive")
    row = (
        await Person.select(
            Person.id,
            Person.name,
            Person.id_number_protected,
            Person.id_number_masked,
            Person.health_protected,
            Person.household._.latitude,
            Person.household._.longitude,
        )
        .where((Person.id == person_id) & visible_persons(principal))
        .first()
    )
    if row is None:
        raise not_found("person", "人员")
    show_id = may(principal, "person.read_id_number")
    health = _health_of(row["health_protected"])
    shown = ["illness", "disability", "location"] + (["id_number"] if show_id else [])
    await record(actor, "person.read_sensitive", "person", person_id, detail={"fields": shown})
    return PersonSensitive(
        person_id=row["id"],
        name=row["name"],
        id_number=reveal(row["id_number_protected"], context=ID_CONTEXT) if show_id else row["id_number_masked"],
        id_number_shown=show_id,
        illness=health["illness"],
        disability=health["disability"],
        latitude=row["household.latitude"],
        longitude=row["household.longitude"],
    )


# --- households: registering and editing -----------------------------------------------------


async def check_new_households(
    principal: Principal, items: list[HouseholdCreate], row_numbers: list[int] | None = None
) -> tuple[list[tuple[int, str, str, str]], dict[str, dict[str, Any]]]:
    """Every problem of a batch as (index, field, code, zh message); nothing is written.

    ``row_numbers`` are the file lines of the items (CSV import), so that a message pointing
    at another item names the line the user sees. Also returns the villages found, by code.
    """
    problems: list[tuple[int, str, str, str]] = []
    codes = sorted({item.village_code for item in items})
    villages = (
        {
            v["code"]: v
            for v in await Region.select(Region.id, Region.code, Region.path, Region.level).where(
                Region.code.is_in(codes)
            )
        }
        if codes
        else {}
    )
    seen: dict[str, int] = {}
    digests = {digest(item.person.id_number, purpose="id_number"): i for i, item in enumerate(items)}
    existing = (
        {
            r["id_number_digest"]
            for r in await Person.select(Person.id_number_digest).where(Person.id_number_digest.is_in(list(digests)))
        }
        if digests
        else set()
    )
    for i, item in enumerate(items):
        village = villages.get(item.village_code)
        if village is None or village["level"] != RegionLevel.village.value:
            problems.append((i, "village_code", "region.unknown_village", f"村（社区）代码 {item.village_code} 不存在"))
        elif not region_in_scope(principal, village["path"]):
            problems.append(
                (i, "village_code", "region.out_of_scope", f"村（社区）{item.village_code} 不在您的管辖范围内")
            )
        number = item.person.id_number
        reason = id_number_problem(number)
        if reason:
            problems.append((i, "person.id_number", "person.id_number_invalid", reason))
        else:
            if int(number[6:10]) != item.person.birth_year:
                problems.append((i, "person.birth_year", "person.birth_year_mismatch", "出生年份与身份证号不一致"))
            if number in seen:
                first = f"第 {row_numbers[seen[number]]} 行" if row_numbers else f"第 {seen[number] + 1} 条"
                problems.append((i, "person.id_number", "person.duplicate_in_batch", f"与{first}身份证号重复"))
            elif digest(number, purpose="id_number") in existing:
                problems.append((i, "person.id_number", "person.already_registered", "该身份证号已登记"))
            seen.setdefault(number, i)
        if (item.latitude is None) != (item.longitude is None):
            problems.append((i, "latitude", "household.partial_location", "经纬度须同时填写或同时留空"))
    return problems, villages


async def create_households(principal: Principal, items: list[HouseholdCreate], actor: Actor) -> list[int]:
    """Register households in one transaction, after the whole batch has been checked."""
    require(principal, "household.create")
    problems, villages = await check_new_households(principal, items)
    if problems:
        raise BatchRefused(problems)
    ids: list[int] = []
    async with atomic():
        next_number: dict[str, int] = {}
        for item in items:
            village = villages[item.village_code]
            if item.village_code not in next_number:
                if is_postgres():
                    await Household.raw("SELECT pg_advisory_xact_lock(42, {})", village["id"])
                last = (
                    await Household.select(Household.code)
                    .where(Household.village == village["id"])
                    .order_by(Household.code, ascending=False)
                    .first()
                )
                next_number[item.village_code] = int(last["code"].rsplit("-", 1)[1]) + 1 if last else 1
            code = f"{item.village_code}-{next_number[item.village_code]:04d}"
            next_number[item.village_code] += 1
            household = Household(
                code=code,
                village=village["id"],
                address=item.address,
                latitude=item.latitude,
                longitude=item.longitude,
            )
            await household.save()
            p = item.person
            person = Person(
                name=p.name,
                gender=p.gender.value,
                birth_year=p.birth_year,
                id_number_protected=protect(p.id_number, context=ID_CONTEXT),
                id_number_digest=digest(p.id_number, purpose="id_number"),
                id_number_masked=mask_id_number(p.id_number),
                care_level=p.care_level.value,
                support_mode=SupportMode.dispersed.value,
                household=household.id,
                health_protected=_health(p.illness, p.disability),
            )
            await person.save()
            await record(
                actor,
                "household.create",
                "household",
                household.id,
                after={"code": code, "village": item.village_code, "person_id": person.id, "name": p.name},
            )
            ids.append(household.id)
    return ids


class BatchRefused(Problem):
    """A batch with problems; ``problems`` holds every one of them, by item index."""

    def __init__(self, problems: list[tuple[int, str, str, str]]) -> None:
        fields = [FieldError(field=f"[{i}].{field}", code=code, message=msg) for i, field, code, msg in problems]
        super().__init__(400, "household.invalid", "登记信息有误，未保存任何记录。", fields)
        self.problems = problems


def _changes(before: dict[str, Any], patch: msgspec.Struct) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not UNSET and before.get(k) != v}


async def update_household(
    principal: Principal, household_id: int, patch: HouseholdPatch, actor: Actor
) -> HouseholdDetail:
    async with atomic():
        row = await _visible_household_row(principal, household_id)
        require(principal, "household.update")
        if not region_in_scope(principal, row["village.path"]):
            raise Problem(403, "permission.denied", "该户不在您的管辖范围内，不能修改。")
        before = {"address": row["address"], "latitude": row["latitude"], "longitude": row["longitude"]}
        changes = _changes(before, patch)
        merged = before | changes
        if (merged["latitude"] is None) != (merged["longitude"] is None):
            raise Problem(
                400,
                "household.partial_location",
                "经纬度须同时填写或同时留空。",
                [FieldError(field="latitude", code="household.partial_location", message="经纬度须同时填写或同时留空")],
            )
        if changes:
            await Household.update({getattr(Household, k): v for k, v in changes.items()}).where(
                Household.id == household_id
            )

            # Exact coordinates are sensitive: the log says they changed, not where to.
            def shown(d: dict[str, Any]) -> dict[str, Any]:
                return {k: ("(已更改)" if k in ("latitude", "longitude") else v) for k, v in d.items() if k in changes}

            await record(
                actor, "household.update", "household", household_id, before=shown(before), after=shown(changes)
            )
    return await get_household(principal, household_id)


async def update_person(principal: Principal, person_id: int, patch: PersonPatch, actor: Actor) -> PersonOut:
    async with atomic():
        row = (
            await Person.select(*_PERSON_COLUMNS, Person.household._.village._.path)
            .where((Person.id == person_id) & visible_persons(principal))
            .first()
        )
        if row is None:
            raise not_found("person", "人员")
        require(principal, "household.update")
        if not region_in_scope(principal, row["household.village.path"] or ""):
            raise Problem(403, "permission.denied", "该人员不在您的管辖范围内，不能修改。")
        values: dict[Any, Any] = {}
        changed: list[str] = []
        if patch.care_level is not UNSET and patch.care_level.value != row["care_level"]:
            values[Person.care_level] = patch.care_level.value
            changed.append("care_level")
        if patch.illness is not UNSET or patch.disability is not UNSET:
            health = _health_of(row["health_protected"])
            new = {
                "illness": health["illness"] if patch.illness is UNSET else patch.illness,
                "disability": health["disability"] if patch.disability is UNSET else patch.disability,
            }
            if new != health:
                values[Person.health_protected] = _health(new["illness"], new["disability"])
                changed += [k for k in new if new[k] != health[k]]
        if values:
            await Person.update(values).where(Person.id == person_id)
            # Health notes are named, never copied into the log.
            await record(
                actor,
                "person.update",
                "person",
                person_id,
                before={"care_level": row["care_level"]} if "care_level" in changed else None,
                after={"care_level": values.get(Person.care_level), "changed": changed},
            )
        row = await Person.select(*_PERSON_COLUMNS).where(Person.id == person_id).first()
    return _person_out(row)
