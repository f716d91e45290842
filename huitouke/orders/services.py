"""Order writes that other apps rely on: shop creation and the set-based refresh of customer stats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Max, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from huitouke.core.bulk import update_from_supported, values_in
from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer, CustomerIdentity, Platform
from huitouke.orders.models import ImportMapping, Order, Shop


def shop_get_or_create(*, name: str, platform: str = Platform.TAOBAO, timezone: str = "Asia/Shanghai") -> Shop:
    """The shop with this name, created on first use."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("the shop name is empty", field="shop")
    if platform not in Platform.values:
        raise ApplicationError(f"unknown platform {platform!r}", field="platform")
    shop, _created = Shop.objects.get_or_create(name=name, defaults={"platform": platform, "timezone": timezone})
    return shop


def _stats_update(qs: object) -> int:
    counted = Order.objects.filter(customer=OuterRef("pk"), status__in=Order.COUNTED).order_by().values("customer")
    money = DecimalField(max_digits=14, decimal_places=2)
    return Customer.objects.filter(pk__in=qs).update(  # type: ignore[misc]  # qs is a subquery or id list
        order_count=Coalesce(Subquery(counted.annotate(n=Count("id")).values("n")), 0),
        total_spent=Coalesce(
            Subquery(counted.annotate(s=Sum(F("paid_amount") - F("refund_amount"))).values("s")),
            Value(0),
            output_field=money,
        ),
        first_order_at=Subquery(counted.annotate(t=Min("ordered_at")).values("t")),
        last_order_at=Subquery(counted.annotate(t=Max("ordered_at")).values("t")),
    )


#: Up to this many customers, PostgreSQL aggregates each one's counted orders through the partial index
#: (LATERAL); beyond it (and for everyone) one pass over the orders grouped by customer is cheaper.
LATERAL_MAX = 5000


