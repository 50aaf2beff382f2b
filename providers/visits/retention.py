"""Retention of visits: past the retention period a visit keeps its facts, not where the phone was."""

from __future__ import annotations

import datetime as dt
from typing import Any

from carepact.db import atomic
from carepact.retention import PurgeStep, logged
from providers.tables import Visit


def _located_before(before: dt.datetime) -> Any:
    return (Visit.checkin_at < before) & (Visit.checkin_latitude.is_not_null() | Visit.checkout_latitude.is_not_null())


async def count_visit_locations(before: dt.datetime) -> int:
    return await Visit.count().where(_located_before(before))


async def purge_visit_locations(before: dt.datetime) -> int:
    """The phone's exact positions go; the distance from the home measured at check-in stays, as
    do the flags it raised, so what the visit proved is unchanged."""
    async with atomic():
        cleared = (
            await Visit.update(
                {
                    Visit.checkin_latitude: None,
                    Visit.checkin_longitude: None,
                    Visit.checkin_accuracy_m: None,
                    Visit.checkout_latitude: None,
                    Visit.checkout_longitude: None,
                }
            )
            .where(_located_before(before))
            .returning(Visit.id)
        )
        if cleared:
            await logged("visit", before, len(cleared))
    return len(cleared)


VISIT_LOCATIONS = PurgeStep(
    "visit_locations",
    "服务记录中手机签到/签退的精确定位（保留与住址的距离及疑点）",
    count_visit_locations,
    purge_visit_locations,
)
