"""Received but not confirmed (收货未确认): when did the customer get the parcel? Pure: no ORM.

The delivered time when the platform reported one; otherwise the shipped time plus the carrier's usual transit
days. Carriers are recognised by a keyword in the name the export gives (顺丰速运, 中通快递, "SF Express" …);
a shop can override the days of any keyword, and its own default for carriers nobody recognises
(CarrierTransit rows with an empty keyword). The customer is reminded N days (default 7) after that day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

#: what a carrier nobody recognises usually takes, in days
DEFAULT_TRANSIT_DAYS = 3

#: (keyword, usual transit days), checked in this order; the keyword is looked for in the carrier's name,
#: ignoring case. Figures are typical domestic (mainland China) door-to-door times.
CARRIER_TRANSIT_DAYS: tuple[tuple[str, int], ...] = (
    ("顺丰", 2),
    ("SF", 2),
    ("京东", 2),
    ("JD", 2),
    ("EMS", 4),
    ("邮政", 5),
    ("中通", 3),
    ("ZTO", 3),
    ("圆通", 3),
    ("YTO", 3),
    ("韵达", 3),
    ("申通", 3),
    ("STO", 3),
    ("极兔", 3),
    ("百世", 3),
    ("德邦", 4),
)


def transit_rules(overrides: Mapping[str, int] | None = None) -> list[tuple[str, int]]:
    """The keyword → days list to apply, overrides first (a shop's own figure beats the built-in one); the
    empty keyword (the shop's default) is not part of it."""
    own = [(k.strip(), int(v)) for k, v in (overrides or {}).items() if k.strip()]
    seen = {k.upper() for k, _days in own}
    return own + [(k, d) for k, d in CARRIER_TRANSIT_DAYS if k.upper() not in seen]


def default_days(overrides: Mapping[str, int] | None = None) -> int:
    """The shop's default (its empty-keyword override) or DEFAULT_TRANSIT_DAYS."""
    value = (overrides or {}).get("")
    return int(value) if value is not None else DEFAULT_TRANSIT_DAYS


def transit_days(carrier: str, rules: Sequence[tuple[str, int]], default: int = DEFAULT_TRANSIT_DAYS) -> int:
    """The usual days in transit of `carrier` by the first keyword its name contains (any case)."""
    name = (carrier or "").upper()
    for keyword, days in rules:
        if keyword.upper() in name:
            return days
    return default


def received_on(
    *, delivered: date | None, shipped: date | None, carrier: str, rules: Sequence[tuple[str, int]], default: int
) -> date | None:
    """The day the customer received the parcel: delivered, else shipped + transit days, else unknown."""
    if delivered is not None:
        return delivered
    if shipped is not None:
        return shipped + timedelta(days=transit_days(carrier, rules, default))
    return None


def reminder_day(received: date, after_days: int) -> date:
    """The day to remind: `after_days` after receipt."""
    return received + timedelta(days=after_days)
