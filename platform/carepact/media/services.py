"""Photos: accepting an upload, who may see one, the files behind it, and its near-duplicates."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from typing import Any, Literal

from piccolo.columns.combination import Combinable

from carepact.accounts.access import Principal, visible_households
from carepact.audit.services import Actor, record
from carepact.db import atomic, on_commit
from carepact.errors import Problem, not_found
from carepact.jobs import services as jobs
from carepact.media import storage
from carepact.media.pipeline import bands, hamming, sniff
from carepact.media.schemas import STATUS_LABELS, NearDuplicate, PhotoOut
from carepact.media.tables import Photo, PhotoStatus
from carepact.registry.tables import Household

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
PROCESS_JOB = "process_photo"
BAND_COLUMNS = (Photo.phash_b0, Photo.phash_b1, Photo.phash_b2, Photo.phash_b3)
NEAR_DISTANCE = 6


def visible_photos(principal: Principal) -> Combinable:
    """A photo is seen by whoever may see its household (the one permission mechanism); one
    not yet tied to a household, only by its uploader."""
    of_visible_household = Photo.household.is_in(Household.select(Household.id).where(visible_households(principal)))
    return of_visible_household | (Photo.household.is_null() & (Photo.uploaded_by == principal.account_id))


# --- storage keys: the original by upload month, the derived copies by id alone ------------


def original_key(photo_id: uuid.UUID, at: dt.datetime) -> str:
    return f"originals/{at:%Y}/{at:%m}/{photo_id}"


def display_key(photo_id: uuid.UUID) -> str:
    # Derived from the id only, so a rerun of the job overwrites its own files, never adds some.
    return f"photos/{photo_id.hex[:2]}/{photo_id}/display.jpg"


def thumb_key(photo_id: uuid.UUID) -> str:
    return f"photos/{photo_id.hex[:2]}/{photo_id}/thumb.jpg"


# --- reading ----------------------------------------------------------------------------------


def photo_out(row: dict[str, Any]) -> PhotoOut:
    status = PhotoStatus(row["status"])
    ready = status == PhotoStatus.ready
    return PhotoOut(
        id=row["id"],
        household_id=row["household"],
        status=status,
        status_label=STATUS_LABELS[status],
        error_code=row["error_code"],
        error_message=row["error_message"],
        width=row["width"],
        height=row["height"],
        display_url=f"/api/photos/{row['id']}/display" if ready else None,
        thumb_url=f"/api/photos/{row['id']}/thumb" if ready else None,
        created_at=row["created_at"],
    )


async def _visible_row(principal: Principal, photo_id: uuid.UUID) -> dict[str, Any]:
    row = await Photo.select().where((Photo.id == photo_id) & visible_photos(principal)).first()
    if row is None:
        raise not_found("photo", "照片")
    return row


async def get_photo(principal: Principal, photo_id: uuid.UUID) -> PhotoOut:
    return photo_out(await _visible_row(principal, photo_id))


async def derived_image(principal: Principal, photo_id: uuid.UUID, which: Literal["display", "thumb"]) -> bytes:
    """The display copy or thumbnail (JPEG, no metadata). The original is never served."""
    row = await _visible_row(principal, photo_id)
    if row["status"] == PhotoStatus.pending:
        raise Problem(409, "photo.not_ready", "照片还在处理中，请稍后再试。", headers={"Retry-After": "2"})
    if row["status"] == PhotoStatus.refused:
        raise Problem(422, row["error_code"] or "photo.refused", row["error_message"] or "这张照片已被拒收。")
    if row["status"] == PhotoStatus.purged:
        raise Problem(410, "photo.purged", "照片已超过保存期限，按个人信息保护规定删除。")
    key = row["display_key"] if which == "display" else row["thumb_key"]
    try:
        return await asyncio.to_thread(storage.get, key)
    except FileNotFoundError:
        raise Problem(410, "photo.file_gone", "照片文件已不在存储中，请联系管理员。") from None


# --- uploading ----------------------------------------------------------------------------------


class _Taken(Exception):
    """Another request stored this photo id first."""


async def accept_upload(
    principal: Principal,
    photo_id: uuid.UUID,
    household_id: int | None,
    data: bytes,
    filename: str,
    content_type: str,
    actor: Actor,
) -> tuple[PhotoOut, bool]:
    """Store the original privately and queue its processing; (photo, created).

    Idempotent by the client-made id, so a phone on a poor connection can send again safely:
    the same id with the same bytes answers with the photo already stored.
    """
    if not data:
        raise Problem(400, "photo.empty", "文件是空的（0 字节），请重新选择照片。")
    if len(data) > MAX_UPLOAD_BYTES:
        raise Problem(413, "photo.too_large", "照片超过 15 MB，请用手机相机的普通画质重新拍摄后上传。")
    if sniff(data) is None:  # the full check (decoding, pixel count, type agreement) is the job's
        raise Problem(415, "photo.unsupported_format", "不支持的文件格式：请上传 JPEG、PNG 或 WebP 格式的照片。")
    sha256 = hashlib.sha256(data).hexdigest()
    existing = await Photo.select().where(Photo.id == photo_id).first()
    if existing is not None:
        return await _replayed(principal, existing, household_id, sha256), False
    if household_id is not None and not await Household.exists().where(
        (Household.id == household_id) & visible_households(principal)
    ):
        raise not_found("household", "户")
    now = dt.datetime.now(dt.UTC)
    key = original_key(photo_id, now)
    orphan = False  # True while the file is written but its row not committed

    async def committed() -> None:
        nonlocal orphan
        orphan = False

    try:
        async with atomic():
            # DO NOTHING: of two requests racing with one id, the second waits for the first
            # and then inserts nothing, instead of failing.
            inserted = (
                await Photo.insert(
                    Photo(
                        id=photo_id,
                        household=household_id,
                        organisation=principal.organisation_id,
                        uploaded_by=principal.account_id,
                        status=PhotoStatus.pending.value,
                        filename=filename[:200],
                        declared_type=content_type[:100],
                        size_bytes=len(data),
                        sha256=sha256,
                        original_key=key,
                        created_at=now,
                    )
                )
                .on_conflict(action="DO NOTHING")
                .returning(Photo.id)
            )
            if not inserted:
                raise _Taken
            # Written inside the transaction: a committed row always has its original.
            orphan = True
            await asyncio.to_thread(storage.put, key, data)
            await on_commit(committed)  # first of the commit callbacks, before the job's dispatch
            await jobs.submit(
                PROCESS_JOB, {"photo_id": str(photo_id)}, owner=principal.account_id, key=f"photo:{photo_id}"
            )
            await record(
                actor,
                "photo.upload",
                "photo",
                str(photo_id),
                after={"household_id": household_id, "size_bytes": len(data), "sha256": sha256, "filename": filename},
            )
    except _Taken:
        row = await Photo.select().where(Photo.id == photo_id).first()
        assert row is not None  # the conflict was with it
        return await _replayed(principal, row, household_id, sha256), False
    except BaseException:
        if orphan:
            storage.delete(key)
        raise
    return photo_out(await _visible_row(principal, photo_id)), True


async def _replayed(principal: Principal, row: dict[str, Any], household_id: int | None, sha256: str) -> PhotoOut:
    same = row["sha256"] == sha256 and row["household"] == household_id
    if not same or not await Photo.exists().where((Photo.id == row["id"]) & visible_photos(principal)):
        raise Problem(409, "photo.conflict", "这个照片编号已用于另一张照片。请重新拍摄或重新选择照片后上传。")
    return photo_out(row)


# --- near-duplicates ------------------------------------------------------------------------


def _band_probes(band: int) -> list[int]:
    return [band, *(band ^ (1 << bit) for bit in range(16))]


async def near_duplicates(photo_id: uuid.UUID, max_distance: int = NEAR_DISTANCE) -> list[NearDuplicate]:
    """Other photos that are the same file or look the same, nearest first: a reused picture
    is a trust flag for a visit. Unscoped on purpose (a photo reused across households is the
    case that matters); callers decide what of the match they show.

    Indexed: two hashes within 7 bits differ in at most 1 bit in at least one of their four
    16-bit bands (pigeonhole), so the candidates are the rows whose band equals one of ours or
    one of its 16 one-bit neighbours; the exact distance is then checked here.
    """
    if not 0 <= max_distance <= 7:
        raise ValueError("max_distance must be 0..7: the band lookup finds no more")
    row = await Photo.select(Photo.sha256, Photo.phash).where(Photo.id == photo_id).first()
    if row is None:
        return []
    match: Combinable = Photo.sha256 == row["sha256"]
    ours = int(row["phash"], 16) if row["phash"] else None
    if ours is not None:
        for column, band in zip(BAND_COLUMNS, bands(ours), strict=True):
            match |= column.is_in(_band_probes(band))
    candidates = await Photo.select(Photo.id, Photo.household, Photo.sha256, Photo.phash).where(
        (Photo.id != photo_id) & (Photo.status != PhotoStatus.refused.value) & match
    )
    found = []
    for other in candidates:
        identical = other["sha256"] == row["sha256"]
        if identical:
            distance = 0
        elif ours is not None and other["phash"]:
            distance = hamming(ours, int(other["phash"], 16))
        else:
            continue
        if identical or distance <= max_distance:
            found.append(
                NearDuplicate(
                    photo_id=other["id"], household_id=other["household"], identical=identical, distance=distance
                )
            )
    return sorted(found, key=lambda d: (d.distance, str(d.photo_id)))
