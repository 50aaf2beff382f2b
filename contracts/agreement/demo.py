"""The demo city's agreements: the standard text (version 1) published, an agreement signed for every
household, and five weeks of care for a pilot of households in 渭滨区 so the engine has something
to judge.

Every household's agreement is signed by its township office with the provider its worker belongs
to as caregiver. Outside the pilot, agreements start where the demo's visit history starts
(``history_from``, see contracts.demo_year), or on the day the demo is built when it has none: an
agreement running for months without visits would only show that. The pilot (six households of
the demo worker ``weibin_worker``) starts five weeks back, with visits written as the visit API
would have left them (door-card scan, photos, services, checkout):

- one whose caregiver skipped a whole week (the week before last);
- one reported ill at home three days ago that nobody has visited since;
- one in hospital for a week with accompaniment every other day (no breach);
- one with a visit of 18 minutes; one with a card entered by hand and approved; one ill for three
  days last month and visited every day (no breach).

Bulk inserts in one transaction: a few hundred rows and small photos, built in a second or two.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import msgspec

from carepact.accounts.tables import Account, Assignment
from carepact.audit.services import SYSTEM, record
from carepact.cards.tables import Card, CardSubject
from carepact.dates import SHANGHAI, local_today
from carepact.db import atomic, insert_many
from carepact.media.services import display_key, original_key, thumb_key
from carepact.media.tables import Photo
from carepact.registry.tables import CareLevel, Household, Organisation, OrganisationKind, Person
from contracts.agreement.evaluation import RunResult, Scope, evaluate_scope
from contracts.agreement.rules import bundled_source, load_template
from contracts.agreement.services import publish_template
from contracts.tables import Agreement, AgreementTemplate, CaregiverKind, EpisodeEnd, SickEpisode, SickKind
from providers.tables import ManualReason, Presence, Review, Visit, VisitFlag, VisitPhoto, VisitService
from providers.visits.demo import (
    arrival_flags,
    flag_rows,
    photo_row,
    picture,
    scheduled,
    services_for,
    store_picture,
    visit_row,
)
from providers.visits.flags import checkout_flags
from providers.visits.policy import DEFAULT_POLICY

PILOT_WORKER = "weibin_worker"
PILOT_MANAGER = "renhe_manager"
PILOT_SIZE = 6
PILOT_WEEKS = 5


class AgreementDemoSummary(msgspec.Struct, kw_only=True):
    created: bool
    template_version: int
    agreements: int
    pilot_households: list[str]
    visits: int
    episodes: int
    findings: int


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


async def build_agreements(today: dt.date | None = None, history_from: dt.date | None = None) -> AgreementDemoSummary:
    """Publish version 1, sign every household's agreement (from ``history_from``, or today), write
    the pilot; once (idempotent)."""
    if await AgreementTemplate.exists():
        return AgreementDemoSummary(
            created=False,
            template_version=(await AgreementTemplate.select(AgreementTemplate.version).first())["version"],
            agreements=await Agreement.count(),
            pilot_households=[],
            visits=0,
            episodes=await SickEpisode.count(),
            findings=0,
        )
    today = today or local_today()
    this_monday = today - dt.timedelta(days=today.weekday())
    pilot_start = this_monday - dt.timedelta(weeks=PILOT_WEEKS)
    others_start = history_from or today
    template = load_template(bundled_source(1))
    async with atomic():
        version = await publish_template(None, bundled_source(1), "首版：按 DOMAIN 默认值", SYSTEM)
        template_id = (
            await AgreementTemplate.select(AgreementTemplate.id).where(AgreementTemplate.version == version).first()
        )["id"]
        households = await _households(today)
        worker = await _account(PILOT_WORKER)
        pilots = [h for h in households if h["worker"] == worker["id"]][-PILOT_SIZE:]
        pilot_ids = {h["id"] for h in pilots}
        rows = []
        for h in households:
            level = CareLevel(h["care_level"])
            rows.append(
                {
                    "code": f"XY-{h['code']}-01",
                    "household": h["id"],
                    "person": h["person"],
                    "template": template_id,
                    "township_office": h["office"],
                    "caregiver_kind": CaregiverKind.provider.value,
                    "caregiver_organisation": h["provider"],
                    "caregiver_name": h["provider_name"],
                    "caregiver_phone": h["provider_phone"],
                    "care_level": level.value,
                    "monthly_fee_fen": template.fees.of(level),
                    "starts_on": pilot_start if h["id"] in pilot_ids else others_start,
                    "ends_on": None,
                    "signed_on": (pilot_start if h["id"] in pilot_ids else others_start) - dt.timedelta(days=3),
                    "signed_by": None,
                    "signed_by_name": "系统（演示数据）",
                    "superseded_by": None,
                    "created_at": dt.datetime.now(dt.UTC),
                }
            )
        await insert_many(Agreement, rows)
        await record(
            SYSTEM,
            "agreement.sign_batch",
            "agreement_template",
            version,
            detail={"agreements": len(rows), "pilot": [h["code"] for h in pilots], "starts_on": others_start},
        )
        visits, episodes = await _pilot(pilots, pilot_start, today, worker, await _account(PILOT_MANAGER))
    result = RunResult(since=pilot_start, until=today, as_of=dt.datetime.now(dt.UTC))
    if pilots:
        result = await evaluate_scope(
            Scope(household_ids=tuple(sorted(pilot_ids))), pilot_start.replace(day=1), today.replace(day=1)
        )
    return AgreementDemoSummary(
        created=True,
        template_version=version,
        agreements=len(rows),
        pilot_households=[h["code"] for h in pilots],
        visits=visits,
        episodes=episodes,
        findings=result.findings,
    )


async def _account(username: str) -> dict[str, Any]:
    row = await Account.select(Account.id, Account.organisation).where(Account.user._.username == username).first()
    return row or {"id": -1, "organisation": None}


async def _households(today: dt.date) -> list[dict[str, Any]]:
    """Every household with its first person, township office and assigned provider, by code."""
    rows = await Household.select(
        Household.id, Household.code, Household.latitude, Household.longitude, Household.village._.parent
    ).order_by(Household.code)
    persons: dict[int, dict[str, Any]] = {}
    for p in (
        await Person.select(Person.id, Person.household, Person.care_level)
        .where(Person.household.is_not_null())
        .order_by(Person.id)
    ):
        persons.setdefault(p["household"], p)
    offices = {
        o["region"]: o["id"]
        for o in await Organisation.select(Organisation.id, Organisation.region).where(
            Organisation.kind == OrganisationKind.township_office.value
        )
    }
    providers = {
        o["id"]: o
        for o in await Organisation.select(Organisation.id, Organisation.name, Organisation.phone).where(
            Organisation.kind == OrganisationKind.provider.value
        )
    }
    assigned = {
        a["household"]: a
        for a in await Assignment.select(Assignment.household, Assignment.worker, Assignment.organisation).where(
            (Assignment.starts_on <= today) & (Assignment.ends_on.is_null() | (Assignment.ends_on >= today))
        )
    }
    found = []
    for h in rows:
        person, assignment = persons.get(h["id"]), assigned.get(h["id"])
        office = offices.get(h["village.parent"])
        if person is None or assignment is None or office is None:
            continue  # the demo signs only where all three parties exist
        provider = providers[assignment["organisation"]]
        found.append(
            h
            | {
                "person": person["id"],
                "care_level": person["care_level"],
                "office": office,
                "worker": assignment["worker"],
                "provider": provider["id"],
                "provider_name": provider["name"],
                "provider_phone": provider["phone"],
            }
        )
    return found


async def _pilot(
    pilots: list[dict[str, Any]], start: dt.date, today: dt.date, worker: dict[str, Any], manager: dict[str, Any]
) -> tuple[int, int]:
    if not pilots:
        return 0, 0
    rng = random.Random(20260101)
    this_monday = today - dt.timedelta(days=today.weekday())
    skipped = (this_monday - dt.timedelta(days=14), this_monday - dt.timedelta(days=8))
    skipper, ill, hospital, short, manual, recovered = (pilots + pilots)[:PILOT_SIZE]
    ill_from = _at(today - dt.timedelta(days=3), 9, 30)
    admitted, discharged = today - dt.timedelta(days=12), today - dt.timedelta(days=5)
    stay = (_at(admitted, 10), _at(discharged, 16))
    brief = (start + dt.timedelta(days=9), start + dt.timedelta(days=11))  # a Wednesday to a Friday
    episodes = [
        SickEpisode(
            household=ill["id"],
            kind=SickKind.ill_at_home.value,
            started_at=ill_from,
            note="发热、咳嗽，社工入户时发现",
            reported_by=worker["id"],
            reported_by_name="社工（演示）",
        ),
        SickEpisode(
            household=hospital["id"],
            kind=SickKind.hospitalised.value,
            started_at=stay[0],
            ended_at=stay[1],
            end_reason=EpisodeEnd.recovered.value,
            hospital="宝鸡市中心医院",
            note="肺部感染住院",
            reported_by=worker["id"],
            reported_by_name="社工（演示）",
            ended_by=worker["id"],
            ended_by_name="社工（演示）",
        ),
        SickEpisode(
            household=recovered["id"],
            kind=SickKind.ill_at_home.value,
            started_at=_at(brief[0], 8),
            ended_at=_at(brief[1], 18),
            end_reason=EpisodeEnd.recovered.value,
            note="感冒",
            reported_by=worker["id"],
            reported_by_name="社工（演示）",
            ended_by=worker["id"],
            ended_by_name="社工（演示）",
        ),
    ]
    await SickEpisode.insert(*episodes)

    planned: list[dict[str, Any]] = []
    for h in pilots:
        k = 0
        day = start
        while day < today:
            moment = _at(day, 9, rng.randrange(0, 50))
            in_hospital = h is hospital and admitted <= day < discharged
            was_ill = h is recovered and brief[0] <= day <= brief[1]
            if h is skipper and skipped[0] <= day <= skipped[1]:
                pass
            elif h is ill and moment >= ill_from - dt.timedelta(hours=2):
                pass
            elif in_hospital:
                if (day - admitted).days % 2 == 0:
                    planned.append(
                        {
                            "household": h,
                            "at": _at(day, 15),
                            "minutes": 120,
                            "how": "hospital",
                            "services": ["hospital_accompaniment"],
                        }
                    )
            elif was_ill or scheduled(h["care_level"], day):
                minutes = 18 if h is short and k == 3 else rng.randrange(40, 75)
                how = "manual" if h is manual and k == 2 else "qr"
                planned.append(
                    {
                        "household": h,
                        "at": moment,
                        "minutes": minutes,
                        "how": how,
                        "services": services_for(h["care_level"], k),
                    }
                )
                k += 1
            day += dt.timedelta(days=1)
    await _write_visits(planned, worker, manager, rng)
    return len(planned), len(episodes)


async def _write_visits(
    planned: list[dict[str, Any]], worker: dict[str, Any], manager: dict[str, Any], rng: random.Random
) -> None:
    """Visits as check-in and check-out through the API leave them: the row, its services, photos
    (processed like uploads), the flags the checks would raise, the household's first door card."""
    households = {p["household"]["id"] for p in planned}
    carded = {
        c["subject_id"]
        for c in await Card.select(Card.subject_id).where(
            (Card.subject == CardSubject.household.value) & Card.subject_id.is_in(list(households) or [-1])
        )
    }
    new_cards = [
        Card(subject=CardSubject.household.value, subject_id=h, version=1, reason="首次制卡")
        for h in sorted(households - carded)
    ]
    if new_cards:
        await Card.insert(*new_cards)
    rows, services, photos, links, flags = [], [], [], [], []
    for p in planned:
        h, at, minutes = p["household"], p["at"], p["minutes"]
        visit_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        manual = p["how"] in ("manual", "hospital")
        reason = (
            ManualReason.person_hospitalised
            if p["how"] == "hospital"
            else ManualReason.card_damaged
            if manual
            else None
        )
        position = None if p["how"] == "hospital" else (h["latitude"], h["longitude"], 12.0)
        ended = at + dt.timedelta(minutes=minutes)
        received = dt.timedelta(seconds=3)
        rows.append(
            visit_row(
                visit_id=visit_id,
                household=h["id"],
                worker=worker["id"],
                organisation=worker["organisation"],
                checkin=at,
                checkin_received=at + received,
                checkout=ended,
                checkout_received=ended + received,
                minutes=minutes,
                presence=(Presence.manual if manual else Presence.qr).value,
                position=position,
                distance=None if position is None else 0,
                notes="陪护、协助进餐" if p["how"] == "hospital" else "打扫卫生，测量血压，聊天",
                manual_reason=reason.value if reason else "",
                manual_note="在医院陪护" if p["how"] == "hospital" else "",
                review=(Review.approved if manual else Review.not_required).value,
                reviewed_by=manager["id"] if manual else None,
                reviewed_at=ended + dt.timedelta(hours=2) if manual else None,
                review_comment="已电话核实" if manual else "",
                digest="demo",
            )
        )
        services += [{"visit": visit_id, "service": s} for s in p["services"]]
        photo_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        stored = store_picture(picture(rng), original_key(photo_id, at), display_key(photo_id), thumb_key(photo_id))
        taken = at + dt.timedelta(minutes=min(10, minutes // 2))
        photos.append(
            photo_row(
                photo_id=photo_id,
                household=h["id"],
                organisation=worker["organisation"],
                uploaded_by=worker["id"],
                taken=taken,
                processed=taken + dt.timedelta(seconds=5),
                stored=stored,
            )
        )
        links.append({"visit": visit_id, "photo": photo_id, "stage": "checkout"})
        flags += flag_rows(visit_id, arrival_flags(reason, (h["latitude"], h["longitude"]), position, at), at)
        flags += flag_rows(
            visit_id, checkout_flags(policy=DEFAULT_POLICY, duration_minutes=minutes, photo_count=1), ended
        )
    await insert_many(Visit, rows)
    await insert_many(VisitService, services)
    await insert_many(Photo, photos)
    await insert_many(VisitPhoto, links)
    await insert_many(VisitFlag, flags)


def describe_agreements(summary: AgreementDemoSummary) -> str:
    if not summary.created:
        return f"服务协议已存在（标准文本第 {summary.template_version} 版，{summary.agreements} 份协议），未重复生成。"
    return (
        f"已发布服务协议标准文本第 {summary.template_version} 版，为 {summary.agreements} 户签订协议；"
        f"渭滨区试点 {len(summary.pilot_households)} 户近 {PILOT_WEEKS} 周上门服务 {summary.visits} 次、"
        f"患病登记 {summary.episodes} 起，核查发现违约 {summary.findings} 条。"
    )
