"""SLA rules for service tickets (pure: no ORM, no settings): policy matching, due times and clock states.

Inputs are plain frozen dataclasses the ORM layer fills from its rows:

- `SlaPolicy`: one row of the shop's SLA policies. `types`, `priorities`, `channels` and `levels` hold the ticket
  type, priority and channel codes and the customer's level identifier (whatever the ORM uses, e.g. the level's
  name), each as strings; an empty tuple matches any value. Minutes are business minutes; None means the policy
  sets no such clock.
- `Pause`: one spell during which the clocks stop, i.e. the ticket sat in `waiting_customer` (from the status
  change into it to the change out of it; `end=None` while it still waits). A reopened ticket can also pass the
  spell it sat resolved, so that time does not count towards resolution.
- `TicketTimes`: the instants a ticket's clocks need (created, first public reply, the oldest customer message not
  yet answered, resolved, pauses, the optional platform deadline).

Semantics:

- A clock counts business time (see `service.calendar`) from its start, except while paused. Its business due
  time is the earliest instant at which the policy's minutes have been counted; pauses shift it by exactly the
  business time they cover. While a clock is paused and its minutes are not yet used up, its business due time is
  unknown (None) until the pause ends.
- A platform deadline is a wall-clock instant that does not pause; when given, the earlier of it and the business
  due time governs (`due`).
- At an instant `at`: `fraction` is the share of the allowed time gone: counted business time / allowed business
  time, or, when a deadline is set, the larger of that and the share of wall-clock time from the clock's start to
  the deadline. A running clock is `breached` once `at` is past `due`, `breaching_soon` once `fraction` reaches
  the threshold (default 0.8), else `ok`. A stopped clock (first reply given, ticket resolved) is `breached` if it
  stopped after its due time, else `ok`, for good.
- Everything is evaluated as known at `at` (or at the stop, if earlier): pauses starting later are ignored, a pause
  still going on then counts as open.
- `soon_at` is the earliest instant at which the clock turns `breaching_soon` if nothing changes; storing `soon_at`
  and `due` lets a per-minute tick find the tickets to mark with an indexed query instead of recomputing them all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence

from huitouke.service.calendar import BusinessCalendar, add_business_time, business_time_between

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
CLOCKS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)

OK = "ok"
BREACHING_SOON = "breaching_soon"
BREACHED = "breached"
STATES = (OK, BREACHING_SOON, BREACHED)

DEFAULT_SOON_THRESHOLD = 0.8
MAX_MINUTES = 366 * 24 * 60  # a year of round-the-clock minutes: far beyond any service promise
MAX_PAUSES = 1000
_ONE_US = dt.timedelta(microseconds=1)


class SlaError(ValueError):
    """Bad SLA input; `field` names the value at fault (e.g. "resolution_minutes", "pauses")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _aware(value: dt.datetime | None, name: str) -> None:
    if value is not None and (not isinstance(value, dt.datetime) or value.utcoffset() is None):
        raise SlaError(name, f"a timezone-aware datetime is required, got {value!r}")


@dataclasses.dataclass(frozen=True)
class SlaPolicy:
    """One SLA policy; the first match by `position` wins (ties keep the order given)."""

    name: str
    position: int = 0
    types: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        for clock in CLOCKS:
            minutes = self.minutes_for(clock)
            if minutes is None:
                continue
            if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
                raise SlaError(f"{clock}_minutes", f"a whole number of minutes from 1 to {MAX_MINUTES} is required")
        for name in ("types", "priorities", "channels", "levels"):
            values = getattr(self, name)
            if isinstance(values, str) or not all(isinstance(v, str) for v in values):
                raise SlaError(name, "a list of codes is required")

    def minutes_for(self, clock: str) -> int | None:
        """The policy's business minutes for one clock (None: the policy sets no such clock)."""
        if clock not in CLOCKS:
            raise SlaError("clock", f"unknown clock {clock!r}")
        minutes: int | None = getattr(self, f"{clock}_minutes")
        return minutes

    def matches(self, *, type: str, priority: str, channel: str, level: str | None) -> bool:
        """Whether a ticket with these attributes falls under the policy (an empty list matches any value)."""
        return (
            (not self.types or type in self.types)
            and (not self.priorities or priority in self.priorities)
            and (not self.channels or channel in self.channels)
            and (not self.levels or (level is not None and level in self.levels))
        )


