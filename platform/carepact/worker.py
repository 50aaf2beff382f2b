"""arq WorkerSettings: every job and cron the platform runs, in one place."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from arq import Retry, cron
from arq.connections import RedisSettings

from carepact import db
from carepact.audit.services import SYSTEM, record, verify
from carepact.cards.jobs import make_card_sheet
from carepact.dates import local_today
from carepact.jobs import services as jobs
from carepact.jobs.services import GiveUp, Handler, JobContext
from carepact.media import jobs as media_jobs
from carepact.settings import get_settings
from contracts.agreement import jobs as agreement_jobs
from contracts.agreement.services import visit_policy
from contracts.evidence import jobs as evidence_jobs
from contracts.findings.services import deductions as agreement_deductions
from contracts.oversight import jobs as oversight_jobs
from contracts.settlement.services import add_deduction_source
from providers.visits.policy import set_policy_source
from providers.visits.services import on_photo_ready


async def process_photo(ctx: JobContext) -> dict[str, Any]:
    """The kernel's photo job, then the visit using the photo (if any) is assessed again: the
    kernel may not import providers, so the two meet here."""
    result = await media_jobs.process_photo(ctx)
    await on_photo_ready(uuid.UUID(result["photo_id"]))
    return result


# Every long-running job of the platform, by kind. Web processes submit by kind; arq workers
# (REDIS_URL) or the in-process runner execute them. Areas add their jobs.py functions here.
JOBS: dict[str, Handler] = {
    "make_card_sheet": make_card_sheet,
    "process_photo": process_photo,
    "evaluate_agreements": agreement_jobs.evaluate_agreements,
    oversight_jobs.REPORT_JOB: oversight_jobs.make_county_report,
    oversight_jobs.ROLLUP_JOB: oversight_jobs.roll_up_oversight_figures,
    "build_evidence_bundle": evidence_jobs.build_evidence_bundle,
}


def wire_apps() -> None:
    """Where the apps meet: the agreement gives the visit checks their numbers (shortest visit) and
    the settlement its deductions (upheld findings). Safe to call more than once."""
    set_policy_source(visit_policy)
    add_deduction_source(agreement_deductions)


# What to do with a job's object when the job system gives up on the job.
GIVE_UPS: dict[str, GiveUp] = {"process_photo": media_jobs.give_up_photo}

log = logging.getLogger("carepact.worker")


async def verify_audit_chain(ctx: dict[str, Any]) -> dict[str, Any]:
    """Nightly: walk the audit chain; a break is itself logged, and reported in the job result."""
    result = await verify()
    if result.first_break is not None:
        log.error("audit chain broken at seq %s: %s", result.first_break.seq, result.first_break.reason)
        await record(
            SYSTEM, "audit.chain_broken", "audit", result.first_break.seq, detail={"reason": result.first_break.reason}
        )
    else:
        # A witness outside the database: with logs kept elsewhere, `carepact audit verify --expect
        # SEQ:HASH` later finds the newest rows deleted even together with their anchors.
        log.info("audit chain head %s:%s", result.head_seq, result.head_hash)
    return {
        "checked": result.checked,
        "ok": result.first_break is None,
        "head": f"{result.head_seq}:{result.head_hash}",
    }


async def evaluate_agreements_nightly(ctx: dict[str, Any]) -> str:
    """Nightly: every agreement over last month and this one (an offline visit may arrive up to 30
    days late), as a recorded job with progress; one per night whatever the retries."""
    today = local_today()
    since = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    job_id = await jobs.submit(
        "evaluate_agreements",
        {"since": f"{since:%Y-%m}", "until": f"{today:%Y-%m}", "label": "全市（每日核查）"},
        key=f"agreements-nightly:{today}",
    )
    return str(job_id)


async def run_job(ctx: dict[str, Any], job_id: str) -> str:
    """The one arq function: runs a database-recorded job by id (see carepact.jobs)."""
    status = await jobs.execute(job_id)
    if status == "queued":
        raise Retry(defer=jobs.retry_delay(ctx.get("job_try", 1)))
    return status


async def sweep_jobs(ctx: dict[str, Any]) -> int:
    """Every minute: re-enqueue jobs that a lost message or a killed worker left behind."""
    return await jobs.sweep()


async def startup(ctx: dict[str, Any]) -> None:
    await db.start()
    jobs.register(JOBS, GIVE_UPS)
    wire_apps()


async def shutdown(ctx: dict[str, Any]) -> None:
    await jobs.close()
    await db.stop()


def redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    if not url:
        raise SystemExit("未设置 REDIS_URL：没有 Redis 时任务在 Web 进程内运行，无需单独启动 worker。")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    functions = [run_job, verify_audit_chain]
    cron_jobs = [
        cron(verify_audit_chain, hour={19}, minute={0}, run_at_startup=False),  # 03:00 Asia/Shanghai
        cron(evaluate_agreements_nightly, hour={18}, minute={30}, run_at_startup=False),  # 02:30 Asia/Shanghai
        cron(oversight_jobs.roll_up_oversight_nightly, hour={19}, minute={30}, run_at_startup=False),  # 03:30
        cron(sweep_jobs, second={7}, run_at_startup=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    job_timeout = 600
    # How often an idle worker asks Redis for work. arq's default (0.5 s) made every job wait half a
    # second after enqueue (tests/perf/bench_jobs.py: no-op enqueue-to-done 0.50 s, ×1418 a Redis
    # round trip); 50 ms is 20 cheap requests a second per idle worker.
    poll_delay = 0.05

    @classmethod
    def redis(cls) -> RedisSettings:
        return redis_settings()
