"""The service catalogue: the shared vocabulary of what is bought and delivered."""

from __future__ import annotations

import enum

import msgspec


class ServiceCode(enum.StrEnum):
    home_verification = "home_verification"
    environment_improvement = "environment_improvement"
    cleaning = "cleaning"
    personal_care = "personal_care"
    psychological_comfort = "psychological_comfort"
    hospital_accompaniment = "hospital_accompaniment"
    treatment = "treatment"
    rehabilitation = "rehabilitation"
    custodial_nursing = "custodial_nursing"


class ServiceKind(msgspec.Struct, frozen=True, kw_only=True):
    code: ServiceCode
    label: str
    unit: str
    setting: str  # "home" (dispersed care visits) or "facility" (centralised care)


CATALOGUE: dict[ServiceCode, ServiceKind] = {
    k.code: k
    for k in [
        ServiceKind(code=ServiceCode.home_verification, label="入户核查", unit="次", setting="home"),
        ServiceKind(code=ServiceCode.environment_improvement, label="居住环境改善", unit="次", setting="home"),
        ServiceKind(code=ServiceCode.cleaning, label="家政保洁", unit="次", setting="home"),
        ServiceKind(code=ServiceCode.personal_care, label="照料护理", unit="次", setting="home"),
        ServiceKind(code=ServiceCode.psychological_comfort, label="心理慰藉", unit="次", setting="home"),
        ServiceKind(code=ServiceCode.hospital_accompaniment, label="住院陪护", unit="次", setting="home"),
        ServiceKind(code=ServiceCode.treatment, label="治疗", unit="床日", setting="facility"),
        ServiceKind(code=ServiceCode.rehabilitation, label="康复", unit="床日", setting="facility"),
        ServiceKind(code=ServiceCode.custodial_nursing, label="养护", unit="床日", setting="facility"),
    ]
}
HOME_SERVICES = [k for k in CATALOGUE.values() if k.setting == "home"]