def policy_match(
    policies: Iterable[SlaPolicy], *, type: str, priority: str, channel: str, level: str | None = None
) -> SlaPolicy | None:
    """The first policy by `position` that matches the ticket, or None. A customer without a level (None) only
    matches policies whose `levels` is empty."""
    for policy in sorted(policies, key=lambda p: p.position):
        if policy.matches(type=type, priority=priority, channel=channel, level=level):
            return policy
    return None


@dataclasses.dataclass(frozen=True)
class Pause:
    """A spell in which the clocks stop (`end=None`: still going on)."""

    start: dt.datetime
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.start, "pauses")
        _aware(self.end, "pauses")
        if self.end is not None and self.end < self.start:
            raise SlaError(
                "pauses", f"a pause ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"
            )


@dataclasses.dataclass(frozen=True)
class Clock:
    """One running or stopped SLA clock: `minutes` business minutes from `started_at`, stopped at `stopped_at`
    (the first reply, the resolution; None while it runs), optionally capped by a wall-clock `deadline`."""

    name: str
    started_at: dt.datetime
    minutes: int
    stopped_at: dt.datetime | None = None
    deadline: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.name not in CLOCKS:
            raise SlaError("clock", f"unknown clock {self.name!r}")
        _aware(self.started_at, f"{self.name}.started_at")
        _aware(self.stopped_at, f"{self.name}.stopped_at")
        _aware(self.deadline, f"{self.name}.deadline")
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int) or not 1 <= self.minutes <= MAX_MINUTES:
            raise SlaError(f"{self.name}_minutes", f"a whole number of minutes from 1 to {MAX_MINUTES} is required")


@dataclasses.dataclass(frozen=True)
class ClockState:
    """A clock evaluated at an instant. Times are UTC; `due` is the governing one (None while paused without a
    deadline), `governed_by` says whether it is the business due time ("business") or the deadline ("deadline")."""

    name: str
    state: str
    due: dt.datetime | None
    business_due: dt.datetime | None
    deadline: dt.datetime | None
    governed_by: str | None
    soon_at: dt.datetime | None
    fraction: float
    elapsed: dt.timedelta
    allowed: dt.timedelta
    paused: bool
    stopped_at: dt.datetime | None

    @property
    def met(self) -> bool:
        """Stopped in time."""
        return self.stopped_at is not None and self.state == OK


_Spell = tuple[dt.datetime, dt.datetime | None]


def _spells(pauses: Sequence[Pause], start: dt.datetime, until: dt.datetime | None) -> list[_Spell]:
    if len(pauses) > MAX_PAUSES:
        raise SlaError("pauses", f"at most {MAX_PAUSES} pauses")
    spells: list[_Spell] = []
    for pause in pauses:
        if not isinstance(pause, Pause):
            raise SlaError("pauses", f"{pause!r} is not a Pause")
        end = None if pause.end is None or (until is not None and pause.end > until) else pause.end
        if (until is not None and pause.start >= until) or (end is not None and end <= start):
            continue
        spells.append((max(pause.start, start), end))
    spells.sort(key=lambda spell: spell[0])
    merged: list[_Spell] = []
    for s, e in spells:
        if merged and (merged[-1][1] is None or s <= merged[-1][1]):
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, None if last_end is None or e is None else max(last_end, e))
        else:
            merged.append((s, e))
    return merged


