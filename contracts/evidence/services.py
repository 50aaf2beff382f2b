"""Evidence bundles: who may ask for one of what, the job that builds it, the audited download;
and the facts about visits that bundles and audit samples both show.

A bundle's subject is a household, a provider or a contract, seen through the requester's own
scope: the visits are those the requester may see (a county auditor's county, a provider's own
organisation), so two requesters asking for the same provider get different bundles. The job
builds it under the requester's identity, and the download checks the job's owner and the scope
again: a bundle is personal data of the requester's scope, and a scope can shrink.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
from piccolo.custom_types import Combinable

from carepact.accounts.access import Principal, require, visible_households, visible_organisations
from carepact.audit.services import Actor, record
from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.dates import day_start, local_today
from carepact.db import atomic
from carepact.errors import FieldError, Problem, not_found
from carepact.jobs import services as jobs
from carepact.jobs.tables import Job, JobStatus
from carepact.media import storage
from carepact.registry.tables import Household, Organisation, OrganisationKind, Person
from contracts.evidence.schemas import BundleIn
from contracts.scope import visible_contracts, visible_findings
from contracts.tables import Contract, Coverage, Finding
from providers.tables import Visit, VisitPhoto, VisitService
from providers.visits.services import visible_visits

BUNDLE_JOB = "build_evidence_bundle"
MAX_DAYS = 366
SubjectKind = Literal["household", "organisation", "contract"]
Span = tuple[dt.date, dt.date | None]


# --- facts about visits, for bundles and samples ------------------------------------------------------


async def visit_service_labels(visit_ids: list[Any]) -> dict[str, list[str]]:
    """The services performed on each visit (by visit id as text), as their Chinese labels."""
    labels: dict[str, list[str]] = defaultdict(list)
    if visit_ids:
        for s in (
            await VisitService.select(VisitService.visit, VisitService.service)
            .where(VisitService.visit.is_in(visit_ids))
            .order_by(VisitService.id)
        ):
            labels[str(s["visit"])].append(CATALOGUE[ServiceCode(s["service"])].label)
    return labels


async def visit_photos(visit_ids: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Each visit's photos (by visit id as text) in upload order: id, stage, status, display key."""
    photos: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if visit_ids:
        for p in (
            await VisitPhoto.select(
                VisitPhoto.visit,
                VisitPhoto.photo,
                VisitPhoto.stage,
                VisitPhoto.photo._.status,
                VisitPhoto.photo._.display_key,
            )
            .where(VisitPhoto.visit.is_in(visit_ids))
            .order_by(VisitPhoto.id)
        ):
            photos[str(p["visit"])].append(p)
    return photos


