"""Visits: check-in, check-out, review, and reading them within scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from typing import Any

import msgspec
from piccolo.columns.combination import Where

from carepact.accounts.access import Principal, visible_household_ids, visible_households
from carepact.accounts.tables import Role
from carepact.api import Page, PageRequest
from carepact.audit.services import Actor, record
from carepact.cards import services as cards
from carepact.cards.tables import CardSubject
from carepact.cards.tokens import TokenRefused
from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.dates import day_start, local_today
from carepact.db import atomic, fetch, insert_many, insert_row
from carepact.errors import FieldError, Problem, forbidden, not_found
from carepact.geo import distance_m
from carepact.media.tables import Photo, PhotoStatus
from carepact.registry.tables import Household, Person
from providers.tables import ManualReason, Presence, Review, Visit, VisitFlag, VisitPhoto, VisitService, VisitStatus
from providers.visits import flags as flagging
from providers.visits.policy import policy_for
from providers.visits.schemas import (
    MANUAL_REASON_LABELS,
    PRESENCE_LABELS,
    REVIEW_LABELS,
    STATUS_LABELS,
    CheckinIn,
    CheckoutIn,
    CorrectionIn,
    FlagOut,
    ReviewIn,
    TodayHousehold,
    VisitDetail,
    VisitPhotoOut,
    VisitServiceOut,
    VisitSummary,
)

MAX_BACKDATE = dt.timedelta(days=30)
MAX_AHEAD = dt.timedelta(seconds=60)


def visible_visits(principal: Principal) -> Where:
    """Workers see their own visits, providers their organisation's, bureaus their region's."""
    match principal.role:
        case Role.field_worker:
            return Visit.worker == principal.account_id
        case Role.provider_manager:
            return Visit.organisation == principal.organisation_id
        case Role.city_admin | Role.county_auditor | Role.township_officer:
            return Visit.household.is_in(Household.select(Household.id).where(visible_households(principal)))
        case _:
            return Visit.id.is_null()


def _digest(body: msgspec.Struct) -> str:
    # sent_at differs on every retry of the same visit, so it is not part of what was submitted.
    content = {k: v for k, v in msgspec.to_builtins(body).items() if k != "sent_at"}
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _corrected(device_time: dt.datetime, sent_at: dt.datetime, received_at: dt.datetime) -> tuple[dt.datetime, int]:
    """The event time by the server's clock: device time shifted by the skew measured at sending."""
    if device_time.tzinfo is None or sent_at.tzinfo is None:
        raise Problem(400, "visit.time_without_zone", "时间必须带时区（例如 2026-11-29T09:30:00+08:00）。")
    if device_time > sent_at + MAX_AHEAD:
        raise Problem(400, "visit.time_after_sending", "签到/签退时间晚于提交时间，请检查手机时间设置。")
    skew = round((received_at - sent_at).total_seconds())
    corrected = device_time + dt.timedelta(seconds=skew)
    if corrected < received_at - MAX_BACKDATE:
        raise Problem(400, "visit.too_old", "超过 30 天的服务记录不能补录，请联系机构负责人。")
    return corrected, skew


async def _photos_for(principal: Principal, household_id: int, photo_ids: list[uuid.UUID], visit_id: uuid.UUID) -> None:
    """Photos named by a submission must be this worker's, of this household, and not used elsewhere."""
    if not photo_ids:
        return
    rows = await Photo.select(Photo.id, Photo.household, Photo.uploaded_by).where(Photo.id.is_in(photo_ids))
    found = {r["id"]: r for r in rows}
    linked = {
        r["photo"]: r["visit"]
        for r in await VisitPhoto.select(VisitPhoto.photo, VisitPhoto.visit).where(VisitPhoto.photo.is_in(photo_ids))
    }
    for pid in photo_ids:
        row = found.get(pid)
        if row is None or row["household"] != household_id or row["uploaded_by"] != principal.account_id:
            raise Problem(
                400,
                "visit.photo_unknown",
                "照片不存在，或不是您为此户上传的照片，请重新拍照上传。",
                [FieldError(field="photo_ids", code="visit.photo_unknown", message=f"照片 {pid} 无效")],
            )
        if pid in linked and linked[pid] != visit_id:
            raise Problem(409, "visit.photo_already_used", "这张照片已用于另一条服务记录。")


