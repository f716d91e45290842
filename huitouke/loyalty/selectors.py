"""Level reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.loyalty import rules
from huitouke.loyalty.models import Level, LevelPolicy, Membership
from huitouke.orders.models import Order, Shop


def level_list() -> QuerySet[Level]:
    """Every shop's levels, by shop then rank."""
    return Level.objects.select_related("shop").order_by("shop__name", "rank")


def level_distribution(*, shop_ids: list[int] | None = None) -> dict[str, int]:
    """Members per level name, lowest rank first, summed over shops (levels without members count 0)."""
    levels = Level.objects.all() if shop_ids is None else Level.objects.filter(shop_id__in=shop_ids)
    rows = levels.values("name").annotate(members=Count("memberships"), rank=Min("rank")).order_by("rank", "name")
    return {row["name"]: row["members"] for row in rows}


@dataclass(frozen=True)
class LevelStatus:
    """A customer's standing in one shop's levels: the level held, what counts towards it, what the next needs."""

    shop: Shop
    level: Level | None
    amount: Decimal
    orders: int
    window_months: int | None
    next: rules.Progress | None


def customer_level_status(*, customer: Customer, now: datetime | None = None) -> list[LevelStatus]:
    """For every shop with levels where the customer bought or is a member: the level held, the counted amount
    and orders (paid, not closed, not fully refunded; within the shop's rolling window when it has one) and what
    it takes to reach the next level — "再消费 ¥320 或 再下 2 单 升至 VIP". Four queries whatever the shop count."""
    levels = list(Level.objects.select_related("shop").order_by("shop_id", "rank"))
    if not levels:
        return []
    by_shop: dict[int, list[Level]] = defaultdict(list)
    for lv in levels:
        by_shop[lv.shop_id].append(lv)
    policies = {p.shop_id: p for p in LevelPolicy.objects.filter(shop_id__in=list(by_shop))}
    held = dict(Membership.objects.filter(customer=customer).values_list("shop_id", "level_id"))
    counted = Order.objects.filter(customer=customer, shop_id__in=list(by_shop), status__in=Order.COUNTED).values_list(
        "shop_id", "ordered_at", "paid_amount", "refund_amount"
    )
    moment = now or timezone.now()
    totals: dict[int, tuple[Decimal, int]] = {}
    for shop_id, ordered_at, paid, refund in counted:
        if not rules.counts_towards_level(paid, refund):
            continue
        policy = policies.get(shop_id)
        if policy and policy.window_months:
            start = rules.months_before(
                moment.astimezone(ZoneInfo(by_shop[shop_id][0].shop.timezone)), policy.window_months
            )
            if ordered_at < start:
                continue
        amount, n = totals.get(shop_id, (Decimal(0), 0))
        totals[shop_id] = (amount + paid - refund, n + 1)
    out = []
    for shop_id, shop_levels in by_shop.items():
        if shop_id not in totals and shop_id not in held:
            continue
        amount, n = totals.get(shop_id, (Decimal(0), 0))
        level = next((lv for lv in shop_levels if lv.pk == held.get(shop_id)), None)
        index = shop_levels.index(level) if level else None
        policy = policies.get(shop_id)
        out.append(
            LevelStatus(
                shop=shop_levels[0].shop,
                level=level,
                amount=amount,
                orders=n,
                window_months=policy.window_months if policy else None,
                next=rules.progress(shop_levels, amount, n, held=index),
            )
        )
    return out
