"""What crosses the wire for monthly settlement statements."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from carepact.catalogue import ServiceCode
from contracts.tables import StatementStatus

STATUS_LABELS = {
    StatementStatus.draft: "草稿（待确认）",
    StatementStatus.confirmed: "已确认",
    StatementStatus.paid: "已支付",
}
Month = Annotated[str, Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="结算月份 YYYY-MM")]


class ComputeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    month: Month


class ConfirmIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The revision the auditor looked at: numbers recomputed since are not confirmed unseen.
    revision: Annotated[int, Meta(ge=1)]


class PayIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    paid_on: dt.date
    payment_reference: Annotated[str, Meta(min_length=1, max_length=64)]  # 支付凭证号


class AdjustIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rationale: Annotated[str, Meta(min_length=2, max_length=1000)]


class StatementPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    note: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET


class LineOut(msgspec.Struct, kw_only=True):
    service: ServiceCode
    description: str
    unit: str
    unit_value_fen: int
    quantity: int
    amount_fen: int


class DeductionOut(msgspec.Struct, kw_only=True):
    source: str
    reference: str
    reason: str
    amount_fen: int
    applied_fen: int


class Basis(msgspec.Struct, kw_only=True):
    """What the numbers were computed from (kept with the statement)."""

    covered: int = 0  # households or stays covered on at least one day in service
    served: int = 0
    verified_visits: int = 0
    excluded_visits: int = 0  # completed but not verified: rejected, unapproved manual, failed scan, serious flag
    bed_days: int = 0
    service_days: int = 0
    unpriced_services: dict[str, int] = {}  # performed, but the contract does not buy them


class StatementSummary(msgspec.Struct, kw_only=True):
    id: int
    code: str
    contract_id: int
    contract_code: str
    contract_title: str
    supplier_name: str
    month: str  # YYYY-MM
    month_label: str  # 2026年11月
    sequence: int
    kind: Literal["original", "adjustment"]
    kind_label: str
    status: StatementStatus
    status_label: str
    gross_fen: int
    deductions_fen: int
    total_fen: int
    currency: str
    computed_at: dt.datetime
    confirmed_at: dt.datetime | None
    paid_on: dt.date | None


class StatementDetail(StatementSummary, kw_only=True):
    revision: int
    adjusts_id: int | None
    lines: list[LineOut]
    deductions: list[DeductionOut]
    basis: Basis
    rationale: str
    note: str
    computed_by_name: str
    confirmed_by_name: str
    paid_by_name: str
    paid_at: dt.datetime | None
    payment_reference: str
    digest: str
    seal_intact: bool | None  # confirmed numbers still match their digest (None for drafts)
    month_complete: bool  # the month is over: a statement of a running month may need adjusting
    chain: list[StatementSummary]  # the month's original and adjustments, in order
    settled_total_fen: int  # what the confirmed statements of the month add up to
    print_url: str
    csv_url: str
    can_recompute: bool
    can_confirm: bool
    can_pay: bool
    can_adjust: bool
