"""Set-based selectors, one per trigger: who a rule should message at an instant, and for which occasion.

Each `match_<trigger>` builds one SQL query over orders / customers / consents / level history (joined with the
rule's audience as a subquery) whose rows carry the exactly-once key (rule, customer, occasion) computed in SQL.
The selector counts the rows (`Scope.matched`: every customer the trigger calls for now), then streams as
`CareMessage`s only the rows whose key the outbox does not hold yet (an anti-join on the outbox's unique key), so
re-running a tick costs two queries and no Python work per customer. Each message carries the shop, the
template variables the trigger fills in ({name} and {shop} always) and the deadline after which sending is
pointless.

Dates are the rule's shop-local days (care/triggers/clock.py) turned into UTC bounds before they reach the
database; the date maths is the pure modules' (birthday, festivals, receipt, replenish) and only put into SQL
here. Merged-away customers never match. Nothing here writes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Concat, TruncDate

from huitouke.audiences.selectors import segment_customers
from huitouke.care import sending
from huitouke.care.models import CareRule, CarrierTransit
from huitouke.care.triggers import TRIGGERS, birthday, clock, festivals, idempotency_key, receipt, replenish
from huitouke.care.triggers.params import (
    BirthdayParams,
    DeliveredFollowupParams,
    DormantParams,
    HolidayParams,
    LevelUpParams,
    NewProductParams,
    NoContactParams,
    ReplenishmentParams,
    ShippedParams,
    UnconfirmedReceiptParams,
    UnpaidReminderParams,
    parse_params,
)
from huitouke.customers.models import Consent, Customer, Note
from huitouke.orders.models import Order, OrderLine, Product, Shop

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
    shop_names: dict[int, str]
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


def scope_for(rule: CareRule, at: datetime) -> Scope:
    """Everything a rule's selector needs, read once per run."""
    return Scope(
        rule_id=rule.pk,
        trigger=rule.trigger,
        params=parse_params(rule.trigger, rule.params),
        tz=rule.time_zone,
        shop_id=rule.shop_id,
        language=rule.template.language,
        audience=audience_of(rule, at),
        activation_ids=tuple(rule.activations.values_list("pk", flat=True)),
        shop_names=dict(Shop.objects.values_list("pk", "name")),
    )


# --- shared building blocks ----------------------------------------------------------------------------------


def _customers(scope: Scope) -> QuerySet[Customer]:
    qs = Customer.objects.filter(merged_into__isnull=True).order_by()
    if scope.audience is not None:
        qs = qs.filter(pk__in=scope.audience.order_by().values("pk"))
    return qs


def _orders(scope: Scope) -> QuerySet[Order]:
    qs = Order.objects.filter(customer__merged_into__isnull=True).order_by()
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
    fresh = qs.annotate(care_key=key).filter(~sending.key_enqueued(OuterRef("care_key")))
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
        .filter(~sending.key_enqueued(OuterRef("care_key")))
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


# --- customers -----------------------------------------------------------------------------------------------


