"""Campaign maths, pure: the stable holdout split and the uplift of the treated group over the holdout.

Holdout: a customer is held out when a hash of (campaign seed, customer id) falls below the share — the same
customer always lands on the same side of the same campaign (re-running a launch changes nothing), different
campaigns split independently, and over many customers the held-out fraction converges to the share.

Uplift: the difference in conversion rate (share of the group with at least one order in the attribution window)
and in revenue per customer between the treated and the holdout group, each with a 95 % confidence interval:
Newcombe's hybrid score interval for the difference of two proportions (built from the Wilson intervals of each,
well behaved with small groups and rates near 0 or 1, where the plain Wald interval collapses), and Welch's
standard error for the means. Below MIN_GROUP customers in either group an estimate is still given but flagged
as too small to judge. ROI compares the incremental revenue (the revenue uplift per customer times the treated
customers) with the campaign's cost.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal

Z95 = 1.959963984540054
#: Fewer customers than this in either group: the estimate is shown but not called significant.
MIN_GROUP = 30
_SCALE = float(1 << 64)


def holdout_draw(seed: int, customer_id: int) -> float:
    """A number in [0, 1) fixed by (seed, customer id), uniform over customers."""
    digest = hashlib.blake2b(f"{seed}:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def is_holdout(seed: int, customer_id: int, share: float) -> bool:
    """Whether the customer is in the campaign's holdout group (not messaged, used for comparison)."""
    return share > 0 and holdout_draw(seed, customer_id) < share


@dataclass(frozen=True)
class Estimate:
    """A difference (treated − holdout) with its 95 % confidence interval; None where it cannot be estimated."""

    value: float | None
    low: float | None
    high: float | None
    enough: bool = True  # both groups have at least MIN_GROUP customers

    @property
    def significant(self) -> bool:
        """The groups are large enough and the interval excludes zero."""
        return self.enough and self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


NONE = Estimate(None, None, None, False)


def wilson(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_difference(converted_t: int, n_t: int, converted_h: int, n_h: int, *, z: float = Z95) -> Estimate:
    """Conversion rate treated − holdout with Newcombe's hybrid score interval."""
    if n_t <= 0 or n_h <= 0:
        return NONE
    p_t, p_h = converted_t / n_t, converted_h / n_h
    diff = p_t - p_h
    low_t, high_t = wilson(converted_t, n_t, z=z)
    low_h, high_h = wilson(converted_h, n_h, z=z)
    low = diff - math.sqrt((p_t - low_t) ** 2 + (high_h - p_h) ** 2)
    high = diff + math.sqrt((high_t - p_t) ** 2 + (p_h - low_h) ** 2)
    return Estimate(diff, low, high, min(n_t, n_h) >= MIN_GROUP)


def _variance(total: float, total_sq: float, n: int) -> float:
    """Sample variance from a sum and a sum of squares (0 for fewer than two values)."""
    if n < 2:
        return 0.0
    return max((total_sq - total * total / n) / (n - 1), 0.0)


def mean_difference(
    sum_t: float, sumsq_t: float, n_t: int, sum_h: float, sumsq_h: float, n_h: int, *, z: float = Z95
) -> Estimate:
    """Mean per customer treated − holdout (e.g. revenue per customer) with Welch's standard error."""
    if n_t <= 0 or n_h <= 0:
        return NONE
    diff = sum_t / n_t - sum_h / n_h
    se = math.sqrt(_variance(sum_t, sumsq_t, n_t) / n_t + _variance(sum_h, sumsq_h, n_h) / n_h)
    return Estimate(diff, diff - z * se, diff + z * se, min(n_t, n_h) >= MIN_GROUP)


def incremental_revenue(revenue_uplift_per_customer: float | None, treated: int) -> Decimal | None:
    if revenue_uplift_per_customer is None:
        return None
    return Decimal(str(round(revenue_uplift_per_customer * treated, 2)))


def roi(incremental: Decimal | None, cost: Decimal) -> Decimal | None:
    """(incremental revenue − cost) / cost; None when there is no cost or no estimate."""
    if incremental is None or cost <= 0:
        return None
    return ((incremental - cost) / cost).quantize(Decimal("0.01"))
