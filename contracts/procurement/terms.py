"""A contract's terms derived from its history: the one fold, the rules terms obey, the words for a change.

Pure functions, no database: the original terms and every amendment are versions, each with an
effective date; the terms in force on a day are the versions effective by then, applied in order
of (effective date, sequence). Nothing holds a "current value" that could drift from its history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec
from msgspec import UNSET

from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.errors import FieldError
from contracts.money import yuan
from contracts.procurement.schemas import STATUS_LABELS, Change, Item, Period
from contracts.tables import ContractKind, ContractStatus

SETTING_OF_KIND = {ContractKind.home_care: "home", ContractKind.centralised_care: "facility"}

# OCDS leaves transitions to the publisher; these are the ones a purchase can take.
TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    ContractStatus.pending: frozenset({ContractStatus.active, ContractStatus.cancelled}),
    ContractStatus.active: frozenset({ContractStatus.terminated}),
    ContractStatus.cancelled: frozenset(),
    ContractStatus.terminated: frozenset(),
}


class Version(msgspec.Struct, frozen=True, kw_only=True):
    seq: int  # 0: the original terms
    effective_on: dt.date
    change: Change


class Terms(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    status: ContractStatus
    period: Period
    items: tuple[Item, ...]

    @property
    def value_fen(self) -> int:
        """OCDS value.amount: what the items add up to (so the two can never disagree)."""
        return sum(item.amount_fen for item in self.items)

    def item_for(self, service: ServiceCode | str) -> Item | None:
        return next((i for i in self.items if i.classification == service), None)

    def in_service(self, day: dt.date) -> bool:
        """Whether service delivered on ``day`` is payable under these terms."""
        return self.status == ContractStatus.active and self.period.start_date <= day <= self.period.end_date


def _ordered(versions: Iterable[Version]) -> list[Version]:
    return sorted(versions, key=lambda v: (v.effective_on, v.seq))


def _fold(ordered: list[Version]) -> Terms | None:
    if not ordered or ordered[0].seq != 0:
        return None
    fields: dict[str, object] = {}
    for version in ordered:
        for name in ("title", "status", "period", "items"):
            value = getattr(version.change, name)
            if value is not UNSET:
                fields[name] = tuple(value) if name == "items" else value
    return Terms(**fields)  # type: ignore[arg-type]


def state_on(versions: Iterable[Version], day: dt.date) -> Terms | None:
    """The terms in force on ``day``; None before the original terms took effect."""
    return _fold([v for v in _ordered(versions) if v.effective_on <= day])


def final_terms(versions: Iterable[Version]) -> Terms | None:
    """The terms once every recorded version has taken effect (future-dated ones included)."""
    return _fold(_ordered(versions))


def steps(versions: Iterable[Version]) -> list[tuple[Version, Terms | None, Terms | None]]:
    """Each version with the terms just before and just after it took effect."""
    ordered = _ordered(versions)
    return [(v, _fold(ordered[:n]), _fold(ordered[: n + 1])) for n, v in enumerate(ordered)]


def terms_problems(terms: Terms, kind: ContractKind, prefix: str = "") -> list[FieldError]:
    """What is wrong with a set of terms, as field errors (empty when they are valid)."""
    problems = []
    if terms.period.end_date < terms.period.start_date:
        problems.append(FieldError(field=f"{prefix}period.end_date", code="range", message="结束日期不能早于开始日期"))
    seen: set[str] = set()
    for n, item in enumerate(terms.items):
        field = f"{prefix}items[{n}].classification"
        kind_of_service = CATALOGUE[item.classification]
        if kind_of_service.setting != SETTING_OF_KIND[kind]:
            problems.append(
                FieldError(
                    field=field,
                    code="contract.service_not_for_kind",
                    message=f"{kind_of_service.label}不属于此类合同的服务",
                )
            )
        if item.classification in seen:
            problems.append(
                FieldError(field=field, code="contract.item_repeated", message="同一服务项目只能有一个单价")
            )
        seen.add(item.classification)
    return problems


def _items_words(before: tuple[Item, ...], after: tuple[Item, ...]) -> list[str]:
    old = {i.classification: i for i in before}
    new = {i.classification: i for i in after}
    words = []
    for code in [*new, *(c for c in old if c not in new)]:
        label, unit = CATALOGUE[code].label, CATALOGUE[code].unit
        a, b = old.get(code), new.get(code)
        if a is None and b is not None:
            words.append(f"新增{label} {b.quantity:,}{unit}×{yuan(b.unit_value_fen)}")
        elif b is None and a is not None:
            words.append(f"取消{label}")
        elif a is not None and b is not None and a != b:
            parts = []
            if a.quantity != b.quantity:
                parts.append(f"数量 {a.quantity:,} → {b.quantity:,}{unit}")
            if a.unit_value_fen != b.unit_value_fen:
                parts.append(f"单价 {yuan(a.unit_value_fen)} → {yuan(b.unit_value_fen)}")
            words.append(f"{label}{'，'.join(parts)}")
    return words


def describe(change: Change, before: Terms | None, after: Terms) -> str:
    """One line of Chinese for a history list: what this version changed."""
    if before is None:
        return (
            f"合同签订：金额 {yuan(after.value_fen)}，服务期 {after.period.start_date} 至 {after.period.end_date}，"
            f"{len(after.items)} 个服务项目"
        ) + _coverage_words(change)
    words = []
    if change.title is not UNSET and change.title != before.title:
        words.append(f"名称改为“{change.title}”")
    if change.status is not UNSET and change.status != before.status:
        words.append(f"状态 {STATUS_LABELS[before.status]} → {STATUS_LABELS[change.status]}")
    if change.period is not UNSET and change.period != before.period:
        words.append(
            f"服务期 {before.period.start_date}～{before.period.end_date} → "
            f"{change.period.start_date}～{change.period.end_date}"
        )
    if change.items is not UNSET:
        words += _items_words(before.items, after.items)
    if after.value_fen != before.value_fen:
        words.append(f"合同金额 {yuan(before.value_fen)} → {yuan(after.value_fen)}")
    text = "；".join(words)
    coverage = _coverage_words(change)
    return (text + coverage).lstrip("，") or "无条款变化"


def _coverage_words(change: Change) -> str:
    if change.coverage is UNSET:
        return ""
    c = change.coverage
    parts = []
    if c.add_households:
        parts.append(f"新增覆盖 {len(c.add_households)} 户")
    if c.remove_households:
        parts.append(f"终止覆盖 {len(c.remove_households)} 户")
    if c.add_residents:
        parts.append(f"新增覆盖 {len(c.add_residents)} 名住院人员")
    if c.remove_residents:
        parts.append(f"终止覆盖 {len(c.remove_residents)} 名住院人员")
    return ("，" + "，".join(parts)) if parts else ""
