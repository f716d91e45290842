"""Received-but-unconfirmed dates (carrier transit days) and replenishment cycles."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.care.triggers import receipt, replenish

RULES = receipt.transit_rules()


@pytest.mark.parametrize(
    ("carrier", "days"),
    [
        ("顺丰速运", 2),
        ("SF Express", 2),
        ("sf express", 2),
        ("京东物流", 2),
        ("中通快递", 3),
        ("圆通速递", 3),
        ("韵达快递", 3),
        ("邮政快递包裹", 5),
        ("EMS", 4),
        ("德邦快递", 4),
        ("某某小快递", receipt.DEFAULT_TRANSIT_DAYS),
        ("", receipt.DEFAULT_TRANSIT_DAYS),
    ],
)
def test_usual_transit_days_by_carrier(carrier, days):
    assert receipt.transit_days(carrier, RULES) == days


def test_a_shop_override_beats_the_built_in_figure_and_sets_its_default():
    overrides = {"顺丰": 1, "某某": 6, "": 5}
    rules = receipt.transit_rules(overrides)
    assert receipt.transit_days("顺丰速运", rules) == 1
    assert receipt.transit_days("某某小快递", rules) == 6
    assert receipt.transit_days("中通快递", rules) == 3
    assert receipt.default_days(overrides) == 5
    assert receipt.transit_days("无名快递", rules, receipt.default_days(overrides)) == 5
    assert receipt.default_days({}) == receipt.DEFAULT_TRANSIT_DAYS


def test_received_on_prefers_the_delivered_day():
    def received(delivered: date | None, shipped: date | None) -> date | None:
        return receipt.received_on(delivered=delivered, shipped=shipped, carrier="顺丰速运", rules=RULES, default=3)

    assert received(date(2026, 5, 10), date(2026, 5, 1)) == date(2026, 5, 10)
    assert received(None, date(2026, 5, 1)) == date(2026, 5, 3)
    assert received(None, None) is None
    assert receipt.reminder_day(date(2026, 5, 3), 7) == date(2026, 5, 10)


@given(st.text(max_size=20), st.dictionaries(st.text(max_size=5), st.integers(min_value=1, max_value=30)))
def test_transit_days_is_an_override_a_built_in_figure_or_the_default(carrier, overrides):
    rules = receipt.transit_rules(overrides)
    days = receipt.transit_days(carrier, rules, 9)
    assert days == 9 or days in {d for _k, d in rules}
    own = [d for k, d in overrides.items() if k.strip() and k.strip().upper() in carrier.upper()]
    if own:
        assert days in own


def test_median_and_intervals():
    assert replenish.median([3, 1, 2]) == 2
    assert replenish.median([1, 2, 3, 10]) == 2.5
    with pytest.raises(ValueError, match="nothing"):
        replenish.median([])
    days = [date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 31), date(2026, 3, 2)]
    assert replenish.repeat_intervals(days) == [30, 30]  # the second purchase on 31 January counts once
    assert replenish.repeat_intervals([date(2026, 1, 1)]) == []


def test_cycle_needs_enough_samples_unless_set_by_hand():
    assert replenish.cycle_days([30, 28], min_samples=3) is None
    assert replenish.cycle_days([30, 28, 33], min_samples=3) == 30
    assert replenish.cycle_days([], min_samples=3, override=45) == 45
    assert replenish.cycle_days([0.2, 0.4, 0.3], min_samples=1) == 1  # never less than a day


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=0, max_value=90),
)
def test_the_due_last_purchase_day_inverts_the_reminder_day(last, cycle, lead):
    due = replenish.reminder_day(last, cycle, lead)
    assert due > last
    assert due - last == timedelta(days=max(cycle - lead, 1))
    assert replenish.last_purchase_day_due(due, cycle, lead) == last


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=50))
def test_median_splits_the_values_in_half(values):
    m = replenish.median(values)
    assert sum(v < m for v in values) <= len(values) / 2
    assert sum(v > m for v in values) <= len(values) / 2
