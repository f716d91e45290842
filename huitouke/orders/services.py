"""Order writes that other apps rely on: shop creation and the set-based refresh of customer stats."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, DecimalField, F, Max, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer, Platform
from huitouke.orders.models import Order, Shop

_BATCH = 2000


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


def customer_stats_refresh(*, customer_ids: Iterable[int] | None = None) -> int:
    """Recompute first/last order, order count and total spent for the given customers (all when None).

    Counted orders are paid and neither closed nor fully refunded (Order.COUNTED); spent is paid minus
    refunded. One UPDATE … FROM-subquery statement per batch of 2,000 ids; returns the number of rows updated.
    Lives here rather than in `customers` because orders own the numbers; it is the only write `orders` makes
    to customer rows.
    """
    with transaction.atomic():
        if customer_ids is None:
            return _stats_update(Customer.objects.values("pk"))
        ids = sorted(set(customer_ids))
        return sum(_stats_update(ids[i : i + _BATCH]) for i in range(0, len(ids), _BATCH))
