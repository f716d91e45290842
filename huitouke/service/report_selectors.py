"""Reads behind the service reports: the facts of the tickets opened in a period (for staff performance per
agent, type and product), the compensation ledger grouped four ways, the recovery effect (repurchase after a
ticket), and each product's complaint share (for analytics' products page)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Coalesce, FirstValue, RowNumber

from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service import selectors
from huitouke.service.calendar import business_time_between
from huitouke.service.models import Compensation, SlaBreach, Ticket
from huitouke.service.performance import TicketFacts
from huitouke.service.survey_models import Survey

MAX_DAYS = 366
#: tickets read for one report at most (a bound on the work a period can cause)
MAX_TICKETS = 200_000


@dataclass(frozen=True)
class Period:
    """Business dates [start, end] (inclusive) in the business time zone."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(settings.TIME_ZONE)
        return (
            datetime.combine(self.start, time(), tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time(), tzinfo=tz),
        )


def period_from(start: str, end: str, *, today: date) -> Period:
    """A period from ISO dates (default: the last 30 days up to today); ValueError naming the bad parameter."""
    try:
        last = date.fromisoformat(end) if end else today
    except ValueError:
        raise ValueError("end") from None
    try:
        first = date.fromisoformat(start) if start else last - timedelta(days=29)
    except ValueError:
        raise ValueError("start") from None
    if first > last:
        raise ValueError("start")
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return Period(first, last)


def _tickets(period: Period, shop: Shop | None) -> Any:
    low, high = period.bounds()
    qs = Ticket.objects.filter(created_at__gte=low, created_at__lt=high)
    return qs.filter(shop=shop) if shop is not None else qs


def ticket_facts(*, period: Period, shop: Shop | None = None) -> list[TicketFacts]:
    """The tickets opened in the period (at most MAX_TICKETS, newest first) with their owners, products, first
    response and resolution in business minutes of their shop's calendar, and whether a clock was breached."""
    rows = list(
        _tickets(period, shop)
        .order_by("-created_at", "-id")
        .values_list(
            "id",
            "shop_id",
            "type",
            "owner__username",
            "first_owner__username",
            "created_at",
            "first_responded_at",
            "resolved_at",
            "sla_policy_id",
            "reopen_count",
        )[:MAX_TICKETS]
    )
    ids = [r[0] for r in rows]
    breached: set[int] = set()
    products: dict[int, list[str]] = defaultdict(list)
    # every ticket of the period read: its breaches and lines by a join (no list of 45,000 ids to send and plan);
    # cut at MAX_TICKETS: those read, by their ids
    scopes: list[Any] = (
        [_tickets(period, shop).values("pk")]
        if len(rows) < MAX_TICKETS
        else [ids[chunk : chunk + 5000] for chunk in range(0, len(ids), 5000)]
    )
    for part in scopes:
        breached.update(SlaBreach.objects.filter(ticket_id__in=part).values_list("ticket_id", flat=True))
        links = Ticket.order_lines.through.objects.filter(ticket_id__in=part).values_list(
            "ticket_id", "orderline__product__title", "orderline__title"
        )
        for ticket_id, product, title in links:
            name = product or title
            if name and name not in products[ticket_id]:
                products[ticket_id].append(name)
    calendars: dict[int, Any] = {}
    shops = {s.pk: s for s in Shop.objects.filter(pk__in={r[1] for r in rows})}

    def minutes(shop_id: int, a: datetime, b: datetime | None) -> float | None:
        if b is None:
            return None
        if shop_id not in calendars:
            calendars[shop_id] = selectors.calendar_for_shop(shop=shops[shop_id], around=a)
        return max(business_time_between(calendars[shop_id], a, b).total_seconds() / 60, 0.0)

    return [
        TicketFacts(
            ticket_id=pk,
            type=kind,
            owner=owner or "",
            first_owner=first or "",
            products=tuple(products.get(pk, ())),
            first_response_minutes=minutes(shop_id, created, responded),
            resolution_minutes=minutes(shop_id, created, resolved),
            has_policy=policy is not None,
            breached=pk in breached,
            reopened=reopens > 0,
        )
        for pk, shop_id, kind, owner, first, created, responded, resolved, policy, reopens in rows
    ]