async def household_names(household_ids: set[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    if household_ids:
        for p in (
            await Person.select(Person.household, Person.name)
            .where(Person.household.is_in(list(household_ids)))
            .order_by(Person.id)
        ):
            names[p["household"]].append(p["name"])
    return names


# --- the period -----------------------------------------------------------------------------------------


def check_period(first: dt.date, last: dt.date) -> None:
    """A period of local days: in order, at most a year, not starting in the future."""
    message = ""
    if last < first:
        message = "结束日期不能早于开始日期。"
    elif (last - first).days >= MAX_DAYS:
        message = f"期间最长 {MAX_DAYS} 天。"
    elif first > local_today():
        message = "开始日期不能晚于今天。"
    if message:
        raise Problem(400, "period.invalid", message, [FieldError(field="last_day", code="invalid", message=message)])


def in_period(first: dt.date, last: dt.date) -> Combinable:
    return (Visit.checkin_at >= day_start(first)) & (Visit.checkin_at < day_start(last + dt.timedelta(days=1)))


# --- what a bundle covers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleScope:
    """A bundle's subject as the requester sees it: its name, and which visits and findings it holds."""

    kind: SubjectKind
    id: int
    title: str  # 户 61030200100101（某村）, 服务机构名称, 合同 BJMZ-…（服务机构）
    visits: Combinable
    findings: Combinable
    # A contract's households and the days each was covered: a visit counts on a covered day only.
    coverage: dict[int, list[Span]] | None = field(default=None)

    def covers(self, household_id: int, day: dt.date) -> bool:
        if self.coverage is None:
            return True
        return any(start <= day and (end is None or day <= end) for start, end in self.coverage.get(household_id, []))


async def resolve(principal: Principal, kind: SubjectKind, subject_id: int) -> BundleScope:
    """The subject within the requester's scope (404 outside it), if their role may ask for bundles."""
    seen_visits = visible_visits(principal)
    seen_findings = visible_findings(principal)
    scope: BundleScope
    if kind == "household":
        household = (
            await Household.select(Household.code, Household.village._.name)
            .where((Household.id == subject_id) & visible_households(principal))
            .first()
        )
        if household is None:
            raise not_found("household", "户")
        scope = BundleScope(
            kind=kind,
            id=subject_id,
            title=f"户 {household['code']}（{household['village.name']}）",
            visits=(Visit.household == subject_id) & seen_visits,
            findings=(Finding.household == subject_id) & seen_findings,
        )
    elif kind == "organisation":
        provider = (
            await Organisation.select(Organisation.name)
            .where(
                (Organisation.id == subject_id)
                & (Organisation.kind == OrganisationKind.provider.value)
                & visible_organisations(principal)
            )
            .first()
        )
        if provider is None:
            raise not_found("organisation", "服务机构")
        scope = BundleScope(
            kind=kind,
            id=subject_id,
            title=provider["name"],
            visits=(Visit.organisation == subject_id) & seen_visits,
            findings=(Finding.organisation == subject_id) & seen_findings,
        )
    else:
        contract = (
            await Contract.select(Contract.code, Contract.supplier, Contract.supplier._.name)
            .where((Contract.id == subject_id) & visible_contracts(principal))
            .first()
        )
        if contract is None:
            raise not_found("contract", "合同")
        spans: dict[int, list[Span]] = defaultdict(list)
        for c in await Coverage.select(Coverage.household, Coverage.starts_on, Coverage.ends_on).where(
            (Coverage.contract == subject_id) & Coverage.household.is_not_null()
        ):
            spans[c["household"]].append((c["starts_on"], c["ends_on"]))
        supplier = contract["supplier"]
        scope = BundleScope(
            kind=kind,
            id=subject_id,
            title=f"合同 {contract['code']}（{contract['supplier.name']}）",
            visits=(Visit.organisation == supplier) & Visit.household.is_in(list(spans) or [-1]) & seen_visits,
            findings=(Finding.organisation == supplier) & Finding.household.is_in(list(spans) or [-1]) & seen_findings,
            coverage=dict(spans),
        )
    require(principal, "evidence.bundle")
    return scope


def subject_of(body: BundleIn) -> tuple[SubjectKind, int]:
    chosen: list[tuple[SubjectKind, int | None]] = [
        ("household", body.household_id),
        ("organisation", body.organisation_id),
        ("contract", body.contract_id),
    ]
    given = [(kind, i) for kind, i in chosen if i is not None]
    if len(given) != 1:
        message = "请选择一户、一个服务机构或一份合同（只能选一个）。"
        raise Problem(
            400, "evidence.one_subject", message, [FieldError(field="household_id", code="invalid", message=message)]
        )
    kind, subject_id = given[0]
    assert subject_id is not None
    return kind, subject_id


# --- asking, and downloading ---------------------------------------------------------------------------------


async def request_bundle(principal: Principal, body: BundleIn, actor: Actor) -> uuid.UUID:
    """Check the subject and period, and submit the job that builds the bundle; returns the job id."""
    kind, subject_id = subject_of(body)
    scope = await resolve(principal, kind, subject_id)
    check_period(body.first_day, body.last_day)
    params = {
        "owner": principal.account_id,
        "kind": kind,
        "id": subject_id,
        "first_day": body.first_day.isoformat(),
        "last_day": body.last_day.isoformat(),
        "title": scope.title,
    }
    async with atomic():
        job_id = await jobs.submit(BUNDLE_JOB, params, owner=principal.account_id)
        await record(actor, "evidence.request", kind, subject_id, detail=params | {"job": str(job_id)})
    return job_id


def bundle_key(job_id: uuid.UUID) -> str:
    return f"jobs/{job_id}/evidence.zip"


def download_url(job_id: uuid.UUID) -> str:
    return f"/api/evidence-bundles/{job_id}/file"


class Download(msgspec.Struct, frozen=True, kw_only=True):
    path: Path
    filename: str


async def download(principal: Principal, job_id: uuid.UUID, actor: Actor) -> Download:
    """The bundle's file, for the one who asked for it while the subject is still in their scope."""
    job = (
        await Job.select()
        .where((Job.id == job_id) & (Job.kind == BUNDLE_JOB) & (Job.owner == principal.account_id))
        .first()
    )
    if job is None:
        raise not_found("evidence_bundle", "证据包")
    params = msgspec.json.decode(job["params"])
    try:
        await resolve(principal, params["kind"], params["id"])
    except Problem as exc:
        raise not_found("evidence_bundle", "证据包") from exc
    if job["status"] != JobStatus.succeeded:
        raise Problem(409, "job.not_ready", "证据包尚未生成完成，请稍后再下载。")
    key = bundle_key(job_id)
    if not storage.exists(key):
        raise Problem(410, "job.file_gone", "证据包文件已过期或被清理，请重新生成。")
    result = msgspec.json.decode(job["result"])
    path = storage.path_of(key)
    async with atomic():
        await record(
            actor,
            "evidence.download",
            "evidence_bundle",
            str(job_id),
            detail={k: params[k] for k in ("kind", "id", "first_day", "last_day")} | {"bytes": path.stat().st_size},
        )
    return Download(path=path, filename=result["filename"])
