"""Pure level maths: either-threshold qualification, validation, progress, downgrade with grace, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.loyalty import rules
from huitouke.loyalty.rules import LevelSpec

SPECS = [
    LevelSpec("普通会员", Decimal("0"), 1, 100),
    LevelSpec("高级会员", Decimal("200"), 3, 98),
    LevelSpec("VIP", Decimal("1000"), 10, 95),
]

amounts = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=200)


@st.composite
def level_lists(draw: st.DrawFn) -> list[LevelSpec]:
    """Valid lists: 1-5 levels, both thresholds strictly rising."""
    n = draw(st.integers(min_value=1, max_value=5))
    cents = sorted(draw(st.sets(st.integers(min_value=0, max_value=500_000), min_size=n, max_size=n)))
    orders = sorted(draw(st.sets(st.integers(min_value=0, max_value=100), min_size=n, max_size=n)))
    return [
        LevelSpec(f"L{i}", Decimal(c) / 100, o, draw(st.integers(min_value=1, max_value=100)))
        for i, (c, o) in enumerate(zip(cents, orders, strict=True))
    ]


def _order(i):
    return -1 if i is None else i


@given(level_lists(), amounts, counts, amounts, counts)
def test_more_spend_or_more_orders_never_lowers_the_level(specs, amount, orders, more_amount, more_orders):
    before = rules.qualifying_index(specs, amount, orders)
    assert _order(rules.qualifying_index(specs, amount + more_amount, orders)) >= _order(before)
    assert _order(rules.qualifying_index(specs, amount, orders + more_orders)) >= _order(before)


@given(level_lists(), st.data())
def test_either_threshold_alone_qualifies(specs, data):
    i = data.draw(st.integers(min_value=0, max_value=len(specs) - 1))
    assert _order(rules.qualifying_index(specs, specs[i].min_amount, 0)) >= i
    assert _order(rules.qualifying_index(specs, Decimal(0), specs[i].min_orders)) >= i


@given(level_lists(), amounts, counts)
def test_the_level_is_the_highest_met_and_none_above_is_met(specs, amount, orders):
    i = rules.qualifying_index(specs, amount, orders)
    if i is not None:
        assert rules.qualifies(specs[i], amount, orders)
    assert not any(rules.qualifies(s, amount, orders) for s in specs[_order(i) + 1 :])


@given(level_lists())
def test_valid_lists_have_no_errors(specs):
    assert rules.validate_levels(specs) == []


@given(level_lists(), st.data())
def test_validation_names_the_level_and_field(specs, data):
    i = data.draw(st.integers(min_value=0, max_value=len(specs) - 1))
    field = data.draw(st.sampled_from(["name", "discount", "min_amount", "min_orders"]))
    spec = specs[i]
    if field == "name":
        broken = LevelSpec(data.draw(st.sampled_from(["", "  "])), spec.min_amount, spec.min_orders, spec.discount)
    elif field == "discount":
        broken = LevelSpec(spec.name, spec.min_amount, spec.min_orders, data.draw(st.sampled_from([0, 101, -5])))
    elif field == "min_amount":
        low = specs[i - 1].min_amount if i else Decimal(0)
        broken = LevelSpec(spec.name, low if i else Decimal("-1"), spec.min_orders, spec.discount)
    else:
        broken = LevelSpec(spec.name, spec.min_amount, specs[i - 1].min_orders if i else -1, spec.discount)
    errors = rules.validate_levels([*specs[:i], broken, *specs[i + 1 :]])
    assert any(e.index == i and e.field == field for e in errors)
    assert f"levels[{i}].{field}" in {e.path for e in errors}


def test_qualifying_level_exhaustively_on_a_small_grid():
    # a brute-force reading of seed 004: highest level with amount >= min OR orders >= min
    for amount in range(0, 1201, 50):
        for orders in range(12):
            expected = None
            for i, s in enumerate(SPECS):
                if Decimal(amount) >= s.min_amount or orders >= s.min_orders:
                    expected = i
            assert rules.qualifying_index(SPECS, Decimal(amount), orders) == expected, (amount, orders)


@pytest.mark.parametrize(
    ("amount", "orders", "name"),
    [
        ("0", 0, "普通会员"),  # min_amount 0 is met by anyone
        ("199.99", 2, "普通会员"),
        ("200", 0, "高级会员"),
        ("0", 3, "高级会员"),
        ("999.99", 9, "高级会员"),
        ("1000", 1, "VIP"),
        ("5", 10, "VIP"),
    ],
)
def test_qualifying_level_examples(amount, orders, name):
    level = rules.qualifying_level(SPECS, Decimal(amount), orders)
    assert level is not None
    assert level.name == name


def test_no_level_when_no_threshold_is_met():
    specs = [LevelSpec("银卡", Decimal("100"), 2, 98)]
    assert rules.qualifying_level(specs, Decimal("99"), 1) is None
    assert rules.qualifying_level([], Decimal("1000"), 100) is None


@pytest.mark.parametrize(
    ("specs", "errors"),
    [
        ([LevelSpec("a", Decimal("0"), 1, 100), LevelSpec("a", Decimal("1"), 2, 99)], {"levels[1].name"}),
        (
            [LevelSpec("a", Decimal("100"), 5, 100), LevelSpec("b", Decimal("100"), 5, 99)],
            {"levels[1].min_amount", "levels[1].min_orders"},
        ),
        (
            [LevelSpec("", Decimal("-1"), -1, 0)],
            {"levels[0].name", "levels[0].min_amount", "levels[0].min_orders", "levels[0].discount"},
        ),
        ([], set()),
    ],
)
def test_validate_levels_lists_every_problem(specs, errors):
    assert {e.path for e in rules.validate_levels(specs)} == errors


@pytest.mark.parametrize(
    ("amount", "orders", "held", "expected"),
    [
        ("680", 1, None, ("VIP", Decimal("320"), 9)),  # 高级会员 by amount; VIP: 再消费 ¥320 或 再下 9 单
        ("100", 8, None, ("VIP", Decimal("900"), 2)),
        ("0", 0, None, ("高级会员", Decimal("200"), 3)),
        ("10", 1, 2, None),  # holds the top level (kept by the policy): nothing above
        ("10", 1, 1, ("VIP", Decimal("990"), 9)),
        ("5000", 50, None, None),
    ],
)
def test_progress(amount, orders, held, expected):
    p = rules.progress(SPECS, Decimal(amount), orders, held=held)
    assert (None if p is None else (p.next_name, p.amount_needed, p.orders_needed)) == expected


def test_progress_from_no_level_points_at_the_first():
    specs = [LevelSpec("银卡", Decimal("100"), 2, 98)]
    p = rules.progress(specs, Decimal("30"), 1)
    assert p is not None
    assert (p.next_index, p.next_name, p.amount_needed, p.orders_needed) == (0, "银卡", Decimal("70"), 1)


NOW = datetime(2026, 3, 1, tzinfo=UTC)
LEVELS = [None, 0, 1, 2]


@pytest.mark.parametrize("held", LEVELS)
@pytest.mark.parametrize("qualifying", LEVELS)
def test_regrade_keeps_the_higher_level(held, qualifying):
    assert rules.level_after_regrade(held, qualifying) == max(held, qualifying, key=_order)


@pytest.mark.parametrize("held", LEVELS)
@pytest.mark.parametrize("qualifying", LEVELS)
@pytest.mark.parametrize("days_since", [None, 0, 29, 30, 31])
def test_review_exhaustively(held, qualifying, days_since):
    last = None if days_since is None else NOW - timedelta(days=days_since)
    never = rules.level_after_review(
        held, qualifying, downgrade="never", grace_days=30, last_qualified_at=last, as_of=NOW
    )
    review = rules.level_after_review(
        held, qualifying, downgrade="review", grace_days=30, last_qualified_at=last, as_of=NOW
    )
    assert never == max(held, qualifying, key=_order)
    if _order(qualifying) >= _order(held):
        assert review == qualifying  # upgrades always apply
    elif days_since is None or days_since >= 30:
        assert review == qualifying  # grace over: drops to what they qualify for
    else:
        assert review == held  # still in grace


@pytest.mark.parametrize(
    ("moment", "months", "start"),
    [
        (datetime(2026, 5, 31, 12, tzinfo=UTC), 3, datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2024, 5, 31, tzinfo=UTC), 3, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 12, datetime(2025, 1, 15, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 1, datetime(2025, 12, 15, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 25, datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_months_before(moment, months, start):
    assert rules.months_before(moment, months) == start


@pytest.mark.parametrize(
    ("paid", "refund", "counts"),
    [("100", "0", True), ("100", "30", True), ("100", "100", False), ("100", "120", False), ("0", "0", True)],
)
def test_a_fully_refunded_order_never_counts(paid, refund, counts):
    assert rules.counts_towards_level(Decimal(paid), Decimal(refund)) is counts
