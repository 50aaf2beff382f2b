"""The demo city's history of home care: for every household assigned to a worker, the visits its
self-care level asks for over a span of days, each with its check-in and check-out, presence
(door card, or by hand with a reason), services, photos and the trust flags the checks raise,
written in bulk. Some providers are deliberately worse than others (``QUALITY``), so that the
county's audit has something to find.

Providers know nothing of contracts: the days to visit follow the standard care schedule (weekly,
three days a week or daily by self-care level), and the illnesses the caller passes in (reported
to the township, which contracts records) are answered as each provider's profile says.

Photos: a few dozen real JPEGs made with Pillow are stored once under MEDIA_DIR (``demo/photos``)
and the photo rows of a year share them; each row has its own hashes (as a distinct original
would) except where a worker reused a picture, which then shows as a near-duplicate.

A city's year is about half a million visits, so the rows are made a month at a time with times
as whole minutes and ids as integers, turned into what the database driver takes only once per
distinct value (``Values``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import math
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence, Set
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from piccolo.table import Table
from PIL import Image, ImageDraw

from carepact.accounts.tables import Account, Assignment, Role
from carepact.audit.services import SYSTEM, record
from carepact.cards.tables import Card, CardSubject
from carepact.catalogue import ServiceCode
from carepact.db import atomic, insert_many, is_postgres
from carepact.media import storage
from carepact.media.pipeline import bands, process
from carepact.media.tables import Photo, PhotoStatus
from carepact.registry.tables import CareLevel, Household, Organisation, OrganisationKind, Person
from providers.tables import (
    FlagSeverity,
    ManualReason,
    Presence,
    Review,
    Visit,
    VisitFlag,
    VisitPhoto,
    VisitService,
    VisitStatus,
)
from providers.visits.flags import Flag, PhotoFacts, checkin_flags, checkout_flags, photo_flags
from providers.visits.policy import DEFAULT_POLICY

HISTORY_DIGEST = "demo-history"  # marks the generated visits (where the phone's digest would be)
PICTURES = 36  # distinct JPEGs on disk that the photo rows share
PICTURE_DIR = "demo/photos"
METRES_PER_DEGREE = 111_320  # of latitude


class Quality(msgspec.Struct, frozen=True, kw_only=True):
    """How a provider's workers work: the chances of each way a visit can fall short."""

    summary: str  # in Chinese, for people reading the demo
    worse: bool = False  # deliberately worse than the city's norm
    skipped: float = 0.02  # a scheduled visit not made
    lapses_per_year: float = 0.0  # stretches of 8–16 days a household goes without any visit
    late: float = 0.02  # made one or two days after its scheduled day
    manual: float = 0.02  # entered by hand (card damaged, phone trouble ...) instead of scanned
    unapproved: float = 0.0  # of those, left without the manager's approval
    no_photo: float = 0.015
    short: float = 0.01  # shorter than the agreement's 30 minutes
    far: float = 0.003  # checked in far from the home
    similar_photo: float = 0.0  # a photo nearly identical to one of the worker's earlier visits
    first_visit_hours: tuple[int, int] = (1, 12)  # from an illness's report to the first visit
    ill_daily: float = 0.97  # each day's visit while ill at home
    hospital_every_days: int = 2  # accompaniment while in hospital


GOOD = Quality(summary="按约定频次上门，扫码签到并拍照，生病及时看护")
# Per provider (the demo's names, carepact.demo.geography.PROVIDERS); any other provider is GOOD.
QUALITY: dict[str, Quality] = {
    "宝鸡市仁和社会工作服务中心": GOOD,
    "陈仓区康乐居家养老服务有限公司": GOOD,
    "岐山县善德社会工作服务社": Quality(
        summary="总体良好，偶有漏访和手工录入",
        skipped=0.04,
        late=0.04,
        manual=0.03,
        no_photo=0.03,
        short=0.02,
        first_visit_hours=(2, 16),
    ),
    "陇州乐龄养老服务中心": Quality(
        summary="漏访多，上门间隔长（常有一两周无人上门），生病看护迟缓",
        worse=True,
        skipped=0.18,
        lapses_per_year=3.0,
        late=0.2,
        manual=0.07,
        no_photo=0.1,
        short=0.04,
        far=0.01,
        first_visit_hours=(30, 80),
        ill_daily=0.5,
        hospital_every_days=4,
    ),
    "秦岭山区助老服务中心": Quality(
        summary="手工录入多且常未审核，缺照片，服务时间短，照片雷同，签到位置远离住址",
        worse=True,
        skipped=0.12,
        lapses_per_year=0.5,
        late=0.06,
        manual=0.3,
        unapproved=0.35,
        no_photo=0.25,
        short=0.22,
        far=0.1,
        similar_photo=0.12,
        first_visit_hours=(8, 36),
        ill_daily=0.8,
    ),
}
WORSE_PROVIDERS = tuple(name for name, q in QUALITY.items() if q.worse)

