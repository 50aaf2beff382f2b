"""What the buyer's side stores: contracts and their amendments, coverage, documents, settlement,
the standard agreement (templates, household agreements, sick episodes) and its findings.

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
from carepact.registry.tables import CareLevel, Household, Organisation, Person, Region, Resident


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


# --- the standard dispersed-care agreement ------------------------------------------------------


class AgreementTemplate(Table):
    """One published version of the standard agreement: its TOML source exactly as published.

    Never updated or deleted: an agreement pins a version, and its findings are judged by it.
    """

    version = Integer(unique=True)
    title = Varchar(length=200)
    source = Text()
    digest = Varchar(length=64)  # SHA-256 of the source
    note = Varchar(length=500, default="")  # what this version changes
    published_at = Timestamptz(default=TimestamptzNow())
    published_by = ForeignKey(Account, null=True, default=None)
    published_by_name = Varchar(length=64)


class CaregiverKind(enum.StrEnum):
    provider = "provider"  # a contracted organisation
    person = "person"  # a named person (a relative, a neighbour)


class Agreement(Table):
    """A household's signed agreement: the township office, the caregiver and the cared-for person,
    under one template version. One in force per household on any day; re-signing ends the old one
    the day before the new one starts (``superseded_by``)."""

    code = Varchar(length=48, unique=True)
    household = ForeignKey(Household, index=True)
    person = ForeignKey(Person, null=True, default=None)
    template = ForeignKey(AgreementTemplate)  # no index: "agreement_template" is the table's name
    township_office = ForeignKey(Organisation)
    caregiver_kind = Varchar(length=16, choices=CaregiverKind)
    caregiver_organisation = ForeignKey(Organisation, null=True, default=None, index=True)
    caregiver_name = Varchar(length=100)
    caregiver_phone = Varchar(length=20, default="")
    care_level = Varchar(length=16, choices=CareLevel)  # as assessed when signed
    monthly_fee_fen = BigInt()  # the template's fee for that care level
    starts_on = Date(index=True)
    ends_on = Date(null=True, default=None)
    signed_on = Date()
    signed_by = ForeignKey(Account, null=True, default=None)
    signed_by_name = Varchar(length=64)
    superseded_by = ForeignKey("self", null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class SickKind(enum.StrEnum):
    ill_at_home = "ill_at_home"  # 居家患病
    hospitalised = "hospitalised"  # 住院


class EpisodeEnd(enum.StrEnum):
    recovered = "recovered"  # 康复
    hospitalised = "hospitalised"  # ill at home, then admitted to hospital
    discharged_ill = "discharged_ill"  # out of hospital, still ill at home


class SickEpisode(Table):
    """A stretch of illness at home or in hospital. A new report while one is open closes it at
    the new one's start (ill at home → hospitalised → ill at home ...); recovery closes it."""

    household = ForeignKey(Household, index=True)
    kind = Varchar(length=16, choices=SickKind)
    started_at = Timestamptz(index=True)  # when it was reported (the clock of the response rule)
    ended_at = Timestamptz(null=True, default=None)
    end_reason = Varchar(length=16, default="")
    hospital = Varchar(length=100, default="")
    note = Varchar(length=300, default="")
    reported_by = ForeignKey(Account, null=True, default=None)
    reported_by_name = Varchar(length=64)
    ended_by = ForeignKey(Account, null=True, default=None)
    ended_by_name = Varchar(length=64, default="")
    recorded_at = Timestamptz(default=TimestamptzNow())


class FindingState(enum.StrEnum):
    open = "open"  # found by the engine, waiting for the provider
    explained = "explained"  # the provider gave a reason
    accepted = "accepted"  # the auditor accepted the explanation: no breach, no deduction
    waived = "waived"  # a breach, but the deduction is waived
    upheld = "upheld"  # a breach: deducted in the month's settlement
    resolved = "resolved"  # later data show it no longer holds (a late offline visit)