def _stats_update_joined(ids: list[int] | None) -> int:
    """One UPDATE … FROM (aggregate of the counted orders, GROUP BY customer) join: scans the orders once instead
    of running four correlated subqueries per customer. PostgreSQL, and SQLite from 3.33 (UPDATE … FROM). For a
    few customers on PostgreSQL (a push, LATERAL_MAX) each one's orders are aggregated through the counted-orders
    index instead: the planner, blind to the id array's size, would otherwise filter every customer against
    every aggregate row. A customer whose numbers are already right is not rewritten (each rewrite maintains
    every index of the customer table), so the count returned is of the customers whose numbers changed."""
    customer, order = Customer._meta.db_table, Order._meta.db_table
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input
    params: list[Any] = []
    pairs = (("order_count", "COALESCE(a.n, 0)"), ("total_spent", "COALESCE(a.spent, 0)"),
             ("first_order_at", "a.first_at"), ("last_order_at", "a.last_at"))  # fmt: skip
    if connection.vendor == "postgresql":
        changed = f"({', '.join(f'c.{c}' for c, _ in pairs)}) IS DISTINCT FROM ({', '.join(v for _, v in pairs)})"
    else:  # SQLite: IS NOT compares NULLs as values
        changed = f"({' OR '.join(f'c.{c} IS NOT {v}' for c, v in pairs)})"
    if ids is not None and connection.vendor == "postgresql" and len(ids) <= LATERAL_MAX:
        sql = f"""
            UPDATE {customer} AS c
            SET order_count = a.n, total_spent = COALESCE(a.spent, 0),
                first_order_at = a.first_at, last_order_at = a.last_at
            FROM unnest(%s::bigint[]) AS t(id)
            CROSS JOIN LATERAL (
                SELECT COUNT(*) AS n, SUM(o.paid_amount - o.refund_amount) AS spent,
                       MIN(o.ordered_at) AS first_at, MAX(o.ordered_at) AS last_at
                FROM {order} o
                WHERE o.status IN ({counted}) AND o.customer_id = t.id
            ) AS a
            WHERE c.id = t.id AND {changed}
        """
        with connection.cursor() as cur:
            # each customer's row through the primary key, joined in a loop: the planner weighs that against
            # hashing the whole customer table, and without statistics (a new database, autovacuum behind) it holds
            # the table small and hashes it for a few hundred ids (only this statement: the settings are put back)
            cur.execute(
                "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'),"
                " set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
            )
            hashjoin, mergejoin, *_ = cur.fetchone()
            cur.execute(sql, [ids])
            updated = int(cur.rowcount)
            cur.execute(
                "SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)",
                [hashjoin, mergejoin],
            )
            return updated
    if ids is None:
        targets, agg_filter = f"SELECT id FROM {customer}", ""
    elif connection.vendor == "postgresql":
        targets, agg_filter = "SELECT unnest(%s::bigint[]) AS id", " AND o.customer_id = ANY(%s::bigint[])"
        params = [ids, ids]
    else:  # not `values_in`: the id list is joined as a table here, and SQLite plans `id IN (json_each)` badly
        targets = "SELECT value AS id FROM json_each(%s)"
        agg_filter = " AND o.customer_id IN (SELECT value FROM json_each(%s))"
        params = [json.dumps(ids)] * 2
    sql = f"""
        UPDATE {customer} AS c
        SET order_count = COALESCE(a.n, 0), total_spent = COALESCE(a.spent, 0),
            first_order_at = a.first_at, last_order_at = a.last_at
        FROM ({targets}) AS t
        LEFT JOIN (
            SELECT o.customer_id, COUNT(*) AS n, SUM(o.paid_amount - o.refund_amount) AS spent,
                   MIN(o.ordered_at) AS first_at, MAX(o.ordered_at) AS last_at
            FROM {order} o
            WHERE o.status IN ({counted}){agg_filter}
            GROUP BY o.customer_id
        ) AS a ON a.customer_id = t.id
        WHERE c.id = t.id AND {changed}
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return int(cur.rowcount)


def customer_stats_refresh(*, customer_ids: Iterable[int] | None = None) -> int:
    """Recompute first/last order, order count and total spent for the given customers (all when None).

    Counted orders are paid and neither closed nor fully refunded (Order.COUNTED); spent is paid minus
    refunded. One statement whatever the number of customers: an UPDATE … FROM join with the per-customer
    aggregate of their orders (PostgreSQL, SQLite 3.33+), elsewhere an UPDATE with correlated subqueries over the
    id set (`values_in`, one parameter). Returns the number of customers updated (with the join: whose numbers
    changed). Lives here rather than in `customers` because orders own the numbers; it is the only write `orders`
    makes to customer rows.
    """
    ids = None if customer_ids is None else sorted(set(customer_ids))
    if ids == []:
        return 0
    with transaction.atomic():
        if update_from_supported():
            return _stats_update_joined(ids)
        if ids is None:
            return _stats_update(Customer.objects.values("pk"))
        return _stats_update(values_in(ids, "bigint"))


def import_mapping_save(*, name: str, mapping: dict[str, str]) -> ImportMapping:
    """Save (or replace) a named column mapping for generic files. Empty names and unknown fields are refused."""
    from huitouke.orders.importers import GENERIC_FIELDS

    name = (name or "").strip()
    if not name:
        raise ApplicationError("the mapping needs a name", field="mapping_name")
    if len(name) > 64:
        raise ApplicationError("a mapping name has at most 64 characters", field="mapping_name")
    unknown = sorted(set(mapping) - set(GENERIC_FIELDS))
    if unknown:
        raise ApplicationError(f"unknown field(s): {', '.join(unknown)}", field="mapping")
    clean = {k: v for k, v in mapping.items() if v}
    saved, _created = ImportMapping.objects.update_or_create(name=name, defaults={"mapping": clean})
    return saved


def member_levels_resolve(
    *, levels: dict[tuple[int, str, str], tuple[Any, int, str]]
) -> dict[int, dict[int, tuple[str, int]]]:
    """The member levels an import collected (`ImportResult.member_levels`: per shop, platform and buyer handle),
    per shop and customer: {shop id: {customer id: (level name, row number)}}. A customer reached through two
    handles keeps the level of their newer order. Handles with no customer (rows that were rejected) are left out."""
    by_platform: dict[str, list[str]] = {}
    for _shop_id, platform, handle in levels:
        by_platform.setdefault(platform, []).append(handle)
    owner: dict[tuple[str, str], int] = {}
    for platform, handles in by_platform.items():
        for start in range(0, len(handles), 5000):
            for handle, cid in CustomerIdentity.objects.filter(
                platform=platform, handle__in=values_in(handles[start : start + 5000])
            ).values_list("handle", "customer_id"):
                owner[(platform, handle)] = cid
    newest: dict[tuple[int, int], tuple[Any, int, str]] = {}
    for (shop_id, platform, handle), value in levels.items():
        found = owner.get((platform, handle))
        if found is None:
            continue
        cid = found
        seen = newest.get((shop_id, cid))
        if seen is None or value[0] >= seen[0]:
            newest[(shop_id, cid)] = value
    out: dict[int, dict[int, tuple[str, int]]] = {}
    for (shop_id, cid), (_at, row_no, name) in newest.items():
        out.setdefault(shop_id, {})[cid] = (name, row_no)
    return out
