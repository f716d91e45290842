"""What `service` adds to the apps below it through their registries:

- reviews: a negative review opens a ticket and alerts the managers (in-app; by e-mail and group robot when the
  shop's credit settings name them), and a robot URL saved there passes messaging's outbound-safety check;
- messaging: marketing is suppressed while the customer has an unfinished ticket (reason `open_ticket`), and a
  customer's SMS reply (not an opt-out) joins their ticket;
- customers: the tickets panel of the 360 page, ticket events on its timeline, the merge hook;
- analytics: the dashboard's service tile (open, breaching soon, breached, new today);
- the shipped playbooks are created after every migrate (like messaging's templates).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models.signals import post_migrate
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huitouke.customers.models import Customer
from huitouke.customers.registry import (
    DetailPanel,
    TimelineEvent,
    register_merge_hook,
    register_panel,
    register_timeline_source,
)
from huitouke.messaging.registry import (
    InboundReply,
    SuppressionCheck,
    register_inbound_hook,
    register_suppression_hook,
)
from huitouke.reviews.registry import (
    ExplanationRequest,
    NegativeReview,
    Suggestion,
    register_destination_check,
    register_explanation_source,
    register_negative_review_hook,
)

TICKETS_ON_PAGE = 20


def open_ticket_suppression(check: SuppressionCheck) -> Mapping[int, str]:
    """Customers of the batch with an unfinished after-sales ticket (any shop) get no marketing."""
    from huitouke.messaging.models import Message
    from huitouke.service.selectors import open_ticket_customers

    return dict.fromkeys(open_ticket_customers(customer_ids=check.customer_ids), Message.Reason.OPEN_TICKET)


def negative_review_suppression(check: SuppressionCheck) -> Mapping[int, str]:
    """Customers of the batch who left a negative review within the shop's set number of days get no marketing
    (until the rating is changed to good)."""
    from huitouke.messaging.models import Message
    from huitouke.reviews.selectors import negative_review_customers

    since = check.now - timedelta(days=check.negative_review_days)
    found = negative_review_customers(customer_ids=check.customer_ids, since=since, shop_id=check.shop_id)
    return dict.fromkeys(found, Message.Reason.NEGATIVE_REVIEW)


def _negative_review(event: NegativeReview) -> int | None:
    from huitouke.service.services.reviews import ticket_for_negative_review

    return ticket_for_negative_review(event)


def _negative_review_alert(event: NegativeReview) -> int | None:
    from huitouke.service.services.review_alerts import negative_review_alert_queue

    negative_review_alert_queue(event)
    return None


def _destination_check(url: str, field: str) -> None:
    """A staff alert URL saved in the reviews settings: refused on a loopback, private or link-local host unless
    the operator allows it (messaging.channels.outbound; checked again at send time)."""
    from huitouke.core.errors import ApplicationError
    from huitouke.messaging.channels import outbound

    try:
        outbound.host_check_saved(outbound.url_host(url), setting=field)
    except outbound.OutboundAddressError as exc:
        raise ApplicationError(exc.message, field=field) from exc


def _review_explanations(request: ExplanationRequest) -> list[Suggestion]:
    """The canned replies of the review scenario the writer may use, filled for the review's order with the buyer
    addressed without a name (those whose other variables the records cannot fill are left out)."""
    from huitouke.customers.models import Customer
    from huitouke.orders.models import Order
    from huitouke.service.replies.models import ReplyCategory
    from huitouke.service.replies.selectors import ReplyTarget, reply_context, reply_list
    from huitouke.service.replies.variables import fill

    order = Order.objects.select_related("shop").filter(pk=request.order_id).first()
    if order is None:
        return []
    target = ReplyTarget(
        ticket=None, customer=Customer.objects.get(pk=request.customer_id), order=order, shop=order.shop
    )
    context = reply_context(target=target, agent=request.user, language=request.language)
    # an explanation is public: it never names the buyer
    context["name"] = context["nick"] = "there" if request.language == "en" else "买家"
    out = []
    for reply in reply_list(
        user=request.user, shop=order.shop, category=ReplyCategory.REVIEW, language=request.language
    )[:20]:
        filled = fill(reply.body, context)
        if filled.text:
            out.append(Suggestion(title=reply.title, text=filled.text))
    return out


def _inbound_sms(reply: InboundReply) -> int:
    from huitouke.service.services import ticket_sms_reply_receive

    return ticket_sms_reply_receive(customer_ids=reply.customer_ids, text=reply.text)


def _tickets_context(customer: Customer, request: Any) -> dict[str, Any]:
    from huitouke.service.selectors import tickets_for_customer

    user = getattr(request, "user", None)
    if user is None or not user.has_perm("service.view_ticket"):
        return {"tickets": None}
    return {"tickets": tickets_for_customer(customer=customer, limit=TICKETS_ON_PAGE)}


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # the pages are mounted by the urls of the service app when present
        return ""


def _ticket_events(customer: Customer, limit: int) -> list[TimelineEvent]:
    """Tickets opened, replies sent to the customer and the customer's own messages, status moves."""
    from huitouke.service.models import TicketEvent, TicketStatus

    kinds = [
        TicketEvent.Kind.CREATED,
        TicketEvent.Kind.REPLY,
        TicketEvent.Kind.CUSTOMER_MESSAGE,
        TicketEvent.Kind.STATUS,
    ]
    rows = (
        TicketEvent.objects.filter(ticket__customer=customer, kind__in=kinds)
        .select_related("ticket")
        .order_by("-at", "-id")[:limit]
    )
    labels, statuses = dict(TicketEvent.Kind.choices), dict(TicketStatus.choices)
    events = []
    for e in rows:
        body = e.note
        if e.kind == TicketEvent.Kind.STATUS:
            body = f"{statuses.get(e.old, e.old)} → {statuses.get(e.new, e.new)}"
        elif e.kind == TicketEvent.Kind.CREATED:
            body = e.ticket.subject
        events.append(
            TimelineEvent(
                at=e.at,
                kind="ticket",
                title=(
                    _("Ticket #%(number)s opened") % {"number": e.ticket.number}
                    if e.kind == TicketEvent.Kind.CREATED
                    else _("Ticket #%(number)s · %(event)s")
                    % {"number": e.ticket.number, "event": labels.get(e.kind, e.kind)}
                ),
                body=body[:300],
                url=_url("service:ticket", e.ticket_id),
            )
        )
    return events


