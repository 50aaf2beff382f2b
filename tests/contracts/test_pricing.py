"""The pricing function, by its properties: totals add up, order does not matter, nothing is
negative except an adjustment, and an adjustment takes what was settled to what is owed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carepact.catalogue import CATALOGUE, ServiceCode
from contracts.settlement.pricing import DeductionClaim, Delivered, difference, price, seal

services = st.sampled_from(list(ServiceCode))
fen = st.integers(min_value=0, max_value=10**7)
delivered = st.lists(
    st.builds(Delivered, service=services, unit_value_fen=fen, quantity=st.integers(min_value=0, max_value=10_000)),
    max_size=30,
)
claims = st.lists(
    st.builds(
        DeductionClaim,
        source=st.sampled_from(["finding", "manual"]),
        reference=st.text(alphabet="0123456789", min_size=1, max_size=4),
        reason=st.just("未按协议上门"),
        amount_fen=fen,
    ),
    max_size=8,
)


@given(delivered, claims)
def test_lines_minus_deductions_is_the_total(units, asked) -> None:
    p = price(units, asked)
    assert p.gross_fen == sum(line.amount_fen for line in p.lines)
    assert all(line.amount_fen == line.quantity * line.unit_value_fen for line in p.lines)
    assert p.deductions_fen == sum(d.applied_fen for d in p.deductions)
    assert p.total_fen == p.gross_fen - p.deductions_fen
    assert sum(line.quantity for line in p.lines) == sum(u.quantity for u in units)
    assert all(isinstance(v, int) for v in (p.gross_fen, p.deductions_fen, p.total_fen))


@given(delivered, claims)
def test_a_statement_is_never_negative_and_never_deducts_more_than_asked(units, asked) -> None:
    p = price(units, asked)
    assert p.total_fen >= 0 and p.gross_fen >= 0
    assert all(0 <= d.applied_fen <= d.amount_fen for d in p.deductions)
    assert p.deductions_fen == min(p.gross_fen, sum(c.amount_fen for c in asked))


@given(delivered, claims, st.randoms(use_true_random=False))
def test_order_does_not_matter(units, asked, random) -> None:
    shuffled_units, shuffled_claims = list(units), list(asked)
    random.shuffle(shuffled_units)
    random.shuffle(shuffled_claims)
    assert price(units, asked) == price(shuffled_units, shuffled_claims)


@given(delivered)
def test_one_line_per_service_and_price_in_catalogue_order(units) -> None:
    p = price(units)
    keys = [(line.service, line.unit_value_fen) for line in p.lines]
    assert len(keys) == len(set(keys))
    order = list(CATALOGUE)
    assert keys == sorted(keys, key=lambda k: (order.index(k[0]), k[1]))
    assert all(line.unit == CATALOGUE[line.service].unit and line.quantity > 0 for line in p.lines)


@given(delivered, claims, st.lists(st.tuples(delivered, claims), max_size=3))
def test_an_adjustment_takes_the_settled_statements_to_what_is_owed(units, asked, earlier) -> None:
    current = price(units, asked)
    settled = [price(u, c) for u, c in earlier]
    delta = difference(current, settled)
    assert delta.total_fen == current.total_fen - sum(s.total_fen for s in settled)
    assert delta.gross_fen == sum(line.amount_fen for line in delta.lines)
    assert delta.total_fen == delta.gross_fen - delta.deductions_fen
    for line in current.lines:
        paid = sum(
            x.quantity
            for s in settled
            for x in s.lines
            if (x.service, x.unit_value_fen) == (line.service, line.unit_value_fen)
        )
        change = sum(
            x.quantity for x in delta.lines if (x.service, x.unit_value_fen) == (line.service, line.unit_value_fen)
        )
        assert paid + change == line.quantity
    # Nothing to adjust when the records did not change.
    assert difference(current, [current]).is_empty()


@given(delivered, claims)
def test_the_seal_changes_with_any_number(units, asked) -> None:
    p = price(units, asked)
    assert seal(p, statement_code="S-1") == seal(price(list(reversed(units)), asked), statement_code="S-1")
    if p.lines:
        import msgspec

        line = p.lines[0]
        tampered = msgspec.structs.replace(
            p, lines=(msgspec.structs.replace(line, quantity=line.quantity + 1), *p.lines[1:])
        )
        assert seal(tampered, statement_code="S-1") != seal(p, statement_code="S-1")
