"""The audit log over HTTP: reading it (city bureau) and checking its chain."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from carepact.accounts.access import CurrentPrincipal, require
from carepact.api import Page, Paging
from carepact.audit import services
from carepact.audit.schemas import AuditEventOut, VerifyOut
from carepact.audit.tables import AuditEvent


class AuditController(Controller):
    path = "/api/audit"
    tags = ["审计日志 audit"]

    @get("/events", operation_id="listAuditEvents", summary="审计日志（最新在前）")
    async def list_events(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        action: Annotated[str | None, Parameter(max_length=64, description="操作，如 person.read_sensitive")] = None,
        object_type: Annotated[str | None, Parameter(max_length=32)] = None,
        object_id: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> Page[AuditEventOut]:
        require(principal, "audit.read")
        where = AuditEvent.seq > 0
        if action:
            where &= AuditEvent.action == action
        if object_type:
            where &= AuditEvent.object_type == object_type
        if object_id:
            where &= AuditEvent.object_id == object_id
        total = await AuditEvent.count().where(where)
        rows = (
            await AuditEvent.select(
                AuditEvent.seq,
                AuditEvent.at,
                AuditEvent.actor_id,
                AuditEvent.actor_name,
                AuditEvent.action,
                AuditEvent.object_type,
                AuditEvent.object_id,
            )
            .where(where)
            .order_by(AuditEvent.seq, ascending=False)
            .offset(paging.offset)
            .limit(paging.page_size)
        )
        return Page(items=[AuditEventOut(**r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)

    @get("/verify", operation_id="verifyAuditChain", summary="校验审计日志哈希链")
    async def verify(self, principal: CurrentPrincipal) -> VerifyOut:
        require(principal, "audit.read")
        result = await services.verify()
        brk = result.first_break
        return VerifyOut(
            ok=brk is None,
            checked=result.checked,
            head_seq=result.head_seq,
            head_hash=result.head_hash,
            broken_seq=brk.seq if brk else None,
            reason=brk.reason if brk else None,
        )
