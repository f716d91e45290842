"""Reads of campaigns: the audience (segment ∩ consent rule), previews, and the results with uplift."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from huitouke.audiences.conditions import DefinitionError
from huitouke.audiences.selectors import segment_customers
from huitouke.campaigns import stats
from huitouke.campaigns.costs import SmsParts, campaign_cost_of
from huitouke.campaigns.costs import price_list as price_list  # the prices page reads them here
from huitouke.campaigns.models import Campaign
from huitouke.customers.models import Consent, Customer
from huitouke.customers.selectors import CustomerFilter, customer_list
from huitouke.messaging import tallies
from huitouke.messaging.models import Channel, Message
from huitouke.messaging.selectors import (
    MarketingReach,
    Preview,
    marketing_reach,
    template_preview,
)
from huitouke.orders.models import Order

#: The consent channel that grants a campaign channel (manual tasks go through the platform's chat).
CONSENT_CHANNEL = {
    Channel.SMS: Consent.Channel.SMS,
    Channel.EMAIL: Consent.Channel.EMAIL,
    Channel.MANUAL: Consent.Channel.IM,
}

CENT = Decimal("0.01")


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("segment", "template", "shop").order_by("-created_at")


def campaign_get(*, pk: int) -> Campaign:
    return Campaign.objects.select_related("segment", "template", "shop").get(pk=pk)


def one_off_customers(selection: dict[str, Any]) -> QuerySet[Customer]:
    """The customers a one-off send picked on the customer list: the ticked ids ({"ids": [...]}) or everyone the
    list's filters match ({"filters": {...}}), merged customers never. Raises ApplicationError (naming the
    filter) when a stored filter no longer parses."""
    if "ids" in selection:
        return Customer.objects.filter(pk__in=[int(i) for i in selection["ids"]], merged_into__isnull=True)
    wanted = CustomerFilter.from_params({k: str(v) for k, v in (selection.get("filters") or {}).items()})
    return customer_list(filters=wanted, capped=False)


def campaign_audience(campaign: Campaign) -> QuerySet[Customer]:
    """Who a launch would select now: the segment's members (a one-off send: the customers picked on the list),
    and for new-product notices and promotions only those in the new-products consent group on the campaign's
    channel (新品通知 reaches nobody else).

    Raises DefinitionError when the segment's definition no longer validates."""
    if campaign.one_off:
        members = Customer.objects.filter(pk__in=one_off_customers(campaign.selection).order_by().values("pk"))
    elif campaign.segment is None:
        return Customer.objects.none()
    else:
        members = segment_customers(campaign.segment.definition)
    if campaign.kind in Campaign.CONSENT_KINDS:
        members = members.filter(Exists(new_products_agreed(campaign.channel)))
    return members


def new_products_agreed(channel: str) -> QuerySet[Consent]:
    """The customer's yes to new-product and promotion notices on the channel (for an Exists(OuterRef("pk")))."""
    return Consent.objects.filter(
        customer_id=OuterRef("pk"),
        purpose=Consent.Purpose.NEW_PRODUCTS,
        channel=CONSENT_CHANNEL.get(Channel(channel), Consent.Channel.IM),
        granted=True,
    )


def campaign_audience_count(campaign: Campaign) -> int | None:
    try:
        return campaign_audience(campaign).count()
    except DefinitionError:
        return None


def campaign_reach(campaign: Campaign) -> MarketingReach | None:
    """How many of the selected customers the shop's marketing consent model leaves out (None: invalid segment)."""
    try:
        audience = campaign_audience(campaign)
    except DefinitionError:
        return None
    return marketing_reach(customers=audience, channel=campaign.channel, shop_id=campaign.shop_id)


def campaign_sample_customer(campaign: Campaign) -> Customer | None:
    """Whom a test send is filled in for: the first member, else any customer (the segment may be empty)."""
    try:
        first = campaign_audience(campaign).order_by("pk").first()
    except DefinitionError:
        first = None
    return first or Customer.objects.filter(merged_into__isnull=True).order_by("pk").first()


