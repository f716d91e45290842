"""Service figures as pure arithmetic (no ORM): staff performance per agent, ticket type or product, and the
recovery effect (repurchase after a resolved ticket, an unresolved one, or none) with Wilson intervals.

The selectors (`service.report_selectors`) read the facts from the database; these functions only count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from huitouke.campaigns.stats import rate_difference, wilson


@dataclass(frozen=True)
class TicketFacts:
    """What the staff figures need of one ticket (times as business minutes from its creation)."""

    ticket_id: int
    type: str
    owner: str
    first_owner: str
    products: tuple[str, ...]
    first_response_minutes: float | None
    resolution_minutes: float | None
    has_policy: bool
    breached: bool
    reopened: bool


@dataclass
class Figures:
    """The figures of one group (an agent, a ticket type or a product)."""

    key: str
    owned: int = 0
    first_owned: int = 0
    first_response_median: float | None = None
    first_response_p90: float | None = None
    resolution_median: float | None = None
    resolved: int = 0
    sla_compliance: float | None = None
    reopen_rate: float | None = None
    compensation: Decimal = Decimal("0")
    _first: list[float] = field(default_factory=list, repr=False)
    _resolution: list[float] = field(default_factory=list, repr=False)
    _with_policy: int = field(default=0, repr=False)
    _kept: int = field(default=0, repr=False)
    _reopened: int = field(default=0, repr=False)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = p / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _add(f: Figures, t: TicketFacts, *, owned: bool, first: bool) -> None:
    if first:
        f.first_owned += 1
        if t.first_response_minutes is not None:
            f._first.append(t.first_response_minutes)
    if owned:
        f.owned += 1
        if t.resolution_minutes is not None:
            f._resolution.append(t.resolution_minutes)
        if t.has_policy:
            f._with_policy += 1
            f._kept += not t.breached
        f._reopened += t.reopened


def _finish(groups: dict[str, Figures]) -> list[Figures]:
    out = []
    for f in groups.values():
        f.first_response_median = percentile(f._first, 50)
        f.first_response_p90 = percentile(f._first, 90)
        f.resolution_median = percentile(f._resolution, 50)
        f.resolved = len(f._resolution)
        f.sla_compliance = f._kept / f._with_policy if f._with_policy else None
        f.reopen_rate = f._reopened / f.owned if f.owned else None
        out.append(f)
    return sorted(out, key=lambda f: (-f.owned, -f.first_owned, f.key))


def by_agent(tickets: Iterable[TicketFacts], compensation: dict[str, Decimal]) -> list[Figures]:
    """Per agent: tickets owned now (resolution, SLA, reopen figures) and first owned (首问: first response),
    and the compensation the agent granted."""
    groups: dict[str, Figures] = {}

    def get(key: str) -> Figures:
        return groups.setdefault(key, Figures(key))

    for t in tickets:
        if t.owner:
            _add(get(t.owner), t, owned=True, first=False)
        if t.first_owner:
            _add(get(t.first_owner), t, owned=False, first=True)
    for agent, amount in compensation.items():
        get(agent).compensation += amount
    return _finish(groups)


def by_key(tickets: Iterable[TicketFacts], keys: Callable[[TicketFacts], Iterable[str]]) -> list[Figures]:
    """Per group a ticket belongs to (its type, each of its products): every figure counts the ticket once."""
    groups: dict[str, Figures] = defaultdict(lambda: Figures(""))
    for t in tickets:
        for key in keys(t):
            f = groups[key]
            f.key = key
            _add(f, t, owned=True, first=True)
    return _finish(dict(groups))


@dataclass(frozen=True)
class Rate:
    """Repurchase of one group within a window: n observed, how many bought again, the rate and its 95 %
    Wilson interval, and the difference from the no-ticket group with Newcombe's interval."""

    group: str
    days: int
    n: int
    repurchased: int
    rate: float | None
    low: float | None
    high: float | None
    diff: float | None = None
    diff_low: float | None = None
    diff_high: float | None = None


def rates(counts: dict[str, tuple[int, int]], days: int, baseline: str = "no_ticket") -> list[Rate]:
    """counts: group → (n, repurchased). The baseline group's rate is what the others are compared with."""
    base_n, base_k = counts.get(baseline, (0, 0))
    out = []
    for group, (n, k) in counts.items():
        if n <= 0:
            out.append(Rate(group, days, 0, 0, None, None, None))
            continue
        low, high = wilson(k, n)
        diff = None if group == baseline else rate_difference(k, n, base_k, base_n)
        out.append(
            Rate(
                group,
                days,
                n,
                k,
                k / n,
                low,
                high,
                diff.value if diff else None,
                diff.low if diff else None,
                diff.high if diff else None,
            )
        )
    return out
