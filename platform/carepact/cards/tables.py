"""Door cards and wristbands: which card version of a household or resident is current."""

from __future__ import annotations

import enum

from piccolo.columns import Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class CardSubject(enum.StrEnum):
    household = "h"  # door card (门牌卡)
    resident = "r"  # wristband or bed card (腕带 / 床头卡)


class Card(Table):
    """One issue of a card. The highest version of a subject is the valid one; reissuing adds
    a row with version + 1, which makes every older printed card stop verifying."""

    subject = Varchar(length=1, choices=CardSubject)
    subject_id = Integer(index=True)
    version = Integer()
    issued_at = Timestamptz(default=TimestamptzNow())
    issued_by = Integer(null=True, default=None)  # account id
    reason = Varchar(length=200, default="")