async def _replace_flags(visit_id: uuid.UUID, source: str, flags: list[flagging.Flag]) -> None:
    await VisitFlag.delete().where((VisitFlag.visit == visit_id) & (VisitFlag.source == source))
    await _add_flags(visit_id, source, flags)


async def _add_flags(visit_id: uuid.UUID, source: str, flags: list[flagging.Flag]) -> None:
    now = _now()
    await insert_many(
        VisitFlag,
        [
            {
                "visit": visit_id,
                "code": f.code,
                "severity": f.severity.value,
                "message": f.message[:300],
                "evidence": _evidence(f),
                "source": source,
                "created_at": now,
            }
            for f in flags
        ],
    )


_PREVIOUS_VISIT = (
    "SELECT visit.id, visit.checkin_at, visit.checkout_at, household.latitude, household.longitude"
    " FROM visit JOIN household ON household.id = visit.household"
    " WHERE visit.worker = {} AND visit.checkin_at < {} AND visit.id <> {}"
    " ORDER BY visit.checkin_at DESC LIMIT 1"
)


async def _previous_visit(worker_id: int, before: dt.datetime, exclude: uuid.UUID) -> flagging.PreviousVisit | None:
    found = await fetch(_PREVIOUS_VISIT, worker_id, before, exclude)
    row = found[0] if found else None
    if row is None or row["latitude"] is None:
        return None
    ended = row["checkout_at"] if row["checkout_at"] and row["checkout_at"] <= before else row["checkin_at"]
    return flagging.PreviousVisit(
        visit_id=row["id"], ended_at=ended, latitude=row["latitude"], longitude=row["longitude"]
    )


# The household a check-in names (one row per member, for the answer; its door card's current version,
# as cards.current_version reads it), if the worker may see it, and
# whether this visit id is stored already (a replay): one statement. The outer one-row select answers
# "stored" even when the household is not visible (a replay of a visit to a household reassigned since).
_CHECKIN_HOUSEHOLD = (
    "SELECT EXISTS (SELECT 1 FROM visit WHERE visit.id = {}) AS stored, household.id, household.latitude,"
    " household.longitude, household.code, village.name AS village_name, person.name AS member,"
    " (SELECT max(card.version) FROM card WHERE card.subject = {} AND card.subject_id = household.id)"
    " AS card_version"
    " FROM (SELECT 1 AS one) AS here LEFT JOIN household ON household.id = {} AND household.id IN ({})"
    " LEFT JOIN region AS village ON village.id = household.village"
    " LEFT JOIN person ON person.household = household.id ORDER BY person.id"
)


async def checkin(principal: Principal, body: CheckinIn, actor: Actor) -> tuple[VisitDetail, bool]:
    """Record a check-in; a replay of the same submission returns the stored visit unchanged."""
    if principal.role != Role.field_worker:
        raise forbidden("只有社工 / 护理员可以签到服务。")
    digest = _digest(body)
    received = _now()
    try:
        return await _checkin(principal, body, actor, digest, received)
    except _Taken:
        # The same id was being stored by a request running beside this one (a phone retrying on
        # a poor connection): answer as its replay, once that one has committed.
        return await _checkin_replayed(principal, body.id, digest), False


class _Taken(Exception):
    """Another request stored this visit (or this check-out) first; this one rolls back."""


async def _checkin_replayed(principal: Principal, visit_id: uuid.UUID, digest: str) -> VisitDetail:
    existing = await Visit.select(Visit.worker, Visit.checkin_digest).where(Visit.id == visit_id).first()
    if existing is None or existing["worker"] != principal.account_id or existing["checkin_digest"] != digest:
        raise Problem(409, "visit.conflict", "同一服务记录编号已提交过不同的内容，未保存。请刷新后重新签到。")
    return await get_visit(principal, visit_id)


