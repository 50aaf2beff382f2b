"""Oversight jobs: the monthly county report, as one self-contained printable HTML file."""

from __future__ import annotations

import uuid
from typing import Any

from carepact.accounts.access import load_principal
from carepact.dates import local_today
from carepact.errors import Problem
from carepact.jobs import services as jobs
from carepact.jobs.services import JobContext, JobRefused
from carepact.media import storage
from contracts.oversight import rollup, services
from contracts.oversight.printing import report_html
from contracts.settlement.services import first_of

REPORT_JOB = "make_county_report"
ROLLUP_JOB = rollup.ROLLUP_JOB


async def make_county_report(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: a rerun writes the same file under the same key. The figures are read with the
    asker's own rights at the time the job runs (an account since narrowed gets no more)."""
    params = ctx.params
    principal = await load_principal(params["owner"], via="job")
    if principal is None:
        raise JobRefused("account.inactive", "申请生成报告的账号已停用。")
    await ctx.progress(0, 3, f"正在统计{params['label']}{params['month']}的数据")
    try:
        dashboard = await services.dashboard(principal, params["region_id"], params["month"])
    except Problem as exc:
        raise JobRefused(exc.code, exc.message) from exc
    await ctx.progress(1, 3, f"正在汇总 {len(dashboard.providers)} 家服务机构的指标和违约发现")
    document = report_html(dashboard, standalone=True)
    await ctx.progress(2, 3, "正在保存报告")
    key = f"jobs/{uuid.UUID(str(ctx.job_id))}/county-report.html"
    storage.put(key, document.encode())
    await ctx.checkpoint(3, 3, "报告已生成")
    return {
        "file_key": key,
        "filename": f"{dashboard.region.name}{dashboard.month}月度审核报告.html",
        "media_type": "text/html; charset=utf-8",
        **services.describe(dashboard),
    }


async def roll_up_oversight_figures(ctx: JobContext) -> dict[str, Any]:
    """Rebuild the rolled-up visit figures of the months asked (default: the nightly span).
    Idempotent: each month is replaced whole."""
    asked = ctx.params.get("months")
    months = [first_of(m) for m in asked] if asked else [*rollup.nightly_months(), rollup.first_live_month()]
    written = await rollup.roll_up(months, ctx.progress)
    await ctx.checkpoint(len(months), len(months), f"已汇总 {len(months)} 个月的数据")
    return {"months": [f"{m:%Y-%m}" for m in months], "rows": written}


async def roll_up_oversight_nightly(ctx: dict[str, Any]) -> str:
    """Nightly (arq cron): the months before the live ones, as a recorded job, once a night."""
    job_id = await jobs.submit(rollup.ROLLUP_JOB, {}, key=f"oversight-rollup-nightly:{local_today()}")
    return str(job_id)
