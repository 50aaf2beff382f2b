"""The numbers visit checks use. The agreement (contracts) supplies them once wired in; until
then, and for households without an agreement, the DOMAIN defaults apply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import msgspec


class VisitPolicy(msgspec.Struct, frozen=True, kw_only=True):
    min_minutes: int = 30  # shortest visit (agreement)
    max_distance_m: int = 300  # check-in farther than this from the home is flagged
    max_speed_kmh: float = 80.0  # faster than this between two visits is not plausible on rural roads
    min_travel_km: float = 2.0  # shorter hops are within GPS noise
    max_photo_gap_minutes: int = 30  # photo capture time vs visit time
    max_clock_skew_seconds: int = 300
    near_duplicate_bits: int = 6  # dHash distance counted as "the same picture"


DEFAULT_POLICY = VisitPolicy()
PolicySource = Callable[[int, dt.date], Awaitable[VisitPolicy]]


async def _default_source(household_id: int, day: dt.date) -> VisitPolicy:
    return DEFAULT_POLICY


_source: PolicySource = _default_source


def set_policy_source(source: PolicySource) -> None:
    """The composition root points this at the agreement engine's numbers."""
    global _source
    _source = source


async def policy_for(household_id: int, day: dt.date) -> VisitPolicy:
    return await _source(household_id, day)
