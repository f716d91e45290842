"""Analytics writes: the refresh that scores every buyer (RFM, segment, CLV predictions), keeps the weekly RFM
snapshot and records the run.

Set-based: one aggregate query over the counted orders (per customer and local day), numpy for the scores and the
models, and bulk writes (core.bulk: COPY on PostgreSQL) inside one transaction. Counted orders and amounts are
those of the customer's stats (Order.COUNTED; paid minus refunded), so F and M equal the archive's order count
and total spent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from huitouke.analytics import clv, rfm
from huitouke.analytics.models import CustomerScore, RfmSnapshot, ScoreRun
from huitouke.analytics.selectors import fetch_int_rows, local_day_sql
from huitouke.core.bulk import TableWriter, bulk_insert
from huitouke.orders.models import Order

log = logging.getLogger(__name__)

#: Expected purchases are given for this many days ahead; the CLV covers 12 months.
HORIZON_DAYS = 90
#: A next-purchase date further ahead than this is not promised (the field stays empty).
NEXT_PURCHASE_MAX_DAYS = 365
#: Weekly snapshots older than this many weeks are dropped.
KEEP_WEEKS = 13
#: Rows are moved between the database and numpy in slices of this many.
CHUNK = 50_000
EPOCH = date(1970, 1, 1)
_LOCK = 5_250_001  # PostgreSQL advisory lock id of the refresh (one at a time)
#: The core Job kind of a refresh started from the dashboard, and the stages its progress goes through.
REFRESH_JOB_KIND = "analytics-refresh"
REFRESH_STAGES = ("orders", "rfm", "models", "write")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: customers scored, customers per segment, the fitted models (None when they could not
    be fitted, with the reason), the week written and the movements against the previous snapshot week."""

    customers: int
    segments: dict[str, int]
    bgnbd: dict[str, Any] | None
    gamma_gamma: dict[str, Any] | None
    fit_error: str
    week: date
    previous_week: date | None
    movements: list[tuple[str, str, int]] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "segments": self.segments,
            "bgnbd": self.bgnbd,
            "gamma_gamma": self.gamma_gamma,
            "fit_error": self.fit_error,
            "week": self.week.isoformat(),
            "previous_week": self.previous_week.isoformat() if self.previous_week else None,
            "movements": [{"from": a, "to": b, "customers": n} for a, b, n in self.movements],
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class BuyerTable:
    """Per buyer (ascending customer id): first and last purchase day (days since 1970-01-01, local), purchase
    days, counted orders, spent (cents) and the amount of the first purchase day (cents)."""

    customer: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    days: np.ndarray
    orders: np.ndarray
    cents: np.ndarray
    first_cents: np.ndarray

    @property
    def size(self) -> int:
        return int(self.customer.size)


def buyer_table(*, until_day: int | None = None) -> BuyerTable:
    """Aggregate the counted orders per customer and local day in the database, then per customer in numpy.
    Days after `until_day` are left out (orders stamped in the future)."""
    order_table = Order._meta.db_table
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input
    day, params = local_day_sql()
    cents = (
        "ROUND(SUM(o.paid_amount - o.refund_amount) * 100)::bigint"
        if connection.vendor == "postgresql"
        else "CAST(ROUND(SUM(o.paid_amount - o.refund_amount) * 100) AS INTEGER)"
    )
    sql = (
        f"SELECT o.customer_id, {day} AS day, COUNT(*), {cents} FROM {order_table} o"
        f" WHERE o.status IN ({counted}) GROUP BY 1, 2"
    )
    data = fetch_int_rows(sql, params, width=4)
    if until_day is not None:
        data = data[data[:, 1] <= until_day]
    if data.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return BuyerTable(empty, empty, empty, empty, empty, empty, empty)
    order = np.lexsort((data[:, 1], data[:, 0]))
    data = data[order]
    cust, days, n, amount = data[:, 0], data[:, 1], data[:, 2], data[:, 3]
    new = np.empty(cust.size, dtype=bool)
    new[0] = True
    np.not_equal(cust[1:], cust[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], cust.size) - 1
    return BuyerTable(
        customer=cust[starts],
        first_day=days[starts],
        last_day=days[ends],
        days=ends - starts + 1,
        orders=np.add.reduceat(n, starts),
        cents=np.add.reduceat(amount, starts),
        first_cents=amount[starts],
    )


