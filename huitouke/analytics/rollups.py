"""Rollups: the daily and monthly aggregates the analytics pages read instead of scanning every order.

Four tables (analytics.models), all in each shop's own time zone:

- `SalesDay` (shop, day): counted orders and their value;
- `ProductDay` (shop, day, product): units, line value, orders and last sale time of the lines not refunded;
- `CustomerMonth` (customer, shop, month): a buyer's counted orders and value, with the buyer's cohort;
- `CohortMonth` (cohort, month): buyers, orders and value per cell — the months' buyers, new and returning
  customers and the cohort table;
- `CohortSize` (cohort): buyers and repeat buyers (two or more orders, all time) — the dashboard's totals.

`rollups_update(customer_ids=…)` rewrites what the given customers' orders feed: every (shop, day) on which one
of them has an order, their own month rows, and the cohort cells those rows were and are in. The order writers
call it through `huitouke.jobs.refresh_after_orders_changed` (the import, the live order feed, merges);
`rollups_update(customer_ids=None)` rebuilds everything (the nightly job, `huitouke rollups-rebuild`).
An order whose time moved to another day leaves its old day to the nightly rebuild.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone

from huitouke.analytics.models import CohortMonth, CohortSize, CustomerMonth, ProductDay, SalesDay
from huitouke.orders.models import Order, OrderLine, Shop

#: Above this many touched customers one rebuild of everything is cheaper than the per-customer statements.
FULL_REBUILD_CUSTOMERS = 200_000
#: Days or cohort months per statement (bounds the IN lists).
CHUNK = 400
#: PostgreSQL advisory lock key serialising rollup writers (two imports finishing together).
LOCK_KEY = 0x6875_6974_726F


@dataclass(frozen=True)
class RollupResult:
    """What one update rewrote."""

    customers: int | None  # None: everything was rebuilt
    shop_days: int
    cohort_cells: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "shop_days": self.shop_days,
            "cohort_cells": self.cohort_cells,
            "seconds": round(self.seconds, 3),
        }


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _local(alias: str = "o", shop: str = "s", *, month: bool = False) -> str:
    """SQL for the calendar day (or month's first day) of an order's time in its shop's time zone."""
    if _pg():
        local = f"({alias}.ordered_at AT TIME ZONE {shop}.timezone)"
        return f"(date_trunc('month', {local})::date)" if month else f"({local}::date)"
    # SQLite has no time-zone database: each shop's current UTC offset, written into the SQL (integers only)
    cases = []
    now = timezone.now()
    for pk, tz in Shop.objects.values_list("pk", "timezone"):
        offset = now.astimezone(_zone(tz)).utcoffset() or timedelta(0)
        cases.append(f"WHEN {int(pk)} THEN '{int(offset.total_seconds() // 60):+d} minutes'")
    shift = f"CASE {alias}.shop_id {' '.join(cases)} ELSE '+0 minutes' END" if cases else "'+0 minutes'"
    return f"date({alias}.ordered_at, {shift}, 'start of month')" if month else f"date({alias}.ordered_at, {shift})"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _ids_sql(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    if _pg():
        return f"{column} = ANY(%s::bigint[])", [ids]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]


def _in(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _tables() -> dict[str, str]:
    return {
        "order": Order._meta.db_table,
        "line": OrderLine._meta.db_table,
        "shop": Shop._meta.db_table,
        "sales": SalesDay._meta.db_table,
        "product": ProductDay._meta.db_table,
        "cmonth": CustomerMonth._meta.db_table,
        "cohort": CohortMonth._meta.db_table,
        "size": CohortSize._meta.db_table,
    }


def _counted_sql() -> str:
    return ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input


def _sales_select(where: str) -> str:
    t, day = _tables(), _local()
    return (
        f"SELECT o.shop_id, {day}, COUNT(*), SUM(o.paid_amount - o.refund_amount)"
        f" FROM {t['order']} o JOIN {t['shop']} s ON s.id = o.shop_id"
        f" WHERE o.status IN ({_counted_sql()}){where} GROUP BY o.shop_id, {day}"
    )


def _product_select(where: str) -> str:
    t, day = _tables(), _local()
    refunded = OrderLine.RefundState.REFUNDED.value
    return (
        f"SELECT o.shop_id, {day}, l.product_id, SUM(l.quantity), SUM(l.amount), COUNT(DISTINCT o.id),"
        f" MAX(o.ordered_at)"
        f" FROM {t['line']} l JOIN {t['order']} o ON o.id = l.order_id JOIN {t['shop']} s ON s.id = o.shop_id"
        f" WHERE o.status IN ({_counted_sql()}) AND l.product_id IS NOT NULL AND l.refund_state <> '{refunded}'"
        f"{where} GROUP BY o.shop_id, {day}, l.product_id"
    )


def _customer_month_select(where: str) -> str:
    t, month = _tables(), _local(month=True)
    return (
        "SELECT customer_id, shop_id, month, MIN(month) OVER (PARTITION BY customer_id), n, revenue FROM ("
        f"SELECT o.customer_id, o.shop_id, {month} AS month, COUNT(*) AS n,"
        f" SUM(o.paid_amount - o.refund_amount) AS revenue"
        f" FROM {t['order']} o JOIN {t['shop']} s ON s.id = o.shop_id"
        f" WHERE o.status IN ({_counted_sql()}){where} GROUP BY o.customer_id, o.shop_id, {month}) AS m"
    )


def _cohort_select(where: str) -> str:
    t = _tables()
    return (
        f"SELECT cohort, month, COUNT(DISTINCT customer_id), SUM(orders), SUM(revenue) FROM {t['cmonth']}"
        f" WHERE 1 = 1{where} GROUP BY cohort, month"
    )


def _size_select(where: str) -> str:
    t = _tables()
    return (
        "SELECT cohort, COUNT(*), SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END) FROM ("
        f"SELECT cohort, customer_id, SUM(orders) AS n FROM {t['cmonth']} WHERE 1 = 1{where}"
        " GROUP BY cohort, customer_id) AS b GROUP BY cohort"
    )


def _insert(table: str, columns: str, select: str, params: list[Any]) -> int:
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {table} ({columns}) {select}", params)
        return int(cur.rowcount)


SALES_COLUMNS = "shop_id, day, orders, revenue"
PRODUCT_COLUMNS = "shop_id, day, product_id, units, revenue, orders, last_at"
CMONTH_COLUMNS = "customer_id, shop_id, month, cohort, orders, revenue"
COHORT_COLUMNS = "cohort, month, buyers, orders, revenue"
SIZE_COLUMNS = "cohort, buyers, repeaters"


def _lock() -> None:
    if _pg():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def rollups_rebuild() -> RollupResult:
    """Recompute every rollup from the orders (the nightly job; after bulk writes that bypass the hook)."""
    started = time.perf_counter()
    t = _tables()
    with transaction.atomic():
        _lock()
        with connection.cursor() as cur:
            keys = ("sales", "product", "cmonth", "cohort", "size")
            if _pg():
                # TRUNCATE, not DELETE: re-inserting every key over its own dead index entries costs several
                # times the aggregate; readers wait for this transaction instead (seconds, at night)
                cur.execute(f"TRUNCATE {', '.join(t[k] for k in keys)}")
                cur.execute("SET LOCAL work_mem = '64MB'")
            else:
                for key in keys:
                    cur.execute(f"DELETE FROM {t[key]}")
        days = _insert(t["sales"], SALES_COLUMNS, _sales_select(""), [])
        with _indexed_after(BUILT_BARE if _pg() else ()):
            _insert(t["product"], PRODUCT_COLUMNS, _product_select(""), [])
            _insert(t["cmonth"], CMONTH_COLUMNS, _customer_month_select(""), [])
        cells = _insert(t["cohort"], COHORT_COLUMNS, _cohort_select(""), [])
        _insert(t["size"], SIZE_COLUMNS, _size_select(""), [])
    if _pg():
        with connection.cursor() as cur:
            for key in ("sales", "product", "cmonth", "cohort", "size"):
                cur.execute(f"ANALYZE {t[key]}")
    return RollupResult(customers=None, shop_days=days, cohort_cells=cells, seconds=time.perf_counter() - started)


#: The rollups a full rebuild on PostgreSQL fills with no index but the primary key, then indexes once (load, then
#: index): at 1,000,000 order lines their 600,000 product days and 580,000 customer months took 19 s to insert
#: into their indexes, 12 s without and 2.5 s to index after. Only inside the rebuild's transaction, which has
#: emptied them with TRUNCATE and so already keeps every reader out until it commits.
BUILT_BARE: tuple[type[models.Model], ...] = (ProductDay, CustomerMonth)


@contextmanager
def _indexed_after(tables: tuple[type[models.Model], ...]) -> Iterator[None]:
    """Within the block, `tables` have none of their declared indexes and unique constraints; they are built
    again as the block ends (a constraint then checks every row at once). Call inside a transaction: an error
    rolls the drops back with everything else."""
    if not tables:
        yield
        return
    with connection.cursor() as cur:  # IF EXISTS: the rebuild is also how a damaged table is put right
        for model in tables:
            table = connection.ops.quote_name(model._meta.db_table)
            for constraint in model._meta.constraints:
                cur.execute(
                    f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {connection.ops.quote_name(constraint.name)}"
                )
            for index in model._meta.indexes:
                cur.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(str(index.name))}")
    yield
    with connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
    with connection.schema_editor(atomic=False) as editor:
        for model in tables:
            for constraint in model._meta.constraints:
                editor.add_constraint(model, constraint)
            for index in model._meta.indexes:
                editor.add_index(model, index)


def rollups_update(*, customer_ids: Iterable[int] | None) -> RollupResult:
    """Bring the rollups up to date after the orders of `customer_ids` were written (None: rebuild all).

    Rewrites every (shop, day) on which one of them has an order (any status: a refund or a closing lowers a
    day), their month rows, and the cohort cells those rows were in before and are in now. One transaction;
    on PostgreSQL an advisory lock serialises concurrent updates. When more customers are touched than the
    rollups hold buyers (a first import), or more than FULL_REBUILD_CUSTOMERS, everything is rebuilt instead."""
    if customer_ids is None:
        return rollups_rebuild()
    ids = sorted(set(customer_ids))
    if len(ids) > FULL_REBUILD_CUSTOMERS or len(ids) > _buyers_rolled_up():
        return rollups_rebuild()  # most buyers touched (a first import): one pass over everything is cheaper
    started = time.perf_counter()
    if not ids:
        return RollupResult(customers=0, shop_days=0, cohort_cells=0, seconds=0.0)
    t = _tables()
    with transaction.atomic():
        _lock()
        shop_days = _touched_days(ids)
        for shop_id, days in shop_days.items():
            _rewrite_days(shop_id, sorted(days))
        cells = _rewrite_customer_months(ids)
        for cohort, months in cells.items():
            key = connection.ops.adapt_datefield_value(cohort)
            for part in _chunks(sorted(months)):
                where, params = _in("month", [connection.ops.adapt_datefield_value(m) for m in part])
                with connection.cursor() as cur:
                    cur.execute(f"DELETE FROM {t['cohort']} WHERE cohort = %s AND {where}", [key, *params])
                _insert(t["cohort"], COHORT_COLUMNS, _cohort_select(f" AND cohort = %s AND {where}"), [key, *params])
        for part in _chunks(sorted(cells)):
            where, params = _in("cohort", [connection.ops.adapt_datefield_value(c) for c in part])
            with connection.cursor() as cur:
                cur.execute(f"DELETE FROM {t['size']} WHERE {where}", params)
            _insert(t["size"], SIZE_COLUMNS, _size_select(f" AND {where}"), params)
    return RollupResult(
        customers=len(ids),
        shop_days=sum(len(d) for d in shop_days.values()),
        cohort_cells=sum(len(m) for m in cells.values()),
        seconds=time.perf_counter() - started,
    )


def _buyers_rolled_up() -> int:
    """About how many buyers the rollups hold (the cohort sizes' sum: a handful of rows)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(SUM(buyers), 0) FROM {_tables()['size']}")
        return int(cur.fetchone()[0])


def _touched_days(ids: list[int]) -> dict[int, set[date]]:
    t, day = _tables(), _local()
    where, params = _ids_sql("o.customer_id", ids)
    out: dict[int, set[date]] = defaultdict(set)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT DISTINCT o.shop_id, {day} FROM {t['order']} o JOIN {t['shop']} s ON s.id = o.shop_id"
            f" WHERE {where}",
            params,
        )
        for shop_id, value in cur.fetchall():
            out[int(shop_id)].add(_as_date(value))
    return out


def _rewrite_days(shop_id: int, days: list[date]) -> None:
    """Delete and recompute one shop's SalesDay and ProductDay rows of `days`, reading only the orders of a
    time range around them (the shop/time index) and keeping those whose local day is one of them."""
    t = _tables()
    tz = _zone(Shop.objects.filter(pk=shop_id).values_list("timezone", flat=True).first() or "UTC")
    for part in _chunks(days):
        lo = datetime.combine(part[0] - timedelta(days=1), datetime.min.time(), tzinfo=tz)
        hi = datetime.combine(part[-1] + timedelta(days=2), datetime.min.time(), tzinfo=tz)
        in_days, day_params = _in(_local(), [connection.ops.adapt_datefield_value(d) for d in part])
        where = f" AND o.shop_id = %s AND o.ordered_at >= %s AND o.ordered_at < %s AND {in_days}"
        params = [
            shop_id,
            connection.ops.adapt_datetimefield_value(lo),
            connection.ops.adapt_datetimefield_value(hi),
            *day_params,
        ]
        keys, key_params = _in("day", [connection.ops.adapt_datefield_value(d) for d in part])
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {t['sales']} WHERE shop_id = %s AND {keys}", [shop_id, *key_params])
            cur.execute(f"DELETE FROM {t['product']} WHERE shop_id = %s AND {keys}", [shop_id, *key_params])
        _insert(t["sales"], SALES_COLUMNS, _sales_select(where), params)
        _insert(t["product"], PRODUCT_COLUMNS, _product_select(where), params)


def _cells(ids: list[int]) -> list[tuple[date, date]]:
    where, params = _ids_sql("customer_id", ids)
    with connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT cohort, month FROM {_tables()['cmonth']} WHERE {where}", params)
        return [(_as_date(c), _as_date(m)) for c, m in cur.fetchall()]


def _rewrite_customer_months(ids: list[int]) -> dict[date, set[date]]:
    """Replace the customers' month rows; return the cohort cells they were in before or are in now."""
    t = _tables()
    before = _cells(ids)
    where, params = _ids_sql("customer_id", ids)
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {t['cmonth']} WHERE {where}", params)
    where, params = _ids_sql("o.customer_id", ids)
    _insert(t["cmonth"], CMONTH_COLUMNS, _customer_month_select(f" AND {where}"), params)
    out: dict[date, set[date]] = defaultdict(set)
    for cohort, month in [*before, *_cells(ids)]:
        out[cohort].add(month)
    return out