def campaign_preview(campaign: Campaign, *, limit: int = 3) -> list[tuple[Customer, Preview]]:
    """The message as the first few members would get it."""
    if campaign.template is None:
        return []
    try:
        sample = list(campaign_audience(campaign).order_by("pk")[:limit])
    except DefinitionError:
        return []
    t = campaign.template
    return [
        (
            customer,
            template_preview(
                channel=t.channel,
                purpose=t.purpose,
                language=t.language,
                subject=t.subject,
                body=t.body,
                customer=customer,
                shop=campaign.shop,
                context=campaign.context,
            ),
        )
        for customer in sample
    ]


@dataclass
class Group:
    """One side of the split: customers, how many bought in the window, revenue and its sum of squares."""

    customers: int = 0
    converted: int = 0
    revenue: Decimal = Decimal("0")
    revenue_sq: float = 0.0

    @property
    def rate(self) -> float | None:
        return self.converted / self.customers if self.customers else None

    @property
    def revenue_per_customer(self) -> Decimal | None:
        return (self.revenue / self.customers).quantize(Decimal("0.01")) if self.customers else None


@dataclass
class Results:
    """Everything the results page and the API show about a launched campaign."""

    targeted: int
    held_out: int
    statuses: dict[str, int]
    suppressed: dict[str, int]
    unsubscribed: int
    treated: Group
    holdout: Group
    window_start: Any
    window_end: Any
    rate_uplift: stats.Estimate
    revenue_uplift: stats.Estimate
    incremental_revenue: Decimal | None
    cost: Decimal
    roi: Decimal | None
    daily: list[tuple[date, int, int]] = field(default_factory=list)
    #: SMS: the stored parts the cost was priced on (how many texts they cover, when they were counted)
    sms_parts: SmsParts | None = None
    #: when the orders side (groups, daily, unsubscribed) was counted
    orders_counted_at: datetime | None = None

    @property
    def sent(self) -> int:
        return sum(self.statuses.get(s, 0) for s in (Message.Status.SENT, Message.Status.DELIVERED))

    @property
    def delivered(self) -> int:
        return self.statuses.get(Message.Status.DELIVERED, 0)

    @property
    def waiting(self) -> int:
        return sum(self.statuses.get(s, 0) for s in Message.PENDING)

    @property
    def contacted(self) -> int:
        """Messages handed to the channel (what the cost is priced on)."""
        return sum(self.statuses.get(s, 0) for s in Message.CONTACTED)

    @property
    def failed(self) -> int:
        return self.statuses.get(Message.Status.FAILED, 0)


def message_counts(campaign: Campaign) -> dict[tuple[str, str], int]:
    """{(status, reason): messages} of the campaign's marketing messages (test sends to staff are service
    messages), from messaging's kept counts: a few rows, however many messages it sent."""
    counts = tallies.source_counts(
        source_type_id=ContentType.objects.get_for_model(Campaign).pk, source_ids=[campaign.pk], purposes=["marketing"]
    )
    return counts.get(campaign.pk, {})


_GROUPS_SQL = """
SELECT per.holdout, COUNT(*), SUM(CASE WHEN per.orders > 0 THEN 1 ELSE 0 END), COALESCE(SUM(per.revenue), 0),
       COALESCE(SUM(per.revenue * per.revenue), 0)
FROM (
    SELECT r.holdout AS holdout, r.customer_id AS customer_id, COUNT(o.id) AS orders,
           COALESCE(SUM(o.paid_amount), 0) AS revenue
    FROM campaigns_campaignrecipient r
    LEFT JOIN orders_order o ON o.customer_id = r.customer_id AND o.status IN ({statuses})
         AND o.ordered_at >= %s AND o.ordered_at < %s
    WHERE r.campaign_id = %s
    GROUP BY r.holdout, r.customer_id
) per
GROUP BY per.holdout
"""

