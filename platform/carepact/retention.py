"""Retention (PIPL art. 19 and 47): personal data past CAREPACT_RETENTION_DAYS is deleted by `carepact purge`.

What goes: photos' files (original, display copy, thumbnail) and what EXIF said of where they were
taken; expired login sessions (with the address they came from); files that jobs made (card sheets,
evidence bundles, exports); and whatever the apps add (the composition root passes their steps in).
What stays: a purged photo's row, marked `purged`, so a visit still counts the photo it had and the
month it proved is not judged again as unproven; and the audit log, which is the record of the
processing itself (PIPL art. 55-56) and whose chain must stay whole.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from carepact.accounts.tables import Session
from carepact.audit.services import Actor, record
from carepact.db import atomic
from carepact.jobs.tables import Job, JobStatus
from carepact.media import storage
from carepact.media.tables import Photo, PhotoStatus
from carepact.settings import get_settings

BATCH = 500
PURGER = Actor(id=None, name="carepact purge", role="system")


@dataclass(frozen=True)
class PurgeStep:
    """One kind of data: how many items are past the cutoff, and deleting them (returns how many)."""

    name: str
    label: str  # zh-CN, as the command prints it
    count: Callable[[dt.datetime], Awaitable[int]]
    apply: Callable[[dt.datetime], Awaitable[int]]


class PurgeReport(msgspec.Struct, frozen=True, kw_only=True):
    cutoff: dt.datetime
    retention_days: int
    applied: bool
    counts: dict[str, int]


def cutoff(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=get_settings().retention_days)


async def purge(steps: list[PurgeStep], *, apply: bool, now: dt.datetime | None = None) -> PurgeReport:
    """Count (dry run) or delete what every step finds older than the retention period. Each
    deleting batch is one transaction with its own audit row, so an interrupted purge is logged
    as far as it went and a rerun finishes it."""
    before = cutoff(now)
    counts = {step.name: await (step.apply if apply else step.count)(before) for step in steps}
    return PurgeReport(cutoff=before, retention_days=get_settings().retention_days, applied=apply, counts=counts)


async def logged(kind: str, before: dt.datetime, count: int, **detail: Any) -> None:
    """The audit row of one purge batch, written inside the batch's transaction."""
    await record(
        PURGER,
        "retention.purge",
        kind,
        "",
        detail={"count": count, "cutoff": before.isoformat(), "retention_days": get_settings().retention_days} | detail,
    )


# --- photos ----------------------------------------------------------------------------------


def _expired_photos(before: dt.datetime) -> Any:
    return (Photo.created_at < before) & (Photo.status != PhotoStatus.purged.value)


async def count_photos(before: dt.datetime) -> int:
    return await Photo.count().where(_expired_photos(before))


async def purge_photos(before: dt.datetime) -> int:
    """Files first, then the rows: a purge stopped in between leaves rows that a rerun finds
    again, never a row marked purged whose files are still on disk."""
    total = 0
    while True:
        rows = (
            await Photo.select(Photo.id, Photo.original_key, Photo.display_key, Photo.thumb_key)
            .where(_expired_photos(before))
            .limit(BATCH)
        )
        if not rows:
            return total
        for row in rows:
            for key in (row["original_key"], row["display_key"], row["thumb_key"]):
                await asyncio.to_thread(storage.delete, key)
        ids = [row["id"] for row in rows]
        async with atomic():
            await Photo.update(
                {
                    Photo.status: PhotoStatus.purged.value,
                    Photo.purged_at: dt.datetime.now(dt.UTC),
                    Photo.original_key: "",
                    Photo.display_key: "",
                    Photo.thumb_key: "",
                    Photo.filename: "",
                    Photo.exif_latitude: None,
                    Photo.exif_longitude: None,
                }
            ).where(Photo.id.is_in(ids))
            await logged("photo", before, len(ids))
        total += len(ids)


# --- sessions --------------------------------------------------------------------------------


async def count_sessions(before: dt.datetime) -> int:
    return await Session.count().where(Session.expires_at < before)


async def purge_sessions(before: dt.datetime) -> int:
    async with atomic():
        deleted = await Session.delete().where(Session.expires_at < before).returning(Session.id)
        if deleted:
            await logged("session", before, len(deleted))
    return len(deleted)


# --- files made by jobs ----------------------------------------------------------------------


async def _job_files(before: dt.datetime) -> list[tuple[Any, str]]:
    rows = await Job.select(Job.id, Job.result).where(
        (Job.status == JobStatus.succeeded.value) & (Job.finished_at < before) & Job.result.like("%file_key%")
    )
    found = []
    for row in rows:
        key = msgspec.json.decode(row["result"]).get("file_key")
        if key and await asyncio.to_thread(storage.exists, key):
            found.append((row["id"], key))
    return found


async def count_job_files(before: dt.datetime) -> int:
    return len(await _job_files(before))


async def purge_job_files(before: dt.datetime) -> int:
    """The job rows stay: their download answers that the file was cleared and can be made again."""
    files = await _job_files(before)
    for _job_id, key in files:
        await asyncio.to_thread(storage.delete, key)
    if files:
        async with atomic():
            await logged("job", before, len(files), jobs=[str(job_id) for job_id, _ in files][:100])
    return len(files)


KERNEL_STEPS = [
    PurgeStep("photos", "照片文件与拍摄定位（照片记录保留，服务记录的照片数不变）", count_photos, purge_photos),
    PurgeStep("sessions", "已过期的登录会话（含登录 IP）", count_sessions, purge_sessions),
    PurgeStep("job_files", "后台任务生成的文件（门牌卡、证据包、导出）", count_job_files, purge_job_files),
]
