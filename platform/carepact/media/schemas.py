"""What crosses the wire for photos. EXIF capture time and GPS never do: they feed trust flags only."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import msgspec
from litestar.datastructures import UploadFile

from carepact.media.tables import PhotoStatus

STATUS_LABELS = {
    PhotoStatus.pending: "处理中",
    PhotoStatus.ready: "可查看",
    PhotoStatus.refused: "已拒收",
    PhotoStatus.purged: "已过保存期限删除",
}


@dataclass
class PhotoUpload:
    """The multipart form of PUT /api/photos/{id} (a dataclass: msgspec has no file type)."""

    data: UploadFile
    household_id: int | None = None


class PhotoOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    household_id: int | None
    status: PhotoStatus
    status_label: str
    error_code: str
    error_message: str
    width: int
    height: int
    display_url: str | None
    thumb_url: str | None
    created_at: dt.datetime


class NearDuplicate(msgspec.Struct, frozen=True, kw_only=True):
    """Another photo that is the same file, or looks the same (dHash within a few bits)."""

    photo_id: uuid.UUID
    household_id: int | None
    identical: bool  # the same file (SHA-256)
    distance: int  # Hamming distance of the two dHashes (0 for the same file)
