"""What the supplier's side stores: home-care visits, their services, photos and trust flags."""

from __future__ import annotations

import enum

from piccolo.columns import UUID, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.accounts.tables import Account
from carepact.media.tables import Photo
from carepact.registry.tables import Household, Organisation


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
    corrects = UUID(null=True, default=None)
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
