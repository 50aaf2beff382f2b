"""The fold that derives a contract's terms from its history."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from carepact.catalogue import ServiceCode
from contracts.procurement.schemas import Change, Item, Period
from contracts.procurement.terms import Version, describe, final_terms, state_on, steps, terms_problems
from contracts.tables import ContractKind, ContractStatus

SIGNED = dt.date(2025, 12, 20)
PERIOD = Period(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))


def cleaning(quantity: int, price: int = 6000) -> Item:
    return Item(classification=ServiceCode.cleaning, quantity=quantity, unit_value_fen=price)


ORIGINAL = Version(
    seq=0,
    effective_on=SIGNED,
    change=Change(title="原始", status=ContractStatus.active, period=PERIOD, items=[cleaning(100)]),
)


def test_terms_in_force_follow_the_effective_date() -> None:
    more = Version(seq=1, effective_on=dt.date(2026, 7, 1), change=Change(items=[cleaning(150)]))
    history = [ORIGINAL, more]
    assert state_on(history, dt.date(2025, 12, 19)) is None  # not signed yet
    assert state_on(history, dt.date(2026, 6, 30)).value_fen == 600_000
    assert state_on(history, dt.date(2026, 7, 1)).value_fen == 900_000
    assert state_on(history, dt.date(2026, 7, 1)).title == "原始"  # untouched fields carry over
    [(_, before0, after0), (_, before1, after1)] = steps(history)
    assert before0 is None and after0.value_fen == 600_000
    assert before1.value_fen == 600_000 and after1.value_fen == 900_000
    assert "合同金额 ¥6,000.00 → ¥9,000.00" in describe(more.change, before1, after1)
    assert "数量 100 → 150次" in describe(more.change, before1, after1)


def test_a_later_recorded_change_with_an_earlier_date_applies_from_its_date() -> None:
    july = Version(seq=1, effective_on=dt.date(2026, 7, 1), change=Change(items=[cleaning(150)]))
    march = Version(seq=2, effective_on=dt.date(2026, 3, 1), change=Change(items=[cleaning(120)]))
    history = [ORIGINAL, july, march]
    assert state_on(history, dt.date(2026, 4, 1)).items[0].quantity == 120
    assert state_on(history, dt.date(2026, 8, 1)).items[0].quantity == 150
    assert final_terms(history).items[0].quantity == 150


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=1000)),
        max_size=8,
    ),
    st.integers(min_value=0, max_value=400),
)
def test_the_state_on_a_day_is_the_latest_effective_change(changes, day_offset) -> None:
    history = [ORIGINAL] + [
        Version(seq=n, effective_on=SIGNED + dt.timedelta(days=d), change=Change(items=[cleaning(q)]))
        for n, (d, q) in enumerate(changes, 1)
    ]
    day = SIGNED + dt.timedelta(days=day_offset)
    in_force = [(d, n, q) for n, (d, q) in enumerate(changes, 1) if d <= day_offset]
    expected = max(in_force)[2] if in_force else 100
    assert state_on(history, day).items[0].quantity == expected
    # The record's order does not matter, only its dates and sequence numbers.
    assert state_on(list(reversed(history)), day) == state_on(history, day)


def test_terms_that_break_the_rules_are_named_field_by_field() -> None:
    terms = state_on(
        [
            Version(
                seq=0,
                effective_on=SIGNED,
                change=Change(
                    title="错",
                    status=ContractStatus.active,
                    period=Period(start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 1, 1)),
                    items=[
                        cleaning(1),
                        cleaning(2),
                        Item(classification=ServiceCode.treatment, quantity=1, unit_value_fen=1),
                    ],
                ),
            )
        ],
        SIGNED,
    )
    problems = {p.field: p.code for p in terms_problems(terms, ContractKind.home_care)}
    assert problems == {
        "period.end_date": "range",
        "items[1].classification": "contract.item_repeated",
        "items[2].classification": "contract.service_not_for_kind",
    }
