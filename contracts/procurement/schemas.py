"""What crosses the wire for contracts, their amendments and documents.

Field names follow the Open Contracting Data Standard's contract where it has one: ``code`` is
contract.id, ``date_signed`` dateSigned, ``period.start_date``/``end_date`` period.startDate/endDate,
``value_fen`` + ``currency`` value.amount/currency (in fen, integer), items carry
``classification`` (the service code), ``quantity``, ``unit_name`` and ``unit_value_fen``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from carepact.catalogue import ServiceCode
from contracts.tables import ContractKind, ContractStatus, DocumentType

KIND_LABELS = {ContractKind.home_care: "居家照料服务", ContractKind.centralised_care: "集中供养服务"}
STATUS_LABELS = {
    ContractStatus.pending: "待生效",
    ContractStatus.active: "履行中",
    ContractStatus.cancelled: "已取消",
    ContractStatus.terminated: "已终止",
}
DOCUMENT_TYPE_LABELS = {
    DocumentType.contract_signed: "合同文本（签字盖章扫描件）",
    DocumentType.contract_annexe: "合同附件",
    DocumentType.contract_amendment: "变更协议",
    DocumentType.other: "其他",
}

# Bounds keep a typo from committing a city's budget ten thousand times over, and keep every
# product of quantity × unit value (≤ 10^17 fen) far inside what PostgreSQL's BIGINT holds.
Fen = Annotated[int, Meta(ge=0, le=10**10)]  # up to ¥100 million per unit
Quantity = Annotated[int, Meta(ge=1, le=10**7)]
Code = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$")]
Title = Annotated[str, Meta(min_length=2, max_length=200)]
Rationale = Annotated[str, Meta(min_length=2, max_length=1000)]
Ids = Annotated[list[Annotated[int, Meta(ge=1)]], Meta(max_length=20_000)]
Id = Annotated[int, Meta(ge=1)]


class Period(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """OCDS period: the first and the last day of service (both included)."""

    start_date: dt.date
    end_date: dt.date


class Item(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One priced service (OCDS item): the unit comes from the service catalogue."""

    classification: ServiceCode
    quantity: Quantity
    unit_value_fen: Fen

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_value_fen


class CoverageChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Who starts being covered on the amendment's effective date, and who stops the day before it."""

    add_households: Ids = []
    remove_households: Ids = []
    add_residents: Ids = []
    remove_residents: Ids = []

    def is_empty(self) -> bool:
        return not (self.add_households or self.remove_households or self.add_residents or self.remove_residents)


class Change(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """What one amendment changes; what it leaves out stays as it was. Stored as given."""

    title: Title | UnsetType = UNSET
    status: ContractStatus | UnsetType = UNSET
    period: Period | UnsetType = UNSET
    items: Annotated[list[Item], Meta(min_length=1, max_length=20)] | UnsetType = UNSET
    coverage: CoverageChange | UnsetType = UNSET


class ContractIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    title: Title
    kind: ContractKind
    buyer_id: Id
    supplier_id: Id
    service_area_id: Id
    date_signed: dt.date
    period: Period
    items: Annotated[list[Item], Meta(min_length=1, max_length=20)]
    status: Literal["pending", "active"] = "active"
    coverage: CoverageChange | None = None  # who is covered from the start of the period
    rationale: Rationale = "合同签订"


class AmendmentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    date: dt.date  # OCDS amendment.date: when the change was agreed
    effective_on: dt.date
    rationale: Rationale
    changes: Change


# --- out ---------------------------------------------------------------------------------


class ItemOut(msgspec.Struct, kw_only=True):
    classification: ServiceCode
    description: str
    quantity: int
    unit_name: str
    unit_value_fen: int
    amount_fen: int


class PartyOut(msgspec.Struct, kw_only=True):
    id: int
    name: str


class RegionRef(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str


class AmendmentOut(msgspec.Struct, kw_only=True):
    id: int
    seq: int
    kind: Literal["original", "amendment"]
    kind_label: str
    date: dt.date
    effective_on: dt.date
    rationale: str
    description: str  # what changed, in Chinese, for a history list
    author_name: str
    recorded_at: dt.datetime
    value_before_fen: int | None  # the value in force the day before it took effect
    value_after_fen: int  # and on the day it took effect
    in_force: bool  # effective on the date the contract is shown for
    changes: Change


class DocumentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    document_type: DocumentType
    document_type_label: str
    title: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    amendment_id: int | None
    uploaded_at: dt.datetime
    url: str


class BudgetFigures(msgspec.Struct, kw_only=True):
    committed_fen: int  # the contract's value on the date shown
    delivered_fen: int  # confirmed (and paid) statements, adjustments included
    paid_fen: int
    awaiting_confirmation_fen: int  # drafts not yet confirmed
    remaining_fen: int  # committed - delivered (negative: delivered more than committed)


class CoverageSummary(msgspec.Struct, kw_only=True):
    on: dt.date
    households: int
    residents: int
    ever_covered: int  # every household or stay this contract has ever covered


class ContractSummary(msgspec.Struct, kw_only=True):
    id: int
    code: str
    title: str
    kind: ContractKind
    kind_label: str
    status: ContractStatus
    status_label: str
    buyer: PartyOut
    supplier: PartyOut
    service_area: RegionRef
    date_signed: dt.date
    period: Period
    value_fen: int
    currency: str
    amendment_count: int  # amendments after the original terms


class ContractDetail(ContractSummary, kw_only=True):
    state_on: dt.date  # the date these terms are in force on
    is_current: bool  # the terms are today's
    items: list[ItemOut]
    amendments: list[AmendmentOut]
    documents: list[DocumentOut]
    coverage: CoverageSummary
    budget: BudgetFigures
    can_amend: bool
    can_settle: bool


class ServiceOut(msgspec.Struct, kw_only=True):
    code: ServiceCode
    label: str
    unit: str
    setting: str


class Vocabulary(msgspec.Struct, kw_only=True):
    services: list[ServiceOut]
    kinds: dict[str, str]
    statuses: dict[str, str]
    document_types: dict[str, str]
