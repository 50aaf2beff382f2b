"""Pricing a month: delivered units and deduction claims in, statement lines and totals out.

Pure integer arithmetic on fen, no database, no floats: what the property tests exercise.
Every statement obeys gross = Σ line amounts, total = gross − Σ applied deductions.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

import msgspec

from carepact.catalogue import CATALOGUE, ServiceCode

_ORDER = {code: n for n, code in enumerate(CATALOGUE)}


class Delivered(msgspec.Struct, frozen=True, kw_only=True):
    """``quantity`` units of a service at the unit price in force when they were delivered."""

    service: ServiceCode
    unit_value_fen: int
    quantity: int


class DeductionClaim(msgspec.Struct, frozen=True, kw_only=True):
    """Money an upheld finding asks to withhold from a month (``source``/``reference`` name it)."""

    source: str
    reference: str
    reason: str
    amount_fen: int


class Line(msgspec.Struct, frozen=True, kw_only=True):
    service: ServiceCode
    unit: str
    unit_value_fen: int
    quantity: int
    amount_fen: int


class AppliedDeduction(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    reference: str
    reason: str
    amount_fen: int  # claimed
    applied_fen: int  # withheld by this statement


class Priced(msgspec.Struct, frozen=True, kw_only=True):
    lines: tuple[Line, ...]
    deductions: tuple[AppliedDeduction, ...]
    gross_fen: int
    deductions_fen: int
    total_fen: int

    def is_empty(self) -> bool:
        return not self.lines and not any(d.applied_fen for d in self.deductions)


def _line(service: ServiceCode, unit_value_fen: int, quantity: int) -> Line:
    return Line(
        service=service,
        unit=CATALOGUE[service].unit,
        unit_value_fen=unit_value_fen,
        quantity=quantity,
        amount_fen=quantity * unit_value_fen,
    )


def _line_key(line: Line) -> tuple[int, int]:
    return _ORDER[line.service], line.unit_value_fen


def _claim_key(claim: DeductionClaim | AppliedDeduction) -> tuple[str, str, int, str]:
    return claim.source, claim.reference, claim.amount_fen, claim.reason


def price(delivered: Iterable[Delivered], claims: Iterable[DeductionClaim] = ()) -> Priced:
    """One line per (service, unit price), in catalogue order; deductions applied in a fixed order
    until the month's gross is used up (a statement never asks a provider to pay money back)."""
    quantities: Counter[tuple[ServiceCode, int]] = Counter()
    for d in delivered:
        if d.quantity < 0 or d.unit_value_fen < 0:
            raise ValueError("delivered quantities and prices are never negative")
        quantities[(d.service, d.unit_value_fen)] += d.quantity
    lines = sorted((_line(s, v, q) for (s, v), q in quantities.items() if q), key=_line_key)
    gross = sum(line.amount_fen for line in lines)
    remaining = gross
    applied = []
    for claim in sorted(claims, key=_claim_key):
        if claim.amount_fen < 0:
            raise ValueError("a deduction claim is never negative")
        taken = min(claim.amount_fen, remaining)
        remaining -= taken
        applied.append(AppliedDeduction(**msgspec.structs.asdict(claim), applied_fen=taken))
    deducted = gross - remaining
    return Priced(
        lines=tuple(lines), deductions=tuple(applied), gross_fen=gross, deductions_fen=deducted, total_fen=remaining
    )


def difference(current: Priced, settled: Iterable[Priced]) -> Priced:
    """The adjusting statement that takes what was settled to what is owed now: delta lines
    (negative where less was delivered than paid for) and delta deductions."""
    settled = list(settled)
    quantities: Counter[tuple[ServiceCode, int]] = Counter()
    for line in current.lines:
        quantities[(line.service, line.unit_value_fen)] += line.quantity
    for statement in settled:
        for line in statement.lines:
            quantities[(line.service, line.unit_value_fen)] -= line.quantity
    lines = sorted((_line(s, v, q) for (s, v), q in quantities.items() if q), key=_line_key)
    withheld: Counter[tuple[str, str]] = Counter()
    reasons: dict[tuple[str, str], str] = {}
    for d in current.deductions:
        withheld[(d.source, d.reference)] += d.applied_fen
        reasons[(d.source, d.reference)] = d.reason
    for statement in settled:
        for d in statement.deductions:
            withheld[(d.source, d.reference)] -= d.applied_fen
            reasons.setdefault((d.source, d.reference), d.reason)
    deductions = tuple(
        AppliedDeduction(source=s, reference=r, reason=reasons[(s, r)], amount_fen=amount, applied_fen=amount)
        for (s, r), amount in sorted(withheld.items())
        if amount
    )
    gross = sum(line.amount_fen for line in lines)
    deducted = sum(d.applied_fen for d in deductions)
    return Priced(
        lines=tuple(lines), deductions=deductions, gross_fen=gross, deductions_fen=deducted, total_fen=gross - deducted
    )


def seal(priced: Priced, *, statement_code: str) -> str:
    """A digest of the numbers a confirmation signs: any later change to them shows."""
    content = {"code": statement_code, "priced": msgspec.to_builtins(priced)}
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()
