"""Selectors of the order events: paid today, unpaid reminder, shipped, delivered follow-up, unconfirmed
receipt."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db.models import (
    Case,
    CharField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast

from huitouke.care import sending
from huitouke.care.matching.scope import (
    ORDER_FIELDS,
    CareMessage,
    Scope,
    _first_title,
    _fresh,
    _orders,
)
from huitouke.care.models import CarrierTransit
from huitouke.care.registry import review_request_filters
from huitouke.care.triggers import clock, receipt
from huitouke.care.triggers.params import (
    DeliveredFollowupParams,
    ShippedParams,
    UnconfirmedReceiptParams,
    UnpaidReminderParams,
)
from huitouke.orders.models import Order

# --- order events --------------------------------------------------------------------------------------------


def match_paid_today(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Customers whose payment came in today (shop time) up to `at`; one message per customer and day, about
    their latest payment. Occasion: the day."""
    day = clock.local_today(at, scope.tz)
    start, _end = clock.day_bounds(day, scope.tz)
    qs = _orders(scope).filter(paid_at__gte=start, paid_at__lte=at, status__in=Order.COUNTED)
    scope.matched += qs.values("customer_id").distinct().count()
    fresh = (
        qs.annotate(care_key=scope.key_sql("customer_id", day.isoformat()))
        .filter(~sending.key_enqueued(OuterRef("care_key"), scope.retry_from))
        .annotate(product=_first_title())
        .values_list(*ORDER_FIELDS, "paid_amount", "product", "paid_at")
    )
    latest: dict[int, tuple[Any, ...]] = {}
    for row in fresh:  # today's payments of not-yet-thanked customers: a few thousand at most
        if row[2] not in latest or (row[-1], row[0]) > (latest[row[2]][-1], latest[row[2]][0]):
            latest[row[2]] = row
    for _pk, order_no, customer_id, name, shop_id, amount, product, _paid in sorted(latest.values()):
        yield CareMessage(
            key=scope.key(customer_id, day.isoformat()),
            customer_id=customer_id,
            shop_id=shop_id,
            context=scope.context(name, shop_id, order_no=order_no, amount=amount, product=product),
            deadline=scope.deadline(at),
        )


