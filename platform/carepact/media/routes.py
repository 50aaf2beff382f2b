"""Photos over HTTP: upload by a client-made id, the photo's state, its display copy and thumbnail."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, put
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath

from carepact.accounts.access import CurrentPrincipal, Principal
from carepact.api import client_ip
from carepact.audit.services import actor_of
from carepact.errors import ErrorBody
from carepact.media import services
from carepact.media.schemas import PhotoOut, PhotoUpload

# Only those who may see the household get the bytes, so no shared cache may keep them.
IMAGE_CACHE = "private, max-age=86400"
_IMAGE_RESPONSES = {
    200: ResponseSpec(data_container=bytes, media_type="image/jpeg", description="JPEG，不含任何 EXIF 等元数据"),
    409: ResponseSpec(data_container=ErrorBody, description="照片还在处理中 (photo.not_ready)"),
    422: ResponseSpec(data_container=ErrorBody, description="照片已被拒收，message 说明原因"),
}


class PhotoController(Controller):
    path = "/api/photos"
    tags = ["照片 photos"]

    @put(
        "/{photo_id:uuid}",
        operation_id="uploadPhoto",
        summary="上传照片（编号由客户端生成，可安全重发）",
        description=(
            "multipart 表单：data 为照片文件（JPEG、PNG 或 WebP，≤ 15 MB），household_id 为所属户。"
            "新照片返回 201，重发同一编号、同一文件返回 200；同一编号、不同文件返回 409。"
            "照片在后台处理（格式与像素检查、方向校正、去除 EXIF、生成展示图和缩略图），"
            "处理完成前 status 为 pending。原图从不对外提供。"
        ),
        status_code=201,
        responses={
            200: ResponseSpec(data_container=PhotoOut, description="重发：已存在的同一张照片"),
            409: ResponseSpec(data_container=ErrorBody, description="编号已用于另一张照片 (photo.conflict)"),
            413: ResponseSpec(data_container=ErrorBody, description="超过 15 MB (photo.too_large)"),
            415: ResponseSpec(
                data_container=ErrorBody, description="不是 JPEG、PNG 或 WebP (photo.unsupported_format)"
            ),
        },
    )
    async def upload(
        self,
        request: Request,
        principal: CurrentPrincipal,
        photo_id: FromPath[uuid.UUID],
        data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[PhotoOut]:
        content = await data.data.read()
        photo, created = await services.accept_upload(
            principal,
            photo_id,
            data.household_id,
            content,
            data.data.filename or "",
            data.data.content_type or "",
            actor_of(principal, client_ip(request)),
        )
        return Response(photo, status_code=201 if created else 200)

    @get("/{photo_id:uuid}", operation_id="getPhoto", summary="照片状态（处理中、可查看或已拒收及原因）")
    async def get_photo(self, principal: CurrentPrincipal, photo_id: FromPath[uuid.UUID]) -> PhotoOut:
        return await services.get_photo(principal, photo_id)

    @get(
        "/{photo_id:uuid}/display",
        operation_id="getPhotoDisplay",
        summary="照片展示图（长边不超过 1600 像素）",
        media_type="image/jpeg",
        responses=_IMAGE_RESPONSES,
    )
    async def display(self, principal: CurrentPrincipal, photo_id: FromPath[uuid.UUID]) -> Response[bytes]:
        return await _image(principal, photo_id, "display")

    @get(
        "/{photo_id:uuid}/thumb",
        operation_id="getPhotoThumb",
        summary="照片缩略图（长边不超过 320 像素）",
        media_type="image/jpeg",
        responses=_IMAGE_RESPONSES,
    )
    async def thumb(self, principal: CurrentPrincipal, photo_id: FromPath[uuid.UUID]) -> Response[bytes]:
        return await _image(principal, photo_id, "thumb")


async def _image(principal: Principal, photo_id: uuid.UUID, which: Literal["display", "thumb"]) -> Response[bytes]:
    content = await services.derived_image(principal, photo_id, which)
    return Response(content, media_type="image/jpeg", headers={"Cache-Control": IMAGE_CACHE})
