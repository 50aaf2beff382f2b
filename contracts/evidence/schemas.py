"""What crosses the wire for evidence bundles: asking for one."""

from __future__ import annotations

import datetime as dt

import msgspec


class BundleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One of household_id, organisation_id (a provider) or contract_id, and a period of local days."""

    first_day: dt.date
    last_day: dt.date
    household_id: int | None = None
    organisation_id: int | None = None
    contract_id: int | None = None