def merge_pauses(pauses: Sequence[Pause], start: dt.datetime, until: dt.datetime | None = None) -> list[Pause]:
    """Pauses clipped to begin at `start` or later, sorted, overlaps merged. With `until`: as known at that instant,
    i.e. pauses starting at or after it are dropped and ones still going on then are open (end None)."""
    return [Pause(s, e) for s, e in _spells(pauses, start, until)]


def _walk(
    cal: BusinessCalendar,
    start: dt.datetime,
    amounts: Sequence[dt.timedelta],
    spells: Sequence[_Spell],
    until: dt.datetime | None = None,
) -> tuple[list[dt.datetime | None], dt.timedelta]:
    """One pass over the unpaused stretches from `start`: for each of the ascending `amounts`, the earliest instant
    at which it has been counted (None if an open pause comes first), and the time counted before `until` (spells
    must come from `_spells` with the same `until`, so none starts after it)."""
    found: list[dt.datetime | None] = [None] * len(amounts)
    t, used, k = start, dt.timedelta(0), 0
    for pause_start, pause_end in spells:
        if pause_start > t:
            gap = business_time_between(cal, t, pause_start)
            while k < len(amounts) and amounts[k] - used <= gap:
                found[k] = add_business_time(cal, t, amounts[k] - used)
                k += 1
            used += gap
        if pause_end is None:
            return found, used  # paused from here on: the rest is not known yet
        t = max(t, pause_end)
    for j in range(k, len(amounts)):
        found[j] = add_business_time(cal, t, amounts[j] - used)
    if until is not None and until > t:
        used += business_time_between(cal, t, until)
    return found, used


def paused_due(
    cal: BusinessCalendar, start: dt.datetime, amount: dt.timedelta, pauses: Sequence[Pause]
) -> dt.datetime | None:
    """The earliest instant (UTC) at which `amount` of business time has been counted from `start`, not counting
    paused spells; None if a pause that is still going on comes first."""
    return _walk(cal, start, [amount], _spells(pauses, start, None))[0][0]


def counted_time(cal: BusinessCalendar, start: dt.datetime, at: dt.datetime, pauses: Sequence[Pause]) -> dt.timedelta:
    """Business time in [start, at) outside the pauses; zero if `at` is not after `start`."""
    if at <= start:
        return dt.timedelta(0)
    return _walk(cal, start, [], _spells(pauses, start, at), at)[1]


def _smallest_reaching(total: int, threshold: float) -> int:
    """The smallest whole n with n / total >= threshold (the same float comparison the states use)."""
    n = min(total, math.ceil(total * threshold))
    while n > 0 and (n - 1) / total >= threshold:
        n -= 1
    while n < total and n / total < threshold:
        n += 1
    return n


def _share(threshold: object) -> float:
    """The breaching-soon threshold as a float share in (0, 1]; Decimal and Fraction are accepted too."""
    try:
        share = float(threshold) if not isinstance(threshold, bool | str) else math.nan  # type: ignore[arg-type]
    except (TypeError, ValueError):
        share = math.nan
    if not 0 < share <= 1:
        raise SlaError("threshold", f"a share above 0 and at most 1 is required, got {threshold!r}")
    return share


