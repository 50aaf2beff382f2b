"""Trust flags: pure functions from the facts of a visit to the reasons to doubt it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from carepact.geo import distance_m
from providers.tables import FlagSeverity, ManualReason
from providers.visits.policy import VisitPolicy


class Flag(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    severity: FlagSeverity
    message: str
    evidence: dict[str, Any]
    source: str


class PreviousVisit(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: uuid.UUID
    ended_at: dt.datetime
    latitude: float
    longitude: float


class PhotoFacts(msgspec.Struct, frozen=True, kw_only=True):
    photo_id: uuid.UUID
    status: str
    error_message: str = ""
    captured_at: dt.datetime | None = None
    # (other photo id, other visit id, hamming distance); distance 0 with same sha = identical file
    duplicates: list[tuple[uuid.UUID, uuid.UUID, int]] = []
    identical: list[tuple[uuid.UUID, uuid.UUID]] = []


def _flag(code: str, severity: FlagSeverity, message: str, source: str, **evidence: Any) -> Flag:
    return Flag(code=code, severity=severity, message=message, evidence=evidence, source=source)


def checkin_flags(
    *,
    policy: VisitPolicy,
    card_problem: tuple[str, str] | None,
    manual_reason: ManualReason | None,
    home: tuple[float, float] | None,
    position: tuple[float, float, float | None] | None,
    skew_seconds: int,
    checkin_at: dt.datetime,
    previous: PreviousVisit | None,
) -> list[Flag]:
    flags: list[Flag] = []
    if card_problem is not None:
        code, message = card_problem
        flag_code = {"card.revoked": "qr_revoked", "card.wrong_household": "qr_wrong_household"}.get(code, "qr_invalid")
        flags.append(_flag(flag_code, FlagSeverity.serious, message, "checkin", card_error=code))
    if manual_reason is not None:
        flags.append(
            _flag(
                "manual_entry",
                FlagSeverity.warning,
                "手工录入：未扫描门牌卡，需机构负责人审核",
                "checkin",
                reason=manual_reason.value,
            )
        )
    if position is None:
        flags.append(_flag("no_location", FlagSeverity.info, "签到时未获取到手机定位", "checkin"))
    elif home is not None:
        lat, lng, accuracy = position
        meters = distance_m(home[0], home[1], lat, lng)
        # Give the phone the benefit of its stated accuracy, but not more than 1 km of it.
        slack = min(accuracy or 0.0, 1000.0)
        if meters - slack > policy.max_distance_m:
            flags.append(
                _flag(
                    "far_from_home",
                    FlagSeverity.warning if meters < 2000 else FlagSeverity.serious,
                    f"签到位置距服务对象住址约 {round(meters)} 米（允许 {policy.max_distance_m} 米）",
                    "checkin",
                    distance_m=round(meters),
                    accuracy_m=accuracy,
                    limit_m=policy.max_distance_m,
                )
            )
    if abs(skew_seconds) > policy.max_clock_skew_seconds:
        flags.append(
            _flag(
                "clock_skew",
                FlagSeverity.info,
                f"手机时间与服务器相差 {abs(skew_seconds)} 秒，已按服务器时间校正",
                "checkin",
                skew_seconds=skew_seconds,
            )
        )
    if previous is not None and home is not None:
        km = distance_m(previous.latitude, previous.longitude, home[0], home[1]) / 1000
        hours = (checkin_at - previous.ended_at).total_seconds() / 3600
        if km >= policy.min_travel_km:
            speed = km / hours if hours > 0 else float("inf")
            if speed > policy.max_speed_kmh:
                flags.append(
                    _flag(
                        "impossible_travel",
                        FlagSeverity.serious,
                        f"与上一次服务相距 {km:.1f} 公里、间隔 {max(hours * 60, 0):.0f} 分钟，移动速度不合常理",
                        "checkin",
                        previous_visit=str(previous.visit_id),
                        distance_km=round(km, 2),
                        minutes=round(hours * 60),
                        speed_kmh=None if speed == float("inf") else round(speed),
                        limit_kmh=policy.max_speed_kmh,
                    )
                )
    return flags


def checkout_flags(*, policy: VisitPolicy, duration_minutes: int, photo_count: int) -> list[Flag]:
    flags: list[Flag] = []
    if duration_minutes < policy.min_minutes:
        flags.append(
            _flag(
                "short_visit",
                FlagSeverity.warning,
                f"服务时长 {duration_minutes} 分钟，少于协议要求的 {policy.min_minutes} 分钟",
                "checkout",
                minutes=duration_minutes,
                limit_minutes=policy.min_minutes,
            )
        )
    if photo_count == 0:
        flags.append(_flag("no_photo", FlagSeverity.warning, "本次服务没有上传照片", "checkout"))
    return flags


def photo_flags(
    *, policy: VisitPolicy, checkin_at: dt.datetime, checkout_at: dt.datetime | None, photos: list[PhotoFacts]
) -> list[Flag]:
    flags: list[Flag] = []
    end = checkout_at or checkin_at
    for p in photos:
        pid = str(p.photo_id)
        if p.status == "refused":
            flags.append(
                _flag("photo_refused", FlagSeverity.warning, f"照片未通过校验：{p.error_message}", "photo", photo=pid)
            )
            continue
        if p.status != "ready":
            continue
        if p.identical:
            other_photo, other_visit = p.identical[0]
            flags.append(
                _flag(
                    "duplicate_photo",
                    FlagSeverity.serious,
                    "同一张照片已用于另一条服务记录",
                    "photo",
                    photo=pid,
                    other_photo=str(other_photo),
                    other_visit=str(other_visit),
                )
            )
        elif p.duplicates:
            other_photo, other_visit, bits = min(p.duplicates, key=lambda d: d[2])
            if bits <= policy.near_duplicate_bits:
                flags.append(
                    _flag(
                        "similar_photo",
                        FlagSeverity.warning,
                        "照片与另一条服务记录的照片几乎相同（疑似翻拍或重复使用）",
                        "photo",
                        photo=pid,
                        other_photo=str(other_photo),
                        other_visit=str(other_visit),
                        distance_bits=bits,
                    )
                )
        if p.captured_at is None:
            flags.append(_flag("photo_no_capture_time", FlagSeverity.info, "照片没有拍摄时间信息", "photo", photo=pid))
        else:
            window = dt.timedelta(minutes=policy.max_photo_gap_minutes)
            if p.captured_at < checkin_at - window or p.captured_at > end + window:
                gap = min(abs((p.captured_at - checkin_at).total_seconds()), abs((p.captured_at - end).total_seconds()))
                flags.append(
                    _flag(
                        "photo_time_mismatch",
                        FlagSeverity.warning,
                        f"照片拍摄时间与服务时间相差约 {round(gap / 60)} 分钟",
                        "photo",
                        photo=pid,
                        captured_at=p.captured_at.isoformat(),
                        minutes=round(gap / 60),
                    )
                )
    return flags
