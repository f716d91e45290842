"""The generator's state: the shops with their catalogues and calendars, the lookup tables the draws use, the
random source and the id counters. The customer and order draws build on it (people.py, orders.py)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from huitouke.demo import data
from huitouke.demo.generator.calendar import HISTORY_DAYS, Calendar, shop_calendar
from huitouke.demo.generator.rows import Clock, IdStart, Row, money

_CN_OFFSET = 8 * 3600  # Asia/Shanghai has no daylight saving time


@dataclass
class ShopPlan:
    id: int
    platform: str
    name: str
    tz: str
    currency: str
    products: list[tuple[int, data.ProductSpec]]
    by_category: dict[str, tuple[list[tuple[int, data.ProductSpec]], list[float]]]
    calendar: Calendar


class GeneratorBase:
    """What every draw shares; see DemoGenerator."""

    # Set per customer by the customer draw, read by the order draw.
    _fav: str
    _cycle: int
    _corporate: bool

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
        self.clock = Clock()
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
        self.shops: dict[str, ShopPlan] = {}
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
                        money(spec.price_cents),
                    )
                )
            by_category: dict[str, tuple[list[tuple[int, data.ProductSpec]], list[float]]] = {}
            for category in data.CATEGORIES:
                items = [p for p in listed if p[1].category == category]
                if items:
                    by_category[category] = (items, list(itertools.accumulate(p[1].weight for p in items)))
            self.shops[platform] = ShopPlan(
                shop_id,
                platform,
                name,
                tz,
                currency,
                listed,
                by_category,
                shop_calendar(self.start, HISTORY_DAYS, tz, chinese=chinese),
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
