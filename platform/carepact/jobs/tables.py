"""Jobs: long work (photos, card sheets, exports, reports) with its progress, in the database.

The row is the source of truth: arq (or the in-process runner) only carries the job's id, so
a lost Redis message or a killed worker is repaired by the sweeper from here.
"""

from __future__ import annotations

import enum

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(Table):
    id = UUID(primary_key=True)
    kind = Varchar(length=64, index=True)
    # Same key, same job: submitting twice (a retried upload, a double click) makes one job.
    key = Varchar(length=128, null=True, default=None, unique=True)
    status = Varchar(length=16, choices=JobStatus, default=JobStatus.queued.value, index=True)
    progress = Integer(default=0)  # 0–100
    note = Varchar(length=200, default="")  # zh-CN: what it is doing now
    params = Text(default="{}")
    result = Text(default="")
    error_code = Varchar(length=64, default="")
    error_message = Varchar(length=500, default="")
    owner = Integer(null=True, default=None, index=True)  # account id of who asked
    attempts = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
