"""Regions, organisations, households and persons over HTTP."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, Parameter

from carepact.accounts.access import CurrentPrincipal, require
from carepact.api import Page, Paging, client_ip
from carepact.audit.services import actor_of
from carepact.errors import Problem
from carepact.registry import csv_import, services
from carepact.registry.schemas import (
    HouseholdCreate,
    HouseholdDetail,
    HouseholdFile,
    HouseholdPatch,
    HouseholdSummary,
    ImportRefused,
    ImportResult,
    OrganisationOut,
    PersonOut,
    PersonPatch,
    PersonSensitive,
    RegionOut,
    RowError,
)
from carepact.registry.tables import CareLevel, OrganisationKind, RegionLevel

MAX_CSV_BYTES = 10 * 1024 * 1024


class RegionController(Controller):
    path = "/api/regions"
    tags = ["行政区域 regions"]

    @get("/", operation_id="listRegions", summary="行政区域列表")
    async def list_regions(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        parent_id: Annotated[int | None, Parameter(description="上级区域 ID")] = None,
        level: Annotated[RegionLevel | None, Parameter(description="层级")] = None,
    ) -> Page[RegionOut]:
        return await services.list_regions(principal, paging, parent_id, level)


class OrganisationController(Controller):
    path = "/api/organisations"
    tags = ["机构 organisations"]

    @get("/", operation_id="listOrganisations", summary="机构列表（民政部门、乡镇、服务机构、供养机构）")
    async def list_organisations(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        kind: Annotated[OrganisationKind | None, Parameter(description="机构类别")] = None,
    ) -> Page[OrganisationOut]:
        return await services.list_organisations(principal, paging, kind)


class HouseholdController(Controller):
    path = "/api/households"
    tags = ["分散供养户 households"]

    @get(
        "/",
        operation_id="listHouseholds",
        summary="分散供养户列表",
        description="按姓名、村（社区）名称或户编号搜索；只返回您有权查看的户。",
    )
    async def list_households(
        self,
        principal: CurrentPrincipal,
        paging: Paging,
        q: Annotated[str | None, Parameter(description="姓名、村名或户编号", max_length=50)] = None,
        region_id: Annotated[int | None, Parameter(description="行政区域 ID（含下级）")] = None,
        care_level: Annotated[CareLevel | None, Parameter(description="自理能力")] = None,
    ) -> Page[HouseholdSummary]:
        return await services.list_households(principal, paging, q, region_id, care_level)

    @get("/{household_id:int}", operation_id="getHousehold", summary="户详情（敏感信息已脱敏）")
    async def get_household(self, principal: CurrentPrincipal, household_id: FromPath[int]) -> HouseholdDetail:
        return await services.get_household(principal, household_id)

    @post("/", operation_id="createHousehold", summary="登记一户")
    async def create_household(
        self, request: Request, principal: CurrentPrincipal, data: HouseholdCreate
    ) -> HouseholdDetail:
        [household_id] = await services.create_households(principal, [data], actor_of(principal, client_ip(request)))
        return await services.get_household(principal, household_id)

    @patch("/{household_id:int}", operation_id="updateHousehold", summary="修改户信息")
    async def update_household(
        self, request: Request, principal: CurrentPrincipal, household_id: FromPath[int], data: HouseholdPatch
    ) -> HouseholdDetail:
        return await services.update_household(principal, household_id, data, actor_of(principal, client_ip(request)))

    @get(
        "/import-template.csv",
        operation_id="getHouseholdImportTemplate",
        summary="CSV 导入模板",
        media_type="text/csv; charset=utf-8",
    )
    async def import_template(self) -> Response[bytes]:
        # BOM: so spreadsheet programs open the Chinese headers correctly.
        return Response(
            ("\ufeff" + csv_import.TEMPLATE).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename*=UTF-8''households-template.csv"},
        )

    @post(
        "/import",
        operation_id="importHouseholds",
        summary="CSV 批量导入户",
        description="UTF-8 CSV，中文列名。逐行校验，任何一行有误则全部不导入，并返回逐行错误列表 (422)。",
        status_code=201,
        responses={422: ResponseSpec(data_container=ImportRefused, description="逐行错误，未导入任何记录")},
    )
    async def import_households(
        self,
        request: Request,
        principal: CurrentPrincipal,
        data: Annotated[HouseholdFile, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[ImportResult | ImportRefused]:
        require(principal, "household.import")
        content = await data.data.read()
        if len(content) > MAX_CSV_BYTES:
            raise Problem(413, "import.too_large", "文件超过 10 MB，请分批导入。")
        parsed = csv_import.parse(content)
        errors = list(parsed.errors)
        if parsed.items:
            # The rows that parsed are checked too, so one upload lists every problem in the file.
            problems, _ = await services.check_new_households(principal, parsed.items, parsed.row_numbers)
            errors += [
                RowError(
                    row=parsed.row_numbers[i],
                    column=csv_import.HEADER_OF.get(field, field),
                    code=code,
                    message=message,
                )
                for i, field, code, message in problems
            ]
        if errors:
            refused = ImportRefused(
                code="import.invalid",
                message=f"共发现 {len(errors)} 处错误，未导入任何记录。请修改后重新上传。",
                rows=sorted(errors, key=lambda e: e.row),
            )
            return Response(refused, status_code=422)
        ids = await services.create_households(principal, parsed.items, actor_of(principal, client_ip(request)))
        return Response(ImportResult(imported=len(ids), household_ids=ids), status_code=201)


class PersonController(Controller):
    path = "/api/persons"
    tags = ["特困人员 persons"]

    @patch("/{person_id:int}", operation_id="updatePerson", summary="修改人员自理能力、健康情况")
    async def update_person(
        self, request: Request, principal: CurrentPrincipal, person_id: FromPath[int], data: PersonPatch
    ) -> PersonOut:
        return await services.update_person(principal, person_id, data, actor_of(principal, client_ip(request)))

    @get(
        "/{person_id:int}/sensitive",
        operation_id="readPersonSensitive",
        summary="查看敏感信息（身份证号、健康情况、精确位置）",
        description="每次查看都写入审计日志。身份证号仅对民政部门和乡镇角色显示原文。",
    )
    async def read_sensitive(
        self, request: Request, principal: CurrentPrincipal, person_id: FromPath[int]
    ) -> PersonSensitive:
        return await services.read_sensitive(principal, person_id, actor_of(principal, client_ip(request)))
