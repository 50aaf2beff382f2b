"""What crosses the wire for coverage: who a contract covers, and how many of them were served."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec


class CoverageOut(msgspec.Struct, kw_only=True):
    id: int
    contract_id: int
    contract_code: str
    supplier_name: str
    subject: Literal["household", "resident"]
    household_id: int | None
    household_code: str
    resident_id: int | None
    names: list[str]
    place: str  # the village (households) or the facility ward and bed (residents)
    starts_on: dt.date
    ends_on: dt.date | None  # the last covered day
    added_by_seq: int  # the amendment (0: the original contract) that added it
    ended_by_seq: int | None


class CoverageFigure(msgspec.Struct, kw_only=True):
    key: str  # contract code, county code, or the region code of the whole view
    label: str
    covered: int  # households and stays covered on at least one day of the month in service
    households: int  # of them, households (home care)
    residents: int  # and facility stays (centralised care)
    served: int  # of them, with at least one verified visit or bed-day in the month
    not_served: int
    verified_visits: int
    bed_days: int


class CoverageFigures(msgspec.Struct, kw_only=True):
    month: str
    group: Literal["contract", "county", "city"]
    rows: list[CoverageFigure]
    total: CoverageFigure


class AssignmentMismatch(msgspec.Struct, kw_only=True):
    """A household whose worker's organisation is not the supplier of the contract covering it."""

    household_id: int
    household_code: str
    assigned_organisation: str | None
    covering_contract_code: str | None
    covering_supplier: str | None
