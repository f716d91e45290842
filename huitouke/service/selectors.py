"""Reads of the service desk: the queue views with their filters, one ticket with everything its page shows,
a shop's calendar and settings, the SLA policy a ticket gets, notifications and the dashboard figures."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers.models import Customer
from huitouke.orders.models import Shop
from huitouke.service import defaults
from huitouke.service.calendar import BusinessCalendar, calendar_build
from huitouke.service.models import (
    OPEN_STATUSES,
    Notification,
    Playbook,
    Priority,
    ServiceCalendar,
    ServiceSettings,
    SlaBreach,
    SlaPolicy,
    SlaState,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketReply,
    TicketStatus,
    TicketTag,
    TicketType,
)

QUEUES = ("mine", "follow_ups", "unassigned", "breaching", "all")
PAGE_SIZE_MAX = 200


# --- settings, calendars, policies ---------------------------------------------------------------------------


def settings_for_shop(*, shop: Shop) -> ServiceSettings:
    """The shop's service settings (defaults when it has none yet; not saved here)."""
    found = ServiceSettings.objects.filter(shop=shop).first()
    return found or ServiceSettings(shop=shop)


@dataclass(frozen=True)
class CalendarSettings:
    """A shop's calendar in the API's shape (also what a shop without its own uses)."""

    timezone: str
    periods: list[str]
    weekdays: list[int]
    public_holidays: str | None
    days_off: list[date]
    workdays: list[date]

    def as_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "periods": list(self.periods),
            "weekdays": list(self.weekdays),
            "public_holidays": self.public_holidays,
            "days_off": [d.isoformat() for d in self.days_off],
            "workdays": [d.isoformat() for d in self.workdays],
        }


def calendar_settings(*, shop: Shop) -> CalendarSettings:
    """The shop's calendar settings, or the defaults (the shop's time zone, 09:00-12:00 and 13:30-18:00 on
    Monday to Friday, Chinese public holidays with their make-up days)."""
    row = ServiceCalendar.objects.filter(shop=shop).first()
    if row is None:
        return CalendarSettings(
            timezone=shop.timezone or "Asia/Shanghai",
            periods=list(defaults.DEFAULT_PERIODS),
            weekdays=list(defaults.DEFAULT_WEEKDAYS),
            public_holidays=defaults.DEFAULT_HOLIDAYS,
            days_off=[],
            workdays=[],
        )
    return CalendarSettings(
        timezone=row.timezone,
        periods=[str(p) for p in row.periods],
        weekdays=[int(d) for d in row.weekdays],
        public_holidays=row.public_holidays or None,
        days_off=[date.fromisoformat(str(d)) for d in row.days_off],
        workdays=[date.fromisoformat(str(d)) for d in row.workdays],
    )


_CALENDARS: dict[tuple[int, str], BusinessCalendar] = {}


def calendar_for_shop(*, shop: Shop, around: datetime | None = None) -> BusinessCalendar:
    """The shop's business calendar with public holidays loaded for the years around `around` (default now).

    Built calendars are cached per shop and settings version (their day caches make later questions cheap)."""
    row = ServiceCalendar.objects.filter(shop=shop).values_list("updated_at", flat=True).first()
    year = (around or timezone.now()).year
    key = (shop.pk, f"{row.isoformat() if row else '-'}:{shop.timezone}:{year}")
    cal = _CALENDARS.get(key)
    if cal is None:
        s = calendar_settings(shop=shop)
        cal = calendar_build(
            timezone=s.timezone,
            periods=s.periods,
            weekdays=s.weekdays,
            public_holidays=s.public_holidays,
            days_off=s.days_off,
            workdays=s.workdays,
            years=range(year - 1, year + 3),
        )
        if len(_CALENDARS) > 256:
            _CALENDARS.clear()
        _CALENDARS[key] = cal
    return cal


def sla_policy_list(*, shop: Shop | None = None) -> QuerySet[SlaPolicy]:
    """Policies in the order they are tried: the shop's own first (by position), then those for every shop.
    Without a shop: every policy."""
    qs = SlaPolicy.objects.select_related("shop")
    if shop is None:
        return qs.order_by(F("shop_id").asc(nulls_first=True), "position", "id")
    return qs.filter(Q(shop=shop) | Q(shop__isnull=True)).order_by(F("shop_id").asc(nulls_last=True), "position", "id")