class Finding(Table):
    """A breach of an agreement clause found by the engine, with its evidence and its workflow.

    ``key`` is the identity ("agreement:clause:period"), so re-running the engine updates a finding
    instead of adding a second one.
    """

    key = Varchar(length=160, unique=True)
    agreement = ForeignKey(Agreement, index=True)
    household = ForeignKey(Household, index=True)
    organisation = ForeignKey(Organisation, null=True, default=None, index=True)  # the caregiver provider
    clause_id = Varchar(length=40, index=True)
    clause_kind = Varchar(length=32)
    period_key = Varchar(length=100)
    month = Date(index=True)  # the month the breach belongs to (its last day's month)
    period_start = Date()
    period_end = Date()
    expected = Integer(null=True, default=None)
    actual = Integer(null=True, default=None)
    units = Integer()  # breaches counted for the deduction (missed visits, days, late visits)
    summary = Varchar(length=300)
    evidence = Text(default="{}")
    digest = Varchar(length=64)  # of what the engine said, so an unchanged finding is not rewritten
    state = Varchar(length=16, choices=FindingState, default=FindingState.open.value, index=True)
    found_at = Timestamptz(default=TimestamptzNow())
    changed_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)
    explanation_reason = Varchar(length=32, default="")
    explanation = Varchar(length=1000, default="")
    explained_by = ForeignKey(Account, null=True, default=None)
    explained_by_name = Varchar(length=64, default="")
    explained_at = Timestamptz(null=True, default=None)
    decision_comment = Varchar(length=1000, default="")
    decided_by = ForeignKey(Account, null=True, default=None)
    decided_by_name = Varchar(length=64, default="")
    decided_at = Timestamptz(null=True, default=None)


# --- the county audit: random samples of verified visits --------------------------------------------


class SampleOutcome(enum.StrEnum):
    confirmed = "confirmed"  # 核实属实: the person (or the re-visit) confirms the visit
    unconfirmed = "unconfirmed"  # 无法核实: nobody answered, the person could not say
    contradicted = "contradicted"  # 与记录不符: becomes a finding against the provider


class CheckMethod(enum.StrEnum):
    phone_callback = "phone_callback"  # 电话回访
    revisit = "revisit"  # 入户复核


class AuditSample(Table):
    """A random draw of verified visits per provider in a region and period, for call-backs or
    re-visits. Reproducible: ``seed`` and ``population`` (the exact query, the ordering, the
    population's size and a digest of its ordered visit ids per provider) are kept, and drawing
    again with them yields the same visits. Never edited: a new draw is a new sample."""

    region = ForeignKey(Region, index=True)
    first_day = Date()
    last_day = Date()
    per_provider = Integer()
    seed = Varchar(length=64)
    population = Text()  # JSON, see contracts.sampling.services.Population
    population_size = Integer()
    drawn_count = Integer()
    note = Varchar(length=300, default="")
    drawn_by = ForeignKey(Account, null=True, default=None)
    drawn_by_name = Varchar(length=64)
    drawn_at = Timestamptz(default=TimestamptzNow())


class SampledVisit(Table):
    """One visit of a sample and what the auditor found when checking it. ``key`` ("sample:visit")
    keeps a visit once per sample; ``visit`` is the providers' visit id (no foreign key across apps)."""

    key = Varchar(length=60, unique=True)
    sample = ForeignKey(AuditSample, index=True)
    position = Integer()  # the order of the draw: by provider, then by draw number
    draw_number = Varchar(length=64)  # SHA-256 of "seed:visit id": the smallest are drawn
    visit = UUID(index=True)
    organisation = ForeignKey(Organisation, index=True)
    household = ForeignKey(Household, index=True)
    outcome = Varchar(length=16, default="", index=True)  # "" until checked, else SampleOutcome
    method = Varchar(length=16, default="")  # CheckMethod
    note = Varchar(length=1000, default="")
    recorded_by = ForeignKey(Account, null=True, default=None)
    recorded_by_name = Varchar(length=64, default="")
    recorded_at = Timestamptz(null=True, default=None)
    finding = ForeignKey(Finding, null=True, default=None)  # the finding a contradicted visit became
