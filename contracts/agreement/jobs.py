"""Agreement jobs: evaluating many households' agreements (a provider's, a county's, the city's)."""

from __future__ import annotations

from typing import Any

import msgspec

from carepact.audit.services import SYSTEM, record
from carepact.jobs.services import JobContext
from contracts.agreement.evaluation import Scope, evaluate_scope
from contracts.settlement.services import first_of


async def evaluate_agreements(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: a rerun (a retried or swept job) finds the same findings and changes nothing."""
    params = ctx.params
    households = params.get("household_ids")
    scope = Scope(
        household_ids=tuple(households) if households is not None else None,
        organisation_id=params.get("organisation_id"),
        region_path=params.get("region_path"),
    )
    result = await evaluate_scope(scope, first_of(params["since"]), first_of(params["until"]), progress=ctx.progress)
    summary = msgspec.to_builtins(result) | {"scope": params.get("label", "")}
    await ctx.checkpoint(3, 3, f"已核查 {result.agreements} 户，违约发现 {result.findings} 条")
    await record(
        SYSTEM,
        "agreement.evaluated",
        "agreement_evaluation",
        str(ctx.job_id),
        detail={
            k: summary[k]
            for k in ("scope", "since", "until", "agreements", "findings", "created", "updated", "resolved", "removed")
        },
    )
    return summary
