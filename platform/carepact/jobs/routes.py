"""A job's progress and its result file, for whoever asked for it."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.params import FromPath

from carepact.accounts.access import CurrentPrincipal, Principal
from carepact.accounts.tables import Role
from carepact.errors import Problem, not_found
from carepact.jobs.schemas import STATUS_LABELS, JobOut
from carepact.jobs.tables import Job, JobStatus
from carepact.media import storage


async def _visible_job(principal: Principal, job_id: uuid.UUID) -> dict[str, Any]:
    # A job's result can hold personal data of its owner's scope: only its owner sees it.
    row = await Job.select().where((Job.id == job_id) & (Job.owner == principal.account_id)).first()
    if row is None and principal.role == Role.city_admin:
        row = await Job.select().where(Job.id == job_id).first()
    if row is None:
        raise not_found("job", "任务")
    return row


def job_out(row: dict[str, Any]) -> JobOut:
    result = msgspec.json.decode(row["result"]) if row["result"] else None
    status = JobStatus(row["status"])
    has_file = bool(result and result.get("file_key"))
    return JobOut(
        id=row["id"],
        kind=row["kind"],
        status=status,
        status_label=STATUS_LABELS[status],
        progress=row["progress"],
        note=row["note"],
        result={k: v for k, v in result.items() if k != "file_key"} if result else None,
        error_code=row["error_code"],
        error_message=row["error_message"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        download_url=f"/api/jobs/{row['id']}/file" if has_file and status == JobStatus.succeeded else None,
    )


class JobController(Controller):
    path = "/api/jobs"
    tags = ["后台任务 jobs"]

    @get("/{job_id:uuid}", operation_id="getJob", summary="任务进度与结果")
    async def get_job(self, principal: CurrentPrincipal, job_id: FromPath[uuid.UUID]) -> JobOut:
        return job_out(await _visible_job(principal, job_id))

    @get(
        "/{job_id:uuid}/file",
        operation_id="downloadJobFile",
        summary="下载任务生成的文件",
        media_type="application/octet-stream",
    )
    async def download(self, principal: CurrentPrincipal, job_id: FromPath[uuid.UUID]) -> Response[bytes]:
        row = await _visible_job(principal, job_id)
        result = msgspec.json.decode(row["result"]) if row["result"] else {}
        if row["status"] != JobStatus.succeeded or not result.get("file_key"):
            raise Problem(409, "job.not_ready", "任务尚未完成，文件还不能下载。")
        key = result["file_key"]
        if not storage.exists(key):
            raise Problem(410, "job.file_gone", "文件已过期或被清理，请重新生成。")
        filename = result.get("filename", "download")
        from urllib.parse import quote

        return Response(
            storage.get(key),
            media_type=result.get("media_type", "application/octet-stream"),
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
        )
