"""What the county audit stores: each past month's visit figures rolled up per village, provider
and contract, so that a year's trend is a sum over a few thousand rows instead of a year of visits.

The rows are a cache of the aggregate queries in ``contracts.oversight.queries``, never a source:
a month is rebuilt whole (its rows replaced) and the last two months are always counted live.
"""

from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, Real, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from carepact.registry.tables import Organisation, Region
from contracts.tables import Contract


class OversightMonth(Table):
    """A month whose figures are rolled up in ``OversightFigure``: when, and how long it took."""

    month = Date(unique=True)  # the first day
    computed_at = Timestamptz(default=TimestamptzNow())
    seconds = Real(default=0.0)


class OversightFigure(Table):
    """One month's figures of one village: coverage rows name the contract (and its supplier),
    visit rows the organisation that made the visits; the other counters are zero."""

    month = Date(index=True)
    village = ForeignKey(Region, index=True)
    organisation = ForeignKey(Organisation, null=True, default=None)
    contract = ForeignKey(Contract, null=True, default=None)
    households_due = Integer(default=0)
    households_met = Integer(default=0)
    households_unvisited = Integer(default=0)
    visits_completed = Integer(default=0)
    visits_verified = Integer(default=0)
    visits_evv = Integer(default=0)
    on_time_judged = Integer(default=0)
    on_time = Integer(default=0)
