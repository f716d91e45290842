"""Orders: when a customer buys (one-time, occasional or loyal on the favourite product's cycle, pulled to the
big shopping days) and what each order holds and goes through (basket, shipping, payment, delivery, refunds)."""

from __future__ import annotations

import itertools
from bisect import bisect_right

from huitouke.demo import data
from huitouke.demo.generator.base import GeneratorBase, ShopPlan
from huitouke.demo.generator.calendar import HISTORY_DAYS, Calendar
from huitouke.demo.generator.rows import Chunk, money

_HOUR_WEIGHTS = [3, 1.5, 0.6, 0.3, 0.2, 0.3, 0.8, 1.5, 2.5, 3.5, 4.5, 4.5, 4, 4, 4.5, 4.5, 4.2, 4, 3.5, 4.5, 6, 7,
                 6.5, 4.5]  # fmt: skip
_HOUR_CUM = list(itertools.accumulate(_HOUR_WEIGHTS))
_LINES_CUM = list(itertools.accumulate([55, 28, 12, 4, 1]))


class Orders(GeneratorBase):
    """The order draws of DemoGenerator."""

    def _order_days(self, segment: str, cal: Calendar) -> list[int]:
        rng = self.rng
        cum = cal.cum_weights
        total = cum[-1]
        days = HISTORY_DAYS

        def seasonal(limit: float = total) -> int:
            return min(days - 1, bisect_right(cum, rng.random() * limit))

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

    # --- orders ---------------------------------------------------------------------------------------------

    def _order(
        self,
        chunk: Chunk,
        shop: ShopPlan,
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
            second = bisect_right(_HOUR_CUM, rng.random() * _HOUR_CUM[-1]) * 3600 + rng.randrange(3600)
        ordered = cal.day_start_utc[day] + second
        end = self.end_ts
        if ordered >= end - 600:
            ordered = end - rng.randrange(600, 6 * 3600)

        # basket
        gift_season = cal.gift[day]
        n_lines = bisect_right(_LINES_CUM, rng.random() * _LINES_CUM[-1]) + 1
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
                category = self.cat_names[bisect_right(cum, rng.random() * cum[-1])]
            found = shop.by_category.get(category)
            if not found:
                continue
            items, icum = found
            pid, spec = items[bisect_right(icum, rng.random() * icum[-1])]
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
                    money(unit),
                    money(amount),
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
                c = data.CARRIERS_CN[bisect_right(self.carriers_cn_cum, r_carrier * self.carriers_cn_cum[-1])]
                if (has_gift or goods > 30000) and rng.random() < 0.5:
                    c = data.CARRIERS_CN[4]
            else:
                c = data.CARRIERS_EN[bisect_right(self.carriers_en_cum, r_carrier * self.carriers_en_cum[-1])]
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
            (order_id, o_ts, fmt(last), shop.id, order_no, cid, status, money(goods), money(shipping),
             money(total), money(paid), money(refund), o_ts,
             None if paid_at is None else fmt(paid_at),
             None if shipped_at is None else fmt(shipped_at),
             None if delivered_at is None else fmt(delivered_at),
             None if confirmed_at is None else fmt(confirmed_at),
             None if closed_at is None else fmt(closed_at),
             carrier, tracking, gift, remark, memo, receiver, receiver_phone, receiver_address,
             None)  # fingerprint: unknown, so a first re-import compares these orders in full and stores it
        )  # fmt: skip
        chunk.lines.extend(tuple(row) for row in line_rows)
        return ordered, has_gift