def customer_level_name(*, customer: Customer, shop: Shop) -> str:
    """The customer's member level in the shop ("" when none)."""
    from huitouke.loyalty.models import Membership

    row = Membership.objects.filter(customer=customer, shop=shop).values_list("level__name", flat=True).first()
    return row or ""


def sla_policy_match(*, shop: Shop, type: str, priority: str, channel: str, level: str) -> SlaPolicy | None:
    """The first policy whose lists all match (an empty list matches anything), or None."""
    for policy in sla_policy_list(shop=shop):
        if policy.types and type not in policy.types:
            continue
        if policy.priorities and priority not in policy.priorities:
            continue
        if policy.channels and channel not in policy.channels:
            continue
        if policy.levels and level not in policy.levels:
            continue
        return policy
    return None


def playbook_for(*, shop: Shop, type: str) -> Playbook | None:
    """The playbook whose types include `type`: the shop's own first, then the shipped default."""
    for playbook in Playbook.objects.filter(Q(shop=shop) | Q(shop__isnull=True)).order_by(
        F("shop_id").asc(nulls_last=True), "position", "id"
    ):
        if type in playbook.types:
            return playbook
    return None


def playbook_list(*, shop: Shop | None) -> QuerySet[Playbook]:
    """A shop's own playbooks (None: the shipped defaults), with their steps."""
    return Playbook.objects.filter(shop=shop).prefetch_related("steps").order_by("position", "id")


# --- queues --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFilter:
    """The queue view and the filters of the ticket list (pages and the API)."""

    queue: str = "all"
    type: str = ""
    status: str = ""
    priority: str = ""
    channel: str = ""
    shop: str = ""
    tag: str = ""
    sla_state: str = ""
    owner: str = ""
    breached: bool | None = None
    customer_id: int | None = None

    @classmethod
    def from_params(cls, params: Any) -> TicketFilter:
        """From query parameters; a value outside its choices raises ApplicationError naming the parameter."""

        def text(name: str) -> str:
            return str(params.get(name) or "").replace("\x00", "").strip()[:100]

        def choice(name: str, allowed: Any) -> str:
            value = text(name)
            if value and value not in allowed:
                raise ApplicationError(f"{name}: unknown value {value!r}", field=name)
            return value

        breached_raw = text("breached").lower()
        if breached_raw not in ("", "true", "false"):
            raise ApplicationError("breached: use true or false", field="breached")
        customer = text("customer_id")
        if customer and not customer.isdigit():
            raise ApplicationError("customer_id: a customer id is a number", field="customer_id")
        return cls(
            queue=choice("queue", QUEUES) or "all",
            type=choice("type", TicketType.values),
            status=choice("status", [*TicketStatus.values, "unfinished"]),
            priority=choice("priority", Priority.values),
            channel=choice("channel", TicketChannel.values),
            shop=text("shop"),
            tag=text("tag"),
            sla_state=choice("sla_state", SlaState.values),
            owner=text("owner"),
            breached=None if not breached_raw else breached_raw == "true",
            customer_id=int(customer) if customer else None,
        )


def _open() -> Q:
    return Q(status__in=list(OPEN_STATUSES))


def ticket_queue(*, user: AbstractBaseUser | Any, filters: TicketFilter) -> QuerySet[Ticket]:
    """Tickets of one queue view narrowed by the filters, in the view's order:

    - mine: open tickets the user works now, soonest due first;
    - follow_ups: tickets the user first owned (首问) that are not closed, latest change first;
    - unassigned: open tickets nobody works, soonest due first;
    - breaching: open tickets whose running clocks are breaching soon, soonest due first;
    - all: every ticket, newest first.
    """
    qs = Ticket.objects.all()
    due_order = (F("sla_due").asc(nulls_last=True), "id")
    order: tuple[Any, ...]
    if filters.queue == "mine":
        qs, order = qs.filter(_open(), owner_id=user.pk), due_order
    elif filters.queue == "follow_ups":
        qs = qs.filter(first_owner_id=user.pk).exclude(status=TicketStatus.CLOSED)
        order = ("-updated_at", "-id")
    elif filters.queue == "unassigned":
        qs, order = qs.filter(_open(), owner__isnull=True), due_order
    elif filters.queue == "breaching":
        qs, order = qs.filter(_open(), sla_state=SlaState.BREACHING_SOON), due_order
    else:
        order = ("-created_at", "-id")
    if filters.type:
        qs = qs.filter(type=filters.type)
    if filters.status == "unfinished":
        qs = qs.filter(_open())
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.shop:
        qs = qs.filter(shop__name=filters.shop)
    if filters.tag:
        qs = qs.filter(Exists(TicketTag.objects.filter(ticket=OuterRef("pk"), name=filters.tag)))
    if filters.sla_state:
        qs = qs.filter(sla_state=filters.sla_state)
    if filters.owner:
        qs = qs.filter(owner__isnull=True) if filters.owner == "-" else qs.filter(owner__username=filters.owner)
    if filters.breached is not None:
        has_breach = Exists(SlaBreach.objects.filter(ticket=OuterRef("pk")))
        qs = qs.filter(has_breach) if filters.breached else qs.filter(~has_breach)
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    return qs.order_by(*order)


