"""What crosses the wire for cards."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class CardCheck(msgspec.Struct, kw_only=True):
    """What the check-in page shows after a scan: whose door this is, if the card is good."""

    ok: bool
    code: str
    message: str
    household_id: int | None = None
    household_code: str | None = None
    names_masked: list[str] = []
    village_name: str | None = None
    assigned_to_me: bool = False


class CardOut(msgspec.Struct, kw_only=True):
    household_id: int
    version: int
    url: str


class ReissueIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=2, max_length=200)]


class CardSheetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    region_id: Annotated[int, Meta(ge=1)]
