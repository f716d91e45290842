"""Pure, deterministic generation of the demo shop's rows from a seed (no ORM, no settings).

`DemoGenerator(customers=N, seed=S, today=D, ids=IdStart(...)).chunks()` yields `Chunk`s of plain tuples whose
fields follow the `*_COLUMNS` tuples below, primary keys already assigned (starting after `ids`) so that rows link
up without a round trip to the database. The same (N, seed, today, ids) always gives the same rows.

Values are already in database text form: timestamps "YYYY-MM-DD HH:MM:SS" in UTC, dates "YYYY-MM-DD", money
"123.45", booleans as bool, None for NULL. Both the PostgreSQL COPY writer and SQLite accept them unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import traceback
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import Queue
from typing import Any
from zoneinfo import ZoneInfo

from lunardate import LunarDate

from huitouke.demo import data

SHOP_COLUMNS = ("id", "created_at", "updated_at", "name", "platform", "timezone", "currency", "is_demo")
PRODUCT_COLUMNS = ("id", "created_at", "updated_at", "shop_id", "external_id", "title", "category", "price")
CUSTOMER_COLUMNS = (
    "id", "created_at", "updated_at", "name", "real_name", "gender", "birthday", "birthday_calendar", "phone",
    "email", "province", "city", "district", "address", "pref_choice", "pref_decision", "pref_price",
    "pref_knowledge", "first_order_at", "last_order_at", "order_count", "total_spent", "last_contacted_at",
    "merged_into_id", "erased_at",
)  # fmt: skip
IDENTITY_COLUMNS = ("id", "created_at", "updated_at", "customer_id", "platform", "handle")
CUSTOMERTAG_COLUMNS = ("id", "customer_id", "tag_id", "created_at")
NOTE_COLUMNS = ("id", "created_at", "updated_at", "customer_id", "author_id", "body", "pinned")
CONSENT_COLUMNS = ("id", "created_at", "updated_at", "customer_id", "channel", "purpose", "granted", "source")
ORDER_COLUMNS = (
    "id", "created_at", "updated_at", "shop_id", "order_no", "customer_id", "status", "goods_amount",
    "shipping_fee", "total_amount", "paid_amount", "refund_amount", "ordered_at", "paid_at", "shipped_at",
    "delivered_at", "confirmed_at", "closed_at", "logistics_company", "tracking_no", "gift", "buyer_remark",
    "seller_memo", "receiver_name", "receiver_phone", "receiver_address",
)  # fmt: skip
LINE_COLUMNS = ("id", "order_id", "line_no", "product_id", "title", "sku", "quantity", "unit_price", "amount",
                "refund_state")  # fmt: skip

Row = tuple[Any, ...]

#: How many days of history the demo covers (24 months).
HISTORY_DAYS = 730
#: Share of customers per segment in every block of 50 (one-time, occasional, loyal) and per platform.
_BLOCK = 50
_SEGMENTS = ["one"] * 28 + ["occasional"] * 14 + ["loyal"] * 8
_PLATFORMS = ["taobao"] * 45 + ["shopify"] * 5

_CN_OFFSET = 8 * 3600  # Asia/Shanghai has no daylight saving time
_HOUR_WEIGHTS = [3, 1.5, 0.6, 0.3, 0.2, 0.3, 0.8, 1.5, 2.5, 3.5, 4.5, 4.5, 4, 4, 4.5, 4.5, 4.2, 4, 3.5, 4.5, 6, 7,
                 6.5, 4.5]  # fmt: skip
_HOUR_CUM = list(itertools.accumulate(_HOUR_WEIGHTS))
_LINES_CUM = list(itertools.accumulate([55, 28, 12, 4, 1]))
#: Index of the first cumulative weight above x: random.choices(cum_weights=…) without its per-call overhead.
_bisect = bisect_right


@dataclass(frozen=True)
class IdStart:
    """The largest id already used in each table; generated ids start right after."""

    shop: int = 0
    product: int = 0
    customer: int = 0
    identity: int = 0
    customertag: int = 0
    note: int = 0
    consent: int = 0
    order: int = 0
    line: int = 0


@dataclass
class Chunk:
    """The rows of a slice of customers, one list per table."""

    customers: list[Row] = field(default_factory=list)
    identities: list[Row] = field(default_factory=list)
    customertags: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    consents: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    lines: list[Row] = field(default_factory=list)

    TABLES = ("customers", "identities", "customertags", "notes", "consents", "orders", "lines")


def lunar_new_year(year: int) -> date:
    """The solar date of 春节 (first day of the first lunar month) in `year`."""
    return LunarDate(year, 1, 1).to_solar_date()


def mid_autumn(year: int) -> date:
    """The solar date of 中秋 (15th day of the eighth lunar month) in `year`."""
    return LunarDate(year, 8, 15).to_solar_date()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _Clock:
    """Turns epoch seconds (UTC) into the text form the databases take, caching the date part."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def fmt(self, ts: int) -> str:
        day, sec = divmod(ts, 86400)
        ds = self._days.get(day)
        if ds is None:
            ds = self._days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        h, rest = divmod(sec, 3600)
        m, s = divmod(rest, 60)
        return f"{ds} {h:02d}:{m:02d}:{s:02d}"


