"""Reads of the reviews app: the shop a command or request names, review lists, the customers a recent
negative review keeps from marketing, orders without a buyer review."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.orders.models import Order, Shop
from huitouke.reviews.models import CreditSettings, Review, Role


def shop_named(name: str = "") -> Shop:
    """The shop called `name`; without a name, the only shop (an error names the choices when there are several)."""
    if name:
        shop = Shop.objects.filter(name=name).first()
        if shop is None:
            raise NotFoundError(f"no shop named {name!r}", field="shop")
        return shop
    shops = list(Shop.objects.order_by("name")[:6])
    if len(shops) == 1:
        return shops[0]
    if not shops:
        raise NotFoundError("there is no shop yet: import orders first", field="shop")
    names = ", ".join(s.name for s in shops[:5])
    raise ApplicationError(f"several shops ({names} …): name one", field="shop")


def credit_settings_get(*, shop: Shop) -> CreditSettings:
    """The shop's credit settings (the course preset's numbers until set)."""
    found = CreditSettings.objects.filter(shop=shop).first()
    return found if found is not None else CreditSettings(shop=shop)


def review_list(
    *,
    shop: Shop | None = None,
    result: str = "",
    scored: bool | None = None,
    product: str = "",
    customer_id: int | None = None,
    reason: str = "",
    text: str = "",
) -> QuerySet[Review]:
    """Reviews newest first with the shop, customer and case the lists show; `reason`: those that do not score
    for that reason; `text`: whose text contains it."""
    qs = Review.objects.select_related("shop", "customer", "case", "credit")
    if shop is not None:
        qs = qs.filter(shop=shop)
    if result:
        qs = qs.filter(result=result)
    if scored is not None:
        qs = qs.filter(credit__scores=True) if scored else qs.exclude(credit__scores=True)
    if product:
        qs = qs.filter(Q(num_iid=product) | Q(item_title__icontains=product))
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if reason:
        qs = qs.filter(credit__reason=reason)
    if text:
        qs = qs.filter(content__icontains=text)
    return qs


def negative_review_customers(*, customer_ids: Iterable[int], since: datetime, shop_id: int | None = None) -> set[int]:
    """Customers among `customer_ids` who left a negative buyer review since `since` (in the shop, when given)
    and whose case has not ended with the rating changed to good."""
    qs = Review.objects.filter(
        customer_id__in=list(customer_ids), role=Role.BUYER, created_at__gte=since, case__isnull=False
    ).exclude(case__outcome="changed_to_good")
    if shop_id is not None:
        qs = qs.filter(shop_id=shop_id)
    return set(qs.values_list("customer_id", flat=True))


def orders_without_buyer_review(qs: QuerySet[Order]) -> QuerySet[Order]:
    """`qs` without the orders the buyer has already reviewed."""
    return qs.exclude(Exists(Review.objects.filter(order=OuterRef("pk"), role=Role.BUYER)))


@dataclass(frozen=True)
class AlertDestinations:
    """Where the managers of a shop hear of its negative reviews besides the in-app notification."""

    emails: tuple[str, ...]
    robot_url: str

    def __bool__(self) -> bool:
        return bool(self.emails or self.robot_url)


def alert_destinations(*, shop_id: int) -> AlertDestinations:
    """The shop's alert e-mail addresses and group-robot URL (credit settings; none until set)."""
    found = CreditSettings.objects.filter(shop_id=shop_id).values_list("alert_email", "alert_robot_url").first()
    emails, robot = found if found is not None else ("", "")
    return AlertDestinations(emails=tuple(a.strip() for a in emails.split(",") if a.strip()), robot_url=robot)


def review_for_alert(*, review_id: int) -> Review | None:
    """The review an alert describes, with its shop, order, customer and case."""
    return Review.objects.select_related("shop", "order", "customer", "case").filter(pk=review_id).first()