def compensation_by_agent(*, period: Period, shop: Shop | None = None) -> dict[str, Decimal]:
    """Approved compensation granted in the period, per granting agent (platform imports have none)."""
    qs = _compensation(period, shop).filter(granted_by__isnull=False)
    return {
        r["granted_by__username"]: r["amount"] for r in qs.values("granted_by__username").annotate(amount=Sum("amount"))
    }


def _compensation(period: Period, shop: Shop | None) -> Any:
    low, high = period.bounds()
    qs = Compensation.objects.filter(created_at__gte=low, created_at__lt=high, status=Compensation.Status.APPROVED)
    return qs.filter(ticket__shop=shop) if shop is not None else qs


#: the four ways the ledger is grouped: report key → the column grouped by
COMPENSATION_GROUPS = {
    "product": Coalesce(F("order_line__product__title"), F("order_line__title")),
    "kind": F("kind"),
    "reason": F("ticket__type"),
    "agent": F("granted_by__username"),
}


def compensation_report(
    *, period: Period, by: str, shop: Shop | None = None
) -> list[tuple[str, int, Decimal, Decimal]]:
    """(group, entries, amount to customers, cost to the shop), largest cost first; "" groups entries without
    one (no line, granted by an import)."""
    rows = (
        _compensation(period, shop)
        .annotate(group=COMPENSATION_GROUPS[by])
        .values("group")
        .annotate(n=Count("id"), amount=Sum("amount"), cost=Sum("cost"))
        .order_by("-cost", "group")[:200]
    )
    return [(r["group"] or "", r["n"], r["amount"] or Decimal(0), r["cost"] or Decimal(0)) for r in rows]


# --- recovery effect -------------------------------------------------------------------------------------------

RECOVERY_WINDOWS = (90, 180)
GROUPS = ("resolved", "unresolved", "no_ticket")
#: The resolved group split by the customer's satisfaction answer (the latest answered survey of the ticket).
CSAT_GROUPS = ("resolved_satisfied", "resolved_neutral", "resolved_dissatisfied", "resolved_no_answer")