def match_birthday(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Customers whose birthday is today or `days_ahead` from today: solar by month and day (29 February on
    28 February in common years), lunar by the few hundred solar dates of birth whose lunar birthday falls on
    that day. Occasion: the year ("2026") or the lunar year ("L2026")."""
    p: BirthdayParams = scope.params
    target = clock.local_today(at, scope.tz) + timedelta(days=p.days_ahead)
    solar = reduce(operator.or_, [Q(birthday__month=m, birthday__day=d) for m, d in birthday.solar_births_for(target)])
    wanted = Q(birthday_calendar=Customer.Calendar.SOLAR, birthday__lt=date(target.year, 1, 1)) & solar
    lunar_births = birthday.lunar_births_for(target)
    lunar_occasion = f"L{birthday.to_lunar(target).year}" if birthday.in_lunar_range(target) else "L"
    if lunar_births:
        wanted |= Q(birthday_calendar=Customer.Calendar.LUNAR, birthday__in=lunar_births)
    qs = _customers(scope).filter(birthday__isnull=False).filter(wanted)
    occasion = Case(
        When(birthday_calendar=Customer.Calendar.LUNAR, then=Value(lunar_occasion)),
        default=Value(str(target.year)),
        output_field=CharField(),
    )
    said = clock.format_day(target, scope.language, year=False)
    deadline = scope.deadline(at, target)

    def make(pk: int, name: str, shop: int | None, extra: tuple[Any, ...]) -> CareMessage:
        kind = extra[0]
        return CareMessage(
            key=scope.key(pk, lunar_occasion if kind == Customer.Calendar.LUNAR else str(target.year)),
            customer_id=pk,
            shop_id=shop,
            context=scope.context(name, shop, date=said),
            deadline=deadline,
        )

    yield from _customer_messages(scope, qs, scope.key_sql("pk", occasion), ("birthday_calendar",), make)


def match_no_contact(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Customers nobody has been in touch with for `days` days: no purchase, no message that reached them (any
    source), no note, and no message from this rule in that time (so one that could not be sent is not
    re-queued every day). Occasion: the day."""
    p: NoContactParams = scope.params
    cutoff = at - timedelta(days=p.days)
    day = clock.local_today(at, scope.tz).isoformat()
    qs = (
        _customers(scope)
        .filter(Q(last_order_at__lt=cutoff) | Q(last_order_at__isnull=True, created_at__lt=cutoff))
        .filter(Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=cutoff))
        .exclude(sending.contacted_since(cutoff))
        .exclude(sending.sent_by_rule_since(scope.activation_ids, cutoff))
        .exclude(Exists(Note.objects.filter(customer_id=OuterRef("pk"), created_at__gte=cutoff)))
    )
    deadline = scope.deadline(at)

    def make(pk: int, name: str, shop: int | None, extra: tuple[Any, ...]) -> CareMessage:
        return CareMessage(
            key=scope.key(pk, day), customer_id=pk, shop_id=shop, context=scope.context(name, shop), deadline=deadline
        )

    yield from _customer_messages(scope, qs, scope.key_sql("pk", day), (), make)


