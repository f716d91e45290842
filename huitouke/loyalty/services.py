"""Level writes: defining a shop's levels and the set-based regrade of memberships."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from huitouke.core.bulk import values_in
from huitouke.core.errors import ApplicationError
from huitouke.loyalty.models import Level, Membership
from huitouke.orders.models import Order, Shop


@dataclass(frozen=True)
class LevelSpec:
    name: str
    min_amount: Decimal
    min_orders: int
    discount: int
    benefits: str = ""


def levels_set(*, shop: Shop, specs: Sequence[LevelSpec]) -> list[Level]:
    """Replace a shop's levels by `specs`, lowest first. Thresholds must rise with the level and the
    discount must be 1-100; the message names the offending level and field."""
    for i, spec in enumerate(specs):
        if not spec.name.strip():
            raise ApplicationError(f"level {i + 1}: the name is empty", field=f"levels[{i}].name")
        if not 1 <= spec.discount <= 100:
            raise ApplicationError(f"level {spec.name}: discount must be 1-100", field=f"levels[{i}].discount")
        if i and (spec.min_amount <= specs[i - 1].min_amount or spec.min_orders <= specs[i - 1].min_orders):
            raise ApplicationError(
                f"level {spec.name}: thresholds must be higher than those of {specs[i - 1].name}",
                field=f"levels[{i}].min_amount",
            )
    with transaction.atomic():
        Membership.objects.filter(shop=shop).delete()
        Level.objects.filter(shop=shop).delete()
        levels = [
            Level.objects.create(
                shop=shop,
                rank=i + 1,
                name=s.name.strip(),
                min_amount=s.min_amount,
                min_orders=s.min_orders,
                discount=s.discount,
                benefits=s.benefits,
            )
            for i, s in enumerate(specs)
        ]
    return levels


def levels_regrade(*, shop_ids: Iterable[int] | None = None, customer_ids: Iterable[int] | None = None) -> int:
    """Give every customer the highest level of each shop whose amount OR order threshold they meet, counting
    paid orders that are neither closed nor fully refunded over the customer's lifetime.

    Set-based: one DELETE and one INSERT … SELECT per shop, whatever the number of customers (the id set is one
    parameter, `values_in`). Returns the number of memberships written.
    """
    shops = Shop.objects.filter(levels__isnull=False).distinct()
    if shop_ids is not None:
        shops = shops.filter(pk__in=list(shop_ids))
    ids = None if customer_ids is None else sorted(set(customer_ids))
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input
    customer_clause = ""
    params_ids: list[Any] = []
    if ids is not None:
        if not ids:
            return 0
        id_set = values_in(ids, "bigint")
        customer_clause = f" AND o.customer_id IN ({id_set.sql})"
        params_ids = list(id_set.params)
    written = 0
    lvl, mem, order = Level._meta.db_table, Membership._meta.db_table, Order._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        for shop in shops:
            delete = Membership.objects.filter(shop=shop)
            if ids is not None:
                delete = delete.filter(customer_id__in=values_in(ids, "bigint"))
            delete.delete()
            cur.execute(
                f"""
                INSERT INTO {mem} (customer_id, shop_id, level_id, created_at, updated_at)
                SELECT s.customer_id, %s, (
                    SELECT l.id FROM {lvl} l WHERE l.shop_id = %s
                      AND (s.spent >= l.min_amount OR s.n >= l.min_orders)
                    ORDER BY l.rank DESC LIMIT 1), CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
                FROM (
                    SELECT o.customer_id, SUM(o.paid_amount - o.refund_amount) AS spent, COUNT(*) AS n
                    FROM {order} o
                    WHERE o.shop_id = %s AND o.status IN ({counted}){customer_clause}
                    GROUP BY o.customer_id
                ) s
                WHERE EXISTS (
                    SELECT 1 FROM {lvl} l WHERE l.shop_id = %s AND (s.spent >= l.min_amount OR s.n >= l.min_orders)
                )
                """,
                [shop.pk, shop.pk, shop.pk, *params_ids, shop.pk],
            )
            written += cur.rowcount
    return written
