"""What crosses the wire for regions, organisations, households and persons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar.datastructures import UploadFile
from msgspec import UNSET, Meta, UnsetType

from carepact.registry.tables import CareLevel, Gender, OrganisationKind, RegionLevel

CARE_LEVEL_LABELS = {CareLevel.able: "全自理", CareLevel.partly_unable: "半失能", CareLevel.unable: "全失能"}
GENDER_LABELS = {Gender.male: "男", Gender.female: "女"}
ORGANISATION_KIND_LABELS = {
    OrganisationKind.bureau: "民政部门",
    OrganisationKind.township_office: "乡镇（街道）",
    OrganisationKind.provider: "服务机构",
    OrganisationKind.facility: "供养机构",
}

# No control characters: they are invisible on screen and PostgreSQL cannot store NUL at all.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, Meta(min_length=1, max_length=32, pattern=ONE_LINE)]
Address = Annotated[str, Meta(min_length=2, max_length=200, pattern=ONE_LINE)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
# [0-9], not \d: \d also matches full-width digits (an input method's "１２３"), which would
# pass the checksum as a different string and slip past the duplicate check.
IdNumber = Annotated[str, Meta(pattern=r"^[0-9]{17}[0-9X]$", description="18 位公民身份号码")]
Notes = Annotated[str, Meta(max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]  # lines and tabs allowed
RegionCode = Annotated[str, Meta(pattern=r"^[0-9]{6,12}$")]


class RegionOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
    level: RegionLevel
    parent_id: int | None


class OrganisationOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    kind: OrganisationKind
    kind_label: str
    region_id: int
    region_name: str


class PersonOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    gender: Gender
    gender_label: str
    birth_year: int
    care_level: CareLevel
    care_level_label: str
    id_number_masked: str
    has_health_notes: bool


class HouseholdSummary(msgspec.Struct, kw_only=True):
    id: int
    code: str
    names: list[str]
    care_level: CareLevel | None
    care_level_label: str
    village_name: str
    township_name: str
    county_name: str
    address: str


class AssignmentOut(msgspec.Struct, kw_only=True):
    worker_name: str
    organisation_name: str
    starts_on: dt.date
    ends_on: dt.date | None


class HouseholdDetail(msgspec.Struct, kw_only=True):
    id: int
    code: str
    address: str
    village_id: int
    village_name: str
    township_name: str
    county_name: str
    # Rounded to about 1 km; the exact point is a logged sensitive read.
    approx_latitude: float | None
    approx_longitude: float | None
    persons: list[PersonOut]
    assignments: list[AssignmentOut]
    can_edit: bool
    can_read_sensitive: bool


class PersonIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    gender: Gender
    birth_year: Annotated[int, Meta(ge=1900, le=2100)]
    id_number: IdNumber
    care_level: CareLevel
    illness: Notes = ""
    disability: Notes = ""


class HouseholdCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    village_code: RegionCode
    address: Address
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    person: PersonIn


class HouseholdPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    address: Address | UnsetType = UNSET
    latitude: Latitude | UnsetType | None = UNSET
    longitude: Longitude | UnsetType | None = UNSET


class PersonPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    care_level: CareLevel | UnsetType = UNSET
    illness: Notes | UnsetType = UNSET
    disability: Notes | UnsetType = UNSET


class PersonSensitive(msgspec.Struct, kw_only=True):
    """The unmasked view; every response of this shape is one audit row."""

    person_id: int
    name: str
    id_number: str
    id_number_shown: bool
    illness: str
    disability: str
    latitude: float | None
    longitude: float | None


class ImportResult(msgspec.Struct, kw_only=True):
    imported: int
    household_ids: list[int]


@dataclass
class HouseholdFile:
    """The multipart form of POST /api/households/import (a dataclass: msgspec has no file type, and
    a bare UploadFile makes Litestar fail on a form that holds no file at all)."""

    data: UploadFile


class RowError(msgspec.Struct, kw_only=True):
    row: int
    column: str
    code: str
    message: str


class ImportRefused(msgspec.Struct, kw_only=True):
    code: str
    message: str
    rows: list[RowError]
