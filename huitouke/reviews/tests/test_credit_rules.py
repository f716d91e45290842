"""Presets, editable numbers and the level tables of huitouke.reviews.credit (pure, no database)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from huitouke.reviews.credit import (
    COURSE_LEVELS,
    PRESETS,
    TAOBAO_LEVELS,
    CreditRules,
    level_for,
    rules_for,
    rules_with,
)

TAOBAO_THRESHOLDS = [
    4, 11, 41, 91, 151, 251, 501, 1001, 2001, 5001,
    10001, 20001, 50001, 100001, 200001, 500001, 1000001, 2000001, 5000001, 10000001,
]  # fmt: skip


def test_presets_hold_the_reference_numbers():
    course, taobao = rules_for("course"), rules_for("taobao")
    assert (course.rating_period_days, course.rating_period_from) == (345, "created")
    assert (course.default_good_after_days, course.default_from, course.default_requires_good) == (45, "rating", False)
    assert (taobao.rating_period_days, taobao.rating_period_from) == (15, "success")
    assert (taobao.default_good_after_days, taobao.default_from, taobao.default_requires_good) == (15, "success", True)
    for rules in (course, taobao):
        assert (rules.monthly_cap, rules.same_item_days, rules.tmall_no_credit) == (6, 14, True)
    assert [s.threshold for s in taobao.levels] == TAOBAO_THRESHOLDS
    assert [s.threshold for s in course.levels] == TAOBAO_THRESHOLDS[:15]
    assert set(PRESETS) == {"course", "taobao"}


def test_level_names_and_badges():
    names = [s.name for s in TAOBAO_LEVELS]
    assert names[:5] == ["1心", "2心", "3心", "4心", "5心"]
    assert names[5:10] == ["1钻", "2钻", "3钻", "4钻", "5钻"]
    assert names[10:15] == ["1皇冠", "2皇冠", "3皇冠", "4皇冠", "5皇冠"]
    assert names[15:] == ["1金冠", "2金冠", "3金冠", "4金冠", "5金冠"]
    assert [s.badge for s in TAOBAO_LEVELS[::5]] == ["heart-1", "diamond-1", "crown-1", "gold-crown-1"]
    assert TAOBAO_LEVELS[19].badge == "gold-crown-5"
    assert TAOBAO_LEVELS[:15] == COURSE_LEVELS
    assert COURSE_LEVELS[-1].name == "5皇冠"


@pytest.mark.parametrize("preset", ["course", "taobao"])
def test_every_threshold_and_the_point_below(preset):
    rules = rules_for(preset)
    count = len(rules.levels)
    for i, threshold in enumerate(TAOBAO_THRESHOLDS[:count]):
        at = level_for(rules, threshold)
        below = level_for(rules, threshold - 1)
        assert (at.index, at.threshold, at.name) == (i + 1, threshold, rules.levels[i].name)
        assert below.index == i
        assert below.next_at == threshold
        assert below.points_to_next == 1
        expected_next = TAOBAO_THRESHOLDS[i + 1] if i + 1 < count else None
        assert at.next_at == expected_next
        assert at.points_to_next == (expected_next - threshold if expected_next else None)


def test_below_the_first_level_and_negative_scores():
    rules = rules_for("taobao")
    for score in (-50, -1, 0, 3):
        level = level_for(rules, score)
        assert (level.index, level.name, level.badge, level.threshold, level.next_at) == (0, "", "", 0, 4)
        assert level.points_to_next == 4 - score


def test_top_levels_are_open_ended():
    course, taobao = rules_for("course"), rules_for("taobao")
    assert level_for(course, 200001).index == 15
    assert level_for(course, 10**9).index == 15
    assert level_for(course, 10**9).next_at is None
    assert level_for(course, 500001).name == "5皇冠"  # the course has no golden crowns
    assert level_for(taobao, 500001).name == "1金冠"
    top = level_for(taobao, 10**9)
    assert (top.index, top.name, top.badge, top.next_at, top.points_to_next) == (
        20,
        "5金冠",
        "gold-crown-5",
        None,
        None,
    )


def test_rules_with_replaces_numbers_and_keeps_the_rest():
    rules = rules_with("taobao", monthly_cap=3, same_item_days=7, rating_period_days=30, default_good_after_days=0)
    assert (rules.monthly_cap, rules.same_item_days, rules.rating_period_days, rules.default_good_after_days) == (
        3,
        7,
        30,
        0,
    )
    assert rules.preset == "taobao"
    assert rules.levels == TAOBAO_LEVELS
    assert rules_with(rules, monthly_cap=None) == rules  # a blank number keeps the current one
    assert rules_with(rules_for("course"), rating_period_from="success").rating_period_from == "success"
    assert rules_with("course", default_requires_good=True, tmall_no_credit=False).tmall_no_credit is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rating_period_days", 0),
        ("rating_period_days", 3651),
        ("rating_period_days", "15"),
        ("rating_period_days", 1.5),
        ("rating_period_days", True),
        ("default_good_after_days", -1),
        ("monthly_cap", 0),
        ("monthly_cap", 10001),
        ("same_item_days", 0),
        ("same_item_days", 366),
        ("rating_period_from", "paid"),
        ("default_from", "created"),
        ("default_requires_good", "yes"),
        ("tmall_no_credit", 1),
        ("levels", ()),
        ("preset", "taobao"),
        ("no_such_rule", 1),
    ],
)
def test_rules_with_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}: "):
        rules_with("course", **{field: value})


@pytest.mark.parametrize(("field", "low", "high"), [("rating_period_days", 1, 3650), ("same_item_days", 1, 365)])
def test_rules_with_accepts_the_bounds(field, low, high):
    assert getattr(rules_with("course", **{field: low}), field) == low
    assert getattr(rules_with("course", **{field: high}), field) == high


def test_unknown_preset_and_frozen_rules():
    with pytest.raises(ValueError, match=r"^preset: unknown preset 'tmall'"):
        rules_for("tmall")
    with pytest.raises(ValueError, match=r"^preset: "):
        rules_with("nope", monthly_cap=3)
    rules: CreditRules = rules_for("course")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.monthly_cap = 7  # type: ignore[misc]


def test_the_credit_package_imports_no_django():
    code = "import sys, huitouke.reviews.credit; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
