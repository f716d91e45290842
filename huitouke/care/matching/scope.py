"""A rule as its selector needs it (Scope), its audience, and the building blocks every selector shares."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

from django.db.models import (
    CharField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Concat

from huitouke.audiences.selectors import segment_customers
from huitouke.care import sending
from huitouke.care.models import CareRule
from huitouke.care.triggers import TRIGGERS, clock, idempotency_key
from huitouke.care.triggers.params import (
    parse_params,
)
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Shop

CareMessage = sending.CareMessage

#: how many rows the database hands over per round trip while a selection streams
FETCH = 5000


@dataclass
class Scope:
    """A rule as its selector needs it (parsed parameters, clock, shop, audience, wording language), and what
    the selection found: `matched` rows in all, of which the streamed ones were not cared for yet."""

    rule_id: int
    trigger: str
    params: Any
    tz: str
    shop_id: int | None
    language: str
    audience: QuerySet[Customer] | None
    activation_ids: tuple[int, ...]
    #: the rule's earlier activations: a message that failed or expired under one of them is tried again
    retry_from: tuple[int, ...]
    shop_names: dict[int, str]
    #: only these customers (a reaction to their orders' events), or None for everyone
    customer_ids: tuple[int, ...] | None = None
    matched: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def key(self, customer_id: int, occasion: str) -> str:
        return idempotency_key(self.rule_id, customer_id, occasion)

    def key_sql(self, customer: str, *occasion: Combinable | str) -> Concat:
        """The same key as `key`, as an SQL expression over the row (`customer`: the customer id column)."""
        parts: list[Any] = [Value(f"care:{self.rule_id}:"), Cast(customer, CharField()), Value(":")]
        parts += [Value(p) if isinstance(p, str) else p for p in occasion]
        return Concat(*parts, output_field=CharField())

    def deadline(self, at: datetime, occasion_day: date | None = None) -> datetime | None:
        hours = TRIGGERS[self.trigger].deadline_hours
        if hours is None:
            return None
        if hours == 0:
            return clock.day_bounds(occasion_day or clock.local_today(at, self.tz), self.tz)[1]
        return at + timedelta(hours=hours)

    def context(self, name: str, shop_id: int | None, **values: Any) -> dict[str, str]:
        out = {"name": name or "", "shop": self.shop_names.get(shop_id or 0, "")}
        out.update({k: _text(v) for k, v in values.items() if v is not None})
        return out


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def audience_of(rule: CareRule, at: datetime) -> QuerySet[Customer] | None:
    """The customers a rule is limited to (its segment AND its levels AND its tags), or None for everyone."""
    parts: list[QuerySet[Customer]] = []
    if rule.segment_id and rule.segment:
        parts.append(segment_customers(rule.segment.definition, now=at))
    extra: list[dict[str, Any]] = []
    if rule.levels:
        extra.append({"field": "level", "levels": list(rule.levels)})
    if rule.tags:
        extra.append({"field": "tags", "match": "any", "tags": list(rule.tags)})
    if extra:
        parts.append(segment_customers({"op": "and", "conditions": extra}, now=at))
    if not parts:
        return None
    return reduce(operator.and_, parts)


def scope_for(rule: CareRule, at: datetime, customer_ids: Sequence[int] | None = None) -> Scope:
    """Everything a rule's selector needs, read once per run (limited to `customer_ids` when given)."""
    activations = dict(rule.activations.values_list("pk", "number"))
    return Scope(
        rule_id=rule.pk,
        trigger=rule.trigger,
        params=parse_params(rule.trigger, rule.params),
        tz=rule.time_zone,
        shop_id=rule.shop_id,
        language=rule.template.language,
        audience=audience_of(rule, at),
        activation_ids=tuple(activations),
        retry_from=tuple(pk for pk, number in activations.items() if number != rule.activation),
        shop_names=dict(Shop.objects.values_list("pk", "name")),
        customer_ids=None if customer_ids is None else tuple(sorted(set(customer_ids))),
    )


# --- shared building blocks ----------------------------------------------------------------------------------


def _customers(scope: Scope) -> QuerySet[Customer]:
    qs = Customer.objects.filter(merged_into__isnull=True).order_by()
    if scope.customer_ids is not None:
        qs = qs.filter(pk__in=scope.customer_ids)
    if scope.audience is not None:
        qs = qs.filter(pk__in=scope.audience.order_by().values("pk"))
    return qs


def _orders(scope: Scope) -> QuerySet[Order]:
    qs = Order.objects.filter(customer__merged_into__isnull=True).order_by()
    if scope.customer_ids is not None:
        qs = qs.filter(customer_id__in=scope.customer_ids)
    if scope.shop_id is not None:
        qs = qs.filter(shop_id=scope.shop_id)
    if scope.audience is not None:
        qs = qs.filter(customer_id__in=scope.audience.order_by().values("pk"))
    return qs


def _first_title() -> Subquery:
    return Subquery(OrderLine.objects.filter(order_id=OuterRef("pk")).order_by("line_no").values("title")[:1])


def _fresh(scope: Scope, qs: QuerySet[Any], key: Concat, *fields: str) -> Iterator[tuple[Any, ...]]:
    """Count the selection into `scope.matched`, then stream `fields` of the rows whose key (an SQL expression)
    the outbox does not hold yet."""
    scope.matched += qs.count()
    fresh = qs.annotate(care_key=key).filter(~sending.key_enqueued(OuterRef("care_key"), scope.retry_from))
    yield from fresh.values_list(*fields).iterator(chunk_size=FETCH)


def _shop_of_customers(scope: Scope, qs: QuerySet[Customer]) -> tuple[QuerySet[Customer], str | None]:
    """Customers' messages need a shop ({shop}, channel settings): the rule's, the only one, else the shop of the
    customer's latest order (a correlated lookup on the orders' (customer, time) index). Returns the queryset
    and the field to read the shop from (None: `scope.notes["shop"]`)."""
    fixed = scope.shop_id
    if fixed is None and len(scope.shop_names) == 1:
        fixed = next(iter(scope.shop_names))
    if fixed is not None:
        scope.notes["shop"] = fixed
        return qs, None
    latest = Order.objects.filter(customer_id=OuterRef("pk")).order_by("-ordered_at").values("shop_id")[:1]
    return qs.annotate(care_shop=Subquery(latest)), "care_shop"


def _customer_messages(
    scope: Scope,
    qs: QuerySet[Customer],
    key: Concat,
    fields: tuple[str, ...],
    make: Callable[[int, str, int | None, tuple[Any, ...]], CareMessage],
) -> Iterator[CareMessage]:
    """Messages to customers: (pk, name, shop, *fields) of the fresh rows handed to `make`."""
    qs, shop_field = _shop_of_customers(scope, qs)
    extra = (shop_field,) if shop_field else ()
    for row in _fresh(scope, qs, key, "pk", "name", *fields, *extra):
        shop = row[-1] if shop_field else scope.notes["shop"]
        yield make(row[0], row[1], shop, row[2 : 2 + len(fields)])


ORDER_FIELDS = ("pk", "order_no", "customer_id", "customer__name", "shop_id")
