"""Business calendar maths for the service desk's SLA clocks (pure: no ORM, no settings).

A `BusinessCalendar` says when a shop works: a time zone, one or more working periods a day in local wall-clock
time (e.g. 09:00-12:00 and 13:30-18:00, a lunch break between), the working ISO weekdays, days off (public holidays
and the shop's own) and make-up working days (调休, plus the shop's extra workdays), which win over both.

Conventions every function here follows:

- Instants are timezone-aware datetimes; naive ones are refused with ValueError. Results are returned in UTC.
- Business time is real elapsed time inside working periods, counted exactly in integer microseconds.
- Working periods are half-open, [start, end): an instant exactly at a period's end is outside working time.
- `add_business_time(cal, t, d)` returns the *earliest* instant at which `d` of business time has elapsed since
  `t`. Adding zero returns `t` itself (even outside working time); adding more than zero lands inside a working
  period or exactly at its end (the work is done when the last minute ends), never in a break, night or day off.
- `business_time_between(cal, a, b)` is the business time in [a, b); it is negative when b is before a, so
  between(a, b) + between(b, c) == between(a, c) for any three instants, and between(t, add(t, d)) == d.
- Daylight-saving zones: periods are wall-clock times, so on a change day a period's real length follows the zone.
  A wall time that does not exist (spring-forward gap) means the first instant after the gap; an ambiguous wall
  time (fall-back) means its first occurrence.

Cost: each calendar keeps a per-day schedule cache and a running total of business time per day, so adding
business minutes and measuring between two instants are a binary search plus one day's periods, whatever the
distance, once the days concerned have been seen. A search for working time gives up with ValueError after
`MAX_IDLE_DAYS` days without any, and no question may reach more than `MAX_SPAN_DAYS` days.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Sequence

import holidays as holidays_lib

MAX_IDLE_DAYS = 366
MAX_SPAN_DAYS = 100 * 366
MAX_PERIODS = 24
MAX_LISTED_DAYS = 5000
MAX_YEARS = 50
PUBLIC_HOLIDAY_SETS = ("CN",)

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_ONE_US = dt.timedelta(microseconds=1)
_MIDNIGHT = dt.time(0, 0)
_PERIOD_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CHUNK_DAYS = 64
_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_MIN_ORDINAL = dt.date(2, 1, 1).toordinal()  # a margin at both ends so that neighbouring days always exist
_MAX_ORDINAL = dt.date(9998, 12, 31).toordinal()


class CalendarError(ValueError):
    """Bad calendar settings; `field` names the setting at fault (e.g. "periods", "timezone")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Index:
    """Mutable per-calendar cache: day schedules and running business-time totals (never compared or hashed)."""

    __slots__ = ("day_starts", "offset_us", "schedules", "totals")

    def __init__(self) -> None:
        self.schedules: dict[int, tuple[int, ...]] = {}
        self.day_starts: dict[int, int] = {}  # local day ordinal -> µs of its first instant
        self.offset_us = 0  # a usual UTC offset of the zone: the first guess when placing an instant in a local day
        # (base, cum): cum[i] = business µs from the start of day `base` to the start of day `base + i`. Replaced
        # as a whole, never changed in place, so a reader's snapshot stays consistent.
        self.totals: tuple[int, list[int]] = (0, [0])


def _minutes_of(t: dt.time) -> int:
    return t.hour * 60 + t.minute