@dataclass(frozen=True)
class Predictions:
    """CLV model output per buyer (aligned with the BuyerTable); all NaN when the models could not be fitted."""

    p_alive: np.ndarray
    expected: np.ndarray
    value: np.ndarray
    wait_days: np.ndarray
    bgnbd: clv.BgNbdParams | None
    gamma_gamma: clv.GammaGammaParams | None
    error: str


def predict(table: BuyerTable, today: int) -> Predictions:
    """Fit BG/NBD (days) and Gamma-Gamma on the buyers and predict. A model that cannot be fitted leaves its
    outputs empty and says why; without Gamma-Gamma the CLV uses the customer's own mean per purchase day."""
    n = table.size
    empty = np.full(n, np.nan)
    x = (table.days - 1).astype(np.float64)
    t_x = (table.last_day - table.first_day).astype(np.float64)
    T = (today - table.first_day).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        repeat_mean = np.where(x > 0, (table.cents - table.first_cents) / 100.0 / np.maximum(x, 1), np.nan)
    try:
        bg = clv.bgnbd_fit(x, t_x, T)
    except clv.FitError as exc:
        return Predictions(empty, empty, empty, empty, None, None, str(exc))
    errors = []
    gg: clv.GammaGammaParams | None
    try:
        gg = clv.gamma_gamma_fit(x, repeat_mean)
    except clv.FitError as exc:
        gg = None
        errors.append(str(exc))
    p_alive = clv.bgnbd_p_alive(bg, x, t_x, T)
    expected = clv.bgnbd_expected_purchases(bg, HORIZON_DAYS, x, t_x, T)
    own_mean = table.cents / 100.0 / table.days
    value = clv.clv(bg, gg, x, t_x, T, repeat_mean, months=12, unit_days=1.0, fallback_spend=own_mean)
    wait = clv.bgnbd_next_purchase_wait(bg, x, t_x, T)
    return Predictions(p_alive, expected, value, wait, bg, gg, "; ".join(errors))


def week_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def scores_refresh(*, now: datetime | None = None, progress: Progress | None = None) -> RefreshResult:
    """Score every buyer and rewrite CustomerScore, the current week's RfmSnapshot rows and a ScoreRun, then
    the stored whole-archive figures (analytics.snapshots: customer groups, product quality).

    "Today" is the business date of `now` (default: now). Customers without a counted order get no score; a
    model that cannot be fitted leaves the predictions empty and the reason in the result (fit_error). One
    refresh at a time (an advisory lock on PostgreSQL; SQLite has one writer). Returns the RefreshResult."""
    started = time.perf_counter()
    moment = now or timezone.now()
    today = timezone.localdate(moment)
    today_n = (today - EPOCH).days
    step = progress or (lambda stage: None)

    step("orders")
    table = buyer_table(until_day=today_n)
    step("rfm")
    recency = today_n - table.last_day
    scores = rfm.score(recency, table.orders, table.cents)
    step("models")
    pred = predict(table, today_n)
    step("write")
    week = week_of(today)
    keys = np.array(rfm.KEYS, dtype=object)[scores.segment.astype(np.int64)] if table.size else np.array([])
    with transaction.atomic():
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        _write_scores(table, scores.r, scores.f, scores.m, keys, recency, pred, today, moment)
        previous_week, moves = _write_snapshot(table, scores.r, scores.f, scores.m, keys, week)
        result = RefreshResult(
            customers=table.size,
            segments=scores.distribution(),
            bgnbd=pred.bgnbd.as_json() if pred.bgnbd else None,
            gamma_gamma=pred.gamma_gamma.as_json() if pred.gamma_gamma else None,
            fit_error=pred.error,
            week=week,
            previous_week=previous_week,
            movements=moves,
            seconds=time.perf_counter() - started,
        )
        ScoreRun.objects.create(
            started_at=moment,
            finished_at=timezone.now(),
            week=week,
            previous_week=previous_week,
            customers=result.customers,
            bgnbd=result.bgnbd,
            gamma_gamma=result.gamma_gamma,
            fit_error=result.fit_error[:500],
            distribution=result.segments,
            movements=[list(m) for m in moves],
        )
    from huitouke.analytics.snapshots import snapshots_refresh  # snapshots read the selectors, which read models

    snapshots_refresh()
    log.info("analytics refresh: %s customers in %.1f s", result.customers, result.seconds)
    return result