def match_dormant(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Customers whose last purchase was `days` or more shop-local days ago (at most `max_days`). Occasion: the
    dormant spell, named by its last purchase day — a new purchase starts a new spell."""
    p: DormantParams = scope.params
    today = clock.local_today(at, scope.tz)
    qs = _customers(scope).filter(
        last_order_at__isnull=False, last_order_at__lt=clock.day_bounds(today - timedelta(days=p.days - 1), scope.tz)[0]
    )
    if p.max_days is not None:
        qs = qs.filter(last_order_at__gte=clock.day_bounds(today - timedelta(days=p.max_days), scope.tz)[0])
    last_day = Cast(TruncDate("last_order_at", tzinfo=clock.zone(scope.tz)), CharField())
    deadline = scope.deadline(at)

    def make(pk: int, name: str, shop: int | None, extra: tuple[Any, ...]) -> CareMessage:
        last = clock.local_today(extra[0], scope.tz)
        return CareMessage(
            key=scope.key(pk, f"since:{last.isoformat()}"),
            customer_id=pk,
            shop_id=shop,
            context=scope.context(name, shop, date=clock.format_day(last, scope.language)),
            deadline=deadline,
        )

    yield from _customer_messages(scope, qs, scope.key_sql("pk", "since:", last_day), ("last_order_at",), make)


def match_level_up(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Level rises recorded in the last `lookback_hours` by a regrade, a review or by hand (not by a redefinition
    of the levels or a merge); a member's first level only with `include_joins`. Occasion: the level change."""
    from huitouke.loyalty.selectors import level_changes_since

    p: LevelUpParams = scope.params
    shops = [scope.shop_id] if scope.shop_id is not None else list(scope.shop_names)
    since = at - timedelta(hours=p.lookback_hours)
    deadline = scope.deadline(at)
    for shop in Shop.objects.filter(pk__in=shops).order_by("pk"):
        changes = level_changes_since(shop=shop, since=since, direction="up").filter(
            created_at__lte=at, reason__in=("regrade", "review", "manual"), customer__merged_into__isnull=True
        )
        if not p.include_joins:
            changes = changes.filter(from_rank__isnull=False)
        if p.levels:
            changes = changes.filter(to_name__in=p.levels)
        if scope.audience is not None:
            changes = changes.filter(customer_id__in=scope.audience.order_by().values("pk"))
        key = scope.key_sql("customer_id", "lc", Cast("pk", CharField()))
        for pk, customer_id, name, level in _fresh(
            scope, changes.order_by(), key, "pk", "customer_id", "customer__name", "to_name"
        ):
            yield CareMessage(
                key=scope.key(customer_id, f"lc{pk}"),
                customer_id=customer_id,
                shop_id=shop.pk,
                context=scope.context(name, shop.pk, level=level),
                deadline=deadline,
            )


def match_holiday(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """On a greeted holiday (or `days_before` it): every customer (who bought within `bought_within_days`, if
    set). Occasion: the holiday and its year ("spring_festival:2026")."""
    p: HolidayParams = scope.params
    today = clock.local_today(at, scope.tz)
    for key, day in festivals.holidays_on(today, p.holidays, days_before=p.days_before):
        qs = _customers(scope)
        if p.bought_within_days is not None:
            qs = qs.filter(last_order_at__gte=at - timedelta(days=p.bought_within_days))
        occasion = festivals.occasion(key, day)
        make = _holiday_message(scope, occasion, festivals.holiday_name(key, scope.language), scope.deadline(at, day))
        yield from _customer_messages(scope, qs, scope.key_sql("pk", occasion), (), make)


def _holiday_message(
    scope: Scope, occasion: str, named: str, deadline: datetime | None
) -> Callable[[int, str, int | None, tuple[Any, ...]], CareMessage]:
    def make(pk: int, name: str, shop: int | None, extra: tuple[Any, ...]) -> CareMessage:
        return CareMessage(
            key=scope.key(pk, occasion),
            customer_id=pk,
            shop_id=shop,
            context=scope.context(name, shop, date=named),
            deadline=deadline,
        )

    return make


def match_replenishment(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Customers whose last purchase of a product with a known cycle was cycle − `lead_days` days ago (shop
    time), with no purchase of it since. Cycles: the shop's own (`cycles`), else the learned ones kept by the
    nightly refresh (care.selectors.product_cycles). Occasion: the product and that purchase day."""
    from huitouke.care.selectors import product_cycles

    p: ReplenishmentParams = scope.params
    today = clock.local_today(at, scope.tz)
    cycles = product_cycles(
        products=p.products or None, overrides={int(k): v for k, v in p.cycles.items()}, min_samples=p.min_samples
    )
    if scope.shop_id is not None:
        in_shop = set(Product.objects.filter(shop_id=scope.shop_id, pk__in=list(cycles)).values_list("pk", flat=True))
        cycles = {k: v for k, v in cycles.items() if k in in_shop}
    if not cycles:
        return
    by_offset: dict[int, list[int]] = {}
    for product_id, cycle in cycles.items():
        by_offset.setdefault(replenish.offset_days(cycle, p.lead_days), []).append(product_id)
    windows = []
    for offset, product_ids in sorted(by_offset.items()):
        start, end = clock.day_bounds(today - timedelta(days=offset), scope.tz)
        windows.append(Q(product_id__in=sorted(product_ids), care_last__gte=start, care_last__lt=end))
    # (no Q(pk__in=[]) seed: naming the line's pk in HAVING would group by it)
    due = reduce(operator.or_, windows)
    earliest = clock.day_bounds(today - timedelta(days=max(by_offset)), scope.tz)[0]
    lines = OrderLine.objects.filter(
        product_id__in=sorted(cycles),
        order__status__in=Order.COUNTED,
        order__ordered_at__gte=earliest,
        order__customer__merged_into__isnull=True,
    ).exclude(refund_state=OrderLine.RefundState.REFUNDED)
    if scope.audience is not None:
        lines = lines.filter(order__customer_id__in=scope.audience.order_by().values("pk"))
    rows = list(
        lines.values("order__customer_id", "product_id")
        .annotate(care_last=Max("order__ordered_at"))
        .filter(due)
        .order_by("order__customer_id", "product_id")
        .values_list("order__customer_id", "product_id", "care_last")
    )
    scope.matched += len(rows)
    keys = {
        (c, p_, last): scope.key(c, f"p{p_}:{clock.local_today(last, scope.tz).isoformat()}") for c, p_, last in rows
    }
    seen = sending.existing_keys(list(keys.values()))
    fresh = [r for r in rows if keys[r] not in seen]
    products = {
        pk: (title, shop)
        for pk, title, shop in Product.objects.filter(pk__in=list(cycles)).values_list("pk", "title", "shop_id")
    }
    deadline = scope.deadline(at)
    for first in range(0, len(fresh), FETCH):
        chunk = fresh[first : first + FETCH]
        names = dict(Customer.objects.filter(pk__in={c for c, _p, _l in chunk}).values_list("pk", "name"))
        for row in chunk:
            customer_id, product_id, last = row
            title, shop_id = products[product_id]
            last_day = clock.local_today(last, scope.tz)
            yield CareMessage(
                key=keys[row],
                customer_id=customer_id,
                shop_id=shop_id,
                context=scope.context(
                    names.get(customer_id, ""), shop_id, product=title, date=clock.format_day(last_day, scope.language)
                ),
                deadline=deadline,
            )


def match_new_product(scope: Scope, at: datetime) -> Iterator[CareMessage]:
    """Each listed product announced once to every customer in the new-products consent group (any channel)
    — or, without `opt_in_only`, to everyone in the audience. Occasion: the product."""
    p: NewProductParams = scope.params
    products = Product.objects.filter(pk__in=p.products)
    if scope.shop_id is not None:
        products = products.filter(shop_id=scope.shop_id)
    qs = _customers(scope)
    if p.opt_in_only:
        qs = qs.filter(
            Exists(
                Consent.objects.filter(customer_id=OuterRef("pk"), purpose=Consent.Purpose.NEW_PRODUCTS, granted=True)
            )
        )
    deadline = scope.deadline(at)
    for product_id, title, shop_id in products.order_by("pk").values_list("pk", "title", "shop_id"):
        occasion = f"p{product_id}"
        for pk, name in _fresh(scope, qs, scope.key_sql("pk", occasion), "pk", "name"):
            yield CareMessage(
                key=scope.key(pk, occasion),
                customer_id=pk,
                shop_id=shop_id,
                context=scope.context(name, shop_id, product=title),
                deadline=deadline,
            )


MATCHERS: dict[str, Callable[[Scope, datetime], Iterator[CareMessage]]] = {
    "paid_today": match_paid_today,
    "unpaid_reminder": match_unpaid_reminder,
    "shipped": match_shipped,
    "delivered_followup": match_delivered_followup,
    "unconfirmed_receipt": match_unconfirmed_receipt,
    "birthday": match_birthday,
    "no_contact": match_no_contact,
    "dormant": match_dormant,
    "level_up": match_level_up,
    "holiday": match_holiday,
    "replenishment": match_replenishment,
    "new_product": match_new_product,
}


def rule_selection(rule: CareRule, at: datetime) -> tuple[Scope, Iterator[CareMessage]]:
    """The rule's scope and the messages it calls for at `at` that were not enqueued before; once the iterator
    is exhausted, `scope.matched` holds how many occasions matched in all (already cared for included)."""
    scope = scope_for(rule, at)
    return scope, MATCHERS[rule.trigger](scope, at)


def rule_matches(rule: CareRule, at: datetime) -> Iterator[CareMessage]:
    """The messages `rule` calls for at `at` that were not enqueued before."""
    return rule_selection(rule, at)[1]
