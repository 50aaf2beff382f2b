"""What crosses the wire for jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from carepact.jobs.tables import JobStatus

STATUS_LABELS = {
    JobStatus.queued: "排队中",
    JobStatus.running: "进行中",
    JobStatus.succeeded: "已完成",
    JobStatus.failed: "失败",
}


class JobOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    status: JobStatus
    status_label: str
    progress: int
    note: str
    result: dict[str, Any] | None
    error_code: str
    error_message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    download_url: str | None