@dataclasses.dataclass(frozen=True)
class BusinessCalendar:
    """When a shop works. Build one with `calendar_build` (which validates settings and loads public holidays).

    `periods` are sorted, non-overlapping local [start, end) pairs; an end of 00:00 means midnight at the day's end.
    A day works when it is in `workdays`, or else when it is not in `holidays` and its ISO weekday is in `weekdays`.
    """

    tz: zoneinfo.ZoneInfo
    periods: tuple[tuple[dt.time, dt.time], ...]
    weekdays: frozenset[int]
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    _index: _Index = dataclasses.field(default_factory=_Index, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _check_periods(self.periods)
        _check_weekdays(self.weekdays)
        offset = dt.datetime(2025, 1, 1, tzinfo=self.tz).utcoffset()
        self._index.offset_us = offset // _ONE_US if offset is not None else 0


def _check_periods(periods: Sequence[tuple[dt.time, dt.time]]) -> None:
    if not periods:
        raise CalendarError("periods", "at least one working period is required")
    if len(periods) > MAX_PERIODS:
        raise CalendarError("periods", f"at most {MAX_PERIODS} working periods a day")
    previous_end = -1
    for i, (start, end) in enumerate(periods):
        if start.tzinfo is not None or end.tzinfo is not None:
            raise CalendarError(f"periods[{i}]", "times are local wall-clock times, without a time zone")
        if start.second or start.microsecond or end.second or end.microsecond:
            raise CalendarError(f"periods[{i}]", "times are whole minutes")
        s, e = _minutes_of(start), (_minutes_of(end) or 24 * 60)
        if s >= e:
            raise CalendarError(f"periods[{i}]", f"{start:%H:%M} is not before {end:%H:%M}")
        if s < previous_end:
            raise CalendarError(f"periods[{i}]", "periods must be in order and must not overlap")
        previous_end = e


def _check_weekdays(weekdays: Iterable[object]) -> None:
    days = list(weekdays)
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
            raise CalendarError("weekdays", f"{day!r} is not an ISO weekday (1 = Monday … 7 = Sunday)")
    if not days:
        raise CalendarError("weekdays", "at least one working weekday is required")


def parse_period(text: str, *, field: str = "periods") -> tuple[dt.time, dt.time]:
    """'09:00-12:00' -> (09:00, 12:00); '18:00-24:00' ends at midnight (returned as 00:00)."""
    match = _PERIOD_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(field, f"{text!r} is not a period like '09:00-12:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise CalendarError(field, f"{text!r} has an impossible time")
    return dt.time(h1, m1), dt.time(h2 % 24, m2)


def format_period(period: tuple[dt.time, dt.time]) -> str:
    """The inverse of `parse_period`: (09:00, 00:00) -> '09:00-24:00'."""
    start, end = period
    return f"{start:%H:%M}-{'24:00' if end == _MIDNIGHT else f'{end:%H:%M}'}"


def _dates(values: Iterable[object], name: str) -> set[dt.date]:
    out: set[dt.date] = set()
    for value in values:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise CalendarError(name, f"{value!r} is not a date")
        out.add(value)
        if len(out) > MAX_LISTED_DAYS:
            raise CalendarError(name, f"at most {MAX_LISTED_DAYS} dates")
    return out


def public_holidays_for(code: str, years: Iterable[int]) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(days off, make-up working days) of a public holiday set for the given years, from the `holidays` library.

    Make-up days for a year's holidays can fall at the end of the year before (e.g. 2002's New Year was made up
    on 2001-12-29), so the following year is loaded too and only dates inside `years` are kept.
    """
    if code not in PUBLIC_HOLIDAY_SETS:
        raise CalendarError(
            "public_holidays", f"unknown holiday set {code!r} (known: {', '.join(PUBLIC_HOLIDAY_SETS)})"
        )
    listed = list(itertools.islice(years, MAX_YEARS + 1))
    if len(listed) > MAX_YEARS:
        raise CalendarError("years", f"at most {MAX_YEARS} years")
    for year in listed:
        if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2100:
            raise CalendarError("years", f"{year!r} is not a year between 1950 and 2100")
    wanted = set(listed)
    return _public_holidays(code, tuple(sorted(wanted)))


@functools.lru_cache(maxsize=64)
def _public_holidays(code: str, years: tuple[int, ...]) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """Loading the library's data costs milliseconds: shops sharing the same years share one copy."""
    if not years:
        return frozenset(), frozenset()
    china = holidays_lib.China(years=sorted(set(years) | {y + 1 for y in years if y < 2100}))
    days_off = frozenset(day for day in china if day.year in years)
    makeup = frozenset(day for day in china.weekend_workdays if day.year in years)
    return days_off, makeup


def calendar_build(
    *,
    timezone: str,
    periods: Sequence[str],
    weekdays: Iterable[int],
    public_holidays: str | None,
    days_off: Iterable[dt.date] = (),
    workdays: Iterable[dt.date] = (),
    years: Iterable[int] = (),
) -> BusinessCalendar:
    """A validated calendar from plain settings (the API's and the ORM's shape); CalendarError names the field.

    `public_holidays` is "CN" (mainland China's holidays and 调休 make-up days for `years`) or None. The shop's
    `days_off` win over public make-up days; the shop's `workdays` win over everything; one date cannot be both.
    """
    if not isinstance(timezone, str) or not timezone:
        raise CalendarError("timezone", "a time zone name such as 'Asia/Shanghai' is required")
    try:
        tz = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise CalendarError("timezone", f"unknown time zone {timezone!r}") from None
    if isinstance(periods, str):
        raise CalendarError("periods", "a list of periods such as ['09:00-12:00'] is required")
    parsed = tuple(parse_period(p, field=f"periods[{i}]") for i, p in enumerate(periods))
    weekday_list = list(weekdays)
    _check_weekdays(weekday_list)
    shop_off = _dates(days_off, "days_off")
    shop_work = _dates(workdays, "workdays")
    both = sorted(shop_off & shop_work)
    if both:
        raise CalendarError("workdays", f"{both[0].isoformat()} is also listed in days_off")
    public_off: frozenset[dt.date] = frozenset()
    makeup: frozenset[dt.date] = frozenset()
    if public_holidays is not None:
        public_off, makeup = public_holidays_for(public_holidays, years)
    return BusinessCalendar(
        tz=tz,
        periods=parsed,
        weekdays=frozenset(weekday_list),
        holidays=frozenset(public_off | shop_off),
        workdays=frozenset((makeup - shop_off) | shop_work),
    )


def is_working_day(cal: BusinessCalendar, day: dt.date) -> bool:
    """Whether `day` (a local date) has working periods."""
    if day in cal.workdays:
        return True
    return day not in cal.holidays and day.isoweekday() in cal.weekdays


# --- instants as integer microseconds -------------------------------------------------------------------------


def _us(value: dt.datetime, name: str = "instant") -> int:
    try:
        since = value - _EPOCH  # refuses naive datetimes (and anything that is not a datetime)
    except TypeError:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}") from None
    if not isinstance(since, dt.timedelta):
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


