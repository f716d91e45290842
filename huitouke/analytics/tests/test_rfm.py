"""RFM maths: quintile boundaries, ties, the segment grid and movements."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from huitouke.analytics import rfm
from huitouke.analytics.models import Segment


def test_five_distinct_values_get_one_score_each():
    assert rfm.quintile_scores([50, 10, 30, 20, 40]).tolist() == [5, 1, 3, 2, 4]
    assert rfm.quintile_scores([50, 10, 30, 20, 40], higher_is_better=False).tolist() == [1, 5, 3, 4, 2]


def test_boundaries_by_hand_for_seven_values():
    # k values strictly below → 1 + floor(5k/7): k = 0..6 → 1, 1, 2, 3, 3, 4, 5
    assert rfm.quintile_scores([1, 2, 3, 4, 5, 6, 7]).tolist() == [1, 1, 2, 3, 3, 4, 5]


def test_ties_share_the_lower_score():
    # six customers bought once, four bought twice: the once-buyers have nobody below them (score 1), the
    # twice-buyers have six below (1 + 30 // 10 = 4)
    assert rfm.quintile_scores([1] * 6 + [2] * 4).tolist() == [1] * 6 + [4] * 4
    # fewer days since the last order is better; equal recency, equal score
    assert rfm.quintile_scores([3, 3, 100, 0], higher_is_better=False).tolist() == [2, 2, 1, 4]


def test_empty_input():
    assert rfm.quintile_scores([]).tolist() == []
    assert rfm.score([], [], []).distribution() == dict.fromkeys(rfm.KEYS, 0)


values = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=200)


@given(values, st.booleans())
def test_scores_are_1_to_5_equal_for_ties_and_monotone(vs, higher):
    scores = rfm.quintile_scores(vs, higher_is_better=higher)
    assert scores.min() >= 1
    assert scores.max() <= 5
    for v, s in zip(vs, scores.tolist(), strict=True):
        same = {int(t) for u, t in zip(vs, scores.tolist(), strict=True) if u == v}
        assert same == {s}
    order = np.argsort(vs, kind="stable")
    ranked = scores[order] if higher else scores[order][::-1]
    assert np.all(np.diff(ranked) >= 0)


@given(st.integers(min_value=1, max_value=60))
def test_distinct_values_fill_the_quintiles_evenly(k):
    n = 5 * k
    scores = rfm.quintile_scores(np.random.default_rng(k).permutation(n))
    assert np.bincount(scores, minlength=6)[1:].tolist() == [k] * 5


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=300))
def test_the_best_value_scores_5_once_there_are_five_distinct_lower_ranks(vs):
    scores = rfm.quintile_scores(vs)
    below_best = sum(1 for v in vs if v < max(vs))
    assert scores[int(np.argmax(vs))] == 1 + (5 * below_best) // len(vs)


def test_grid_gives_every_combination_one_of_the_eleven_segments():
    seen = set()
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                seen.add(rfm.segment_of(r, f, m).key)
    assert seen == set(rfm.KEYS)
    assert len(rfm.KEYS) == 11


@pytest.mark.parametrize(
    ("r", "f", "m", "key"),
    [
        (5, 5, 5, "champions"),
        (4, 5, 4, "champions"),  # FM = (5 + 4 + 1) // 2 = 5
        (4, 4, 3, "loyal"),  # FM = 4
        (3, 5, 5, "loyal"),
        (5, 2, 3, "potential_loyalist"),
        (5, 1, 1, "new"),
        (4, 1, 1, "promising"),
        (3, 2, 3, "need_attention"),
        (3, 1, 1, "about_to_sleep"),
        (2, 2, 2, "about_to_sleep"),
        (2, 3, 4, "at_risk"),
        (1, 3, 3, "at_risk"),
        (1, 5, 4, "cant_lose"),
        (2, 5, 5, "cant_lose"),
        (2, 1, 1, "hibernating"),
        (1, 2, 1, "hibernating"),  # FM = (2 + 1 + 1) // 2 = 2
        (1, 1, 1, "lost"),
    ],
)
def test_named_segments(r, f, m, key):
    assert rfm.segment_of(r, f, m).key == key


def test_scores_outside_1_to_5_are_refused():
    with pytest.raises(ValueError, match="1 to 5"):
        rfm.segment_index([0], [3], [3])


def test_score_puts_recent_frequent_big_spenders_in_champions():
    # five customers: days since last order, orders, spent
    result = rfm.score([1, 10, 40, 200, 400], [9, 4, 2, 1, 1], [900, 400, 150, 60, 20])
    assert result.r.tolist() == [5, 4, 3, 2, 1]
    assert result.f.tolist() == [5, 4, 3, 1, 1]
    assert result.m.tolist() == [5, 4, 3, 2, 1]
    assert result.segment_keys() == ["champions", "loyal", "need_attention", "about_to_sleep", "lost"]
    assert result.distribution()["champions"] == 1


def test_movements_count_changes_between_scored_customers_biggest_first():
    champions, loyal, at_risk = (rfm.KEYS.index(k) for k in ("champions", "loyal", "at_risk"))
    previous = [champions, champions, loyal, loyal, loyal, -1, at_risk]
    current = [loyal, loyal, at_risk, loyal, at_risk, champions, -1]
    assert rfm.movements(previous, current) == [("champions", "loyal", 2), ("loyal", "at_risk", 2)]


def test_model_choices_follow_the_segment_table_in_both_languages():
    with translation.override("en"):
        assert [(key, str(label)) for key, label in Segment.choices] == [(s.key, s.name) for s in rfm.SEGMENTS]
    with translation.override("zh-hans"):
        assert [str(label) for _key, label in Segment.choices] == [s.name_zh for s in rfm.SEGMENTS]
