"""Money at the edges: yuan text and the capital numerals of Chinese financial documents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.money import yuan, yuan_in_words, yuan_plain


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "¥0.00"), (5, "¥0.05"), (123456, "¥1,234.56"), (335_000_000, "¥3,350,000.00"), (-6000, "-¥60.00")],
)
def test_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_plain_yuan_reads_back_as_the_same_number_of_fen(fen: int) -> None:
    assert Decimal(yuan_plain(fen)) * 100 == fen


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (100, "壹元整"),
        (1000, "壹拾元整"),
        (123450, "壹仟贰佰叁拾肆元伍角整"),
        (100005, "壹仟元零伍分"),
        (1000000, "壹万元整"),
        (1050000, "壹万零伍佰元整"),
        (10010000, "壹拾万零壹佰元整"),
        (335_000_000, "叁佰叁拾伍万元整"),
        (10_000_000_100, "壹亿零壹元整"),
        (292_000_000, "贰佰玖拾贰万元整"),
        (-123, "负壹元贰角叁分"),
    ],
)
def test_amount_in_capital_numerals(fen: int, words: str) -> None:
    assert yuan_in_words(fen) == words