def _instant(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def _day_start(cal: BusinessCalendar, ordinal: int) -> int:
    """µs of the first instant of a local day (cached)."""
    starts = cal._index.day_starts
    found = starts.get(ordinal)
    if found is None:
        if not _MIN_ORDINAL <= ordinal <= _MAX_ORDINAL:
            raise ValueError("date out of the supported range")
        found = _wall_us(cal.tz, dt.date.fromordinal(ordinal), _MIDNIGHT)
        if len(starts) > 4 * MAX_SPAN_DAYS:
            starts.clear()
        starts[ordinal] = found
    return found


def _local_ordinal(cal: BusinessCalendar, us: int) -> int:
    """The local day an instant falls on (the zone's usual offset guesses, the cached day starts decide)."""
    ordinal = (us + cal._index.offset_us) // _DAY_US + _EPOCH_ORDINAL
    while us < _day_start(cal, ordinal):
        ordinal -= 1
    while us >= _day_start(cal, ordinal + 1):
        ordinal += 1
    return ordinal


def _wall_us(tz: zoneinfo.ZoneInfo, day: dt.date, time: dt.time) -> int:
    """The instant of a local wall time: first occurrence if ambiguous, first instant after the gap if missing."""
    local = dt.datetime.combine(day, time, tzinfo=tz)
    after = _us(local)  # fold=0: in a gap this uses the offset before the change, i.e. an instant after the gap
    if _instant(after).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return after
    before = _us(local.replace(fold=1))  # in a gap: an instant before the change
    offset_after = _instant(after).astimezone(tz).utcoffset()
    lo, hi = before, after  # the change lies in (lo, hi]; find it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _instant(mid).astimezone(tz).utcoffset() == offset_after:
            hi = mid
        else:
            lo = mid
    return hi


def _schedule(cal: BusinessCalendar, ordinal: int) -> tuple[int, ...]:
    """Working intervals of a local day as flat (start, end, start, end, …) µs, ordered, non-empty, cached."""
    cache = cal._index.schedules
    found = cache.get(ordinal)
    if found is not None:
        return found
    day = dt.date.fromordinal(ordinal)
    bounds: list[int] = []
    if is_working_day(cal, day):
        next_day = day + dt.timedelta(days=1)
        last = None
        for start, end in cal.periods:
            s = _wall_us(cal.tz, day, start)
            e = _wall_us(cal.tz, next_day, end) if end == _MIDNIGHT else _wall_us(cal.tz, day, end)
            if last is not None:
                s = max(s, last)
            if e <= s:
                continue
            if bounds and bounds[-1] == s:
                bounds[-1] = e  # touching periods merge
            else:
                bounds += [s, e]
            last = e
    result = tuple(bounds)
    if len(cache) > 4 * MAX_SPAN_DAYS:
        cache.clear()
    cache[ordinal] = result
    return result


def _day_total(cal: BusinessCalendar, ordinal: int) -> int:
    b = _schedule(cal, ordinal)
    return sum(b[i + 1] - b[i] for i in range(0, len(b), 2))


def _ensure(cal: BusinessCalendar, lo: int, hi: int) -> tuple[int, list[int]]:
    """A snapshot (base, cum) of the running totals covering days lo..hi inclusive (and the start of day hi + 1)."""
    if lo < _MIN_ORDINAL or hi + 1 > _MAX_ORDINAL:
        raise ValueError("date out of the supported range")
    if hi + 1 - lo > MAX_SPAN_DAYS:
        raise ValueError(f"business time can only be counted over at most {MAX_SPAN_DAYS} days")
    index = cal._index
    base, cum = index.totals
    end = base + len(cum) - 1  # cum covers the day starts base..end
    if base <= lo and hi + 1 <= end:
        return base, cum
    if len(cum) == 1 or max(hi + 1, end) - min(lo, base) > MAX_SPAN_DAYS:
        base, end, cum = lo, lo, [0]  # nothing cached, or too far from what is: start over here
    if lo < base:
        start = max(_MIN_ORDINAL, min(lo, base - _CHUNK_DAYS))
        prefix = [0]
        for ordinal in range(start, base):
            prefix.append(prefix[-1] + _day_total(cal, ordinal))
        shift = prefix.pop()
        cum = prefix + [c + shift for c in cum]
        base = start
    if hi + 1 > end:
        stop = min(max(hi + 1, end + _CHUNK_DAYS), _MAX_ORDINAL)
        cum = list(cum)
        for ordinal in range(end, stop):
            cum.append(cum[-1] + _day_total(cal, ordinal))
    index.totals = (base, cum)
    return base, cum


def _in_day(cal: BusinessCalendar, ordinal: int, us: int) -> int:
    """Business µs of local day `ordinal` before the instant `us` (an instant of that day)."""
    total = 0
    b = _schedule(cal, ordinal)
    for i in range(0, len(b), 2):
        if b[i] >= us:
            break
        total += min(b[i + 1], us) - b[i]
    return total


def business_time_between(cal: BusinessCalendar, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Exact business time in [a, b) (negative if b is before a)."""
    ua, ub = _us(a, "a"), _us(b, "b")
    if ua > ub:
        return -business_time_between(cal, b, a)
    da, db = _local_ordinal(cal, ua), _local_ordinal(cal, ub)
    if da == db:
        return dt.timedelta(microseconds=_in_day(cal, db, ub) - _in_day(cal, da, ua))
    base, cum = _ensure(cal, da, db)
    total = cum[db - base] + _in_day(cal, db, ub) - cum[da - base] - _in_day(cal, da, ua)
    return dt.timedelta(microseconds=total)


def business_seconds_between(cal: BusinessCalendar, a: dt.datetime, b: dt.datetime) -> float:
    """Business seconds in [a, b) (negative if b is before a), to the microsecond."""
    return business_time_between(cal, a, b).total_seconds()


def business_minutes_between(cal: BusinessCalendar, a: dt.datetime, b: dt.datetime) -> float:
    """Business minutes in [a, b) (negative if b is before a); whole when a and b are whole business minutes apart."""
    return business_time_between(cal, a, b) / dt.timedelta(minutes=1)


def add_business_time(cal: BusinessCalendar, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
    """The earliest instant (UTC) at which `amount` (>= 0) of business time has elapsed since `start`."""
    us = _us(start, "start")
    delta = amount // _ONE_US
    if delta < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if delta == 0:
        return start.astimezone(_UTC)
    first = _local_ordinal(cal, us)
    need = _in_day(cal, first, us) + delta  # business µs counted from the start of the first day
    base, cum = _ensure(cal, first, first)
    idle_since = None
    while cum[-1] - cum[first - base] < need:
        end = base + len(cum) - 1
        base, cum = _ensure(cal, first, end + _CHUNK_DAYS)  # refuses to go past MAX_SPAN_DAYS
        if cum[-1] - cum[end - base] > 0:
            idle_since = None
        elif idle_since is None:
            idle_since = end
        if idle_since is not None and base + len(cum) - 1 - idle_since >= MAX_IDLE_DAYS:
            raise ValueError(
                f"the calendar has no working time in the {MAX_IDLE_DAYS} days after "
                f"{dt.date.fromordinal(idle_since).isoformat()}"
            )
    target = cum[first - base] + need
    i = bisect.bisect_left(cum, target, lo=first - base) - 1  # cum[i] < target <= cum[i + 1]: day base + i
    rest = target - cum[i]
    b = _schedule(cal, base + i)
    for j in range(0, len(b), 2):
        length = b[j + 1] - b[j]
        if rest <= length:
            return _instant(b[j] + rest)
        rest -= length
    raise AssertionError("running totals disagree with the day's schedule")  # pragma: no cover


def add_business_minutes(cal: BusinessCalendar, start: dt.datetime, minutes: int) -> dt.datetime:
    """The earliest instant (UTC) at which `minutes` (>= 0) business minutes have elapsed since `start`."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError(f"minutes must be a whole number >= 0, got {minutes!r}")
    return add_business_time(cal, start, dt.timedelta(minutes=minutes))


def is_working_time(cal: BusinessCalendar, at: dt.datetime) -> bool:
    """Whether `at` lies inside a working period (an instant exactly at a period's end does not)."""
    us = _us(at, "at")
    b = _schedule(cal, _local_ordinal(cal, us))
    return any(b[i] <= us < b[i + 1] for i in range(0, len(b), 2))


def next_working_instant(cal: BusinessCalendar, at: dt.datetime) -> dt.datetime:
    """`at` itself (in UTC) if it is working time, else the start of the next working period."""
    us = _us(at, "at")
    first = _local_ordinal(cal, us)
    for ordinal in range(first, min(first + MAX_IDLE_DAYS + 1, _MAX_ORDINAL)):
        b = _schedule(cal, ordinal)
        for i in range(0, len(b), 2):
            if b[i + 1] > us:
                return _instant(max(b[i], us))
    raise ValueError(
        f"the calendar has no working time in the {MAX_IDLE_DAYS} days after {dt.date.fromordinal(first).isoformat()}"
    )