def recovery_counts(
    *, days: int, today: date, lookback: int = 365, shop: Shop | None = None
) -> dict[str, tuple[int, int]]:
    """group → (observed, bought again within `days`), for anchors in the `lookback` days that ended `days` ago
    (so every anchor had its whole window to buy again):
    - resolved: each resolved ticket, from its resolution;
    - unresolved: each ticket not resolved (still open at the end of its window, or closed without a fix), from
      its creation;
    - no_ticket: each customer who never had a ticket, from their first purchase in the same span;
    - resolved_satisfied / _neutral / _dissatisfied / _no_answer: the resolved group by the ticket's latest answered
      satisfaction rating (4–5, 3, 1–2, none).
    A purchase is a paid, not closed or refunded order after the anchor and at most `days` later."""
    tz = ZoneInfo(settings.TIME_ZONE)
    end = datetime.combine(today - timedelta(days=days), time(), tzinfo=tz)
    start = end - timedelta(days=lookback)
    window = timedelta(days=days)

    def bought(anchor: str) -> Exists:
        orders = Order.objects.filter(
            customer_id=OuterRef("customer_id"),
            status__in=Order.COUNTED,
            ordered_at__gt=OuterRef(anchor),
            ordered_at__lte=OuterRef(anchor) + window,
        )
        return Exists(orders)

    tickets = Ticket.objects.filter(shop=shop) if shop is not None else Ticket.objects.all()
    resolved = tickets.filter(resolved_at__gte=start, resolved_at__lt=end).exclude(
        platform_status="CLOSED"  # a refund the buyer withdrew was closed, not fixed
    )
    unresolved = tickets.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("created_at") + window) | Q(platform_status="CLOSED")
    )
    agg = unresolved.annotate(again=bought("created_at")).aggregate(n=Count("id"), k=Count("id", filter=Q(again=True)))
    not_fixed = (agg["n"] or 0, agg["k"] or 0)
    # The resolved group is the sum of its rating bands (they split it: a rating is 1–5 or none), so one pass over
    # the resolved tickets gives both.
    rating = Survey.objects.filter(ticket_id=OuterRef("pk"), answered_at__isnull=False).order_by("-answered_at", "-id")
    bands = {
        "resolved_satisfied": Q(csat__gte=4),
        "resolved_neutral": Q(csat=3),
        "resolved_dissatisfied": Q(csat__lte=2),
        "resolved_no_answer": Q(csat__isnull=True),
    }
    split = resolved.annotate(again=bought("resolved_at"), csat=Subquery(rating.values("rating")[:1])).aggregate(
        **{f"n_{g}": Count("id", filter=q) for g, q in bands.items()},
        **{f"k_{g}": Count("id", filter=q & Q(again=True)) for g, q in bands.items()},
    )
    bands_out = {g: (split[f"n_{g}"] or 0, split[f"k_{g}"] or 0) for g in CSAT_GROUPS}
    out = {
        "resolved": (sum(n for n, _k in bands_out.values()), sum(k for _n, k in bands_out.values())),
        "unresolved": not_fixed,
        **bands_out,
    }
    # Each customer without a ticket with their first counted order since `start`, numbered in one pass over the
    # span (a window function, not a subquery per order), with the repurchase check computed beside the number.
    # The first order since `start` lies before `end` exactly when the customer bought in [start, end), so the
    # span bounds the scan; on PostgreSQL the counted-orders index serves it index-only and the rank's run
    # condition stops each customer after their first order, so the check runs about once per customer (no
    # second visit of each first order by its id). Leaving customers with a ticket out before numbering changes
    # no rank: a customer's orders are all in or all out. The shop is that first order's shop, compared after
    # numbering (only then is the shop read from the table).
    order_key = [F("ordered_at").asc(), F("id").asc()]
    firsts = (
        Order.objects.filter(status__in=Order.COUNTED, ordered_at__gte=start, ordered_at__lt=end)
        .filter(~Exists(Ticket.objects.filter(customer_id=OuterRef("customer_id"))))
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("customer_id")], order_by=order_key), again=bought("ordered_at")
        )
        .filter(rank=1)
    )
    if shop is not None:
        firsts = firsts.annotate(
            first_shop=Window(FirstValue("shop_id"), partition_by=[F("customer_id")], order_by=order_key)
        ).filter(first_shop=shop.pk)
    agg = firsts.aggregate(n=Count("id"), k=Count("id", filter=Q(again=True)))
    out["no_ticket"] = (agg["n"] or 0, agg["k"] or 0)
    return out


# --- complaint share per product -------------------------------------------------------------------------------


def complaint_share(*, days: int, today: date, limit: int = 20) -> list[tuple[str, int, int]]:
    """(product, lines sold in the window, tickets about them), the products with the most tickets first."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=tz)
    through = Ticket.order_lines.through.objects.filter(orderline__order__ordered_at__gte=start).exclude(
        orderline__product__isnull=True
    )
    top = list(
        through.values("orderline__product_id", "orderline__product__title")
        .annotate(tickets=Count("ticket_id", distinct=True))
        .order_by("-tickets", "orderline__product__title")[:limit]
    )
    ids = [r["orderline__product_id"] for r in top]
    sold = dict(
        OrderLine.objects.filter(product_id__in=ids, order__ordered_at__gte=start)
        .values("product_id")
        .annotate(n=Count("id"))
        .values_list("product_id", "n")
    )
    return [(r["orderline__product__title"], sold.get(r["orderline__product_id"], 0), r["tickets"]) for r in top]