async def _checkin(
    principal: Principal, body: CheckinIn, actor: Actor, digest: str, received: dt.datetime
) -> tuple[VisitDetail, bool]:
    # What the check-in is judged by is read before the write transaction: on SQLite writers take
    # turns, and a turn should hold only the writes (tests/perf/bench_web.py measured the difference).
    found = await fetch(
        _CHECKIN_HOUSEHOLD,
        body.id,
        CardSubject.household.value,
        body.household_id,
        visible_household_ids(principal),
    )
    if found and found[0]["stored"]:  # a replay from the phone's outbox
        return await _checkin_replayed(principal, body.id, digest), False
    household = found[0] if found else None
    if household is None or household["id"] is None:
        raise not_found("household", "户")
    if body.card_token is None and body.manual_reason is None:
        raise Problem(
            400,
            "visit.presence_required",
            "请扫描门牌卡签到；无法扫码时请选择原因。",
            [FieldError(field="card_token", code="visit.presence_required", message="请扫码或选择无法扫码的原因")],
        )
    if body.manual_reason is not None and body.manual_reason.value == "other" and not body.manual_note.strip():
        raise Problem(
            400,
            "visit.manual_note_required",
            "选择“其他原因”时请填写说明。",
            [FieldError(field="manual_note", code="required", message="请填写说明")],
        )
    checkin_at, skew = _corrected(body.device_time, body.sent_at, received)
    card_problem: tuple[str, str] | None = None
    card_version = None
    if body.card_token is not None:
        try:
            claim = await cards.verify(
                body.card_token, CardSubject.household, known={household["id"]: household["card_version"]}
            )
            card_version = claim.version
            if claim.subject_id != body.household_id:
                card_problem = ("card.wrong_household", "扫描的门牌卡不是本户的卡片")
        except TokenRefused as exc:
            card_problem = (exc.code, exc.message)
    presence = (
        Presence.manual if body.card_token is None else Presence.qr if card_problem is None else Presence.qr_failed
    )
    policy = await policy_for(body.household_id, checkin_at.date())
    home = (household["latitude"], household["longitude"]) if household["latitude"] is not None else None
    position = None
    distance = None
    if body.position is not None:
        position = (body.position.latitude, body.position.longitude, body.position.accuracy_m)
        if home is not None:
            distance = round(distance_m(home[0], home[1], position[0], position[1]))
    flags = flagging.checkin_flags(
        policy=policy,
        card_problem=card_problem,
        manual_reason=body.manual_reason if body.card_token is None else None,
        home=home,
        position=position,
        skew_seconds=skew,
        checkin_at=checkin_at,
        previous=await _previous_visit(principal.account_id, checkin_at, body.id),
    )
    async with atomic():
        await _photos_for(principal, body.household_id, body.photo_ids, body.id)
        # DO NOTHING rather than fail: of two requests racing with one id, the second waits for
        # the first to commit and then inserts nothing (on PostgreSQL; SQLite runs them in turn).
        values = {
            "id": body.id,
            "household": body.household_id,
            "worker": principal.account_id,
            "organisation": principal.organisation_id,
            "status": VisitStatus.in_progress.value,
            "presence": presence.value,
            "manual_reason": body.manual_reason.value if body.manual_reason and body.card_token is None else "",
            "manual_note": body.manual_note,
            "card_version": card_version,
            "checkin_at": checkin_at,
            "checkin_device_at": body.device_time,
            "checkin_received_at": received,
            "clock_skew_seconds": skew,
            "checkin_latitude": position[0] if position else None,
            "checkin_longitude": position[1] if position else None,
            "checkin_accuracy_m": position[2] if position else None,
            "checkin_distance_m": distance,
            "review": (Review.awaiting_approval if presence != Presence.qr else Review.not_required).value,
            "checkin_digest": digest,
        }
        inserted = await insert_row(Visit, values, skip_existing="id")
        if not inserted:  # stored meanwhile by a twin request
            raise _Taken
        await _add_flags(body.id, "checkin", flags)
        if body.photo_ids:
            await VisitPhoto.insert(*[VisitPhoto(visit=body.id, photo=p, stage="checkin") for p in body.photo_ids])
            await assess_photos(body.id)
        await record(
            actor,
            "visit.checkin",
            "visit",
            body.id,
            after={"household": body.household_id, "presence": presence.value, "flags": [f.code for f in flags]},
        )
    if body.photo_ids:  # their state and assessment are read back
        return await get_visit(principal, body.id), True
    # Everything the answer holds is known here: what was inserted, as the database gives it back.
    stored = values | {
        "checkin_at": checkin_at.astimezone(dt.UTC),
        "checkin_device_at": body.device_time.astimezone(dt.UTC),
        "checkin_received_at": received.astimezone(dt.UTC),
        "checkout_at": None,
        "duration_minutes": None,
        "notes": "",
        "review_comment": "",
        "corrects": None,
        "corrected_by": None,
        "household_code": household["code"],
        "village_name": household["village_name"],
        "worker_name": principal.display_name,
        "organisation_name": principal.organisation_name,
    }
    parts = {
        _MEMBER: [{"a": row["member"]} for row in found if row["member"] is not None],
        _FLAG: [
            {"a": f.code, "b": f.severity.value, "c": f.message[:300], "d": _evidence(f), "e": "checkin"} for f in flags
        ],
    }
    return _detail(principal, stored, parts), True


