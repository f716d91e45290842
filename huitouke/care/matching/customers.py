"""Selectors about customers: birthday, not contacted, dormant, level up, holiday, replenishment, new
product."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Exists,
    Max,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate

from huitouke.care import sending
from huitouke.care.matching.scope import (
    FETCH,
    CareMessage,
    Scope,
    _customer_messages,
    _customers,
    _fresh,
)
from huitouke.care.triggers import birthday, clock, festivals, replenish
from huitouke.care.triggers.params import (
    BirthdayParams,
    DormantParams,
    HolidayParams,
    LevelUpParams,
    NewProductParams,
    NoContactParams,
    ReplenishmentParams,
)
from huitouke.customers.models import Consent, Customer, Note
from huitouke.orders.models import Order, OrderLine, Product, Shop

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
        if scope.customer_ids is not None:
            changes = changes.filter(customer_id__in=scope.customer_ids)
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
    seen = sending.existing_keys(list(keys.values()), scope.retry_from)
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
