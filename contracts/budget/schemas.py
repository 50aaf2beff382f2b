"""What crosses the wire for the programme budget: committed, delivered and paid, in fen."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec


class BudgetRow(msgspec.Struct, kw_only=True):
    key: str  # contract code, or county code ("city" for city-wide contracts)
    label: str
    contracts: int
    committed_fen: int  # contract values in force on ``as_of``
    delivered_fen: int  # confirmed and paid statements, adjustments included
    paid_fen: int
    awaiting_confirmation_fen: int  # draft statements
    remaining_fen: int  # committed - delivered


class Budget(msgspec.Struct, kw_only=True):
    year: int  # budget year: the year a contract's service period starts
    as_of: dt.date
    group: Literal["contract", "county"]
    currency: str
    rows: list[BudgetRow]
    total: BudgetRow