_DAILY_SQL = """
SELECT o.ordered_at, r.holdout, o.customer_id
FROM campaigns_campaignrecipient r
JOIN orders_order o ON o.customer_id = r.customer_id AND o.status IN ({statuses})
     AND o.ordered_at >= %s AND o.ordered_at < %s
WHERE r.campaign_id = %s
ORDER BY o.ordered_at
"""


def _adapt(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def campaign_cost(campaign: Campaign) -> Decimal:
    """Messages handed to the channel times its price (SMS: per part, the signature included; see costs)."""
    contacted = sum(n for (status, _reason), n in message_counts(campaign).items() if status in Message.CONTACTED)
    return campaign_cost_of(campaign, contacted=contacted).amount


@dataclass(frozen=True)
class OrderFigures:
    """The orders side of a campaign's results: each group's buyers in the attribution window [start, end), the
    buyers per day (days in the time zone `tz`), and the messaged customers who said no since the launch; counted
    at `counted_at`. Reading them joins the recipients with every order of the window (over a second at a million
    customers), so the results page keeps them (`campaign_order_figures`)."""

    start: datetime
    end: datetime
    tz: str
    groups: dict[bool, Group]
    daily: list[tuple[date, int, int]]
    unsubscribed: int
    counted_at: datetime


#: while its attribution window is open, a campaign's kept order figures are counted again after this long
OPEN_WINDOW_RECOUNT = timedelta(minutes=10)
#: the refresh after an import (and the nightly job) counts again the campaigns launched this recently; older ones
#: are dropped and counted on their next visit
RECOUNT_LAUNCHED_WITHIN = timedelta(days=400)

_FIGURES_KEY = "campaigns.orders"


def _order_figures(campaign: Campaign, start: datetime, end: datetime) -> OrderFigures:
    groups = {False: Group(), True: Group()}
    daily: dict[date, list[set[int]]] = {}
    tz = timezone.get_current_timezone()
    if campaign.launched_at is not None:
        marks = ", ".join(["%s"] * len(Order.COUNTED))
        params = [*Order.COUNTED, _adapt(start), _adapt(end), campaign.pk]
        with connection.cursor() as cur:
            cur.execute(_GROUPS_SQL.format(statuses=marks), params)
            for holdout, customers, converted, revenue, revenue_sq in cur.fetchall():
                # SQLite sums decimals as floats: back to cents (2.675000000001 must not reach the page)
                amount = Decimal(str(revenue)).quantize(CENT)
                groups[bool(holdout)] = Group(int(customers), int(converted or 0), amount, float(revenue_sq))
            cur.execute(_DAILY_SQL.format(statuses=marks), params)
            for ordered_at, holdout, customer_id in cur.fetchall():
                when = datetime.fromisoformat(ordered_at) if isinstance(ordered_at, str) else ordered_at
                if timezone.is_naive(when):
                    when = when.replace(tzinfo=UTC)  # SQLite keeps naive UTC
                day = timezone.localtime(when, tz).date()
                daily.setdefault(day, [set(), set()])[1 if holdout else 0].add(customer_id)
    unsubscribed = (
        Consent.objects.filter(
            customer__campaign_memberships__campaign=campaign,
            customer__campaign_memberships__holdout=False,
            granted=False,
            updated_at__gte=start,
            purpose__in=(Consent.Purpose.MARKETING, Consent.Purpose.NEW_PRODUCTS),
        )
        .values("customer_id")
        .distinct()
        .count()
        if campaign.launched_at
        else 0
    )
    return OrderFigures(
        start=start,
        end=end,
        tz=str(tz),
        groups=groups,
        daily=[(day, len(sides[0]), len(sides[1])) for day, sides in sorted(daily.items())],
        unsubscribed=unsubscribed,
        counted_at=timezone.now(),
    )


def campaign_order_figures(campaign: Campaign, start: datetime, end: datetime) -> OrderFigures:
    """The campaign's order figures as kept in analytics' FigureSnapshot, counted now when none are kept, when the
    kept ones are of another window or time zone, or when the window was still open at their count and that was
    OPEN_WINDOW_RECOUNT ago. After the window closed they stay until the refresh after an import or the nightly
    job (`campaign_figures_refresh`) counts them again."""
    from huitouke.analytics.snapshots import figure_read

    tz = str(timezone.get_current_timezone())
    now = timezone.now()

    def current(value: Any) -> bool:
        return (
            isinstance(value, OrderFigures)
            and (value.start, value.end, value.tz) == (start, end, tz)
            and (value.counted_at >= value.end or now - value.counted_at < OPEN_WINDOW_RECOUNT)
        )

    return figure_read(
        key=f"{_FIGURES_KEY}:{campaign.pk}", compute=lambda: _order_figures(campaign, start, end), current=current
    ).value


def campaign_figures_refresh() -> int:
    """Count again the kept order figures of the campaigns launched within RECOUNT_LAUNCHED_WITHIN (orders
    imported since may fall in their windows), and drop the others' (counted on their next visit); returns the
    campaigns counted."""
    from huitouke.analytics.snapshots import figure_keys, figure_store, figures_forget

    since = timezone.now() - RECOUNT_LAUNCHED_WITHIN
    recent = list(Campaign.objects.filter(launched_at__gte=since).order_by("pk"))
    for campaign in recent:
        start = campaign.launched_at or timezone.now()
        end = start + timedelta(days=campaign.attribution_days)
        figure_store(key=f"{_FIGURES_KEY}:{campaign.pk}", compute=partial(_order_figures, campaign, start, end))
    kept = {f"{_FIGURES_KEY}:{c.pk}" for c in recent}
    figures_forget(keys=[k for k in figure_keys(prefix=f"{_FIGURES_KEY}:") if k not in kept])
    return len(recent)


def campaign_results(campaign: Campaign, *, kept: bool = False) -> Results:
    """Targeted, held out, message outcomes, unsubscribes, and the orders of each group within the attribution
    window (from the launch, `attribution_days` long; closed and refunded orders do not count), with the uplift
    of the treated over the holdout group, the cost at the channel's price and the ROI. `kept`: the order figures
    as kept for the results page (`campaign_order_figures`), else counted now."""
    # the messages by status and reason from messaging's kept counts (not counted again here): the outcomes, the
    # reasons of those not sent and the count the cost is priced on all come from them
    statuses: dict[str, int] = defaultdict(int)
    suppressed: dict[str, int] = defaultdict(int)
    not_sent = (Message.Status.SUPPRESSED, Message.Status.EXPIRED, Message.Status.FAILED)
    for (status, reason), n in message_counts(campaign).items():
        statuses[status] += n
        if status in not_sent:
            suppressed[reason] += n
    start = campaign.launched_at or timezone.now()
    end = start + timedelta(days=campaign.attribution_days)
    figures = (
        campaign_order_figures(campaign, start, end)
        if kept and campaign.launched_at is not None
        else _order_figures(campaign, start, end)
    )
    treated, holdout = figures.groups[False], figures.groups[True]
    rate = stats.rate_difference(treated.converted, treated.customers, holdout.converted, holdout.customers)
    revenue = stats.mean_difference(
        float(treated.revenue), treated.revenue_sq, treated.customers, float(holdout.revenue), holdout.revenue_sq,
        holdout.customers,
    )  # fmt: skip
    incremental = stats.incremental_revenue(revenue.value, treated.customers)
    cost = campaign_cost_of(campaign, contacted=sum(statuses.get(s, 0) for s in Message.CONTACTED))
    unsubscribed = figures.unsubscribed
    return Results(
        targeted=campaign.targeted,
        held_out=campaign.held_out,
        statuses={str(k): int(v) for k, v in statuses.items()},
        suppressed={str(k): int(v) for k, v in suppressed.items()},
        unsubscribed=unsubscribed,
        treated=treated,
        holdout=holdout,
        window_start=start,
        window_end=end,
        rate_uplift=rate,
        revenue_uplift=revenue,
        incremental_revenue=incremental,
        cost=cost.amount,
        roi=stats.roi(incremental, cost.amount),
        sms_parts=cost.sms,
        daily=figures.daily,
        orders_counted_at=figures.counted_at,
    )
