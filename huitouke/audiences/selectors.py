"""Reads of segments: the one selector that turns a definition into a customer queryset, and the lists.

`segment_customers(definition)` is what care rules, campaigns, visits, exports and the API all use: one SQL query
(EXISTS subqueries for tags, orders, lines, consents, memberships and scores), so counting a segment of a million
customers is a single COUNT on the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from huitouke.audiences.conditions import (
    BirthdayMonthCondition,
    BoughtCondition,
    ChurnCondition,
    ClvCondition,
    ConsentCondition,
    DateCondition,
    Group,
    LevelCondition,
    LifecycleCondition,
    OrderCountCondition,
    RegionCondition,
    RfmCondition,
    ShopCondition,
    SpendCondition,
    TagsCondition,
    parse_definition,
)
from huitouke.audiences.models import Segment
from huitouke.customers.models import Consent, Customer, CustomerTag
from huitouke.loyalty.models import Membership
from huitouke.orders.models import Order, OrderLine

#: Lifecycle stages (days since the first / last purchase): new = one order, placed within NEW_DAYS; active =
#: bought within ACTIVE_DAYS and not new; at risk = last purchase ACTIVE_DAYS–LAPSED_DAYS ago; lapsed = longer.
NEW_DAYS = 90
ACTIVE_DAYS = 180
LAPSED_DAYS = 365
#: Churn-risk bands by the probability the customer is still active (P(alive)).
CHURN_HIGH_BELOW = 0.3
CHURN_LOW_FROM = 0.7


def segment_customers(definition: Any, *, now: datetime | None = None) -> QuerySet[Customer]:
    """The customers a definition (dict or Group) selects; merged-away customers are never part of a segment.

    Raises DefinitionError for a definition that does not validate."""
    group = definition if isinstance(definition, Group) else parse_definition(definition)
    q = group_q(group, now or timezone.now())
    return Customer.objects.filter(merged_into__isnull=True).filter(q)


def segment_count(definition: Any, *, now: datetime | None = None) -> int:
    return segment_customers(definition, now=now).count()


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("created_by").order_by("name")


def segment_get(*, pk: int) -> Segment:
    return Segment.objects.select_related("created_by").get(pk=pk)


def group_q(group: Group, now: datetime) -> Q:
    parts = [_q(c, now) for c in group.conditions]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part if group.op == "or" else combined & part
    return combined


def _q(c: Any, now: datetime) -> Q:
    if isinstance(c, Group):
        return group_q(c, now) if c.conditions else Q()
    if isinstance(c, SpendCondition):
        return _range("total_spent", c.min, c.max)
    if isinstance(c, OrderCountCondition):
        return _range("order_count", c.min, c.max)
    if isinstance(c, DateCondition):
        return _dates(c, now)
    if isinstance(c, LevelCondition):
        has = Q(Exists(Membership.objects.filter(customer_id=OuterRef("pk"), level__name__in=c.levels)))
        return ~has if c.negate else has
    if isinstance(c, TagsCondition):
        return _tags(c)
    if isinstance(c, ShopCondition):
        return Q(Exists(Order.objects.filter(customer_id=OuterRef("pk"), shop__name__in=c.shops)))
    if isinstance(c, RegionCondition):
        q = Q()
        if c.provinces:
            q |= Q(province__in=c.provinces)
        if c.cities:
            q |= Q(city__in=c.cities)
        return q
    if isinstance(c, BoughtCondition):
        return _bought(c, now)
    if isinstance(c, BirthdayMonthCondition):
        return Q(birthday__month__in=c.months)
    if isinstance(c, ConsentCondition):
        consents = Consent.objects.filter(customer_id=OuterRef("pk"), purpose=c.purpose, granted=True)
        if c.channel:
            consents = consents.filter(channel=c.channel)
        member = Q(Exists(consents))
        return member if c.member else ~member
    if isinstance(c, LifecycleCondition):
        q = Q(pk__in=[])
        for stage in c.stages:
            q |= lifecycle_q(stage, now)
        return q
    if isinstance(c, RfmCondition | ClvCondition | ChurnCondition):
        return _score_q(c)
    raise TypeError(f"no SQL for condition {c!r}")  # pragma: no cover - the schema admits only the types above


def _range(column: str, low: Any, high: Any) -> Q:
    q = Q()
    if low is not None:
        q &= Q(**{f"{column}__gte": low})
    if high is not None:
        q &= Q(**{f"{column}__lte": high})
    return q


def _dates(c: DateCondition, now: datetime) -> Q:
    column = c.field
    q = Q()
    tz = timezone.get_current_timezone()
    if c.after is not None:
        q &= Q(**{f"{column}__gte": datetime.combine(c.after, datetime.min.time(), tzinfo=tz)})
    if c.before is not None:
        q &= Q(**{f"{column}__lt": datetime.combine(c.before + timedelta(days=1), datetime.min.time(), tzinfo=tz)})
    if c.within_days is not None:
        q &= Q(**{f"{column}__gte": now - timedelta(days=c.within_days)})
    if c.not_within_days is not None:
        # never bought counts as "not within": a prospect has not bought in the last N days either
        q &= Q(**{f"{column}__lt": now - timedelta(days=c.not_within_days)}) | Q(**{f"{column}__isnull": True})
    return q


def _tags(c: TagsCondition) -> Q:
    def has(names: list[str]) -> Q:
        return Q(Exists(CustomerTag.objects.filter(customer_id=OuterRef("pk"), tag__name__in=names)))

    if c.match == "any":
        return has(c.tags)
    if c.match == "none":
        return ~has(c.tags)
    q = Q()
    for name in dict.fromkeys(c.tags):
        q &= has([name])
    return q


def _bought(c: BoughtCondition, now: datetime) -> Q:
    lines = OrderLine.objects.filter(order__customer_id=OuterRef("pk"), order__status__in=Order.COUNTED).exclude(
        refund_state=OrderLine.RefundState.REFUNDED
    )
    what = Q()
    if c.products:
        what |= (
            Q(product__external_id__in=c.products)
            | Q(product__title__in=c.products)
            | Q(sku__in=c.products)
            | Q(title__in=c.products)
        )
    if c.categories:
        what |= Q(product__category__in=c.categories)
    lines = lines.filter(what)
    if c.within_days is not None:
        lines = lines.filter(order__ordered_at__gte=now - timedelta(days=c.within_days))
    bought = Q(Exists(lines))
    return ~bought if c.negate else bought


def lifecycle_q(stage: str, now: datetime) -> Q:
    """The customers in one lifecycle stage (see NEW_DAYS, ACTIVE_DAYS, LAPSED_DAYS)."""
    new_since = now - timedelta(days=NEW_DAYS)
    active_since = now - timedelta(days=ACTIVE_DAYS)
    lapsed_before = now - timedelta(days=LAPSED_DAYS)
    if stage == "prospect":
        return Q(order_count=0)
    if stage == "new":
        return Q(order_count=1, first_order_at__gte=new_since)
    if stage == "active":
        return Q(order_count__gte=1, last_order_at__gte=active_since) & ~Q(order_count=1, first_order_at__gte=new_since)
    if stage == "at_risk":
        return Q(order_count__gte=1, last_order_at__lt=active_since, last_order_at__gte=lapsed_before)
    if stage == "lapsed":
        return Q(order_count__gte=1, last_order_at__lt=lapsed_before)
    raise ValueError(f"unknown lifecycle stage {stage!r}")


def _score_q(c: RfmCondition | ClvCondition | ChurnCondition) -> Q:
    from huitouke.audiences.scores import score_q

    return score_q(c)


def consent_group_status(*, customer: Customer) -> dict[str, bool | None]:
    """The customer's answer per channel for the new-products and promotions group (None: never asked)."""
    answers: dict[str, bool | None] = {"sms": None, "email": None, "im": None}
    for channel, granted in Consent.objects.filter(customer=customer, purpose="new_products").values_list(
        "channel", "granted"
    ):
        if channel in answers:
            answers[channel] = granted
    return answers
