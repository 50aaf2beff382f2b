"""Evidence bundles over HTTP: ask for one (a job with a progress bar), download it (audited)."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import File

from carepact.accounts.access import CurrentPrincipal
from carepact.api import client_ip
from carepact.audit.services import actor_of
from carepact.jobs.routes import job_out
from carepact.jobs.schemas import JobOut
from carepact.jobs.tables import Job
from contracts.evidence import services
from contracts.evidence.schemas import BundleIn


class EvidenceBundleController(Controller):
    path = "/api/evidence-bundles"
    tags = ["证据包 evidence"]

    @post(
        "/",
        operation_id="requestEvidenceBundle",
        summary="生成证据包（一户、一个服务机构或一份合同在某期间的服务记录、疑点、照片、违约发现、协议文本和摘要）",
        description="后台任务：按任务 ID 查看进度；完成后结果中的 download_url 下载 ZIP。"
        "只含申请人权限范围内的服务记录（县区审核员：本县区；服务机构负责人：本机构）。",
        status_code=202,
    )
    async def request_bundle(
        self, request: Request, principal: CurrentPrincipal, data: JSONBody[BundleIn]
    ) -> Response[JobOut]:
        job_id = await services.request_bundle(principal, data, actor_of(principal, client_ip(request)))
        job = await Job.select().where(Job.id == job_id).first()
        assert job is not None  # submitted in this request
        return Response(job_out(job), status_code=202)

    @get(
        "/{job_id:uuid}/file",
        operation_id="downloadEvidenceBundle",
        summary="下载证据包 ZIP（仅申请人本人，且对象仍在其权限范围内；下载记入审计日志）",
        media_type="application/zip",
    )
    async def download(self, request: Request, principal: CurrentPrincipal, job_id: FromPath[uuid.UUID]) -> File:
        found = await services.download(principal, job_id, actor_of(principal, client_ip(request)))
        return File(
            path=found.path,
            filename=found.filename,
            media_type="application/zip",
            headers={"Cache-Control": "no-store"},
        )
