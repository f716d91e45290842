"""The holdout split and the uplift maths, against hand-computed values."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.campaigns.stats import (
    holdout_draw,
    incremental_revenue,
    is_holdout,
    mean_difference,
    rate_difference,
    roi,
    wilson,
)


@given(st.integers(0, 2**31), st.integers(1, 10**12))
def test_the_split_is_stable_and_in_range(seed, customer_id):
    draw = holdout_draw(seed, customer_id)
    assert 0 <= draw < 1
    assert holdout_draw(seed, customer_id) == draw


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25, 0.5])
def test_the_held_out_fraction_is_near_the_share(share):
    n = 40_000
    held = sum(is_holdout(7, cid, share) for cid in range(1, n + 1))
    # binomial: within 4 standard deviations
    assert abs(held / n - share) < 4 * math.sqrt(share * (1 - share) / n)


def test_no_holdout_when_the_share_is_zero_and_campaigns_split_independently():
    assert not any(is_holdout(1, cid, 0) for cid in range(1000))
    a = {cid for cid in range(10_000) if is_holdout(1, cid, 0.1)}
    b = {cid for cid in range(10_000) if is_holdout(2, cid, 0.1)}
    assert 0.05 < len(a & b) / len(a) < 0.15  # about 10 %: independent draws


def test_wilson_interval_by_hand():
    # 8 of 100: centre (0.08 + z²/200) / (1 + z²/100), the textbook example's (0.0411, 0.1500)
    low, high = wilson(8, 100)
    assert low == pytest.approx(0.0411, abs=1e-4)
    assert high == pytest.approx(0.1500, abs=1e-4)


def test_rate_difference_by_hand():
    # treated: 120 of 1000 bought (12 %); holdout: 8 of 100 (8 %)
    est = rate_difference(120, 1000, 8, 100)
    low_t, high_t = wilson(120, 1000)
    low_h, high_h = wilson(8, 100)
    assert est.value == pytest.approx(0.04)
    assert est.low == pytest.approx(0.04 - math.sqrt((0.12 - low_t) ** 2 + (high_h - 0.08) ** 2))
    assert est.high == pytest.approx(0.04 + math.sqrt((high_t - 0.12) ** 2 + (0.08 - low_h) ** 2))
    assert est.low == pytest.approx(-0.0326, abs=1e-3)  # Newcombe (1998), method 10, for these counts
    assert est.enough
    assert not est.significant


def test_tiny_groups_are_never_called_significant():
    est = rate_difference(1, 4, 1, 1)  # the Wald interval would collapse to a "certain" −75 %
    assert est.low is not None
    assert est.high is not None
    assert est.low < -0.75 < est.high
    assert not est.enough
    assert not est.significant


def test_a_clear_uplift_is_significant():
    assert rate_difference(300, 1000, 10, 1000).significant
    assert mean_difference(5000, 5000 * 10, 1000, 1000, 1000 * 2, 1000).significant


def test_mean_difference_by_hand():
    # treated revenues per customer: 0, 100, 200 ; holdout: 0, 50
    est = mean_difference(300, 0 + 100**2 + 200**2, 3, 50, 50**2, 2)
    var_t = ((0 - 100) ** 2 + 0 + 100**2) / 2  # 10000
    var_h = ((0 - 25) ** 2 + 25**2) / 1  # 1250
    se = math.sqrt(var_t / 3 + var_h / 2)
    assert est.value == pytest.approx(75)
    assert est.high is not None
    assert est.high - 75 == pytest.approx(1.959963984540054 * se)


def test_empty_groups_give_no_estimate():
    assert rate_difference(0, 0, 1, 10).value is None
    assert mean_difference(0, 0, 5, 0, 0, 0).low is None


def test_incremental_revenue_and_roi():
    assert incremental_revenue(1.5, 1000) == Decimal("1500.0")
    assert incremental_revenue(None, 1000) is None
    assert roi(Decimal("1500"), Decimal("500")) == Decimal("2.00")
    assert roi(Decimal("100"), Decimal("0")) is None
