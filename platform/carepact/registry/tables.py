"""What the registry stores: regions, organisations, households, persons, residents."""

from __future__ import annotations

import enum

from piccolo.columns import (
    Date,
    ForeignKey,
    Integer,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class RegionLevel(enum.StrEnum):
    city = "city"
    county = "county"
    township = "township"
    village = "village"


class OrganisationKind(enum.StrEnum):
    bureau = "bureau"  # 民政局 (city or county)
    township_office = "township_office"  # 乡镇人民政府 / 街道办事处
    provider = "provider"  # 承接服务的社会组织、企业
    facility = "facility"  # 集中供养机构、精神康复医院


class CareLevel(enum.StrEnum):
    able = "able"  # 全自理
    partly_unable = "partly_unable"  # 半失能
    unable = "unable"  # 全失能


class SupportMode(enum.StrEnum):
    dispersed = "dispersed"  # 分散供养 (lives at home)
    centralised = "centralised"  # 集中供养 (lives in a facility)


class Gender(enum.StrEnum):
    male = "male"
    female = "female"


class Region(Table):
    """city → county/district → township → village, keyed by administrative code.

    ``path`` is the chain of codes from the city down ("/610300/610302/610302001/"), so a
    region's whole subtree is one indexed prefix match.
    """

    code = Varchar(length=12, unique=True)
    name = Varchar(length=64)
    level = Varchar(length=16, choices=RegionLevel)
    parent = ForeignKey("self", null=True)
    path = Varchar(length=80, index=True)
    latitude = Real(null=True, default=None)
    longitude = Real(null=True, default=None)


class Organisation(Table):
    name = Varchar(length=100, unique=True)
    kind = Varchar(length=20, choices=OrganisationKind, index=True)
    region = ForeignKey(Region)
    credit_code = Varchar(length=18, null=True, default=None, unique=True)  # 统一社会信用代码
    address = Varchar(length=200, default="")
    phone = Varchar(length=20, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Household(Table):
    """A home where a person in dispersed support lives."""

    code = Varchar(length=32, unique=True)
    village = ForeignKey(Region, index=True)
    address = Varchar(length=200)
    # Exact location is sensitive: shown rounded, exact values only through a logged read.
    latitude = Real(null=True, default=None)
    longitude = Real(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Person(Table):
    """A person in special hardship (特困人员), at home or in a facility."""

    name = Varchar(length=32, index=True)
    gender = Varchar(length=8, choices=Gender)
    birth_year = Integer()
    # ID number: AES-GCM ciphertext; a keyed digest finds duplicates without decrypting;
    # the masked form is kept so lists never need to decrypt (a decrypt is a logged read).
    id_number_protected = Text()
    id_number_digest = Varchar(length=64, unique=True)
    id_number_masked = Varchar(length=18)
    care_level = Varchar(length=16, choices=CareLevel)
    support_mode = Varchar(length=16, choices=SupportMode)
    household = ForeignKey("Household", null=True, index=True)
    # Illness and disability notes (health data), encrypted as one JSON document.
    health_protected = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Resident(Table):
    """A stay of one person in a facility (centralised support)."""

    person = ForeignKey(Person, index=True)
    facility = ForeignKey(Organisation, index=True)
    ward = Varchar(length=32, default="")
    bed = Varchar(length=16, default="")
    admitted_on = Date()
    discharged_on = Date(null=True, default=None)
    discharge_reason = Varchar(length=200, default="")
    # The purchased-service contract that pays for the stay, as the admission papers name it
    # (a contract code). Plain text, no foreign key: the kernel knows no app. Settlement counts
    # what the contract's coverage says; this is what the facility was told at admission.
    contract_code = Varchar(length=40, default="", index=True)
