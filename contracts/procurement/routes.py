"""Contracts over HTTP: list, detail on any date, create, amend, documents."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, Parameter

from carepact.accounts.access import CurrentPrincipal
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from carepact.catalogue import CATALOGUE
from carepact.dates import local_today
from contracts.procurement import services
from contracts.procurement.schemas import (
    DOCUMENT_TYPE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    AmendmentIn,
    AmendmentOut,
    ContractDetail,
    ContractIn,
    ContractSummary,
    DocumentOut,
    ServiceOut,
    Vocabulary,
)
from contracts.tables import ContractKind, ContractStatus, DocumentType


@dataclass
class DocumentUpload:
    file: UploadFile
    title: str = ""
    document_type: DocumentType = DocumentType.contract_signed
    amendment_id: int | None = None


class ContractController(Controller):
    path = "/api/contracts"
    tags = ["购买服务合同 contracts"]

    @get(
        "/",
        operation_id="listContracts",
        summary="购买服务合同列表",
        description="按合同编号排序；状态等条款按所选日期（默认今天）生效的版本计算。",
    )
    async def list_contracts(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        status: Annotated[ContractStatus | None, Parameter(description="合同状态")] = None,
        kind: Annotated[ContractKind | None, Parameter(description="合同类别")] = None,
        supplier_id: Annotated[int | None, Parameter(description="服务机构（供应方）ID")] = None,
        county_id: Annotated[int | None, Parameter(description="县（区）ID：服务区域或覆盖对象在该县")] = None,
        state_on: Annotated[dt.date | None, Parameter(description="按此日期生效的条款显示（默认今天）")] = None,
    ) -> Page[ContractSummary]:
        return await services.list_contracts(
            principal, paging, status=status, kind=kind, supplier_id=supplier_id, county_id=county_id, on=state_on
        )

    @get("/vocabulary", operation_id="getContractVocabulary", summary="服务目录、合同状态与文件类别")
    async def vocabulary(self) -> Vocabulary:
        return Vocabulary(
            services=[
                ServiceOut(code=k.code, label=k.label, unit=k.unit, setting=k.setting) for k in CATALOGUE.values()
            ],
            kinds={k.value: label for k, label in KIND_LABELS.items()},
            statuses={s.value: label for s, label in STATUS_LABELS.items()},
            document_types={d.value: label for d, label in DOCUMENT_TYPE_LABELS.items()},
        )

    @post("/", operation_id="createContract", summary="登记购买服务合同（原始条款与初始覆盖对象）", status_code=201)
    async def create(self, request: Request, principal: CurrentPrincipal, data: JSONBody[ContractIn]) -> ContractDetail:
        contract_id = await services.create_contract(principal, data, actor_of(principal, client_ip(request)))
        return await services.get_contract(principal, contract_id)

    @get(
        "/{contract_id:int}",
        operation_id="getContract",
        summary="合同详情：条款、覆盖、变更历史、预算执行",
        description="state_on 指定日期时，显示该日生效的条款（之后生效的变更不计入）。",
    )
    async def get_contract(
        self,
        principal: CurrentPrincipal,
        contract_id: FromPath[int],
        state_on: Annotated[dt.date | None, Parameter(description="显示此日期生效的条款（默认今天）")] = None,
    ) -> ContractDetail:
        return await services.get_contract(principal, contract_id, state_on)

    @get("/{contract_id:int}/amendments", operation_id="listContractAmendments", summary="合同变更历史（含原始条款）")
    async def amendments(self, principal: CurrentPrincipal, contract_id: FromPath[int]) -> list[AmendmentOut]:
        await services.visible_contract(principal, contract_id)
        versions = (await services.versions_of([contract_id]))[contract_id]
        return await services.amendments_out(contract_id, versions, local_today())

    @post(
        "/{contract_id:int}/amendments",
        operation_id="amendContract",
        summary="合同变更（金额、期限、服务项目、状态、覆盖对象）",
        description="变更从不修改原记录：每次变更是一条新记录，含变更日期、生效日期、理由和经办人。覆盖对象的终止以生效日前一天为最后覆盖日。",
        status_code=201,
    )
    async def amend(
        self, request: Request, principal: CurrentPrincipal, contract_id: FromPath[int], data: JSONBody[AmendmentIn]
    ) -> AmendmentOut:
        return await services.amend(principal, contract_id, data, actor_of(principal, client_ip(request)))

    @post(
        "/{contract_id:int}/documents",
        operation_id="uploadContractDocument",
        summary="上传合同文件（PDF 或图片扫描件）",
        status_code=201,
    )
    async def upload(
        self,
        request: Request,
        principal: CurrentPrincipal,
        contract_id: FromPath[int],
        data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> DocumentOut:
        return await services.add_document(
            principal,
            contract_id,
            content=await data.file.read(),
            filename=data.file.filename or "",
            title=data.title,
            document_type=data.document_type,
            amendment_id=data.amendment_id,
            actor=actor_of(principal, client_ip(request)),
        )

    @get(
        "/{contract_id:int}/documents/{document_id:uuid}",
        operation_id="downloadContractDocument",
        summary="下载合同文件",
        media_type="application/octet-stream",
    )
    async def download(
        self, principal: CurrentPrincipal, contract_id: FromPath[int], document_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        content, media_type, filename = await services.document_file(principal, contract_id, document_id)
        # Always a download, never rendered in the app's origin: a PDF can carry script.
        return Response(
            content,
            media_type=media_type,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
        )
