"""Photos: the original kept private, the derived display and thumbnail copies, what EXIF said."""

from __future__ import annotations

import enum

from piccolo.columns import UUID, ForeignKey, Integer, Real, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.registry.tables import Household, Organisation


class PhotoStatus(enum.StrEnum):
    pending = "pending"  # stored, waiting for the photo job
    ready = "ready"  # display copy and thumbnail made, EXIF read and stripped
    refused = "refused"  # not an acceptable image; error_code says why
    # Past the retention period (`carepact purge`): files deleted, EXIF facts cleared; the row stays
    # so the visit it proved still counts the photo it had.
    purged = "purged"


class Photo(Table):
    """One uploaded photo. ``household`` decides who may see it (the household's scope)."""

    id = UUID(primary_key=True)
    household = ForeignKey(Household, null=True, default=None, index=True)
    organisation = ForeignKey(Organisation, null=True, default=None)
    uploaded_by = Integer(null=True, default=None)  # account id
    status = Varchar(length=16, choices=PhotoStatus, default=PhotoStatus.pending.value, index=True)
    error_code = Varchar(length=64, default="")
    error_message = Varchar(length=300, default="")
    filename = Varchar(length=200, default="")
    declared_type = Varchar(length=100, default="")
    size_bytes = Integer(default=0)
    sha256 = Varchar(length=64, index=True)  # of the original bytes: the same file used twice
    original_key = Varchar(length=200)  # storage keys, relative to MEDIA_DIR; never served
    display_key = Varchar(length=200, default="")
    thumb_key = Varchar(length=200, default="")
    format = Varchar(length=16, default="")
    width = Integer(default=0)
    height = Integer(default=0)
    # From EXIF, read before stripping; used for trust flags, never served to clients.
    captured_at = Timestamptz(null=True, default=None)
    exif_latitude = Real(null=True, default=None)
    exif_longitude = Real(null=True, default=None)
    # 64-bit difference hash, as 16 hex digits and as four 16-bit bands: two hashes within
    # Hamming distance 3 share at least one band, so near-duplicates are an indexed lookup.
    phash = Varchar(length=16, default="")
    phash_b0 = Integer(null=True, default=None, index=True)
    phash_b1 = Integer(null=True, default=None, index=True)
    phash_b2 = Integer(null=True, default=None, index=True)
    phash_b3 = Integer(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    processed_at = Timestamptz(null=True, default=None)
    purged_at = Timestamptz(null=True, default=None)
