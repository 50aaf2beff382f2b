"""The photo job: display copy, thumbnail, EXIF facts and hashes for one upload, once in effect."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from carepact.audit.services import SYSTEM, record
from carepact.db import atomic
from carepact.jobs.services import MAX_ATTEMPTS, JobContext, JobRefused
from carepact.media import pipeline, storage
from carepact.media.pipeline import PhotoRefused
from carepact.media.services import display_key, thumb_key
from carepact.media.tables import Photo, PhotoStatus


async def process_photo(ctx: JobContext) -> dict[str, Any]:
    """Safe to run any number of times: a finished photo is left alone, the files have fixed
    names, and the row changes only from pending, in one statement."""
    photo_id = uuid.UUID(str(ctx.params["photo_id"]))
    row = (
        await Photo.select(Photo.status, Photo.original_key, Photo.declared_type, Photo.filename)
        .where(Photo.id == photo_id)
        .first()
    )
    if row is None:
        raise JobRefused("photo.not_found", "照片记录不存在，可能已被删除。")
    if row["status"] != PhotoStatus.pending:
        return {"photo_id": str(photo_id), "status": row["status"], "already_done": True}
    await ctx.progress(0, 3, "正在读取原图")
    try:
        original = await asyncio.to_thread(storage.get, row["original_key"])
    except FileNotFoundError:
        return await _refuse(photo_id, PhotoRefused("photo.original_missing", "原图文件已丢失，请重新上传这张照片。"))
    await ctx.progress(1, 3, "正在检查并处理照片")
    try:
        # In a thread: decoding takes a while, and the event loop has heartbeats to send.
        photo = await asyncio.to_thread(pipeline.process, original, row["declared_type"], row["filename"])
    except PhotoRefused as refusal:
        return await _refuse(photo_id, refusal)
    except Exception:
        if ctx.attempt < MAX_ATTEMPTS:
            raise  # perhaps passing (memory, a bug being fixed): the job is retried
        # The last attempt: the uploader gets an answer instead of a photo pending for ever.
        return await _refuse(
            photo_id, PhotoRefused("photo.unprocessable", "这张照片多次处理失败，无法使用。请重新拍摄后上传。")
        )
    del original
    display, thumb = display_key(photo_id), thumb_key(photo_id)
    await asyncio.to_thread(storage.put, display, photo.display_jpeg)
    await asyncio.to_thread(storage.put, thumb, photo.thumb_jpeg)
    await ctx.checkpoint(2, 3, "正在保存处理结果")
    async with atomic():
        changed = (
            await Photo.update(
                {
                    Photo.status: PhotoStatus.ready.value,
                    Photo.display_key: display,
                    Photo.thumb_key: thumb,
                    Photo.format: photo.format,
                    Photo.width: photo.width,
                    Photo.height: photo.height,
                    Photo.captured_at: photo.captured_at,
                    Photo.exif_latitude: photo.latitude,
                    Photo.exif_longitude: photo.longitude,
                    Photo.phash: photo.phash,
                    Photo.phash_b0: photo.phash_bands[0],
                    Photo.phash_b1: photo.phash_bands[1],
                    Photo.phash_b2: photo.phash_bands[2],
                    Photo.phash_b3: photo.phash_bands[3],
                    Photo.processed_at: dt.datetime.now(dt.UTC),
                }
            )
            .where((Photo.id == photo_id) & (Photo.status == PhotoStatus.pending.value))
            .returning(Photo.id)
        )
        if changed:
            await record(
                SYSTEM,
                "photo.processed",
                "photo",
                str(photo_id),
                detail={"format": photo.format, "width": photo.width, "height": photo.height, "phash": photo.phash},
            )
    return {"photo_id": str(photo_id), "status": PhotoStatus.ready.value, "already_done": not changed}


async def _refuse(photo_id: uuid.UUID, refusal: PhotoRefused) -> dict[str, Any]:
    """A refused photo is a finished job (no retry): the reason is stored for the uploader."""
    async with atomic():
        changed = (
            await Photo.update(
                {
                    Photo.status: PhotoStatus.refused.value,
                    Photo.error_code: refusal.code,
                    Photo.error_message: refusal.message[:300],
                    Photo.processed_at: dt.datetime.now(dt.UTC),
                }
            )
            .where((Photo.id == photo_id) & (Photo.status == PhotoStatus.pending.value))
            .returning(Photo.id)
        )
        if changed:
            await record(SYSTEM, "photo.refused", "photo", str(photo_id), detail={"code": refusal.code})
    return {"photo_id": str(photo_id), "status": PhotoStatus.refused.value, "code": refusal.code}


async def give_up_photo(params: dict[str, Any]) -> None:
    """The job system stopped retrying (its workers kept dying on this photo): answer the
    uploader with a refusal instead of a photo pending for ever."""
    await _refuse(
        uuid.UUID(str(params["photo_id"])),
        PhotoRefused("photo.unprocessable", "这张照片多次处理失败，无法使用。请重新拍摄后上传。"),
    )
