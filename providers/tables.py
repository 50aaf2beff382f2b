"""What the supplier's side stores: home-care visits and their evidence, and residents' care records."""

from __future__ import annotations

import enum

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.accounts.tables import Account
from carepact.media.tables import Photo
from carepact.registry.tables import Household, Organisation, Resident


class VisitStatus(enum.StrEnum):
    in_progress = "in_progress"  # checked in, not yet out
    completed = "completed"  # checked out


class Presence(enum.StrEnum):
    qr = "qr"  # a valid, current door card was scanned
    qr_failed = "qr_failed"  # a card was scanned but did not verify (see flags)
    manual = "manual"  # no scan; a reason code and a supervisor's approval are required


class Review(enum.StrEnum):
    not_required = "not_required"
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    rejected = "rejected"


class ManualReason(enum.StrEnum):
    """Why presence could not be proven by scanning (modelled on EVV exception codes)."""

    card_missing = "card_missing"
    card_damaged = "card_damaged"
    camera_unavailable = "camera_unavailable"
    phone_problem = "phone_problem"
    person_not_home = "person_not_home"
    person_refused = "person_refused"
    person_hospitalised = "person_hospitalised"
    service_elsewhere = "service_elsewhere"
    other = "other"


class Visit(Table):
    """One home-care visit. The id is made by the phone, so a resubmission finds its record."""

    id = UUID(primary_key=True)
    household = ForeignKey(Household, index=True)
    worker = ForeignKey(Account, index=True)
    organisation = ForeignKey(Organisation, index=True)
    status = Varchar(length=16, choices=VisitStatus, default=VisitStatus.in_progress.value)
    presence = Varchar(length=16, choices=Presence)
    manual_reason = Varchar(length=32, default="")
    manual_note = Varchar(length=300, default="")
    card_version = Integer(null=True, default=None)
    # Times: as the phone recorded them, as the server received them, and the phone time
    # corrected by the clock skew measured at submission (the one used for rules).
    checkin_at = Timestamptz(index=True)
    checkin_device_at = Timestamptz()
    checkin_received_at = Timestamptz()
    checkout_at = Timestamptz(null=True, default=None)
    checkout_device_at = Timestamptz(null=True, default=None)
    checkout_received_at = Timestamptz(null=True, default=None)
    clock_skew_seconds = Integer(default=0)
    duration_minutes = Integer(null=True, default=None)
    checkin_latitude = Real(null=True, default=None)
    checkin_longitude = Real(null=True, default=None)
    checkin_accuracy_m = Real(null=True, default=None)
    checkin_distance_m = Integer(null=True, default=None)
    checkout_latitude = Real(null=True, default=None)
    checkout_longitude = Real(null=True, default=None)
    notes = Text(default="")
    review = Varchar(length=24, choices=Review, default=Review.not_required.value, index=True)
    reviewed_by = Integer(null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)
    review_comment = Varchar(length=300, default="")
    # A correction of an approved (locked) visit is a new record pointing at the one it corrects.
    # Indexed: the verified-visit test asks "is this visit corrected?" of every visit it reads.
    corrects = UUID(null=True, default=None, index=True)
    # Canonical digests of what was submitted, so a replay is recognised and a changed replay refused.
    checkin_digest = Varchar(length=64)
    checkout_digest = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class VisitService(Table):
    """A service performed during a visit (one row per service type)."""

    visit = ForeignKey(Visit, index=True)
    service = Varchar(length=32)


class VisitPhoto(Table):
    visit = ForeignKey(Visit, index=True)
    photo = ForeignKey(Photo, unique=True)
    stage = Varchar(length=16)  # checkin / checkout


class FlagSeverity(enum.StrEnum):
    info = "info"
    warning = "warning"
    serious = "serious"


class VisitFlag(Table):
    """A reason to doubt a visit, with the evidence that raised it."""

    visit = ForeignKey(Visit, index=True)
    code = Varchar(length=40, index=True)
    severity = Varchar(length=16, choices=FlagSeverity)
    message = Varchar(length=300)
    evidence = Text(default="{}")
    source = Varchar(length=16, default="")  # checkin / checkout / photo
    created_at = Timestamptz(default=TimestamptzNow())


# --- residents in centralised care ---------------------------------------------------------------
# A stay is the kernel's Resident (facility, ward, bed, admitted_on, discharged_on). Free text
# written about a resident is health information: stored with carepact.privacy.protect (columns
# named *_protected); codes (kinds, outcomes, ratings) are plain so lists never need to decrypt.


class CareKind(enum.StrEnum):
    treatment = "treatment"  # 治疗
    rehabilitation = "rehabilitation"  # 康复
    nursing_hygiene = "nursing_hygiene"  # 护理与个人卫生
    meal = "meal"  # 进餐
    sleep = "sleep"  # 睡眠
    mood_behaviour = "mood_behaviour"  # 情绪与行为观察


class GoalKind(enum.StrEnum):
    treatment = "treatment"
    rehabilitation = "rehabilitation"
    nursing = "nursing"


class GoalStatus(enum.StrEnum):
    active = "active"
    achieved = "achieved"
    discontinued = "discontinued"


class GoalOutcome(enum.StrEnum):
    continued = "continued"  # keep the goal, review again later
    revised = "revised"  # the goal text changes
    achieved = "achieved"
    discontinued = "discontinued"