def _merge_tickets(source: Customer, target: Customer) -> None:
    from huitouke.service.services.tickets import tickets_merge

    tickets_merge(source=source, target=target)


def _tile_value(today: date) -> Any:
    from huitouke.analytics.registry import TileValue
    from huitouke.service.selectors import service_figures

    f = service_figures(today=today, tz=settings.TIME_ZONE)
    note = _("%(breaching)s breaching soon · %(breached)s breached · %(new)s new today") % {
        "breaching": f.breaching,
        "breached": f.breached,
        "new": f.new_today,
    }
    return TileValue(value=f"{f.open:,}", note=note, url=_url("service:queue"))


def _playbooks_after_migrate(**kwargs: Any) -> None:
    from huitouke.service.services.config import playbooks_defaults_load

    playbooks_defaults_load()


def register() -> None:
    from django.apps import apps

    from huitouke.analytics.registry import Tile, register_tile

    register_suppression_hook("service", open_ticket_suppression)
    register_suppression_hook("reviews", negative_review_suppression)
    register_negative_review_hook("service", _negative_review)
    register_negative_review_hook("service-alert", _negative_review_alert)
    register_destination_check("service", _destination_check)
    register_explanation_source("service", _review_explanations)
    register_inbound_hook("service", _inbound_sms)
    register_panel(
        DetailPanel(
            key="tickets",
            title=gettext_lazy("After-sales tickets"),
            template="service/_customer_tickets.html",
            context=_tickets_context,
            order=12,
        )
    )
    register_timeline_source("tickets", _ticket_events)
    register_merge_hook("service", _merge_tickets)
    register_tile(
        Tile(
            key="service",
            title=gettext_lazy("Open after-sales tickets"),
            value=_tile_value,
            order=40,
            permission="service.view_ticket",
        )
    )
    post_migrate.connect(
        _playbooks_after_migrate, sender=apps.get_app_config("service"), dispatch_uid="service-playbooks"
    )
    from huitouke.service.replies.extensions import register as replies_register

    replies_register()