def _write_scores(
    table: BuyerTable,
    r: np.ndarray,
    f: np.ndarray,
    m: np.ndarray,
    keys: np.ndarray,
    recency: np.ndarray,
    pred: Predictions,
    today: date,
    moment: datetime,
) -> None:
    CustomerScore.objects.all().delete()
    if table.size == 0:
        return
    names = (
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
        "p_alive",
        "expected_purchases",
        "clv",
        "next_purchase_on",
        "computed_at",
    )

    def rows() -> Iterator[tuple[Any, ...]]:
        # in slices, so that a million customers never exist as Python objects all at once
        for lo in range(0, table.size, CHUNK):
            hi = min(lo + CHUNK, table.size)
            cut = slice(lo, hi)
            yield from zip(
                table.customer[cut].tolist(),
                recency[cut].tolist(),
                table.orders[cut].tolist(),
                [f"{c / 100:.2f}" for c in table.cents[cut].tolist()],
                r[cut].tolist(),
                f[cut].tolist(),
                m[cut].tolist(),
                keys[cut].tolist(),
                [None if v != v else round(v, 6) for v in pred.p_alive[cut].tolist()],
                [None if v != v else round(v, 6) for v in pred.expected[cut].tolist()],
                [None if v != v else f"{v:.2f}" for v in pred.value[cut].tolist()],
                [
                    today + timedelta(days=int(np.ceil(w))) if w == w and w <= NEXT_PURCHASE_MAX_DAYS else None
                    for w in pred.wait_days[cut].tolist()
                ],
                [moment] * (hi - lo),
                strict=True,
            )

    TableWriter(CustomerScore, now=moment).insert_tuples(names, rows())


def _write_snapshot(
    table: BuyerTable, r: np.ndarray, f: np.ndarray, m: np.ndarray, keys: np.ndarray, week: date
) -> tuple[date | None, list[tuple[str, str, int]]]:
    """Replace this week's snapshot rows, drop old weeks, and count the moves from the latest earlier week."""
    RfmSnapshot.objects.filter(week=week).delete()
    RfmSnapshot.objects.filter(week__lt=week - timedelta(weeks=KEEP_WEEKS)).delete()
    adapt = connection.ops.adapt_datefield_value
    if table.size:
        columns = ("week", "customer_id", "segment", "r_score", "f_score", "m_score")  # the id comes from its sequence
        stamp = adapt(week)

        def rows() -> Iterator[tuple[Any, ...]]:
            for lo in range(0, table.size, CHUNK):
                cut = slice(lo, lo + CHUNK)
                customers = table.customer[cut].tolist()
                yield from zip(
                    [stamp] * len(customers),
                    customers,
                    keys[cut].tolist(),
                    r[cut].tolist(),
                    f[cut].tolist(),
                    m[cut].tolist(),
                    strict=True,
                )

        bulk_insert(RfmSnapshot, columns, rows())
    previous = RfmSnapshot.objects.filter(week__lt=week).order_by("-week").values_list("week", flat=True).first()
    if previous is None:
        return None, []
    snap = RfmSnapshot._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT p.segment, c.segment, COUNT(*) FROM {snap} c"
            f" JOIN {snap} p ON p.customer_id = c.customer_id AND p.week = %s"
            " WHERE c.week = %s AND p.segment <> c.segment GROUP BY p.segment, c.segment",
            [adapt(previous), adapt(week)],
        )
        found = [(a, b, int(n)) for a, b, n in cur.fetchall()]
    order = {k: i for i, k in enumerate(rfm.KEYS)}
    found.sort(key=lambda t: (-t[2], order.get(t[0], 99), order.get(t[1], 99)))
    return previous, found


def score_forget(*, customer_id: int) -> None:
    """Drop a customer's current score (after a merge: the orders now belong to the other customer)."""
    CustomerScore.objects.filter(customer_id=customer_id).delete()
