"""Credit rule presets and the seller level tables. Pure: no Django, no ORM.

Two presets (see /work/shared/reference/taobao-credit.md):

- ``course`` — seed 001: a rating may be given within 345 days of the trade's creation; when one side rated and
  the other did not, the rater gets a default 好评 45 days after that rating, whatever the rating was; 15 levels
  (hearts, diamonds, crowns; the top one open-ended from 200001).
- ``taobao`` — the platform today: a rating within 15 days after 交易成功; a default 好评 15 days after 交易成功
  only when the rating side gave 好评; Tmall orders carry no credit; 20 levels (up to five golden crowns).

Both: monthly cap of 6 points per buyer–seller pair, same item within 14 days scores once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

PresetName = Literal["course", "taobao"]
PeriodFrom = Literal["created", "success"]
DefaultFrom = Literal["rating", "success"]

# Level thresholds of the platform's 20 levels (the reference's table), lowest first.
THRESHOLDS: tuple[int, ...] = (
    4, 11, 41, 91, 151, 251, 501, 1001, 2001, 5001,
    10001, 20001, 50001, 100001, 200001, 500001, 1000001, 2000001, 5000001, 10000001,
)  # fmt: skip
_TIERS: tuple[tuple[str, str], ...] = (("心", "heart"), ("钻", "diamond"), ("皇冠", "crown"), ("金冠", "gold-crown"))


@dataclass(frozen=True)
class LevelSpec:
    """One level of a table: reached at ``threshold`` points; ``name`` in Chinese (3钻), ``badge`` a stable key
    (diamond-3) the pages map to an icon and a translated label."""

    threshold: int
    name: str
    badge: str


def _table(count: int) -> tuple[LevelSpec, ...]:
    specs = []
    for i, threshold in enumerate(THRESHOLDS[:count]):
        zh, key = _TIERS[i // 5]
        n = i % 5 + 1
        specs.append(LevelSpec(threshold=threshold, name=f"{n}{zh}", badge=f"{key}-{n}"))
    return tuple(specs)


COURSE_LEVELS = _table(15)
TAOBAO_LEVELS = _table(20)


@dataclass(frozen=True)
class CreditRules:
    """The numbers a shop's credit is computed with. Build one with ``rules_for`` / ``rules_with``.

    - ``rating_period_days`` from ``rating_period_from`` ('created': the trade's creation, 'success': 交易成功):
      a rating given later than that many days (exact 24-hour days) does not score; the end instant is inside.
    - ``default_good_after_days`` counted from ``default_from`` ('rating': the one-sided rating, 'success':
      交易成功); ``default_requires_good``: a default only when the rating side gave 好评.
    - ``monthly_cap``: a buyer–seller pair's net points per calendar month (shop time zone, by trade creation).
    - ``same_item_days``: trades of one item between one pair whose creation dates (shop time zone) fall within
      that many calendar days of the first one score once per result.
    - ``tmall_no_credit``: Tmall orders carry no credit (both presets: a Tmall order never had credit points).
    """

    preset: PresetName
    rating_period_days: int
    rating_period_from: PeriodFrom
    default_good_after_days: int
    default_from: DefaultFrom
    default_requires_good: bool
    monthly_cap: int
    same_item_days: int
    tmall_no_credit: bool
    levels: tuple[LevelSpec, ...]


PRESETS: dict[str, CreditRules] = {
    "course": CreditRules(
        preset="course",
        rating_period_days=345,
        rating_period_from="created",
        default_good_after_days=45,
        default_from="rating",
        default_requires_good=False,
        monthly_cap=6,
        same_item_days=14,
        tmall_no_credit=True,
        levels=COURSE_LEVELS,
    ),
    "taobao": CreditRules(
        preset="taobao",
        rating_period_days=15,
        rating_period_from="success",
        default_good_after_days=15,
        default_from="success",
        default_requires_good=True,
        monthly_cap=6,
        same_item_days=14,
        tmall_no_credit=True,
        levels=TAOBAO_LEVELS,
    ),
}

# Editable numbers and their bounds (inclusive); the per-shop settings page and PUT /credit/settings use these.
NUMBER_BOUNDS: dict[str, tuple[int, int]] = {
    "rating_period_days": (1, 3650),
    "default_good_after_days": (0, 3650),
    "monthly_cap": (1, 10000),
    "same_item_days": (1, 365),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "rating_period_from": ("created", "success"),
    "default_from": ("rating", "success"),
}
_FLAGS = ("default_requires_good", "tmall_no_credit")


def rules_for(preset: str) -> CreditRules:
    """The preset's rules; ValueError naming ``preset`` for an unknown name."""
    try:
        return PRESETS[preset]
    except (KeyError, TypeError):
        raise ValueError(f"preset: unknown preset {preset!r} (expected one of {', '.join(PRESETS)})") from None


def rules_with(preset: str | CreditRules, /, **overrides: Any) -> CreditRules:
    """A preset (name or rules) with some values replaced. Every value is checked; a bad one raises ValueError
    whose message starts with the field's name (``monthly_cap: must be an integer from 1 to 10000``).
    ``None`` values are ignored (a settings form leaving a number blank keeps the preset's)."""
    base = rules_for(preset) if isinstance(preset, str) else preset
    known = {f.name for f in fields(CreditRules)} - {"preset", "levels"}
    changes: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in known:
            raise ValueError(f"{name}: not an editable credit rule")
        if value is None:
            continue
        if name in NUMBER_BOUNDS:
            low, high = NUMBER_BOUNDS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name}: must be an integer from {low} to {high}, got {value!r}")
        elif name in _CHOICES:
            if value not in _CHOICES[name]:
                raise ValueError(f"{name}: must be one of {', '.join(_CHOICES[name])}, got {value!r}")
        elif name in _FLAGS and not isinstance(value, bool):
            raise ValueError(f"{name}: must be true or false, got {value!r}")
        changes[name] = value
    return replace(base, **changes)


@dataclass(frozen=True)
class Level:
    """The level a score reaches: ``index`` 1-based (0 = below the first level: no badge, empty name/badge),
    ``threshold`` the points it starts at (0 for index 0), ``next_at`` the first score of the next level (None at
    the top), ``points_to_next`` how many points are missing (None at the top)."""

    index: int
    name: str
    badge: str
    threshold: int
    next_at: int | None
    points_to_next: int | None


def level_for(rules: CreditRules, score: int) -> Level:
    """The level ``score`` reaches in the rules' table (negative scores: index 0)."""
    levels = rules.levels
    index = 0
    for i, spec in enumerate(levels):
        if score >= spec.threshold:
            index = i + 1
        else:
            break
    next_at = levels[index].threshold if index < len(levels) else None
    to_next = next_at - score if next_at is not None else None
    if index == 0:
        return Level(index=0, name="", badge="", threshold=0, next_at=next_at, points_to_next=to_next)
    spec = levels[index - 1]
    return Level(
        index=index,
        name=spec.name,
        badge=spec.badge,
        threshold=spec.threshold,
        next_at=next_at,
        points_to_next=to_next,
    )