@dataclass
class _Calendar:
    """Day-by-day facts of the history window for one shop: order weights, promotions, gift season."""

    cum_weights: list[float]
    promo: list[bool]
    gift: list[bool]
    peaks: list[int]  # day indexes of the big shopping days (stock-up occasions)
    day_start_utc: list[int]  # epoch seconds (UTC) of each local midnight


def _calendar(start: date, days: int, tz: str, *, chinese: bool) -> _Calendar:
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
    return _Calendar(list(itertools.accumulate(weights)), promo, gift, sorted(set(peaks)), midnights)


@dataclass
class _Shop:
    id: int
    platform: str
    name: str
    tz: str
    currency: str
    products: list[tuple[int, data.ProductSpec]]
    by_category: dict[str, tuple[list[tuple[int, data.ProductSpec]], list[float]]]
    calendar: _Calendar


class DemoGenerator:
    """Generates a tea-and-snacks seller's shops, catalogue, customers and two years of orders."""

    def __init__(
        self,
        *,
        customers: int,
        seed: int,
        today: date,
        ids: IdStart | None = None,
        tag_ids: Mapping[str, int] | None = None,
        note_author_id: int | None = None,
    ) -> None:
        if customers < 1:
            raise ValueError("customers must be at least 1")
        self.n = customers
        self.tag_ids = dict(tag_ids or {name: i for i, name in enumerate(data.TAG_NAMES, start=1)})
        self.note_author_id = note_author_id
        self.seed = seed
        self.today = today
        self.ids = ids or IdStart()
        self.start = today - timedelta(days=HISTORY_DAYS)
        self.end_ts = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp()) - _CN_OFFSET
        self.rng = random.Random(f"huitouke-demo:{seed}")
        self.clock = _Clock()
        self.handles: set[str] = set()
        self.shop_rows: list[Row] = []
        self.product_rows: list[Row] = []
        self._next = {
            "customer": self.ids.customer,
            "identity": self.ids.identity,
            "customertag": self.ids.customertag,
            "note": self.ids.note,
            "consent": self.ids.consent,
            "order": self.ids.order,
            "line": self.ids.line,
        }
        self._order_seq = 0
        self._shopify_seq = 0
        self._build_shops()
        self._build_tables()

    # --- static parts -----------------------------------------------------------------------------------

    def _build_shops(self) -> None:
        created = self.clock.fmt(self.end_ts - (HISTORY_DAYS + 30) * 86400)
        specs = [
            ("taobao", data.TAOBAO_SHOP, "Asia/Shanghai", "CNY", data.TAOBAO_PRODUCTS, True),
            ("shopify", data.SHOPIFY_SHOP, data.SHOPIFY_TIMEZONE, data.SHOPIFY_CURRENCY, data.SHOPIFY_PRODUCTS, False),
        ]
        self.shops: dict[str, _Shop] = {}
        product_id = self.ids.product
        for offset, (platform, name, tz, currency, products, chinese) in enumerate(specs, start=1):
            shop_id = self.ids.shop + offset
            self.shop_rows.append((shop_id, created, created, name, platform, tz, currency, True))
            listed: list[tuple[int, data.ProductSpec]] = []
            for spec in products:
                product_id += 1
                listed.append((product_id, spec))
                self.product_rows.append(
                    (
                        product_id,
                        created,
                        created,
                        shop_id,
                        spec.code,
                        spec.title,
                        spec.category,
                        _money(spec.price_cents),
                    )
                )
            by_category: dict[str, tuple[list[tuple[int, data.ProductSpec]], list[float]]] = {}
            for category in data.CATEGORIES:
                items = [p for p in listed if p[1].category == category]
                if items:
                    by_category[category] = (items, list(itertools.accumulate(p[1].weight for p in items)))
            self.shops[platform] = _Shop(
                shop_id,
                platform,
                name,
                tz,
                currency,
                listed,
                by_category,
                _calendar(self.start, HISTORY_DAYS, tz, chinese=chinese),
            )

    def _build_tables(self) -> None:
        self.region_rows: list[tuple[str, str, tuple[str, ...]]] = []
        region_weights: list[float] = []
        for region in data.REGIONS:
            total = sum(c[1] for c in region.cities)
            for city, weight, districts in region.cities:
                self.region_rows.append((region.province, city, districts))
                region_weights.append(region.weight * weight / total)
        self.region_cum = list(itertools.accumulate(region_weights))
        self.surname_cum = list(itertools.accumulate(s[2] for s in data.SURNAMES))
        self.phone_prefix = [p for p, _w in data.PHONE_PREFIXES]
        self.phone_cum = list(itertools.accumulate(w for _p, w in data.PHONE_PREFIXES))
        self.fav_cum = list(itertools.accumulate(data.FAVOURITE_WEIGHTS))
        cats = list(data.CATEGORIES.values())
        self.cat_names = [c.name for c in cats]
        self.cat_cum = list(itertools.accumulate(c.weight for c in cats))
        self.cat_cum_gift = list(itertools.accumulate(c.weight * (12 if c.gift else 1) for c in cats))
        self.email_cn = [d for d, _w in data.EMAIL_DOMAINS_CN]
        self.email_cn_cum = list(itertools.accumulate(w for _d, w in data.EMAIL_DOMAINS_CN))
        self.email_en = [d for d, _w in data.EN_EMAIL_DOMAINS]
        self.email_en_cum = list(itertools.accumulate(w for _d, w in data.EN_EMAIL_DOMAINS))
        self.en_place_cum = list(itertools.accumulate(data.EN_PLACE_WEIGHTS))
        self.carriers_cn_cum = list(itertools.accumulate(c[1] for c in data.CARRIERS_CN))
        self.carriers_en_cum = list(itertools.accumulate(c[1] for c in data.CARRIERS_EN))

    # --- customers ----------------------------------------------------------------------------------------

    def _take(self, table: str) -> int:
        self._next[table] += 1
        return self._next[table]

    def _chinese_name(self, gender: str) -> tuple[str, str, str]:
        """(name, surname pinyin, given-name pinyin)."""
        rng = self.rng
        surname, sp, _w = data.SURNAMES[
            min(len(data.SURNAMES) - 1, _bisect(self.surname_cum, rng.random() * self.surname_cum[-1]))
        ]
        pool = data.GIVEN_FEMALE if gender == "f" else data.GIVEN_MALE if gender == "m" else data.GIVEN_FEMALE
        first = pool[int(rng.random() * len(pool))]
        if rng.random() < 0.3:
            return surname + first[0], sp, first[1]
        second = pool[int(rng.random() * len(pool))]
        return surname + first[0] + second[0], sp, first[1] + second[1]

    def _unique_handle(self, base: str) -> str:
        handle = base
        rng = self.rng
        while handle in self.handles:
            handle = base + str(rng.randrange(1, 10 ** rng.randint(2, 4)))
        self.handles.add(handle)
        return handle

    def _taobao_handle(self, name: str, sp: str, gp: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.22:
            base = (
                f"tb_{rng.randrange(1_000_000, 99_999_999)}"
                if rng.random() < 0.5
                else f"tb{rng.randrange(10**8, 10**10)}"
            )
        elif r < 0.55:
            base = rng.choice(data.NICK_HEADS) + rng.choice(data.NICK_LINKS) + rng.choice(data.NICK_TAILS)
        elif r < 0.65:
            base = rng.choice(data.NICK_WORDS)
            if rng.random() < 0.5:
                base += str(rng.choice([520, 1314, 666, 888, 2018, 2020, 99, 7, 1]))
        elif r < 0.85:
            tail = rng.choice(
                ["", str(rng.randrange(1, 100)), str(rng.randrange(1975, 2006)), "_" + str(rng.randrange(10, 1000))]
            )
            base = (gp + sp if rng.random() < 0.3 else sp + gp) + tail
        else:
            base = name + str(rng.randrange(1, 10000))
        return self._unique_handle(base)

    def _phone_cn(self) -> str:
        rng = self.rng
        prefix = self.phone_prefix[_bisect(self.phone_cum, rng.random() * self.phone_cum[-1])]
        return f"{prefix}{rng.randrange(100_000_000):08d}"

    def _birthday(self, young: bool) -> str:
        rng = self.rng
        year = int(rng.triangular(1962, 2007, 1992 if young else 1985))
        return (date(year, 1, 1) + timedelta(days=rng.randrange(365))).isoformat()

    def _order_days(self, segment: str, cal: _Calendar) -> list[int]:
        rng = self.rng
        cum = cal.cum_weights
        total = cum[-1]
        days = HISTORY_DAYS

        def seasonal(limit: float = total) -> int:
            return min(days - 1, _bisect(cum, rng.random() * limit))

        if segment == "one":
            return [seasonal()]
        if segment == "occasional":
            k = 2
            while k < 9 and rng.random() < 0.55:
                k += 1
            return sorted(seasonal() for _ in range(k))
        # loyal: a renewal process near the favourite product's cycle, pulled to the big shopping days. Many
        # started before the window opens (their early orders fall outside the 24 months), so the base is flat.
        start = rng.randrange(-400, days // 2)
        cycle = self._cycle * rng.uniform(0.55, 1.0)
        churn = rng.randrange(max(start, 0) + 120, days + 1) if rng.random() < 0.3 and start + 120 < days else days
        out = []
        t = float(start)
        peaks = cal.peaks
        while t < churn:
            day = int(t)
            for p in peaks:
                if day - 12 <= p <= day + 15 and rng.random() < 0.5:
                    day = p
                    t = float(p)
                    break
            if day >= 0:
                out.append(day)
            t += cycle * rng.uniform(0.7, 1.35)
        for p in peaks:
            if start < p < churn and rng.random() < 0.2:
                out.append(p)
        return sorted(out) or [seasonal()]

    def chunks(self, chunk_size: int = 10_000) -> Iterator[Chunk]:
        """Yield the customer-side rows in chunks of `chunk_size` customers."""
        chunk = Chunk()
        segments: list[str] = []
        platforms: list[str] = []
        for i in range(self.n):
            if i % _BLOCK == 0:
                segments = _SEGMENTS[:]
                platforms = _PLATFORMS[:]
                self.rng.shuffle(segments)
                self.rng.shuffle(platforms)
            self._customer(chunk, platforms[i % _BLOCK], segments[i % _BLOCK])
            if (i + 1) % chunk_size == 0:
                yield chunk
                chunk = Chunk()
        if chunk.customers:
            yield chunk

    def _customer(self, chunk: Chunk, platform: str, segment: str) -> None:
        rng = self.rng
        shop = self.shops[platform]
        cid = self._take("customer")
        r = rng.random()
        fav = data.FAVOURITE_CATEGORIES[_bisect(self.fav_cum, rng.random() * self.fav_cum[-1])]
        self._fav = fav
        self._cycle = data.CATEGORIES[fav].cycle_days
        corporate = segment != "one" and rng.random() < 0.006
        self._corporate = corporate
        if platform == "taobao":
            gender = "f" if r < 0.6 else "m" if r < 0.95 else ""
            name, sp, gp = self._chinese_name(gender)
            handle = self._taobao_handle(name, sp, gp)
            real_name = name if rng.random() < 0.85 else ""
            phone = ""
            if rng.random() < 0.88:
                phone = self._phone_cn()
                if rng.random() < 0.3:
                    phone = phone[:3] + "****" + phone[7:]
            email = ""
            if rng.random() < 0.12:
                domain = self.email_cn[_bisect(self.email_cn_cum, rng.random() * self.email_cn_cum[-1])]
                local = str(rng.randrange(10**6, 10**10)) if domain == "qq.com" else f"{sp}{gp}{rng.randrange(1, 1000)}"
                email = f"{local}@{domain}"
            province, city, districts = self.region_rows[_bisect(self.region_cum, rng.random() * self.region_cum[-1])]
            district = districts[int(rng.random() * len(districts))]
            address = (
                f"{rng.choice(data.ROADS)}{rng.choice(data.ROAD_KINDS)}{rng.randrange(1, 900)}号"
                f"{rng.choice(data.ESTATE_HEADS)}{rng.choice(data.ESTATE_TAILS)}"
                f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元{rng.randrange(1, 33)}0{rng.randrange(1, 5)}室"
            )
            birthday = self._birthday(young=True) if rng.random() < 0.4 else None
            calendar = "lunar" if birthday and rng.random() < 0.25 else "solar"
            receiver_phone = phone if phone else f"1{rng.randrange(30, 99)}****{rng.randrange(10000):04d}"
            receiver_address = f"{province}{city}{district}{address}"
            remote = province in data.REMOTE_PROVINCES
        else:
            gender = "f" if r < 0.55 else "m" if r < 0.95 else ""
            first = rng.choice(data.EN_FIRST_FEMALE if gender == "f" else data.EN_FIRST_MALE)
            last = rng.choice(data.EN_LAST)
            name = f"{first} {last}"
            real_name = name
            domain = self.email_en[_bisect(self.email_en_cum, rng.random() * self.email_en_cum[-1])]
            local = rng.choice([f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}", f"{first}{last}"]).lower()
            email = handle = self._unique_handle(f"{local}{rng.choice(['', '', str(rng.randrange(1, 100))])}@{domain}")
            province, cities, country = data.EN_PLACES[_bisect(self.en_place_cum, rng.random() * self.en_place_cum[-1])]
            city = rng.choices([c for c, _w in cities], weights=[w for _c, w in cities])[0]
            district = ""
            address = f"{rng.randrange(10, 9999)} {rng.choice(data.EN_STREETS)}"
            if rng.random() < 0.3:
                address += f" Apt {rng.randrange(1, 40)}"
            phone = f"+{country}{rng.randrange(2_000_000_000, 9_999_999_999)}" if rng.random() < 0.35 else ""
            birthday = self._birthday(young=False) if rng.random() < 0.25 else None
            calendar = "solar"
            receiver_phone = phone
            receiver_address = f"{address}, {city}, {province}"
            remote = False

        prefs = ("", "", "", "")
        price_strict = False
        if rng.random() < 0.25:
            prefs = (
                rng.choice(["alone", "recommend", "recommend", ""]),
                rng.choice(["quick", "slow", ""]),
                rng.choice(["easy", "strict", "strict", ""]),
                rng.choice(["novice", "partial", "partial", "expert", ""]),
            )
            price_strict = prefs[2] == "strict"

        days = self._order_days(segment, shop.calendar)
        bought_gift = False
        first_ts = last_ts = 0
        for n, day in enumerate(days):
            ts, gift = self._order(chunk, shop, cid, day, real_name or name, receiver_phone,
                                   receiver_address, remote)  # fmt: skip
            bought_gift = bought_gift or gift
            if n == 0:
                first_ts = ts
            last_ts = max(last_ts, ts)
        created = self.clock.fmt(first_ts)
        updated = self.clock.fmt(last_ts)
        chunk.customers.append(
            (cid, created, updated, name, real_name, gender, birthday, calendar, phone, email, province, city,
             district, address, *prefs, None, None, 0, "0.00", None, None, None)
        )  # fmt: skip
        chunk.identities.append((self._take("identity"), created, created, cid, platform, handle))

        tags: list[str] = []
        if segment == "loyal" and rng.random() < 0.6:
            tags.append("老客户")
        if fav == "绿茶" and segment != "one" and rng.random() < 0.4:
            tags.append("爱喝绿茶")
        if fav == "红茶" and segment != "one" and rng.random() < 0.4:
            tags.append("爱喝红茶")
        if fav in ("坚果", "果干", "饼干糕点", "肉脯卤味") and segment != "one" and rng.random() < 0.35:
            tags.append("零食控")
        if bought_gift and rng.random() < 0.4:
            tags.append("送礼客户")
        if price_strict and rng.random() < 0.7:
            tags.append("价格敏感")
        if corporate:
            tags.append("企业采购")
        if rng.random() < 0.01:
            tags.append("需跟进")
        for tag in tags:
            chunk.customertags.append((self._take("customertag"), cid, self.tag_ids[tag], updated))

        if platform == "taobao" and rng.random() < (0.12 if segment == "loyal" else 0.02):
            for _ in range(1 if rng.random() < 0.8 else 2):
                at = self.clock.fmt(rng.randrange(first_ts, max(first_ts + 1, last_ts + 86400)))
                body = data.NOTES[int(rng.random() * len(data.NOTES))]
                chunk.notes.append((self._take("note"), at, at, cid, self.note_author_id, body, rng.random() < 0.2))

        if platform == "taobao":
            if phone and "*" not in phone:
                if rng.random() < 0.45:
                    chunk.consents.append(
                        (self._take("consent"), created, created, cid, "sms", "care", True, "下单时同意")
                    )
                m = rng.random()
                if m < 0.3:
                    chunk.consents.append(
                        (self._take("consent"), created, created, cid, "sms", "marketing", True, "会员入会同意")
                    )
                elif m < 0.36:
                    chunk.consents.append(
                        (self._take("consent"), updated, updated, cid, "sms", "marketing", False, "回复TD退订")
                    )
            if email and rng.random() < 0.25:
                chunk.consents.append(
                    (self._take("consent"), created, created, cid, "email", "marketing", True, "会员入会同意")
                )
        else:
            m = rng.random()
            if m < 0.55:
                chunk.consents.append(
                    (self._take("consent"), created, created, cid, "email", "marketing", True, "Shopify checkout")
                )
            elif m < 0.65:
                chunk.consents.append(
                    (self._take("consent"), updated, updated, cid, "email", "marketing", False, "unsubscribe link")
                )

    # --- orders ---------------------------------------------------------------------------------------------

    def _order(
        self,
        chunk: Chunk,
        shop: _Shop,
        cid: int,
        day: int,
        receiver: str,
        receiver_phone: str,
        receiver_address: str,
        remote: bool,
    ) -> tuple[int, bool]:
        """Append one order with its lines; return its time and whether it holds a gift box."""
        rng = self.rng
        cal = shop.calendar
        taobao = shop.platform == "taobao"
        if taobao and cal.promo[day] and day in cal.peaks and rng.random() < 0.35:
            second = rng.randrange(0, 3600)  # midnight rush when a big sale opens
        else:
            second = _bisect(_HOUR_CUM, rng.random() * _HOUR_CUM[-1]) * 3600 + rng.randrange(3600)
        ordered = cal.day_start_utc[day] + second
        end = self.end_ts
        if ordered >= end - 600:
            ordered = end - rng.randrange(600, 6 * 3600)

        # basket
        gift_season = cal.gift[day]
        n_lines = _bisect(_LINES_CUM, rng.random() * _LINES_CUM[-1]) + 1
        lines: list[tuple[int, data.ProductSpec, int]] = []
        seen: set[int] = set()
        has_gift = False
        for k in range(n_lines):
            if self._corporate and gift_season and k == 0:
                category = "礼盒"
            elif k == 0 and rng.random() < 0.7:
                category = self._fav
            else:
                cum = self.cat_cum_gift if gift_season else self.cat_cum
                category = self.cat_names[_bisect(cum, rng.random() * cum[-1])]
            found = shop.by_category.get(category)
            if not found:
                continue
            items, icum = found
            pid, spec = items[_bisect(icum, rng.random() * icum[-1])]
            if pid in seen:
                continue
            seen.add(pid)
            q = rng.random()
            qty = 1 if q < 0.75 else 2 if q < 0.92 else 3 if q < 0.97 else rng.randint(4, 6)
            if self._corporate and category == "礼盒":
                qty = rng.randint(10, 40)
            has_gift = has_gift or category == "礼盒"
            lines.append((pid, spec, qty))
        promo = cal.promo[day]
        goods = 0
        line_rows: list[list[object]] = []
        order_id = self._take("order")
        for line_no, (pid, spec, qty) in enumerate(lines, start=1):
            unit = spec.price_cents * 85 // 100 if promo else spec.price_cents
            amount = unit * qty
            goods += amount
            line_rows.append(
                [
                    self._take("line"),
                    order_id,
                    line_no,
                    pid,
                    spec.title,
                    spec.sku,
                    qty,
                    _money(unit),
                    _money(amount),
                    "",
                ]
            )
        if taobao:
            shipping = 0 if goods >= 4900 and not (remote and goods < 19900) else (1500 if remote else 600)
        else:
            shipping = 0 if goods >= 4900 else 699
        total = goods + shipping

        # life cycle: the outcome is drawn first, the status is whatever stage has been reached by the end
        fate = rng.random()
        fmt = self.clock.fmt
        paid_at = shipped_at = delivered_at = confirmed_at = closed_at = None
        paid = refund = 0
        carrier = tracking = ""
        if fate < 0.055:  # never paid: closed by the platform after a day
            closed = ordered + 86400
            if closed <= end:
                status, closed_at = "closed", closed
            else:
                status = "pending"
            last = closed_at or ordered
        else:
            t_paid = ordered + int(rng.expovariate(1 / 300)) + 20
            busy = promo and day in cal.peaks
            t_ship = (
                t_paid + rng.randrange(24 * 3600, 96 * 3600) if busy else t_paid + rng.randrange(3 * 3600, 36 * 3600)
            )
            r_carrier = rng.random()
            if taobao:
                c = data.CARRIERS_CN[_bisect(self.carriers_cn_cum, r_carrier * self.carriers_cn_cum[-1])]
                if (has_gift or goods > 30000) and rng.random() < 0.5:
                    c = data.CARRIERS_CN[4]
            else:
                c = data.CARRIERS_EN[_bisect(self.carriers_en_cum, r_carrier * self.carriers_en_cum[-1])]
            transit = (1 if c[0] == "顺丰速运" else 2) + rng.randrange(0, 3 if taobao else 6)
            t_deliver = t_ship + transit * 86400 + rng.randrange(-6 * 3600, 6 * 3600)
            t_confirm = min(t_deliver + rng.randrange(6 * 3600, 8 * 86400), t_ship + 10 * 86400)
            t_confirm = max(t_confirm, t_deliver + 3600)
            if t_paid > end:
                status, last = "pending", ordered
            elif fate < 0.07:  # refunded before shipping
                t_refund = t_paid + rng.randrange(600, 20 * 3600)
                status = "refunded" if t_refund <= end else "paid"
                paid_at, paid = t_paid, total
                if status == "refunded":
                    closed_at, refund = t_refund, total
                last = closed_at or t_paid
            else:
                paid_at, paid = t_paid, total
                status, last = "paid", t_paid
                if t_ship <= end:
                    status, shipped_at, last = "shipped", t_ship, t_ship
                    carrier = c[0]
                    digits = c[3]
                    tracking = c[2] + str(rng.randrange(10 ** (digits - 1), 10**digits))
                if t_deliver <= end:
                    status, delivered_at, last = "delivered", t_deliver, t_deliver
                t_refund = t_deliver + rng.randrange(86400, 5 * 86400)
                if fate < 0.085 and t_refund <= end:  # returned after delivery: full refund
                    status, closed_at, refund, last = "refunded", t_refund, total, t_refund
                    for row in line_rows:
                        row[9] = "refunded"
                elif t_confirm <= end:
                    status, confirmed_at, last = "completed", t_confirm, t_confirm
                    if fate < 0.105 and len(line_rows) > 1:  # one line refunded (damaged, missing)
                        row = line_rows[-1]
                        row[9] = "refunded"
                        refund = int(str(row[8]).replace(".", ""))

        remark = rng.choice(data.BUYER_REMARKS) if taobao and rng.random() < 0.06 else ""
        memo = rng.choice(data.SELLER_MEMOS) if taobao and rng.random() < 0.02 else ""
        gift = rng.choice(data.GIFTS) if taobao and goods >= 19900 and rng.random() < 0.3 else ""
        if taobao:
            self._order_seq += 1
            order_no = str(3_800_000_000_000_000_000 + self._order_seq * 1000 + rng.randrange(1000))
        else:
            self._shopify_seq += 1
            order_no = f"#{1000 + self._shopify_seq}"
        o_ts = fmt(ordered)
        chunk.orders.append(
            (order_id, o_ts, fmt(last), shop.id, order_no, cid, status, _money(goods), _money(shipping),
             _money(total), _money(paid), _money(refund), o_ts,
             None if paid_at is None else fmt(paid_at),
             None if shipped_at is None else fmt(shipped_at),
             None if delivered_at is None else fmt(delivered_at),
             None if confirmed_at is None else fmt(confirmed_at),
             None if closed_at is None else fmt(closed_at),
             carrier, tracking, gift, remark, memo, receiver, receiver_phone, receiver_address)
        )  # fmt: skip
        chunk.lines.extend(tuple(row) for row in line_rows)
        return ordered, has_gift


def rows_digest(gen: DemoGenerator, chunks: Iterator[Chunk]) -> str:
    """SHA-256 over every generated row, to check that a seed reproduces the same shop."""
    h = hashlib.sha256()
    for row in itertools.chain(gen.shop_rows, gen.product_rows):
        h.update(repr(row).encode())
    for chunk in chunks:
        for table in Chunk.TABLES:
            for row in getattr(chunk, table):
                h.update(repr(row).encode())
    return h.hexdigest()


def copy_text(rows: Sequence[Row]) -> str:
    """Rows in PostgreSQL COPY text format. Generated text never holds a tab, newline or backslash, so nothing
    needs escaping; None is NULL and True/False are valid booleans."""
    if not rows:
        return ""
    return "\n".join(["\t".join(["\\N" if v is None else str(v) for v in row]) for row in rows]) + "\n"


def copy_chunks_produce(options: dict[str, object], chunk_size: int, out: Queue) -> None:
    """Child-process entry point: generate with `options` and put one {table: COPY text} dict per chunk on `out`
    (then None), so that generation runs on one core while the database loads on the other. A failure is put as
    an ("error", text) tuple."""
    try:
        gen = DemoGenerator(**options)  # type: ignore[arg-type]  # keyword arguments of DemoGenerator
        for chunk in gen.chunks(chunk_size):
            texts = {table: copy_text(getattr(chunk, table)) for table in Chunk.TABLES}
            out.put((len(chunk.customers), len(chunk.orders), len(chunk.lines), texts))
        out.put(None)
    except BaseException:
        out.put(("error", traceback.format_exc()))
