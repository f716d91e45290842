"""RFM maths, pure numpy (no ORM, no settings): quintile scores and the eleven named segments.

Scores run 1 (worst) to 5 (best). A customer's score is 1 + ⌊5·k/n⌋ where k is the number of customers who are
strictly worse on that measure (longer since the last purchase, fewer orders, less spent) and n the number of
customers scored: so equal values always get equal scores, every score is 1 to 5, and with n distinct values
each score holds a fifth of them. Frequency is often tied (most customers bought once): ties share the lower
score rather than being split arbitrarily.

The segment comes from R and the rounded mean of F and M ("FM", half up) through one 5 × 5 grid, so every
combination has exactly one segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Segment:
    """A named RFM segment: stable key, English and Chinese names and what it means for the shop."""

    key: str
    name: str
    name_zh: str
    advice: str


SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", "Champions", "重要价值", "Bought recently, buy often and spend the most: reward them."),
    Segment("loyal", "Loyal", "忠诚客户", "Buy regularly and spend well: offer more of what they like."),
    Segment(
        "potential_loyalist", "Potential loyalist", "潜力忠诚", "Recent, with a few orders: invite them to the club."
    ),
    Segment("new", "New", "新客户", "First order was recent: help them to a good first experience."),
    Segment("promising", "Promising", "有潜力", "Fairly recent, small spend so far: build the relationship."),
    Segment("need_attention", "Need attention", "需要关注", "Middling on everything: a timely offer keeps them."),
    Segment("about_to_sleep", "About to sleep", "即将沉睡", "Slipping away after little buying: remind them."),
    Segment("at_risk", "At risk", "流失风险", "Bought often and well, but long ago: win them back."),
    Segment("cant_lose", "Can't lose them", "不能失去", "The biggest buyers, not seen for long: reach out."),
    Segment("hibernating", "Hibernating", "沉睡客户", "Long gone, little bought: low-cost reminders only."),
    Segment("lost", "Lost", "已流失", "Lowest on everything: do not spend much on them."),
)
KEYS: tuple[str, ...] = tuple(s.key for s in SEGMENTS)
BY_KEY: dict[str, Segment] = {s.key: s for s in SEGMENTS}

_C, _L, _PL, _N, _P, _NA, _AS, _AR, _CL, _H, _LO = range(11)
#: GRID[R − 1][FM − 1] → index into SEGMENTS. Rows: recency score 1..5; columns: FM 1..5.
GRID = np.array(
    [
        [_LO, _H, _AR, _CL, _CL],  # R1: long since the last purchase
        [_H, _AS, _AR, _AR, _CL],  # R2
        [_AS, _NA, _NA, _L, _L],  # R3
        [_P, _PL, _PL, _L, _C],  # R4
        [_N, _PL, _PL, _C, _C],  # R5: bought most recently
    ],
    dtype=np.int8,
)


def quintile_scores(values: ArrayLike, *, higher_is_better: bool = True) -> NDArray[np.int8]:
    """1..5 per value: 1 + ⌊5·k/n⌋ with k the number of values strictly worse. Empty in, empty out."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    ordered = np.sort(v)
    if higher_is_better:
        worse = np.searchsorted(ordered, v, side="left")  # strictly lower values
    else:
        worse = n - np.searchsorted(ordered, v, side="right")  # strictly higher values (e.g. days since)
    return (1 + (5 * worse) // n).astype(np.int8)


def fm_score(f: ArrayLike, m: ArrayLike) -> NDArray[np.int8]:
    """The mean of the F and M scores rounded half up: (F + M + 1) // 2."""
    return ((np.asarray(f, dtype=np.int16) + np.asarray(m, dtype=np.int16) + 1) // 2).astype(np.int8)


def segment_index(r: ArrayLike, f: ArrayLike, m: ArrayLike) -> NDArray[np.int8]:
    """Index into SEGMENTS for score triples (each 1..5)."""
    ra = np.asarray(r, dtype=np.int16)
    fm = fm_score(f, m).astype(np.int16)
    if ra.size and (ra.min() < 1 or ra.max() > 5 or fm.min() < 1 or fm.max() > 5):
        raise ValueError("RFM scores run from 1 to 5")
    return GRID[ra - 1, fm - 1]


def segment_of(r: int, f: int, m: int) -> Segment:
    """The segment of one customer's scores."""
    return SEGMENTS[int(segment_index(np.array([r]), np.array([f]), np.array([m]))[0])]


@dataclass(frozen=True)
class Scores:
    """Scores and segments for a batch of customers (same order as the inputs)."""

    r: NDArray[np.int8]
    f: NDArray[np.int8]
    m: NDArray[np.int8]
    segment: NDArray[np.int8]

    def segment_keys(self) -> list[str]:
        return [KEYS[i] for i in self.segment.tolist()]

    def distribution(self) -> dict[str, int]:
        """Customers per segment key, in SEGMENTS order (zeros included)."""
        counts = np.bincount(self.segment, minlength=len(SEGMENTS))
        return {key: int(counts[i]) for i, key in enumerate(KEYS)}


def score(recency_days: ArrayLike, frequency: ArrayLike, monetary: ArrayLike) -> Scores:
    """R, F, M quintile scores and the segment of every customer: recency is days since the last purchase
    (fewer is better), frequency the number of orders, monetary the amount spent."""
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    return Scores(r=r, f=f, m=m, segment=segment_index(r, f, m))


def movements(previous: ArrayLike, current: ArrayLike) -> list[tuple[str, str, int]]:
    """(from, to, customers) for every change of segment between two aligned arrays of segment indexes (−1 =
    not scored then), the biggest first, ties by SEGMENTS order. Customers scored only once are not moves."""
    p = np.asarray(previous, dtype=np.int16).ravel()
    c = np.asarray(current, dtype=np.int16).ravel()
    moved = (p >= 0) & (c >= 0) & (p != c)
    k = len(SEGMENTS)
    counts = np.bincount(p[moved] * k + c[moved], minlength=k * k)
    pairs = [(int(counts[i]), i // k, i % k) for i in np.flatnonzero(counts)]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [(KEYS[a], KEYS[b], n) for n, a, b in pairs]