def ticket_rows(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """A queue's rows with what a list or the API shows (shop, customer, order, owners, steps, breaches).

    Shop, customer and order are joined; owners and the policy come by primary key in their own queries: a
    seven-table join took PostgreSQL ~14 ms to plan (it runs in under 1 ms) against ~0.8 ms for four tables
    (benchmarks/service.py, 1,000,000 tickets)."""
    return qs.select_related("shop", "customer", "order").prefetch_related(
        "owner", "first_owner", "sla_policy", "steps__done_by", "breaches", "tags", "surveys"
    )


#: what a queue row shows of the customer: contact fields are encrypted, and each one loaded is decrypted per row
_QUEUE_CUSTOMER_DEFERRED = ("customer__real_name", "customer__email", "customer__address")


def ticket_queue_rows(*, ids: list[int]) -> list[Ticket]:
    """The tickets `ids` in that order with what a queue row shows: shop, customer (name and phone only), owners
    and tags, in four queries whatever the page's size (a row needs no steps, breaches, surveys or policy)."""
    user_model = get_user_model()
    people = user_model._default_manager.only("pk", user_model.USERNAME_FIELD)
    loaded = {
        t.pk: t
        for t in Ticket.objects.filter(pk__in=ids)
        .select_related("shop", "customer")
        .defer(*_QUEUE_CUSTOMER_DEFERRED)
        .prefetch_related(
            Prefetch("owner", queryset=people),
            Prefetch("first_owner", queryset=people),
            "tags",
        )
    }
    return [loaded[i] for i in ids if i in loaded]


def ticket_page(qs: QuerySet[Ticket], *, page: int, page_size: int) -> tuple[list[Ticket], int]:
    """One page of a queue (1-based, at most PAGE_SIZE_MAX rows) and the number of matches."""
    page = max(1, page)
    size = max(1, min(page_size, PAGE_SIZE_MAX))
    rows = list(ticket_rows(qs)[(page - 1) * size : page * size])
    return rows, qs.count()


def ticket_get(*, ticket_id: int) -> Ticket:
    """One ticket with everything its page shows; NotFoundError when there is none."""
    ticket = (
        ticket_rows(Ticket.objects.filter(pk=ticket_id))
        .prefetch_related(
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
            Prefetch("replies", queryset=TicketReply.objects.select_related("author", "message")),
            "compensations__granted_by",
            "compensations__approved_by",
            "attachments",
            "order_lines",
        )
        .first()
    )
    if ticket is None:
        raise NotFoundError(f"ticket {ticket_id} not found", field="id")
    return ticket


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a ticket's history: a TicketEvent, or a breach the SLA tick recorded (SlaBreach)."""

    at: datetime
    kind: str
    actor: str | None
    old: str
    new: str
    note: str


def ticket_history(*, ticket: Ticket) -> list[HistoryEntry]:
    """Everything that happened to the ticket, oldest first: its events and its recorded SLA breaches (the tick
    records a breach as a SlaBreach row only, so that marking thousands at once stays a few statements)."""
    entries = [
        HistoryEntry(e.at, e.kind, e.actor.get_username() if e.actor else None, e.old, e.new, e.note)
        for e in TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")
    ]
    entries += [
        HistoryEntry(b.at, TicketEvent.Kind.SLA_BREACHED, None, b.clock, b.due.isoformat(), "")
        for b in SlaBreach.objects.filter(ticket=ticket).order_by("at", "id")
    ]
    return sorted(entries, key=lambda e: e.at)


def tickets_for_customer(*, customer: Customer, limit: int = 50) -> list[Ticket]:
    """The customer's newest tickets (the 360 panel)."""
    return list(
        Ticket.objects.filter(customer=customer)
        .select_related("shop", "owner", "first_owner")
        .order_by("-created_at", "-id")[:limit]
    )


def open_ticket_customers(*, customer_ids: tuple[int, ...] | list[int]) -> set[int]:
    """Which of these customers have an unfinished ticket (the marketing suppression hook)."""
    found: set[int] = set()
    ids = list(customer_ids)
    for i in range(0, len(ids), 2000):
        found.update(
            Ticket.objects.filter(_open(), customer_id__in=ids[i : i + 2000])
            .values_list("customer_id", flat=True)
            .distinct()
        )
    return found


def staff_for_tickets() -> QuerySet[Any]:
    """Active users who may work tickets (transfer and assign targets)."""
    User = get_user_model()
    perm = Q(groups__permissions__codename="change_ticket", groups__permissions__content_type__app_label="service")
    return User.objects.filter(Q(is_superuser=True) | perm, is_active=True).distinct().order_by("username")


def manager_ids() -> list[int]:
    """Users who are told about escalations and approve compensation (holders of service.approve_compensation)."""
    User = get_user_model()
    perm = Q(
        groups__permissions__codename="approve_compensation",
        groups__permissions__content_type__app_label="service",
    )
    return list(
        User.objects.filter(Q(is_superuser=True) | perm, is_active=True)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def notification_list(*, user: Any, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    qs = Notification.objects.filter(user=user).select_related("ticket")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.order_by("-created_at", "-id")[:limit])


def notification_text(n: Notification) -> str:
    """What a notification says, in the reader's language (pages render it; the row keeps kind and detail)."""
    from django.utils.translation import gettext as _

    from huitouke.service.models import Clock

    number = f"#{n.ticket.number}" if n.ticket_id and n.ticket else ""
    clock = str(dict(Clock.choices).get(n.detail.get("clock", ""), n.detail.get("clock", "")))
    statuses = dict(TicketStatus.choices)
    if n.kind == Notification.Kind.STATUS:
        return _("Ticket %(number)s: %(old)s → %(new)s") % {
            "number": number,
            "old": statuses.get(n.detail.get("old", ""), n.detail.get("old", "")),
            "new": statuses.get(n.detail.get("new", ""), n.detail.get("new", "")),
        }
    if n.kind == Notification.Kind.BREACHING:
        return _("Ticket %(number)s: %(clock)s is due soon") % {"number": number, "clock": clock}
    if n.kind == Notification.Kind.BREACHED:
        return _("Ticket %(number)s: %(clock)s is overdue") % {"number": number, "clock": clock}
    if n.kind == Notification.Kind.ESCALATED:
        return _("Ticket %(number)s: nobody took it within the first-response time") % {"number": number}
    if n.kind == Notification.Kind.DIGEST:
        return _("%(count)s tickets: %(clock)s overdue or unassigned") % {
            "count": n.detail.get("count", 0),
            "clock": clock,
        }
    if n.kind == Notification.Kind.TRANSFER:
        if number:
            return _("Ticket %(number)s was handed to you") % {"number": number}
        return _("%(count)s tickets were assigned to you") % {"count": n.detail.get("count", 0)}
    if n.kind == Notification.Kind.CSAT_LOW:
        return _("Ticket %(number)s: the customer rated the resolution %(rating)s of 5") % {
            "number": number,
            "rating": n.detail.get("rating", ""),
        }
    return _("Ticket %(number)s: compensation of %(amount)s waits for approval") % {
        "number": number,
        "amount": n.detail.get("amount", ""),
    }


# --- dashboard -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceFigures:
    open: int
    breaching: int
    breached: int
    new_today: int


def service_figures(*, today: date, tz: str) -> ServiceFigures:
    """The dashboard tile: unfinished tickets, how many of them are breaching soon / breached now, and tickets
    created on the business date `today` (in time zone `tz`)."""
    zone = zoneinfo.ZoneInfo(tz)
    start = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    counts = Ticket.objects.filter(_open()).aggregate(
        open=Count("id"),
        breaching=Count("id", filter=Q(sla_state=SlaState.BREACHING_SOON)),
        breached=Count("id", filter=Q(sla_state=SlaState.BREACHED)),
    )
    new = Ticket.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1)).count()
    return ServiceFigures(
        open=counts["open"] or 0,
        breaching=counts["breaching"] or 0,
        breached=counts["breached"] or 0,
        new_today=new,
    )