MANUAL_REASONS = (
    ManualReason.card_damaged,
    ManualReason.card_missing,
    ManualReason.phone_problem,
    ManualReason.camera_unavailable,
)
NOTES = (
    "打扫卫生，测量血压，聊天",
    "协助洗漱，整理床铺，清洗衣物",
    "代购米面油和药品，陪同聊天",
    "打扫厨房，检查用电用气安全",
    "协助进餐，测量血压血糖",
)
ILL_NOTES = ("探视病情，测量体温，协助服药", "生病看护，熬粥喂饭，观察病情")
HOSPITAL_NOTES = "在医院陪护，协助进餐"
HOME, ILL, HOSPITAL = "home", "ill", "hospital"  # why a visit is made
QR, MANUAL = Presence.qr.value, Presence.manual.value
NOT_REQUIRED, APPROVED, AWAITING = Review.not_required.value, Review.approved.value, Review.awaiting_approval.value


class Illness(msgspec.Struct, frozen=True, kw_only=True):
    """An illness as reported (contracts records it as a sick episode)."""

    household_id: int
    kind: str  # "ill_at_home" or "hospitalised"
    started_at: dt.datetime
    ended_at: dt.datetime


class Picture(msgspec.Struct, frozen=True, kw_only=True):
    """One stored photo's files and facts, as the upload pipeline leaves them."""

    original_key: str
    display_key: str
    thumb_key: str
    size_bytes: int
    sha256: str
    format: str
    width: int
    height: int
    phash: int


class HouseholdFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    care_level: str
    latitude: float | None
    longitude: float | None


