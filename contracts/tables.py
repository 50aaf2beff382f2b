"""What the buyer's side stores: contracts and their amendments, coverage, documents, settlement.

A contract's terms are never edited: the original terms and each change are ``Amendment`` rows,
and the terms in force on any date are derived from them (``contracts.procurement.terms``).
Money is integer fen in ``BigInt`` columns (a city's contract can exceed what 32 bits hold).
"""

from __future__ import annotations

import enum

from piccolo.columns import UUID, BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.accounts.tables import Account
from carepact.registry.tables import Household, Organisation, Region, Resident


class ContractKind(enum.StrEnum):
    home_care = "home_care"  # 分散供养居家照料服务: covers households, paid per verified visit
    centralised_care = "centralised_care"  # 集中供养: covers facility residents, paid per bed-day


class ContractStatus(enum.StrEnum):
    """OCDS contract.status."""

    pending = "pending"
    active = "active"
    cancelled = "cancelled"
    terminated = "terminated"


class DocumentType(enum.StrEnum):
    """A subset of the OCDS documentType codelist."""

    contract_signed = "contractSigned"
    contract_annexe = "contractAnnexe"
    contract_amendment = "contractAmendment"
    other = "other"


class StatementStatus(enum.StrEnum):
    draft = "draft"  # recomputing replaces it
    confirmed = "confirmed"  # signed off by the county auditor or the city: never changes again
    paid = "paid"


class Contract(Table):
    """The identity of a purchased-service contract (OCDS contract); its terms live in ``Amendment``."""

    code = Varchar(length=40, unique=True)  # OCDS contract.id
    kind = Varchar(length=20, choices=ContractKind, index=True)
    buyer = ForeignKey(Organisation, index=True)  # a bureau
    supplier = ForeignKey(Organisation, index=True)  # a provider or a facility
    # Where the service is delivered (a county, or the city for city-wide contracts): decides
    # which county bureau audits it and where its budget is counted.
    service_area = ForeignKey(Region, index=True)
    date_signed = Date()
    currency = Varchar(length=3, default="CNY")
    created_at = Timestamptz(default=TimestamptzNow())


class Amendment(Table):
    """The original terms (seq 0) or one later change (OCDS contract.amendments); never edited.

    ``changes`` is the JSON of ``contracts.procurement.terms.Change``: only what this record
    changes. ``key`` ("contract:seq") makes two concurrent amendments of one contract collide.
    """

    key = Varchar(length=40, unique=True)
    contract = ForeignKey(Contract, index=True)
    seq = Integer()
    agreed_on = Date()  # OCDS amendment.date
    effective_on = Date()
    rationale = Text()
    changes = Text()
    author = ForeignKey(Account, null=True, default=None)
    author_name = Varchar(length=64)
    recorded_at = Timestamptz(default=TimestamptzNow())


class Coverage(Table):
    """One household (home care) or facility stay (centralised care) covered by a contract.

    Rows are added by an amendment and ended by a later one (``ends_on`` is then the last covered
    day); a row is never deleted, so a household that moves between providers keeps its history.
    """

    contract = ForeignKey(Contract, index=True)
    household = ForeignKey(Household, null=True, default=None, index=True)
    resident = ForeignKey(Resident, null=True, default=None, index=True)
    starts_on = Date()
    ends_on = Date(null=True, default=None)
    added_by = ForeignKey(Amendment)
    ended_by = ForeignKey(Amendment, null=True, default=None)


class ContractDocument(Table):
    """A scanned contract, annex or amendment (PDF or image), stored like photos: by key, private."""

    id = UUID(primary_key=True)
    contract = ForeignKey(Contract, index=True)
    amendment = ForeignKey(Amendment, null=True, default=None)
    document_type = Varchar(length=24, choices=DocumentType)
    title = Varchar(length=200)
    filename = Varchar(length=200, default="")
    media_type = Varchar(length=64)
    size_bytes = Integer()
    sha256 = Varchar(length=64)
    storage_key = Varchar(length=200)
    uploaded_by = ForeignKey(Account, null=True, default=None)
    uploaded_at = Timestamptz(default=TimestamptzNow())


class Statement(Table):
    """A monthly settlement statement of one contract: the original (sequence 0) or an adjustment.

    Lines and totals are stored when computed; once confirmed they are never written again
    (``digest`` seals them), so later changes to visits or stays never alter what was signed.
    """

    key = Varchar(length=60, unique=True)  # "contract:YYYY-MM:sequence": one row per place in the chain
    code = Varchar(length=60, unique=True)
    contract = ForeignKey(Contract, index=True)
    month = Date(index=True)  # the first day of the month settled
    sequence = Integer(default=0)
    adjusts = ForeignKey("self", null=True, default=None)  # the original an adjustment corrects
    status = Varchar(length=16, choices=StatementStatus, default=StatementStatus.draft.value, index=True)
    revision = Integer(default=1)  # bumped by every recompute of a draft
    gross_fen = BigInt(default=0)
    deductions_fen = BigInt(default=0)
    total_fen = BigInt(default=0)
    basis = Text(default="{}")  # what was counted: verified visits, bed-days, unpriced services
    rationale = Text(default="")  # why an adjustment was made
    note = Varchar(length=500, default="")
    computed_at = Timestamptz(default=TimestamptzNow())
    computed_by_name = Varchar(length=64, default="")
    confirmed_at = Timestamptz(null=True, default=None)
    confirmed_by = ForeignKey(Account, null=True, default=None)
    confirmed_by_name = Varchar(length=64, default="")
    digest = Varchar(length=64, default="")
    paid_on = Date(null=True, default=None)
    payment_reference = Varchar(length=64, default="")
    paid_at = Timestamptz(null=True, default=None)
    paid_by_name = Varchar(length=64, default="")


class StatementLine(Table):
    """Delivered service of one type at one unit price (negative quantities only in adjustments)."""

    statement = ForeignKey(Statement, index=True)
    position = Integer()
    service = Varchar(length=32)
    unit = Varchar(length=8)
    unit_value_fen = BigInt()
    quantity = Integer()
    amount_fen = BigInt()


class Deduction(Table):
    """Money withheld from a statement, from an upheld finding (``source``/``reference`` name it).

    ``amount_fen`` is what the finding claims; ``applied_fen`` what this statement withholds
    (a statement never takes back more than it pays).
    """

    statement = ForeignKey(Statement, index=True)
    source = Varchar(length=32)
    reference = Varchar(length=64)
    reason = Varchar(length=300)
    amount_fen = BigInt()
    applied_fen = BigInt()
