"""create_app(): the composition root for the web process."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Litestar, Router, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders, ResponseHeader
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response.base import ASGIResponse
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import Message, Scope

from carepact import __version__, db
from carepact.accounts.access import provide_principal
from carepact.accounts.middleware import AuthMiddleware
from carepact.accounts.routes import AuthController
from carepact.api import UNCOMPRESSED, provide_page
from carepact.audit.routes import AuditController
from carepact.cards.routes import CardController, open_card
from carepact.errors import EXCEPTION_HANDLERS, document_errors
from carepact.jobs import services as jobs
from carepact.jobs.routes import JobController
from carepact.media.routes import PhotoController
from carepact.notifications.routes import NotificationController
from carepact.registry.routes import HouseholdController, OrganisationController, PersonController, RegionController
from carepact.settings import STATIC_DIR, get_settings
from contracts.agreement.routes import (
    AgreementController,
    AgreementTemplateController,
    EvaluationController,
    HouseholdCareController,
    SickEpisodeController,
)
from contracts.budget.routes import BudgetController
from contracts.coverage.routes import CoverageController
from contracts.evidence.routes import EvidenceBundleController
from contracts.findings.routes import FindingController
from contracts.oversight.routes import OversightController
from contracts.procurement.routes import ContractController
from contracts.sampling.routes import SampleController
from contracts.settlement.routes import ContractStatementController, StatementController
from providers.residents.routes import FacilityController, ResidentCareController, ResidentController
from providers.staff.routes import AssignmentController, StaffController
from providers.visits.routes import VisitController

log = logging.getLogger("carepact")


class NotMigrated(RuntimeError):
    pass


class Health(msgspec.Struct, kw_only=True):
    status: str
    version: str


@get("/api/health", operation_id="health", summary="健康检查", exclude_from_auth=True, tags=["系统 system"])
async def health() -> Health:
    return Health(status="ok", version=__version__)


async def _check_migrated() -> None:
    pending = await db.pending_migrations()
    if pending:
        raise NotMigrated(
            f"数据库尚未迁移（{len(pending)} 个迁移未执行）。请先运行 `carepact migrate`（或 `make run`）。"
            f" Database is not migrated: run `carepact migrate`. Pending: {', '.join(pending[:5])}"
        )


_background: set[asyncio.Task[None]] = set()


async def _start_jobs() -> None:
    from carepact.worker import GIVE_UPS, JOBS, wire_apps

    jobs.register(JOBS, GIVE_UPS)
    wire_apps()
    if not get_settings().redis_url:
        # Embedded default: jobs run in this process; the sweeper also resumes what a crash left.
        _background.add(asyncio.create_task(jobs.sweep_forever()))


async def _stop_jobs() -> None:
    for task in _background:
        task.cancel()
    _background.clear()
    await jobs.close()


def _login_store() -> Store:
    settings = get_settings()
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url, namespace="carepact")
    return MemoryStore()


SECURITY_HEADERS = [
    ResponseHeader(
        name="Content-Security-Policy",
        value=(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
    ),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Permissions-Policy", value="camera=(self), geolocation=(self), microphone=()"),
]


async def _add_security_headers(response: ASGIResponse) -> ASGIResponse:
    # Static files are answered as raw ASGI responses, which skip the app's response_headers:
    # without this the browser app's own pages would be served with no CSP at all.
    for header in SECURITY_HEADERS:
        response.headers[header.name] = header.value or ""
    return response


async def _security_headers_on_every_response(message: Message, scope: Scope) -> None:
    # Errors raised before any handler runs (401 from the auth middleware, 404 for an unknown
    # path) are rendered without the app's response_headers; this gives them the same headers.
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for header in SECURITY_HEADERS:
            if header.name not in headers:
                headers[header.name] = header.value or ""


def create_app() -> Litestar:
    api = Router(
        path="/",
        route_handlers=[
            health,
            AuthController,
            RegionController,
            OrganisationController,
            HouseholdController,
            PersonController,
            AuditController,
            JobController,
            PhotoController,
            NotificationController,
            CardController,
            open_card,
            VisitController,
            StaffController,
            AssignmentController,
            FacilityController,
            ResidentController,
            ResidentCareController,
            ContractController,
            ContractStatementController,
            StatementController,
            CoverageController,
            BudgetController,
            AgreementTemplateController,
            AgreementController,
            HouseholdCareController,
            SickEpisodeController,
            EvaluationController,
            FindingController,
            OversightController,
            SampleController,
            EvidenceBundleController,
        ],
        dependencies={"principal": Provide(provide_principal), "paging": Provide(provide_page, sync_to_thread=False)},
    )
    static = create_static_files_router(
        path="/",
        directories=[STATIC_DIR],
        html_mode=True,
        name="static",
        include_in_schema=False,
        opt={"exclude_from_auth": True},
        after_request=_add_security_headers,  # type: ignore[arg-type]
    )
    app = Litestar(
        route_handlers=[api, static],
        middleware=[DefineMiddleware(AuthMiddleware, exclude=["^/schema"])],
        on_startup=[db.start, _check_migrated, _start_jobs],
        on_shutdown=[_stop_jobs, db.stop],
        exception_handlers=EXCEPTION_HANDLERS,
        stores={"login_limits": _login_store()},
        response_headers=SECURITY_HEADERS,
        before_send=[_security_headers_on_every_response],
        # A body that fits one TCP segment (~1,460 bytes) reaches a phone no sooner compressed: only
        # larger ones (lists, dashboards, pages) are worth the CPU. Routes whose answers are about a
        # kilobyte (the check-in) skip the compressor altogether (opt UNCOMPRESSED).
        compression_config=CompressionConfig(backend="gzip", minimum_size=1400, exclude_opt_key=UNCOMPRESSED),
        request_max_body_size=20 * 1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="carepact API",
            version=__version__,
            description="特困人员照料服务购买、履约核验与审计平台 API。所有错误响应为 {code, message, fields}。",
            path="/schema",
            components=Components(
                security_schemes={
                    "session": SecurityScheme(type="apiKey", name="carepact_session", security_scheme_in="cookie"),
                    "bearer": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"session": []}, {"bearer": []}],
        ),
        debug=False,
    )
    document_errors(app)
    return app
