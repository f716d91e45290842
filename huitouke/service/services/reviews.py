"""A negative review becomes a service case: the managers are told and a `negative_review` ticket is opened,
owned by whoever last worked a ticket of that order (else of that customer in the shop), or left in the queue."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.orders.models import Order
from huitouke.reviews.registry import NegativeReview
from huitouke.service import selectors
from huitouke.service.models import Notification, Ticket, TicketChannel, TicketType
from huitouke.service.services.common import notify
from huitouke.service.services.tickets import ticket_create, tickets_assign

_RESULT_WORD = {"bad": "差评", "neutral": "中评", "good": "好评"}


def _last_agent_id(order: Order) -> int | None:
    """Who last owned a ticket of this order, else of this customer in the same shop."""
    qs = Ticket.objects.filter(owner__isnull=False, owner__is_active=True)
    for flt in ({"order": order}, {"customer_id": order.customer_id, "shop_id": order.shop_id}):
        owner = qs.filter(**flt).order_by("-created_at", "-pk").values_list("owner_id", flat=True).first()
        if owner is not None:
            return int(owner)
    return None


def ticket_for_negative_review(event: NegativeReview) -> int | None:
    """Open the `negative_review` ticket of a review (once per review: tagged `review-<id>`) and alert the
    managers in-app. Returns the ticket's id."""
    tag = f"review-{event.review_id}"
    found = Ticket.objects.filter(tags__name=tag).values_list("pk", flat=True).first()
    if found is not None:
        return int(found)
    order = Order.objects.select_related("shop").get(pk=event.order_id)
    customer = Customer.objects.get(pk=event.customer_id)
    now = timezone.now()
    word = _RESULT_WORD.get(event.result, event.result)
    ticket = ticket_create(
        customer=customer,
        type=TicketType.NEGATIVE_REVIEW,
        channel=TicketChannel.REVIEW,
        subject=f"{word} · {order.order_no}",
        description=event.content,
        order=order,
        tags=[tag],
    )
    agent = _last_agent_id(order)
    if agent is not None:
        tickets_assign(ticket_ids=[ticket.pk], to=get_user_model().objects.get(pk=agent), actor=None, at=now)
    notify(
        user_ids=selectors.manager_ids(),
        kind=Notification.Kind.NEGATIVE_REVIEW,
        ticket=ticket,
        at=now,
        result=event.result,
        order_no=order.order_no,
    )
    return ticket.pk