async def checkout(principal: Principal, visit_id: uuid.UUID, body: CheckoutIn, actor: Actor) -> VisitDetail:
    digest = _digest(body)
    try:
        return await _checkout(principal, visit_id, body, actor, digest)
    except _Taken:
        stored = await Visit.select(Visit.checkout_digest).where(Visit.id == visit_id).first()
        return await _checked_out_again(principal, visit_id, stored["checkout_digest"] if stored else "", digest)


async def _checked_out_again(principal: Principal, visit_id: uuid.UUID, stored: str, digest: str) -> VisitDetail:
    if stored == digest:
        return await get_visit(principal, visit_id)
    raise Problem(409, "visit.already_checked_out", "该服务已签退，不能再次修改。如需更正请联系机构负责人。")


async def _checkout(
    principal: Principal, visit_id: uuid.UUID, body: CheckoutIn, actor: Actor, digest: str
) -> VisitDetail:
    received = _now()
    async with atomic():
        visit = await Visit.select().where((Visit.id == visit_id) & visible_visits(principal)).first()
        if visit is None:
            raise not_found("visit", "服务记录")
        if visit["worker"] != principal.account_id:
            raise forbidden("只能为自己的服务记录签退。")
        if visit["status"] == VisitStatus.completed:
            return await _checked_out_again(principal, visit_id, visit["checkout_digest"], digest)
        checkout_at, _ = _corrected(body.device_time, body.sent_at, received)
        if checkout_at < visit["checkin_at"]:
            raise Problem(400, "visit.checkout_before_checkin", "签退时间早于签到时间，请检查手机时间。")
        await _photos_for(principal, visit["household"], body.photo_ids, visit_id)
        duration = int((checkout_at - visit["checkin_at"]).total_seconds() // 60)
        # Only from in progress, in one statement: of two check-outs racing, the second finds the
        # visit completed once the first commits, and answers as its replay.
        updated = (
            await Visit.update(
                {
                    Visit.status: VisitStatus.completed.value,
                    Visit.checkout_at: checkout_at,
                    Visit.checkout_device_at: body.device_time,
                    Visit.checkout_received_at: received,
                    Visit.duration_minutes: duration,
                    Visit.notes: body.notes,
                    Visit.checkout_latitude: body.position.latitude if body.position else None,
                    Visit.checkout_longitude: body.position.longitude if body.position else None,
                    Visit.checkout_digest: digest,
                }
            )
            .where((Visit.id == visit_id) & (Visit.status == VisitStatus.in_progress.value))
            .returning(Visit.id)
        )
        if not updated:
            raise _Taken
        await VisitService.insert(
            *[VisitService(visit=visit_id, service=s.value) for s in dict.fromkeys(body.services)]
        )
        if body.photo_ids:
            await VisitPhoto.insert(*[VisitPhoto(visit=visit_id, photo=p, stage="checkout") for p in body.photo_ids])
        photo_count = await VisitPhoto.count().where(VisitPhoto.visit == visit_id)
        policy = await policy_for(visit["household"], visit["checkin_at"].date())
        await _replace_flags(
            visit_id,
            "checkout",
            flagging.checkout_flags(policy=policy, duration_minutes=duration, photo_count=photo_count),
        )
        await assess_photos(visit_id)
        await record(
            actor,
            "visit.checkout",
            "visit",
            visit_id,
            after={"services": [s.value for s in body.services], "minutes": duration, "photos": photo_count},
        )
    return await get_visit(principal, visit_id)


async def assess_photos(visit_id: uuid.UUID) -> None:
    """(Re)compute the photo flags of a visit from its photos as they are now; safe to repeat."""
    visit = await Visit.select(Visit.household, Visit.checkin_at, Visit.checkout_at).where(Visit.id == visit_id).first()
    if visit is None:
        return
    photo_rows = await VisitPhoto.select(
        VisitPhoto.photo,
        VisitPhoto.photo._.status,
        VisitPhoto.photo._.error_message,
        VisitPhoto.photo._.captured_at,
    ).where(VisitPhoto.visit == visit_id)
    facts = []
    for row in photo_rows:
        identical: list[tuple[uuid.UUID, uuid.UUID]] = []
        similar: list[tuple[uuid.UUID, uuid.UUID, int]] = []
        if row["photo.status"] == PhotoStatus.ready:
            from carepact.media.services import near_duplicates

            matches = await near_duplicates(row["photo"])
            if matches:
                owners = {
                    r["photo"]: r["visit"]
                    for r in await VisitPhoto.select(VisitPhoto.photo, VisitPhoto.visit).where(
                        VisitPhoto.photo.is_in([m.photo_id for m in matches]) & (VisitPhoto.visit != visit_id)
                    )
                }
                for m in matches:
                    if m.photo_id in owners:
                        if m.identical:
                            identical.append((m.photo_id, owners[m.photo_id]))
                        else:
                            similar.append((m.photo_id, owners[m.photo_id], m.distance))
        facts.append(
            flagging.PhotoFacts(
                photo_id=row["photo"],
                status=row["photo.status"],
                error_message=row["photo.error_message"],
                captured_at=row["photo.captured_at"],
                duplicates=similar,
                identical=identical,
            )
        )
    policy = await policy_for(visit["household"], visit["checkin_at"].date())
    flags = flagging.photo_flags(
        policy=policy, checkin_at=visit["checkin_at"], checkout_at=visit["checkout_at"], photos=facts
    )
    async with atomic():
        await _replace_flags(visit_id, "photo", flags)


async def on_photo_ready(photo_id: uuid.UUID) -> None:
    """Called when the photo job has finished a photo: re-assess the visit that uses it."""
    link = await VisitPhoto.select(VisitPhoto.visit).where(VisitPhoto.photo == photo_id).first()
    if link is not None:
        await assess_photos(link["visit"])


async def review(principal: Principal, visit_id: uuid.UUID, body: ReviewIn, actor: Actor) -> VisitDetail:
    """A provider manager approves or rejects a visit awaiting approval; approval locks it."""
    async with atomic():
        visit = (
            await Visit.select(Visit.review, Visit.organisation)
            .where((Visit.id == visit_id) & visible_visits(principal))
            .first()
        )
        if visit is None:
            raise not_found("visit", "服务记录")
        if principal.role != Role.provider_manager or visit["organisation"] != principal.organisation_id:
            raise forbidden("只有本机构负责人可以审核服务记录。")
        if visit["review"] != Review.awaiting_approval:
            raise Problem(409, "visit.not_awaiting_review", "该服务记录不在待审核状态（已审核的记录已锁定）。")
        if body.decision == "reject" and not body.comment.strip():
            raise Problem(
                400,
                "visit.reject_reason_required",
                "驳回时请填写原因。",
                [FieldError(field="comment", code="required", message="请填写驳回原因")],
            )
        decision = Review.approved if body.decision == "approve" else Review.rejected
        await Visit.update(
            {
                Visit.review: decision.value,
                Visit.reviewed_by: principal.account_id,
                Visit.reviewed_at: _now(),
                Visit.review_comment: body.comment,
            }
        ).where(Visit.id == visit_id)
        await record(
            actor,
            "visit.review",
            "visit",
            visit_id,
            before={"review": visit["review"]},
            after={"review": decision.value, "comment": body.comment},
        )
    return await get_visit(principal, visit_id)


# --- reading ------------------------------------------------------------------------------------


async def _names(household_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    if household_ids:
        for p in (
            await Person.select(Person.household, Person.name)
            .where(Person.household.is_in(household_ids))
            .order_by(Person.id)
        ):
            names[p["household"]].append(p["name"])
    return names


# A visit's detail in two statements instead of six (bench_web.py): the visit with its names, and
# everything hanging off it (services, photos, flags, the household's members) in one UNION ALL,
# each part's rows in their own order. Each part fills the same text columns a-e.
_VISIT_DETAIL = (
    "SELECT visit.*, household.code AS household_code, village.name AS village_name,"
    " account.display_name AS worker_name, organisation.name AS organisation_name,"
    " (SELECT CAST(successor.id AS TEXT) FROM visit AS successor WHERE successor.corrects = visit.id LIMIT 1)"
    " AS corrected_by"
    " FROM visit JOIN household ON household.id = visit.household"
    " JOIN region AS village ON village.id = household.village"
    " JOIN account ON account.id = visit.worker"
    " LEFT JOIN organisation ON organisation.id = visit.organisation"
    " WHERE visit.id = {} AND {}"
)
_SERVICE, _PHOTO, _FLAG, _MEMBER = 1, 2, 3, 4  # the parts of _VISIT_PARTS
_VISIT_PARTS = (
    "SELECT 1 AS part, id AS ord, service AS a, '' AS b, '' AS c, '' AS d, '' AS e"
    " FROM visit_service WHERE visit = {}"
    " UNION ALL SELECT 2, visit_photo.id, CAST(visit_photo.photo AS TEXT), visit_photo.stage, photo.status,"
    " '', '' FROM visit_photo JOIN photo ON photo.id = visit_photo.photo WHERE visit_photo.visit = {}"
    " UNION ALL SELECT 3, id, code, severity, message, CAST(evidence AS TEXT), source"
    " FROM visit_flag WHERE visit = {}"
    " UNION ALL SELECT 4, id, name, '', '', '', '' FROM person WHERE household = {}"
    " ORDER BY part, ord"
)


async def get_visit(principal: Principal, visit_id: uuid.UUID) -> VisitDetail:
    found = await fetch(_VISIT_DETAIL, visit_id, visible_visits(principal).querystring)
    if not found:
        raise not_found("visit", "服务记录")
    v = found[0]
    parts: dict[int, list[Any]] = defaultdict(list)
    for row in await fetch(_VISIT_PARTS, visit_id, visit_id, visit_id, v["household"]):
        parts[row["part"]].append(row)
    return _detail(principal, v, parts)


def _evidence(flag: flagging.Flag) -> str:
    return msgspec.json.encode(flag.evidence).decode()


def _detail(principal: Principal, v: Any, parts: dict[int, list[Any]]) -> VisitDetail:
    """A visit's detail from its row (with its names) and its parts, as ``_VISIT_PARTS`` gives them."""
    reason = v["manual_reason"] or None
    corrected_by = uuid.UUID(v["corrected_by"]) if v["corrected_by"] else None
    manager = principal.role == Role.provider_manager and v["organisation"] == principal.organisation_id

    return VisitDetail(
        id=v["id"],
        household_id=v["household"],
        household_code=v["household_code"],
        household_names=[m["a"] for m in parts.get(_MEMBER, ())],
        village_name=v["village_name"],
        worker_id=v["worker"],
        worker_name=v["worker_name"],
        organisation_name=v["organisation_name"],
        status=VisitStatus(v["status"]),
        status_label=STATUS_LABELS[VisitStatus(v["status"])],
        presence=Presence(v["presence"]),
        presence_label=PRESENCE_LABELS[Presence(v["presence"])],
        manual_reason=ManualReason(reason) if reason else None,
        manual_reason_label=MANUAL_REASON_LABELS[ManualReason(reason)] if reason else "",
        manual_note=v["manual_note"],
        review=Review(v["review"]),
        review_label=REVIEW_LABELS[Review(v["review"])],
        review_comment=v["review_comment"],
        checkin_at=v["checkin_at"],
        checkin_device_at=v["checkin_device_at"],
        checkin_received_at=v["checkin_received_at"],
        checkout_at=v["checkout_at"],
        clock_skew_seconds=v["clock_skew_seconds"],
        duration_minutes=v["duration_minutes"],
        checkin_distance_m=v["checkin_distance_m"],
        services=[
            VisitServiceOut(code=ServiceCode(s["a"]), label=CATALOGUE[ServiceCode(s["a"])].label)
            for s in parts.get(_SERVICE, ())
        ],
        notes=v["notes"],
        photos=[
            VisitPhotoOut(
                id=uuid.UUID(p["a"]),
                stage=p["b"],
                status=p["c"],
                thumb_url=f"/api/photos/{p['a']}/thumb",
                display_url=f"/api/photos/{p['a']}/display",
            )
            for p in parts.get(_PHOTO, ())
        ],
        flags=[
            FlagOut(
                code=f["a"],
                severity=f["b"],
                message=f["c"],
                evidence=msgspec.json.decode(f["d"]),
                source=f["e"],
            )
            for f in parts.get(_FLAG, ())
        ],
        corrects=v["corrects"],
        corrected_by=corrected_by,
        can_review=manager and v["review"] == Review.awaiting_approval,
        can_correct=manager and corrected_by is None and _correctable(v),
    )


def _correctable(visit: dict[str, Any]) -> bool:
    """Only a finished, accepted visit is corrected by a new record; one awaiting review is
    approved or rejected instead."""
    return visit["status"] == VisitStatus.completed and visit["review"] in (Review.not_required, Review.approved)


async def correct(principal: Principal, visit_id: uuid.UUID, body: CorrectionIn, actor: Actor) -> VisitDetail:
    """A provider manager corrects what a locked visit recorded: a new visit record that
    replaces it (the original stays as it was, pointing forward through ``corrects``)."""
    async with atomic():
        original = await Visit.select().where((Visit.id == visit_id) & visible_visits(principal)).first()
        if original is None:
            raise not_found("visit", "服务记录")
        if principal.role != Role.provider_manager or original["organisation"] != principal.organisation_id:
            raise forbidden("只有本机构负责人可以更正服务记录。")
        if await Visit.exists().where(Visit.corrects == visit_id):
            raise Problem(409, "visit.already_corrected", "该记录已被更正过，请更正最新的那条记录。")
        if not _correctable(original):
            raise Problem(409, "visit.not_correctable", "只有已完成且无需审核或已审核通过的服务记录可以更正。")
        correction_id = uuid.uuid4()
        copied = {k: v for k, v in original.items() if k not in ("id", "created_at")}
        copied |= {
            "id": correction_id,
            "corrects": visit_id,
            "notes": body.notes,
            "review": Review.approved.value if original["review"] == Review.approved else original["review"],
            "reviewed_by": principal.account_id,
            "reviewed_at": _now(),
            "review_comment": f"更正：{body.reason}",
            "checkout_digest": _digest(body),
        }
        await Visit.insert(Visit(**copied))
        await VisitService.insert(
            *[VisitService(visit=correction_id, service=s.value) for s in dict.fromkeys(body.services)]
        )
        # The evidence of the original still speaks about the correction.
        flags = await VisitFlag.select().where(VisitFlag.visit == visit_id)
        if flags:
            await VisitFlag.insert(
                *[
                    VisitFlag(
                        visit=correction_id,
                        code=f["code"],
                        severity=f["severity"],
                        message=f["message"],
                        evidence=f["evidence"],
                        source=f["source"],
                    )
                    for f in flags
                ]
            )
        before = [
            s["service"] for s in await VisitService.select(VisitService.service).where(VisitService.visit == visit_id)
        ]
        await record(
            actor,
            "visit.correct",
            "visit",
            visit_id,
            before={"services": before, "notes": original["notes"]},
            after={
                "correction": str(correction_id),
                "services": [s.value for s in body.services],
                "reason": body.reason,
            },
        )
    return await get_visit(principal, correction_id)


async def list_visits(
    principal: Principal,
    paging: PageRequest,
    *,
    household_id: int | None = None,
    worker_id: int | None = None,
    review: Review | None = None,
    flagged: bool | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Page[VisitSummary]:
    where = visible_visits(principal)
    if household_id is not None:
        where &= Visit.household == household_id
    if worker_id is not None:
        where &= Visit.worker == worker_id
    if review is not None:
        where &= Visit.review == review.value
    if flagged is True:
        where &= Visit.id.is_in(VisitFlag.select(VisitFlag.visit).where(VisitFlag.severity != "info"))
    if since is not None:
        where &= Visit.checkin_at >= day_start(since)
    if until is not None:
        where &= Visit.checkin_at < day_start(until + dt.timedelta(days=1))
    total = await Visit.count().where(where)
    rows = (
        await Visit.select(
            Visit.id,
            Visit.household,
            Visit.household._.code,
            Visit.household._.village._.name,
            Visit.worker,
            Visit.worker._.display_name,
            Visit.organisation._.name,
            Visit.status,
            Visit.presence,
            Visit.review,
            Visit.checkin_at,
            Visit.checkout_at,
            Visit.duration_minutes,
        )
        .where(where)
        .order_by(Visit.checkin_at, ascending=False)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    ids = [r["id"] for r in rows]
    counts: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    if ids:
        for f in await VisitFlag.select(VisitFlag.visit, VisitFlag.severity).where(
            VisitFlag.visit.is_in(ids) & (VisitFlag.severity != "info")
        ):
            counts[f["visit"]][0] += 1
            counts[f["visit"]][1] += f["severity"] == "serious"
    names = await _names(list({r["household"] for r in rows}))
    items = [
        VisitSummary(
            id=r["id"],
            household_id=r["household"],
            household_code=r["household.code"],
            household_names=names[r["household"]],
            village_name=r["household.village.name"],
            worker_id=r["worker"],
            worker_name=r["worker.display_name"],
            organisation_name=r["organisation.name"],
            status=VisitStatus(r["status"]),
            status_label=STATUS_LABELS[VisitStatus(r["status"])],
            presence=Presence(r["presence"]),
            presence_label=PRESENCE_LABELS[Presence(r["presence"])],
            review=Review(r["review"]),
            review_label=REVIEW_LABELS[Review(r["review"])],
            checkin_at=r["checkin_at"],
            checkout_at=r["checkout_at"],
            duration_minutes=r["duration_minutes"],
            flag_count=counts[r["id"]][0],
            serious_flag_count=counts[r["id"]][1],
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def today(principal: Principal) -> list[TodayHousehold]:
    """A field worker's households for today: least recently visited first."""
    if principal.role != Role.field_worker:
        raise forbidden("只有社工 / 护理员有今日服务清单。")
    from carepact.registry.schemas import CARE_LEVEL_LABELS
    from carepact.registry.tables import CareLevel

    households = (
        await Household.select(Household.id, Household.code, Household.address, Household.village._.name)
        .where(visible_households(principal))
        .order_by(Household.code)
    )
    ids = [h["id"] for h in households]
    if not ids:
        return []
    start_of_day = day_start(local_today())
    last: dict[int, dt.datetime] = {}
    open_visits: dict[int, uuid.UUID] = {}
    for v in await Visit.select(Visit.id, Visit.household, Visit.checkin_at, Visit.status).where(
        (Visit.household.is_in(ids)) & (Visit.worker == principal.account_id)
    ):
        if v["household"] not in last or v["checkin_at"] > last[v["household"]]:
            last[v["household"]] = v["checkin_at"]
        if v["status"] == VisitStatus.in_progress:
            open_visits[v["household"]] = v["id"]
    people: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in (
        await Person.select(Person.household, Person.name, Person.care_level)
        .where(Person.household.is_in(ids))
        .order_by(Person.id)
    ):
        people[p["household"]].append(p)
    result = [
        TodayHousehold(
            household_id=h["id"],
            code=h["code"],
            names=[p["name"] for p in people[h["id"]]],
            care_level_label=CARE_LEVEL_LABELS[CareLevel(people[h["id"]][0]["care_level"])] if people[h["id"]] else "",
            village_name=h["village.name"],
            address=h["address"],
            last_visit_at=last.get(h["id"]),
            visited_today=bool(last.get(h["id"]) and last[h["id"]] >= start_of_day),
            open_visit_id=open_visits.get(h["id"]),
        )
        for h in households
    ]
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    result.sort(key=lambda t: (t.visited_today, t.last_visit_at or epoch))
    return result
