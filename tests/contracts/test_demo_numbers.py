"""The demo programme's arithmetic: shares that add up exactly, items that add up exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contracts.demo import HOME_CARE_PROGRAMME_FEN, STEP_FEN, home_care_items, split


@given(st.lists(st.integers(min_value=1, max_value=2_000), min_size=1, max_size=30))
def test_the_programme_splits_into_whole_steps_that_add_up(weights) -> None:
    shares = split(HOME_CARE_PROGRAMME_FEN, weights)
    assert sum(shares) == HOME_CARE_PROGRAMME_FEN
    assert all(s % STEP_FEN == 0 and s >= 0 for s in shares)
    # Proportional to within one step of each exact share.
    total_weight = sum(weights)
    assert all(
        abs(s * total_weight - HOME_CARE_PROGRAMME_FEN * w) < STEP_FEN * total_weight
        for s, w in zip(shares, weights, strict=True)
    )


@given(st.integers(min_value=100, max_value=10**6).map(lambda tens: tens * STEP_FEN))
def test_a_contract_value_becomes_items_that_add_up_to_it(value) -> None:
    items = home_care_items(value)
    assert sum(i.quantity * i.unit_value_fen for i in items) == value
    assert all(i.quantity >= 1 for i in items)
    assert len({i.classification for i in items}) == len(items) == 6