class Span(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's assignment to a household, cut to the history's days."""

    household: int
    worker: int
    organisation: int
    first: dt.date
    last: dt.date


class HistoryInputs(msgspec.Struct, kw_only=True):
    households: dict[int, HouseholdFacts]
    spans: list[Span]
    names: dict[int, str]  # the providers' names
    quality: dict[int, Quality]  # by provider
    managers: dict[int, int]  # provider → its manager's account (who approves manual entries)


class History(msgspec.Struct, kw_only=True):
    """Rows to write, as insert_many takes them, each list in id order."""

    visits: list[dict[str, Any]]
    services: list[dict[str, Any]]
    photos: list[dict[str, Any]]
    links: list[dict[str, Any]]
    flags: list[dict[str, Any]]


class ProviderHistory(msgspec.Struct, kw_only=True):
    name: str
    summary: str
    worse: bool
    households: int = 0
    scheduled: int = 0  # visits the care schedule asked for (outside illnesses)
    routine: int = 0  # visits made for the care schedule (late ones included)
    visits: int = 0  # every visit, those for illnesses included
    verified: int = 0  # by door card, with a photo, no serious flag


class VisitHistorySummary(msgspec.Struct, kw_only=True):
    created: bool
    start: dt.date
    end: dt.date
    households: int = 0
    visits: int = 0
    services: int = 0
    photos: int = 0
    flags: int = 0
    pictures: int = 0
    providers: list[ProviderHistory] = []
    seconds: float = 0.0


# --- the schedule and what is done at a visit: shared with the agreement demo's pilot ----------------


def scheduled(level: str, day: dt.date, shift: int = 0) -> bool:
    """The days a compliant caregiver comes: weekly (Tuesday), Mon/Wed/Fri, or every day; ``shift``
    moves the week's pattern by that many days, so a worker's households do not all fall on one day."""
    weekday = (day.weekday() - shift) % 7
    if level == CareLevel.unable:
        return True
    if level == CareLevel.partly_unable:
        return weekday in (0, 2, 4)
    return weekday == 1


def services_for(level: str, k: int) -> list[str]:
    """The services of a household's ``k``-th visit: care always, cleaning and a talk in turn, often
    enough for the agreement's monthly minimum at each level's visit frequency."""
    services = [ServiceCode.personal_care.value]
    cleaning, comfort = {"able": (1, 2), "partly_unable": (3, 4), "unable": (7, 10)}[level]
    if k % cleaning == 0:
        services.append(ServiceCode.cleaning.value)
    if k % comfort == comfort - 1:
        services.append(ServiceCode.psychological_comfort.value)
    return services


def picture(rng: random.Random, size: tuple[int, int] = (240, 180)) -> bytes:
    """A JPEG of coloured shapes: a real image for the photo pipeline and the evidence."""
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(0, width * 5 // 6), rng.randrange(0, height * 7 // 9)
        box = (x, y, x + rng.randrange(width // 12, width * 3 // 8), y + rng.randrange(height // 9, height * 7 // 18))
        colour = tuple(rng.randrange(0, 256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def visit_row(
    *,
    visit_id: Any,
    household: int,
    worker: int,
    organisation: int,
    checkin: Any,
    checkin_received: Any,
    checkout: Any,
    checkout_received: Any,
    minutes: int,
    presence: str,
    position: tuple[float, float, float] | None,
    distance: int | None,
    notes: str,
    manual_reason: str = "",
    manual_note: str = "",
    review: str = Review.not_required.value,
    reviewed_by: int | None = None,
    reviewed_at: Any = None,
    review_comment: str = "",
    digest: str = HISTORY_DIGEST,
) -> dict[str, Any]:
    """A completed visit as check-in and check-out through the API leave it (no clock skew); ids
    and times in the form the driver takes (see ``Values``)."""
    return {
        "id": visit_id,
        "household": household,
        "worker": worker,
        "organisation": organisation,
        "status": VisitStatus.completed.value,
        "presence": presence,
        "manual_reason": manual_reason,
        "manual_note": manual_note,
        "card_version": 1 if presence == Presence.qr else None,
        "checkin_at": checkin,
        "checkin_device_at": checkin,
        "checkin_received_at": checkin_received,
        "checkout_at": checkout,
        "checkout_device_at": checkout,
        "checkout_received_at": checkout_received,
        "clock_skew_seconds": 0,
        "duration_minutes": minutes,
        "checkin_latitude": position[0] if position else None,
        "checkin_longitude": position[1] if position else None,
        "checkin_accuracy_m": position[2] if position else None,
        "checkin_distance_m": distance,
        "checkout_latitude": None,
        "checkout_longitude": None,
        "notes": notes,
        "review": review,
        "reviewed_by": reviewed_by,
        "reviewed_at": reviewed_at,
        "review_comment": review_comment,
        "corrects": None,
        "checkin_digest": digest,
        "checkout_digest": digest,
        "created_at": checkin,
    }


def photo_row(
    *,
    photo_id: Any,
    household: int,
    organisation: int,
    uploaded_by: int,
    taken: Any,
    processed: Any,
    stored: Picture,
    sha256: str | None = None,
    phash: int | None = None,
) -> dict[str, Any]:
    """A processed photo's row; ``sha256`` and ``phash`` when the row stands for another original
    than the stored files' own."""
    phash = stored.phash if phash is None else phash
    b0, b1, b2, b3 = bands(phash)
    return {
        "id": photo_id,
        "household": household,
        "organisation": organisation,
        "uploaded_by": uploaded_by,
        "status": PhotoStatus.ready.value,
        "error_code": "",
        "error_message": "",
        "filename": "photo.jpg",
        "declared_type": "image/jpeg",
        "size_bytes": stored.size_bytes,
        "sha256": sha256 or stored.sha256,
        "original_key": stored.original_key,
        "display_key": stored.display_key,
        "thumb_key": stored.thumb_key,
        "format": stored.format,
        "width": stored.width,
        "height": stored.height,
        "captured_at": taken,
        "exif_latitude": None,
        "exif_longitude": None,
        "phash": f"{phash:016x}",
        "phash_b0": b0,
        "phash_b1": b1,
        "phash_b2": b2,
        "phash_b3": b3,
        "created_at": taken,
        "processed_at": processed,
    }


def store_picture(data: bytes, original_key: str, display_key: str, thumb_key: str) -> Picture:
    """Run a JPEG through the upload pipeline and store its original, display and thumbnail copies."""
    processed = process(data, "image/jpeg", "photo.jpg")
    storage.put(original_key, data)
    storage.put(display_key, processed.display_jpeg)
    storage.put(thumb_key, processed.thumb_jpeg)
    return Picture(
        original_key=original_key,
        display_key=display_key,
        thumb_key=thumb_key,
        size_bytes=len(data),
        sha256=processed.sha256,
        format=processed.format,
        width=processed.width,
        height=processed.height,
        phash=int(processed.phash, 16),
    )


def arrival_flags(
    reason: ManualReason | None,
    home: tuple[float, float] | None,
    position: tuple[float, float, float] | None,
    at: dt.datetime,
) -> list[Flag]:
    """What the check-in's checks raise for a visit made as told: no card problem, no clock skew,
    no previous visit to travel from."""
    return checkin_flags(
        policy=DEFAULT_POLICY,
        card_problem=None,
        manual_reason=reason,
        home=home,
        position=position,
        skew_seconds=0,
        checkin_at=at,
        previous=None,
    )


def flag_rows(visit_id: Any, flags: Iterable[Flag], at: Any) -> list[dict[str, Any]]:
    return [
        {
            "visit": visit_id,
            "code": f.code,
            "severity": f.severity.value,
            "message": f.message[:300],
            "evidence": msgspec.json.encode(f.evidence).decode(),
            "source": f.source,
            "created_at": at,
        }
        for f in flags
    ]


# --- times as whole minutes, ids as integers ---------------------------------------------------------

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
SHANGHAI_OFFSET = 8 * 60  # minutes; no daylight saving


def local_minute(day: dt.date, hour: int, minute: int = 0) -> int:
    """Minutes since the epoch of a local (Asia/Shanghai) time."""
    return (day.toordinal() - EPOCH_DAY) * 1440 + hour * 60 + minute - SHANGHAI_OFFSET


def minute_of(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // 60


def day_of(minute: int) -> dt.date:
    """The local calendar day of a minute."""
    return dt.date.fromordinal(EPOCH_DAY + (minute + SHANGHAI_OFFSET) // 1440)


def moment(minute: int, second: int = 0) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=minute * 60 + second)


class Values:
    """Times and ids as the database driver takes them: Python objects, or (``text``, for SQLite)
    the text Piccolo's adapters would make of them, built from a day's and a time of day's text
    made once each: the adapters' Python calls would be most of the cost of writing a year."""

    def __init__(self, *, text: bool) -> None:
        self.text = text
        self._days: dict[int, str] = {}
        self._clock: dict[int, str] = {}
        self._moments: dict[int, dt.datetime] = {}

    def time(self, minute: int, second: int = 0) -> Any:
        if not self.text:
            key = minute * 60 + second  # a month's visits share a few tens of thousands of minutes
            found = self._moments.get(key)
            if found is None:
                found = self._moments[key] = moment(minute, second)
            return found
        day, of_day = divmod(minute, 1440)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = f"{dt.date.fromordinal(EPOCH_DAY + day)} "
        key = of_day * 60 + second
        clock = self._clock.get(key)
        if clock is None:
            clock = self._clock[key] = f"{of_day // 60:02d}:{of_day % 60:02d}:{second:02d}+00:00"
        return prefix + clock  # str() of the aware UTC time: what Piccolo's adapter binds

    def id(self, value: int) -> Any:
        if not self.text:
            return uuid.UUID(int=value)
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --- the history ---------------------------------------------------------------------------------


def demo_pictures(seed: int = 2026, count: int = PICTURES) -> list[Picture]:
    """The shared JPEGs, made and stored (the same seed makes the same files)."""
    rng = random.Random(seed)
    found = []
    for n in range(count):
        folder = f"{PICTURE_DIR}/{n:02d}"
        data = picture(rng, (640, 480))
        found.append(store_picture(data, f"{folder}/original.jpg", f"{folder}/display.jpg", f"{folder}/thumb.jpg"))
    return found


async def history_exists() -> bool:
    return await Visit.exists().where(Visit.checkin_digest == HISTORY_DIGEST)


async def load_inputs(start: dt.date, end: dt.date, skip_households: Set[int] = frozenset()) -> HistoryInputs:
    """Assignments overlapping the days, the households' self-care level and home, each provider's
    quality and manager."""
    rows = (
        await Assignment.select(
            Assignment.household, Assignment.worker, Assignment.organisation, Assignment.starts_on, Assignment.ends_on
        )
        .where((Assignment.starts_on <= end) & (Assignment.ends_on.is_null() | (Assignment.ends_on >= start)))
        .order_by(Assignment.household, Assignment.starts_on, Assignment.id)
    )
    levels: dict[int, str] = {}
    for p in (
        await Person.select(Person.household, Person.care_level)
        .where(Person.household.is_not_null())
        .order_by(Person.id)
    ):
        levels.setdefault(p["household"], p["care_level"])
    households = {
        h["id"]: HouseholdFacts(
            id=h["id"], care_level=levels[h["id"]], latitude=h["latitude"], longitude=h["longitude"]
        )
        for h in await Household.select(Household.id, Household.latitude, Household.longitude)
        if h["id"] in levels
    }
    spans = [
        Span(
            household=r["household"],
            worker=r["worker"],
            organisation=r["organisation"],
            first=max(start, r["starts_on"]),
            last=min(end, r["ends_on"] or end),
        )
        for r in rows
        if r["household"] not in skip_households and r["household"] in households
    ]
    providers = await Organisation.select(Organisation.id, Organisation.name).where(
        Organisation.kind == OrganisationKind.provider.value
    )
    managers: dict[int, int] = {}
    for m in (
        await Account.select(Account.id, Account.organisation)
        .where(Account.role == Role.provider_manager.value)
        .order_by(Account.id)
    ):
        managers.setdefault(m["organisation"], m["id"])
    return HistoryInputs(
        households=households,
        spans=spans,
        names={p["id"]: p["name"] for p in providers},
        quality={p["id"]: QUALITY.get(p["name"], GOOD) for p in providers},
        managers=managers,
    )


class _Planned(msgspec.Struct, array_like=True):
    """A visit decided but not yet placed in its worker's day."""

    worker: int
    day: dt.date
    order: int  # the household's place on the worker's round
    household: int
    organisation: int
    why: str  # HOME, ILL or HOSPITAL
    services: list[str]
    not_before: int = -1  # a minute: when a reported illness is first visited


class HistoryPlan:
    """The history decided: first who is visited on which day (cheap, for the whole span), then the
    rows a month at a time in time order, so a city's year never sits in memory at once. A pure
    function of its inputs and the seed: the same seed makes the same rows."""

    def __init__(
        self,
        inputs: HistoryInputs,
        pictures: Sequence[Picture],
        *,
        seed: int = 2026,
        illnesses: Sequence[Illness] = (),
        text: bool = False,
        shifts: Callable[[int, str], int] | None = None,
    ) -> None:
        """``shifts``: a household's weekly pattern (household id, self-care level → the shift of
        ``scheduled``) instead of a random one, so plans made a month at a time (the province) keep
        each household on its days from one month to the next."""
        self.inputs, self.pictures = inputs, pictures
        self.shifts = shifts
        self.values = Values(text=text)
        self.rng = random.Random(seed)
        self.serial = 0x019B_0000_0000  # ids count up from here (a UUIDv7-like time in 2025)
        ill: dict[int, list[Illness]] = defaultdict(list)
        for i in sorted(illnesses, key=lambda i: (i.household_id, i.started_at)):
            ill[i.household_id].append(i)
        self.planned: list[_Planned] = []
        self.tally: dict[int, ProviderHistory] = {}
        counter: Counter[int] = Counter()
        rounds: Counter[int] = Counter()
        households: dict[int, set[int]] = defaultdict(set)
        for span in inputs.spans:
            if span.first > span.last:
                continue
            quality = inputs.quality.get(span.organisation, GOOD)
            tally = self.tally.setdefault(
                span.organisation,
                ProviderHistory(
                    name=inputs.names.get(span.organisation, ""), summary=quality.summary, worse=quality.worse
                ),
            )
            rounds[span.worker] += 1
            households[span.organisation].add(span.household)
            level = inputs.households[span.household].care_level
            tally.scheduled += self._plan_household(
                span, level, quality, ill.get(span.household, []), rounds[span.worker], counter
            )
        for organisation, members in households.items():
            self.tally[organisation].households = len(members)
        self.planned.sort(key=lambda p: (p.day, p.worker, p.order))

    def _plan_household(
        self,
        span: Span,
        level: str,
        quality: Quality,
        illnesses: list[Illness],
        order: int,
        counter: Counter[int],
    ) -> int:
        """The household's visits over the span; returns how many the schedule asked for."""
        rng = self.rng

        def add(day: dt.date, why: str, not_before: int = -1) -> None:
            if why == HOSPITAL:
                services = [ServiceCode.hospital_accompaniment.value]
            elif why == ILL:
                services = [ServiceCode.personal_care.value]
                if rng.random() < 0.3:
                    services.append(ServiceCode.psychological_comfort.value)
            else:
                k = counter[span.household]
                services = services_for(level, k)
                if k % 40 == 20:
                    services.append(ServiceCode.environment_improvement.value)
                counter[span.household] = k + 1
            self.planned.append(
                _Planned(span.worker, day, order, span.household, span.organisation, why, services, not_before)
            )

        if self.shifts is not None:
            shift = self.shifts(span.household, level)
        else:
            shift = rng.randrange(7) if level == CareLevel.able else rng.randrange(2)
        length = (span.last - span.first).days + 1
        lapses = []
        expected = quality.lapses_per_year * length / 365
        for _ in range(int(expected) + (rng.random() < expected % 1)):
            begin = span.first + dt.timedelta(days=rng.randrange(length))
            lapses.append((begin, begin + dt.timedelta(days=rng.randrange(7, 16))))
        sick = [(day_of(minute_of(i.started_at)), day_of(minute_of(i.ended_at))) for i in illnesses]
        monday = span.first - dt.timedelta(days=span.first.weekday())
        weekdays = {d for d in range(7) if scheduled(level, monday + dt.timedelta(days=d), shift)}

        asked = 0
        pushed: set[dt.date] = set()  # days a late visit was moved to
        one_day = dt.timedelta(days=1)
        day = span.first
        while day <= span.last:
            if day.weekday() in weekdays and not (sick and _within(sick, day)):
                asked += 1
                if (lapses and _within(lapses, day)) or rng.random() < quality.skipped:
                    pass
                elif level != CareLevel.unable and rng.random() < quality.late:
                    later = day + dt.timedelta(days=1 if rng.random() < 0.7 else 2)
                    if later <= span.last and not _within(sick, later):
                        pushed.add(later)
                else:
                    add(day, HOME)
            elif pushed and day in pushed:
                add(day, HOME)
            day += one_day

        for illness, (first_day, last_day) in zip(illnesses, sick, strict=True):
            if illness.kind == "hospitalised":
                day = first_day
                while day < last_day:
                    if span.first <= day <= span.last:
                        add(day, HOSPITAL)
                    day += dt.timedelta(days=quality.hospital_every_days)
                continue
            low, high = quality.first_visit_hours
            first = minute_of(illness.started_at) + int(rng.uniform(low, high) * 60)
            local_hour = (first + SHANGHAI_OFFSET) % 1440 // 60
            if local_hour < 7 or local_hour >= 20:  # a night's report is answered in the morning
                morning = day_of(first) + (one_day if local_hour >= 20 else dt.timedelta())
                first = local_minute(morning, 8, rng.randrange(30))
            if first >= minute_of(illness.ended_at):
                continue
            if span.first <= day_of(first) <= span.last:
                add(day_of(first), ILL, first)
            day = day_of(first) + one_day
            while day <= last_day:
                if span.first <= day <= span.last and rng.random() < quality.ill_daily:
                    add(day, ILL)
                day += one_day
        return asked

    def months(self, batch: int | None = None) -> Iterator[History]:
        """The rows, one calendar month at a time, each table's in id order; with ``batch``, a
        month in parts of about that many visits (whole worker-days each), so that a province's
        month never sits in memory at once."""
        planned = self.planned
        recent: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)  # a worker's last photos
        n = 0
        while n < len(planned):
            month = planned[n].day.replace(day=1)
            history = History(visits=[], services=[], photos=[], links=[], flags=[])
            while (
                n < len(planned)
                and planned[n].day.replace(day=1) == month
                and (batch is None or len(history.visits) < batch)
            ):
                m = n
                while m < len(planned) and planned[m].worker == planned[n].worker and planned[m].day == planned[n].day:
                    m += 1
                for p, at in _round(self.rng, planned[n:m]):
                    verified = self._visit(history, p, at, recent[p.worker])
                    tally = self.tally[p.organisation]
                    tally.visits += 1
                    tally.routine += p.why == HOME
                    tally.verified += verified
                n = m
            yield history

    def _id(self) -> int:
        """A random version-4 UUID (as an integer) whose first 48 bits count up, as a UUIDv7's time
        does: the rows are made in id order and go into each index at its end."""
        self.serial += 1
        low = self.rng.getrandbits(80) & ~(0xF << 76) & ~(0x3 << 62)
        return self.serial << 80 | low | 4 << 76 | 0x2 << 62

    def _visit(self, history: History, p: _Planned, at: int, recent: list[tuple[int, int, int, int]]) -> bool:
        """One visit's rows; whether it is proven by a scan and a photo with no serious flag."""
        rng, values = self.rng, self.values
        quality = self.inputs.quality.get(p.organisation, GOOD)
        home = self.inputs.households[p.household]
        visit_int = self._id()
        visit_id = values.id(visit_int)
        hospital = p.why == HOSPITAL
        reason: ManualReason | None = ManualReason.person_hospitalised if hospital else None
        if not hospital and rng.random() < quality.manual:
            reason = MANUAL_REASONS[int(rng.random() * len(MANUAL_REASONS))]
        short = not hospital and rng.random() < quality.short
        minutes = _between(rng, 60, 150) if hospital else _between(rng, 12, 29) if short else _between(rng, 35, 80)
        photo_count = 0 if rng.random() < quality.no_photo else 1 + (rng.random() < 0.05)
        far = not hospital and rng.random() < quality.far
        position: tuple[float, float, float] | None = None
        distance = None
        place = (home.latitude, home.longitude) if home.latitude is not None and home.longitude is not None else None
        if place is not None and not hospital:
            # A point ``meters`` from the home in a random direction (flat earth: a few km at most).
            meters = 500 + rng.random() * 3000 if far else rng.random() * 40
            bearing = rng.random() * 2 * math.pi
            lat = place[0] + meters * math.cos(bearing) / METRES_PER_DEGREE
            lng = place[1] + meters * math.sin(bearing) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
            position = (round(lat, 6), round(lng, 6), float(_between(rng, 5, 30)))
            distance = round(meters)
        ended = at + minutes
        arrived: list[Flag] = []  # raised at check-in, at check-out, by a photo
        left: list[Flag] = []
        pictured: list[Flag] = []
        if reason is not None or far or position is None:
            arrived = arrival_flags(reason, place, position, moment(at))
        if short or photo_count == 0:
            left = checkout_flags(policy=DEFAULT_POLICY, duration_minutes=minutes, photo_count=photo_count)

        manager = self.inputs.managers.get(p.organisation)
        review = NOT_REQUIRED
        reviewed_at = None
        if reason is not None:
            approved = manager is not None and (hospital or rng.random() >= quality.unapproved)
            review = APPROVED if approved else AWAITING
            if approved:
                reviewed_at = values.time(ended + 60 * _between(rng, 2, 24))
        notes = HOSPITAL_NOTES
        if not hospital:
            choices = ILL_NOTES if p.why == ILL else NOTES
            notes = choices[int(rng.random() * len(choices))]
        checkin, checkout = values.time(at), values.time(ended)
        history.visits.append(
            visit_row(
                visit_id=visit_id,
                household=p.household,
                worker=p.worker,
                organisation=p.organisation,
                checkin=checkin,
                checkin_received=values.time(at, 3),
                checkout=checkout,
                checkout_received=values.time(ended, 3),
                minutes=minutes,
                presence=QR if reason is None else MANUAL,
                position=position,
                distance=distance,
                notes=notes,
                manual_reason=reason.value if reason is not None else "",
                manual_note="服务对象住院，在医院陪护" if hospital else "",
                review=review,
                reviewed_by=manager if reviewed_at is not None else None,
                reviewed_at=reviewed_at,
                review_comment="已电话核实" if reviewed_at is not None else "",
            )
        )
        history.services += [{"visit": visit_id, "service": s} for s in p.services]
        for k in range(photo_count):
            photo_int = self._id()
            photo_id = values.id(photo_int)
            taken = at + min(minutes - 1, 5 + 10 * k + _between(rng, 0, 5))
            if recent and rng.random() < quality.similar_photo:
                # A picture the worker used before, taken again: nearly the same hash.
                other_photo, other_visit, phash, shown = recent[int(rng.random() * len(recent))]
                bits = _between(rng, 1, 4)
                for bit in rng.sample(range(64), bits):
                    phash ^= 1 << bit
                facts = PhotoFacts(
                    photo_id=uuid.UUID(int=photo_int),
                    status=PhotoStatus.ready.value,
                    captured_at=moment(taken),
                    duplicates=[(uuid.UUID(int=other_photo), uuid.UUID(int=other_visit), bits)],
                )
                pictured += photo_flags(
                    policy=DEFAULT_POLICY, checkin_at=moment(at), checkout_at=moment(ended), photos=[facts]
                )
            else:
                phash, shown = rng.getrandbits(64), int(rng.random() * len(self.pictures))
            history.photos.append(
                photo_row(
                    photo_id=photo_id,
                    household=p.household,
                    organisation=p.organisation,
                    uploaded_by=p.worker,
                    taken=values.time(taken),
                    processed=values.time(taken, 5),
                    stored=self.pictures[shown],
                    sha256=rng.randbytes(32).hex(),
                    phash=phash,
                )
            )
            history.links.append({"visit": visit_id, "photo": photo_id, "stage": "checkout"})
            recent.append((photo_int, visit_int, phash, shown))
            if len(recent) > 30:
                del recent[0]
        if arrived or left or pictured:
            history.flags += flag_rows(visit_id, arrived, checkin)
            history.flags += flag_rows(visit_id, (*left, *pictured), checkout)
        serious = any(f.severity == FlagSeverity.serious for f in (*arrived, *left, *pictured))
        return reason is None and photo_count > 0 and not serious


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number in [low, high): ``randrange`` at a fraction of its cost, for a year of visits."""
    return low + int(rng.random() * (high - low))


def _within(spans: Iterable[tuple[dt.date, dt.date]], day: dt.date) -> bool:
    return any(a <= day <= b for a, b in spans)


def _round(rng: random.Random, day_visits: list[_Planned]) -> list[tuple[_Planned, int]]:
    """One worker's day: the round from about 8 o'clock, one household after another with the
    travel between (minutes); a visit that waits for a reported illness is made once it is due."""
    fixed = sorted((p for p in day_visits if p.not_before >= 0), key=lambda p: p.not_before)
    clock = local_minute(day_visits[0].day, 8, _between(rng, 0, 30))
    placed = []
    for p in day_visits:
        if p.not_before >= 0:
            continue
        while fixed and fixed[0].not_before <= clock + 60:
            f = fixed.pop(0)
            placed.append((f, max(clock, f.not_before)))
            clock = max(clock, f.not_before) + _between(rng, 50, 90)
        placed.append((p, clock))
        clock += _between(rng, 50, 100)
    for f in fixed:
        placed.append((f, max(clock, f.not_before)))
        clock = max(clock, f.not_before) + _between(rng, 50, 90)
    return placed


# --- writing -------------------------------------------------------------------------------------


async def build_visit_history(
    *,
    start: dt.date,
    end: dt.date,
    seed: int = 2026,
    skip_households: Set[int] = frozenset(),
    illnesses: Sequence[Illness] = (),
) -> VisitHistorySummary:
    """Write the history of every assigned household (but ``skip_households``) from ``start`` to
    ``end`` (local days, both included), answering ``illnesses``; once: nothing if it exists."""
    if await history_exists():
        return VisitHistorySummary(created=False, start=start, end=end, visits=await Visit.count())
    began = time.perf_counter()
    pictures = demo_pictures(seed)
    inputs = await load_inputs(start, end, skip_households)
    plan = HistoryPlan(inputs, pictures, seed=seed, illnesses=illnesses, text=not is_postgres())
    written = await write_history(plan.months())
    summary = VisitHistorySummary(
        created=True,
        start=start,
        end=end,
        households=sum(p.households for p in plan.tally.values()),
        visits=written["visits"],
        services=written["services"],
        photos=written["photos"],
        flags=written["flags"],
        pictures=len(pictures),
        providers=list(plan.tally.values()),
        seconds=round(time.perf_counter() - began, 2),
    )
    await record(
        SYSTEM,
        "demo.visit_history",
        "demo",
        "visits",
        detail={"start": start, "end": end, "seed": seed, "visits": summary.visits, "photos": summary.photos},
    )
    return summary


async def write_history(months: Iterable[History]) -> Counter[str]:
    """Every month's rows in one transaction, in id order (so each index on the ids grows at its
    end; on SQLite the other indexes are built once at the end). The next month is made in a
    thread while this one is written: SQLite works without holding the interpreter. Returns how
    many rows of each table were written."""
    written: Counter[str] = Counter()
    upcoming = iter(months)

    def following() -> History | None:
        return next(upcoming, None)

    async with atomic():
        carded = {
            c["subject_id"]
            for c in await Card.select(Card.subject_id).where(Card.subject == CardSubject.household.value)
        }
        async with indexes_built_after((Visit, VisitService, Photo, VisitPhoto, VisitFlag)):
            made = asyncio.ensure_future(asyncio.to_thread(following))
            try:
                while (history := await made) is not None:
                    made = asyncio.ensure_future(asyncio.to_thread(following))
                    scanned = {v["household"] for v in history.visits if v["presence"] == QR}
                    await insert_many(Card, [_first_card(h) for h in sorted(scanned - carded)])
                    carded |= scanned
                    for table, rows, kind in (
                        (Visit, history.visits, "visits"),
                        (VisitService, history.services, "services"),
                        (Photo, history.photos, "photos"),
                        (VisitPhoto, history.links, "links"),
                        (VisitFlag, history.flags, "flags"),
                    ):
                        await insert_many(table, rows)
                        written[kind] += len(rows)
            finally:
                await asyncio.gather(made, return_exceptions=True)  # never leave the thread behind
    return written


def _first_card(household: int) -> dict[str, Any]:
    return {
        "subject": CardSubject.household.value,
        "subject_id": household,
        "version": 1,
        "issued_at": dt.datetime.now(dt.UTC),
        "issued_by": None,
        "reason": "首次制卡",
    }


@asynccontextmanager
async def indexes_built_after(tables: Sequence[type[Table]]) -> AsyncIterator[None]:
    """On SQLite, inside the transaction: the tables' secondary indexes dropped for the bulk insert
    and created again from their own definitions (one sort each, instead of a few hundred thousand
    inserts at random places); a failure rolls both back."""
    if is_postgres():
        yield
        return
    names = ", ".join(f"'{t._meta.tablename}'" for t in tables)
    indexes = await Visit.raw(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})"
    )
    [cache] = await Visit.raw("PRAGMA cache_size")
    await Visit.raw("PRAGMA cache_size = -262144")  # 256 MB of page cache, for this load only
    for index in indexes:
        await Visit.raw(f'DROP INDEX "{index["name"]}"')
    try:
        yield
        for index in indexes:
            await Visit.raw(index["sql"])
    finally:
        await Visit.raw(f"PRAGMA cache_size = {int(cache['cache_size'])}")  # the connection may be reused


def describe_history(summary: VisitHistorySummary) -> str:
    if not summary.created:
        return f"上门服务记录已存在（共 {summary.visits:,} 次），未重复生成。"
    lines = [
        f"已生成 {summary.start:%Y年%m月%d日}至{summary.end:%m月%d日}的上门服务记录：{summary.households:,} 户，"
        f"上门 {summary.visits:,} 次，照片 {summary.photos:,} 张（共用 {summary.pictures} 个图片文件），"
        f"可信度提示 {summary.flags:,} 条。"
    ]
    for p in summary.providers:
        done = p.routine / p.scheduled if p.scheduled else 0
        proven = p.verified / p.visits if p.visits else 0
        mark = "（演示设定：较差）" if p.worse else ""
        lines.append(
            f"  {p.name}{mark}：{p.households:,} 户，上门 {p.visits:,} 次，按约定频次完成 {done:.0%}，"
            f"扫码且有照片 {proven:.0%}；{p.summary}。"
        )
    return "\n".join(lines)
