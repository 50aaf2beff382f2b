"""Evidence jobs: building a bundle's ZIP under the identity of whoever asked for it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from carepact.accounts.access import load_principal
from carepact.errors import Problem
from carepact.jobs.services import JobContext, JobRefused
from contracts.evidence.bundle import write_bundle
from contracts.evidence.services import bundle_key, download_url, resolve

UNSAFE = r'[\s\\/:*?"<>|]+'  # what file names on Windows or in a shell would trip over


async def build_evidence_bundle(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: a rerun writes the same key again, whole."""
    params = ctx.params
    principal = await load_principal(params["owner"], via="job")
    if principal is None:
        raise JobRefused("evidence.owner_gone", "申请人的账号已停用，证据包未生成。")
    try:
        # The requester's scope as it is now: what they may no longer see is not packed.
        scope = await resolve(principal, params["kind"], params["id"])
    except Problem as exc:
        raise JobRefused(exc.code, exc.message) from exc
    first, last = dt.date.fromisoformat(params["first_day"]), dt.date.fromisoformat(params["last_day"])
    counts = await write_bundle(bundle_key(ctx.job_id), principal, scope, first, last, ctx.progress)
    await ctx.checkpoint(1, 1, f"已打包服务记录 {counts.visits} 条、照片 {counts.photos} 张")
    return {
        "filename": f"证据包-{re.sub(UNSAFE, '', scope.title)}-{first:%Y%m%d}-{last:%Y%m%d}.zip",
        "media_type": "application/zip",
        "download_url": download_url(ctx.job_id),
        "title": scope.title,
        "visits": counts.visits,
        "verified": counts.verified,
        "photos": counts.photos,
        "findings": counts.findings,
        "agreements": counts.agreements,
    }