def _order_messages(scope: Scope, qs: QuerySet[Order], *fields: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Fresh rows of an order trigger (occasion: the order) with their keys."""
    qs = qs.annotate(product=_first_title())
    key = scope.key_sql("customer_id", "o", Cast("pk", CharField()))
    for row in _fresh(scope, qs, key, *ORDER_FIELDS, "product", *fields):
        yield row, scope.key(row[2], f"o{row[0]}")


def match_unpaid_reminder(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Orders still awaiting payment `after_minutes` after they were placed and not yet past the platform's
    auto-close; each reminded once, with the close as its deadline. Occasion: the order."""
    p: UnpaidReminderParams = scope.params
    qs = _orders(scope).filter(
        status=Order.Status.PENDING,
        paid_at__isnull=True,
        closed_at__isnull=True,
        ordered_at__gt=at - timedelta(minutes=p.close_after_minutes),
        ordered_at__lte=at - timedelta(minutes=p.after_minutes),
    )
    for row, key in _order_messages(scope, qs, "total_amount", "ordered_at"):
        _pk, order_no, customer_id, name, shop_id, product, amount, ordered_at = row
        yield CareMessage(
            key=key,
            customer_id=customer_id,
            shop_id=shop_id,
            context=scope.context(name, shop_id, order_no=order_no, amount=amount, product=product),
            deadline=ordered_at + timedelta(minutes=p.close_after_minutes),
        )


def match_shipped(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Orders shipped within the last `lookback_hours` and not closed or refunded. Occasion: the order."""
    p: ShippedParams = scope.params
    qs = _orders(scope).filter(
        shipped_at__gt=at - timedelta(hours=p.lookback_hours),
        shipped_at__lte=at,
        status__in=(Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.COMPLETED),
    )
    for row, key in _order_messages(scope, qs, "logistics_company", "tracking_no"):
        _pk, order_no, customer_id, name, shop_id, product, carrier, tracking = row
        yield CareMessage(
            key=key,
            customer_id=customer_id,
            shop_id=shop_id,
            context=scope.context(
                name, shop_id, order_no=order_no, product=product, carrier=carrier, tracking_no=tracking
            ),
            deadline=scope.deadline(at),
        )


def match_delivered_followup(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Orders delivered `days` days ago (shop time) — or confirmed that day, when the platform gave no delivery
    time or the rule counts from confirmation. Occasion: the order."""
    p: DeliveredFollowupParams = scope.params
    day = clock.local_today(at, scope.tz) - timedelta(days=p.days)
    start, end = clock.day_bounds(day, scope.tz)
    confirmed = Q(confirmed_at__gte=start, confirmed_at__lt=end)
    if p.after == "confirmed":
        when = confirmed
    else:
        when = Q(delivered_at__gte=start, delivered_at__lt=end) | (Q(delivered_at__isnull=True) & confirmed)
    qs = (
        _orders(scope)
        .filter(when)
        .filter(status__in=(Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.COMPLETED))
    )
    for order_filter in review_request_filters():  # e.g. orders the buyer already reviewed (reviews app)
        qs = order_filter(qs)
    for row, key in _order_messages(scope, qs):
        _pk, order_no, customer_id, name, shop_id, product = row
        yield CareMessage(
            key=key,
            customer_id=customer_id,
            shop_id=shop_id,
            context=scope.context(name, shop_id, order_no=order_no, product=product),
            deadline=scope.deadline(at),
        )


def transit_overrides() -> dict[int | None, dict[str, int]]:
    """{shop id (None: every shop): {carrier keyword: days}} from the CarrierTransit rows."""
    out: dict[int | None, dict[str, int]] = {}
    for shop_id, carrier, days in CarrierTransit.objects.values_list("shop_id", "carrier", "days"):
        out.setdefault(shop_id, {})[carrier] = days
    return out


def transit_case(overrides: dict[int | None, dict[str, int]]) -> tuple[Case, set[int]]:
    """A SQL CASE giving each order its carrier's usual transit days (the pure receipt rules: a shop's own
    keywords first, then every-shop overrides, then the built-in table; the shop's or the global default), and
    the set of values it can take."""
    common = overrides.get(None, {})
    whens: list[When] = []
    values: set[int] = set()
    for shop_id, own in overrides.items():
        if shop_id is None:
            continue
        merged = {**common, **own}
        for keyword, days in receipt.transit_rules(merged):
            whens.append(When(shop_id=shop_id, logistics_company__icontains=keyword, then=Value(days)))
            values.add(days)
        default = receipt.default_days(merged)
        whens.append(When(shop_id=shop_id, then=Value(default)))
        values.add(default)
    for keyword, days in receipt.transit_rules(common):
        whens.append(When(logistics_company__icontains=keyword, then=Value(days)))
        values.add(days)
    default = receipt.default_days(common)
    values.add(default)
    return Case(*whens, default=Value(default), output_field=IntegerField()), values


def match_unconfirmed_receipt(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Orders not yet confirmed whose parcel arrived `days` days ago: delivered that day, or — with no delivery
    time — shipped that day minus the carrier's usual transit days. Occasion: the order."""
    p: UnconfirmedReceiptParams = scope.params
    received = clock.local_today(at, scope.tz) - timedelta(days=p.days)
    transit, values = transit_case(transit_overrides())
    delivered_start, delivered_end = clock.day_bounds(received, scope.tz)
    by_transit = []
    for days in sorted(values):
        start, end = clock.day_bounds(received - timedelta(days=days), scope.tz)
        by_transit.append(Q(care_transit=days, shipped_at__gte=start, shipped_at__lt=end))
    span_start = clock.day_bounds(received - timedelta(days=max(values)), scope.tz)[0]
    span_end = clock.day_bounds(received - timedelta(days=min(values)), scope.tz)[1]
    qs = (
        _orders(scope)
        .filter(confirmed_at__isnull=True, status__in=(Order.Status.SHIPPED, Order.Status.DELIVERED))
        .filter(
            Q(delivered_at__gte=delivered_start, delivered_at__lt=delivered_end)
            | Q(delivered_at__isnull=True, shipped_at__gte=span_start, shipped_at__lt=span_end)
        )
        .annotate(care_transit=transit)
        .filter(Q(delivered_at__isnull=False) | reduce(operator.or_, by_transit))
    )
    for row, key in _order_messages(scope, qs):
        _pk, order_no, customer_id, name, shop_id, product = row
        yield CareMessage(
            key=key,
            customer_id=customer_id,
            shop_id=shop_id,
            context=scope.context(name, shop_id, order_no=order_no, product=product),
            deadline=scope.deadline(at),
        )