def clock_evaluate(
    cal: BusinessCalendar,
    clock: Clock,
    *,
    pauses: Sequence[Pause] = (),
    at: dt.datetime,
    threshold: float = DEFAULT_SOON_THRESHOLD,
) -> ClockState:
    """The state of one clock at `at` (see the module's docstring)."""
    _aware(at, "at")
    threshold = _share(threshold)
    start = clock.started_at
    until = at if clock.stopped_at is None else min(at, clock.stopped_at)
    spells = _spells(pauses, start, until)
    allowed = dt.timedelta(minutes=clock.minutes)
    soon_amount = dt.timedelta(microseconds=_smallest_reaching(allowed // _ONE_US, threshold))
    (soon_business, business_due), elapsed = _walk(cal, start, [soon_amount, allowed], spells, until)
    fraction = elapsed / allowed
    paused = bool(spells) and spells[-1][1] is None

    due, governed_by, soon_at = business_due, "business" if business_due is not None else None, soon_business
    deadline = clock.deadline.astimezone(dt.UTC) if clock.deadline is not None else None
    if deadline is not None:
        window_us = (deadline - start) // _ONE_US
        if window_us <= 0:  # a deadline at or before the start: all of the window is gone
            wall_fraction, soon_wall = 1.0, deadline
        else:
            wall_fraction = max(0, (until - start) // _ONE_US) / window_us
            soon_wall = start + dt.timedelta(microseconds=_smallest_reaching(window_us, threshold))
        fraction = max(fraction, wall_fraction)
        soon_at = soon_wall if soon_at is None else min(soon_at, soon_wall)
        if due is None or deadline < due:
            due, governed_by = deadline, "deadline"

    if due is not None and until > due:
        state = BREACHED
    elif clock.stopped_at is None and fraction >= threshold:
        state = BREACHING_SOON
    else:
        state = OK
    return ClockState(
        name=clock.name,
        state=state,
        due=due,
        business_due=business_due,
        deadline=deadline,
        governed_by=governed_by,
        soon_at=soon_at.astimezone(dt.UTC) if soon_at is not None else None,
        fraction=fraction,
        elapsed=elapsed,
        allowed=allowed,
        paused=paused and clock.stopped_at is None,
        stopped_at=clock.stopped_at,
    )


@dataclasses.dataclass(frozen=True)
class TicketTimes:
    """What a ticket's clocks need. `awaiting_reply_since` is the oldest customer message after the latest public
    reply (None when nothing waits for an answer); `platform_deadline` caps the clocks in `deadline_clocks`."""

    created_at: dt.datetime
    first_replied_at: dt.datetime | None = None
    awaiting_reply_since: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    pauses: tuple[Pause, ...] = ()
    platform_deadline: dt.datetime | None = None
    deadline_clocks: tuple[str, ...] = (FIRST_RESPONSE, RESOLUTION)

    def __post_init__(self) -> None:
        for name in ("created_at", "first_replied_at", "awaiting_reply_since", "resolved_at", "platform_deadline"):
            _aware(getattr(self, name), name)
        unknown = [c for c in self.deadline_clocks if c not in CLOCKS]
        if unknown:
            raise SlaError("deadline_clocks", f"unknown clock {unknown[0]!r}")


def ticket_clocks(policy: SlaPolicy, times: TicketTimes) -> list[Clock]:
    """The clocks a policy sets on a ticket: first response (stops at the first public reply), next response
    (only after a first reply, from the oldest unanswered customer message), resolution (stops when resolved)."""
    clocks: list[Clock] = []
    starts = {
        FIRST_RESPONSE: (times.created_at, times.first_replied_at),
        NEXT_RESPONSE: (times.awaiting_reply_since if times.first_replied_at is not None else None, None),
        RESOLUTION: (times.created_at, times.resolved_at),
    }
    for name in CLOCKS:
        minutes = policy.minutes_for(name)
        started, stopped = starts[name]
        if minutes is None or started is None:
            continue
        deadline = times.platform_deadline if name in times.deadline_clocks else None
        clocks.append(Clock(name=name, started_at=started, minutes=minutes, stopped_at=stopped, deadline=deadline))
    return clocks


def ticket_sla(
    cal: BusinessCalendar,
    policy: SlaPolicy,
    times: TicketTimes,
    *,
    at: dt.datetime,
    threshold: float = DEFAULT_SOON_THRESHOLD,
) -> dict[str, ClockState]:
    """Every clock of a ticket evaluated at `at`, keyed by clock name (absent: the clock does not apply)."""
    return {
        clock.name: clock_evaluate(cal, clock, pauses=times.pauses, at=at, threshold=threshold)
        for clock in ticket_clocks(policy, times)
    }
