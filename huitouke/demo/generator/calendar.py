"""The history window's calendar for one shop: how many orders each day draws (growth, weekends, the Chinese
shopping festivals and holidays, or Black Friday and Christmas), promotions, gift seasons and the big days."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from lunardate import LunarDate

#: How many days of history the demo covers (24 months).
HISTORY_DAYS = 730
#: Share of customers per segment in every block of 50 (one-time, occasional, loyal) and per platform.


def lunar_new_year(year: int) -> date:
    """The solar date of 春节 (first day of the first lunar month) in `year`."""
    return LunarDate(year, 1, 1).to_solar_date()


def mid_autumn(year: int) -> date:
    """The solar date of 中秋 (15th day of the eighth lunar month) in `year`."""
    return LunarDate(year, 8, 15).to_solar_date()


@dataclass
class Calendar:
    """Day-by-day facts of the history window for one shop: order weights, promotions, gift season."""

    cum_weights: list[float]
    promo: list[bool]
    gift: list[bool]
    peaks: list[int]  # day indexes of the big shopping days (stock-up occasions)
    day_start_utc: list[int]  # epoch seconds (UTC) of each local midnight


def shop_calendar(start: date, days: int, tz: str, *, chinese: bool) -> Calendar:
    zone = ZoneInfo(tz)
    weights: list[float] = []
    promo: list[bool] = []
    gift: list[bool] = []
    peaks: list[int] = []
    years = range(start.year - 1, start.year + 4)
    new_years = [lunar_new_year(y) for y in years]
    mid_autumns = [mid_autumn(y) for y in years]
    for i in range(days):
        d = start + timedelta(days=i)
        w = 1.0 + 0.35 * i / days  # the shop grows
        if d.weekday() >= 5:
            w *= 1.1
        is_promo = False
        is_gift = False
        to_new_year = min((ny - d).days for ny in new_years if (ny - d).days >= -7)
        if chinese:
            md = (d.month, d.day)
            if md == (11, 11):
                w *= 14
                is_promo = True
                peaks.append(i)
            elif (10, 31) <= md <= (11, 10):
                w *= 1.6
                is_promo = True
            elif md == (6, 18):
                w *= 7
                is_promo = True
                peaks.append(i)
            elif (6, 1) <= md <= (6, 17):
                w *= 1.6
                is_promo = True
            elif md == (12, 12):
                w *= 5
                is_promo = True
                peaks.append(i)
            elif (12, 9) <= md <= (12, 11):
                w *= 1.4
            elif md == (3, 8):
                w *= 2.5
                is_promo = True
            if 8 <= to_new_year <= 35:  # 年货节: stocking up and gifts before the new year
                w *= 2.0
                is_gift = True
                if to_new_year == 20:
                    peaks.append(i)
            elif -7 <= to_new_year <= 7:  # couriers stop over the holiday
                w *= 0.35
            to_mid_autumn = min(abs((ma - d).days - 12) for ma in mid_autumns)
            if to_mid_autumn <= 9:  # gifts bought 3-21 days before 中秋
                w *= 1.4
                is_gift = True
        else:
            thanksgiving = date(d.year, 11, 22 + (3 - date(d.year, 11, 1).weekday()) % 7)
            if thanksgiving < d <= thanksgiving + timedelta(days=4):  # Black Friday to Cyber Monday
                w *= 4
                is_promo = True
                if d == thanksgiving + timedelta(days=1):
                    peaks.append(i)
            elif (12, 1) <= (d.month, d.day) <= (12, 20):
                w *= 1.8
                is_gift = True
            elif 5 <= to_new_year <= 25:
                w *= 1.5
                is_gift = True
        weights.append(w)
        promo.append(is_promo)
        gift.append(is_gift)
    midnights = [
        int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())
        for d in (start + timedelta(days=i) for i in range(days))
    ]
    return Calendar(list(itertools.accumulate(weights)), promo, gift, sorted(set(peaks)), midnights)