class CareGoal(Table):
    """One goal of a resident's care plan (treatment, rehabilitation or nursing) and when it is
    next to be reviewed; a review date in the past is an overdue review."""

    resident = ForeignKey(Resident, index=True)
    kind = Varchar(length=16, choices=GoalKind)
    goal_protected = Text()
    status = Varchar(length=16, choices=GoalStatus, default=GoalStatus.active.value)
    set_on = Date()
    review_due_on = Date(index=True)
    last_reviewed_on = Date(null=True, default=None)
    created_by = ForeignKey(Account)
    created_at = Timestamptz(default=TimestamptzNow())


class CareGoalReview(Table):
    """One review of a goal; never edited, so the plan's history reads back as it happened."""

    goal = ForeignKey(CareGoal, index=True)
    reviewed_on = Date()
    outcome = Varchar(length=16, choices=GoalOutcome)
    note_protected = Text(default="")
    next_review_on = Date(null=True, default=None)
    reviewed_by = ForeignKey(Account)
    created_at = Timestamptz(default=TimestamptzNow())


class WardRound(Table):
    """One entry for a ward round: the same activity for many residents, one CareRecord each.
    The id is made by the tablet, so a resubmission finds the round instead of doubling it."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Organisation, index=True)
    ward = Varchar(length=32)
    kind = Varchar(length=20, choices=CareKind)
    activity = Varchar(length=40)
    performed_at = Timestamptz()
    resident_count = Integer()
    recorded_by = ForeignKey(Account)
    digest = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())


class CareRecord(Table):
    """One service a resident received, or one observation of them, recorded at the bedside."""

    id = UUID(primary_key=True)  # made by the device (or derived from the ward round)
    resident = ForeignKey(Resident, index=True)
    kind = Varchar(length=20, choices=CareKind, index=True)
    # The catalogue service this kind delivers (treatment / rehabilitation / custodial_nursing),
    # "" for observations: what the month's "services delivered" counts.
    service = Varchar(length=32, default="", index=True)
    activity = Varchar(length=40)
    observation = Varchar(length=16, default="")  # a coded rating: meal intake, sleep, mood
    details_protected = Text(default="")
    concern = Boolean(default=False)  # the next shift should watch this resident
    performed_at = Timestamptz(index=True)
    recorded_by = ForeignKey(Account)
    ward_round = ForeignKey(WardRound, null=True, default=None, index=True)
    digest = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class MedicationRoute(enum.StrEnum):
    oral = "oral"
    injection = "injection"
    topical = "topical"
    other = "other"


class MedicationOrder(Table):
    """A standing order: this drug and dose at these times of day, from one day to another."""

    resident = ForeignKey(Resident, index=True)
    drug_protected = Text()  # JSON {"drug", "dose", "instructions"}: what is given reveals the illness
    route = Varchar(length=16, choices=MedicationRoute)
    times = Varchar(length=60)  # local times of day, "08:00,20:00"
    starts_on = Date()
    ends_on = Date(null=True, default=None)  # the last day it is given
    prescribed_by = Varchar(length=32, default="")
    stop_reason_protected = Text(default="")
    created_by = ForeignKey(Account)
    created_at = Timestamptz(default=TimestamptzNow())


class DoseOutcome(enum.StrEnum):
    given = "given"
    refused = "refused"
    held = "held"  # withheld on purpose (asleep, fasting, doctor's instruction)
    missed = "missed"  # not given, and not on purpose


class DoseRecord(Table):
    """What happened to one scheduled dose. ``key`` makes a dose recorded twice (a retry, two
    nurses) one row: "<order>:<scheduled time, UTC>"."""

    key = Varchar(length=40, unique=True)
    order = ForeignKey(MedicationOrder, index=True)
    resident = ForeignKey(Resident, index=True)
    scheduled_for = Timestamptz(index=True)
    outcome = Varchar(length=16, choices=DoseOutcome, index=True)
    reason_protected = Text(default="")
    recorded_at = Timestamptz()
    recorded_by = ForeignKey(Account)
    created_at = Timestamptz(default=TimestamptzNow())


class IncidentKind(enum.StrEnum):
    fall = "fall"
    aggression = "aggression"
    self_harm_risk = "self_harm_risk"
    absconding = "absconding"
    illness = "illness"
    hospital_transfer = "hospital_transfer"
    other = "other"


class IncidentSeverity(enum.StrEnum):
    minor = "minor"
    moderate = "moderate"
    serious = "serious"


class Incident(Table):
    """Something that happened to or around a resident. Never edited or deleted (the API has no
    such operation): what is learned later is a care record or another incident."""

    id = UUID(primary_key=True)  # made by the device
    resident = ForeignKey(Resident, index=True)
    facility = ForeignKey(Organisation, index=True)
    kind = Varchar(length=20, choices=IncidentKind)
    severity = Varchar(length=16, choices=IncidentSeverity, index=True)
    occurred_at = Timestamptz(index=True)
    description_protected = Text()
    actions_protected = Text(default="")
    reported_by = ForeignKey(Account)
    reported_at = Timestamptz(default=TimestamptzNow())
    digest = Varchar(length=64)


class Handover(Table):
    """A shift handover of one ward: what happened since the ward's previous handover, as it
    was when handed over (a snapshot: later entries do not change what was said)."""

    facility = ForeignKey(Organisation, index=True)
    ward = Varchar(length=32)
    period_start = Timestamptz()
    period_end = Timestamptz(index=True)
    summary = Text()  # JSON of providers.residents.schemas.HandoverSummary: codes and names, no notes
    note_protected = Text(default="")
    created_by = ForeignKey(Account)
    created_at = Timestamptz(default=TimestamptzNow())
