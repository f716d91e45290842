"""The self-service help page's rules (自助提交): signed links, finding an order without enumerating orders,
throttling shared by every process, and the customer's writes (a new ticket, an answer with photos).

Signed links: `/help/o/<token>/` opens one order's page and `/help/t/<token>/` one ticket's status page. Tokens
are django.core.signing payloads with their own salts, valid HUITOUKE_SELF_SERVICE_LINK_DAYS days; a forged,
altered or expired token reads as "not found". `portal_link(order=…)` and `portal_ticket_link(ticket=…)` give
the absolute links (from HUITOUKE_PUBLIC_URL) for messages and canned replies (`{self_service_link}`).

Finding an order: order number + last four digits of the receiving phone. A wrong number and a wrong phone take
the same path (one query, one constant-time comparison) and get the same answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service.models import (
    Attachment,
    PortalThrottle,
    ServiceSettings,
    Ticket,
    TicketChannel,
    TicketReply,
    TicketStatus,
    TicketType,
)
from huitouke.service.portal_photos import CleanPhoto
from huitouke.service.services import attachment_add, ticket_create, ticket_customer_message

ORDER_SALT = "huitouke.service.portal.order"
TICKET_SALT = "huitouke.service.portal.ticket"
DESCRIPTION_MAX = 2000
ANSWER_MAX = 2000
WINDOW = timedelta(hours=1)

#: The ticket types a customer can choose, in the customer's words (dispute and negative_review are the shop's).
CUSTOMER_TYPES: tuple[tuple[str, object], ...] = (
    (TicketType.QUALITY, _("Something is wrong with the quality")),
    (TicketType.WRONG_ITEM, _("I received the wrong item")),
    (TicketType.NOT_AS_DESCRIBED, _("It looks different from the pictures or description")),
    (TicketType.LOGISTICS, _("Delivery problem: late, damaged or lost")),
    (TicketType.RETURN, _("I want to return it")),
    (TicketType.EXCHANGE, _("I want to exchange it")),
    (TicketType.REFUND, _("I want a refund")),
    (TicketType.REPAIR, _("It broke and needs a repair")),
    (TicketType.COMPLAINT, _("I want to make a complaint")),
    (TicketType.INQUIRY, _("I have a question")),
)
CUSTOMER_TYPE_VALUES = tuple(str(v) for v, _label in CUSTOMER_TYPES)

#: Ticket statuses as the customer reads them.
CUSTOMER_STATUS: dict[str, object] = {
    TicketStatus.NEW: _("Received, waiting for our service team"),
    TicketStatus.OPEN: _("Our service team is on it"),
    TicketStatus.WAITING_CUSTOMER: _("Waiting for your answer"),
    TicketStatus.WAITING_THIRD_PARTY: _("Waiting for the carrier, platform or maker"),
    TicketStatus.RESOLVED: _("Solved"),
    TicketStatus.CLOSED: _("Case closed"),
}


class ThrottledError(ApplicationError):
    code = "throttled"
    status = 429

    def __init__(self, message: str, *, wait_seconds: int) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


# --- signed links ------------------------------------------------------------------------------------------


def link_days() -> int:
    return int(settings.HUITOUKE_SELF_SERVICE_LINK_DAYS)


def order_token(order: Order) -> str:
    return signing.dumps({"o": order.pk}, salt=ORDER_SALT, compress=False)


def ticket_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk}, salt=TICKET_SALT, compress=False)


def _read(token: str, salt: str, key: str) -> int:
    if not isinstance(token, str) or len(token) > 200:
        raise NotFoundError("this link is not valid")
    try:
        data = signing.loads(token, salt=salt, max_age=timedelta(days=link_days()))
    except signing.SignatureExpired as exc:
        raise NotFoundError("this link has expired", code="expired") from exc
    except signing.BadSignature as exc:
        raise NotFoundError("this link is not valid") from exc
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotFoundError("this link is not valid")
    return value


def order_from_token(token: str) -> Order:
    """The order a signed order link names (with its shop and customer). NotFoundError when forged/expired."""
    pk = _read(token, ORDER_SALT, "o")
    order = Order.objects.select_related("shop", "customer").filter(pk=pk).first()
    if order is None:
        raise NotFoundError("this link is not valid")
    return order


def ticket_from_token(token: str) -> Ticket:
    """The ticket a signed status link names (with shop, order, customer). NotFoundError when forged/expired."""
    pk = _read(token, TICKET_SALT, "t")
    ticket = Ticket.objects.select_related("shop", "order", "customer").filter(pk=pk).first()
    if ticket is None:
        raise NotFoundError("this link is not valid")
    return ticket


def _absolute(path: str) -> str:
    return f"{settings.HUITOUKE_PUBLIC_URL}{path}"


def portal_link(*, order: Order) -> str:
    """The absolute link of the order's self-service page (report a problem without identifying again)."""
    return _absolute(reverse("help:order", args=[order_token(order)]))


def portal_ticket_link(*, ticket: Ticket) -> str:
    """The absolute link of the ticket's status page (follow it, answer, add photos)."""
    return _absolute(reverse("help:ticket", args=[ticket_token(ticket)]))


# --- shop switch -------------------------------------------------------------------------------------------


def portal_enabled(shop: Shop) -> bool:
    value = ServiceSettings.objects.filter(shop=shop).values_list("self_service_enabled", flat=True).first()
    return True if value is None else bool(value)


def portal_enabled_set(*, shop: Shop, enabled: bool) -> ServiceSettings:
    """Switch the shop's self-service page on or off (off: its pages say they are unavailable)."""
    with transaction.atomic():
        row, _created = ServiceSettings.objects.select_for_update().get_or_create(shop=shop)
        row.self_service_enabled = bool(enabled)
        row.save(update_fields=["self_service_enabled", "updated_at"])
    return row


# --- throttling --------------------------------------------------------------------------------------------


def _digest(scope: str, key: str) -> str:
    return hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()[:64]


def throttle_hit(*, scope: str, key: str, limit: int, now: datetime | None = None) -> None:
    """Count one request for (scope, key) in the current hour window; ThrottledError (429) once more than
    `limit` came in that window. Counters live in the database (every process shares them); rows of past
    windows are swept when a new window's row is made."""
    now = now or timezone.now()
    seconds = int(WINDOW.total_seconds())
    start_ts = int(now.timestamp()) // seconds * seconds
    start = datetime.fromtimestamp(start_ts, tz=UTC)
    digest = _digest(scope, key)
    rows = PortalThrottle.objects.filter(key=digest, window_start=start)
    with transaction.atomic():
        if not rows.update(hits=F("hits") + 1):
            try:
                with transaction.atomic():
                    PortalThrottle.objects.create(key=digest, window_start=start, hits=1)
            except IntegrityError:
                rows.update(hits=F("hits") + 1)
            else:
                PortalThrottle.objects.filter(window_start__lt=start - WINDOW).delete()
        hits = rows.values_list("hits", flat=True).first() or 0
    if hits > limit:
        wait = max(60, start_ts + seconds - int(now.timestamp()))
        raise ThrottledError(
            str(
                _("Too many tries. Please wait about %(minutes)d minutes and try again.") % {"minutes": -(-wait // 60)}
            ),
            wait_seconds=wait,
        )


def client_address(meta: Mapping[str, Any]) -> str:
    """The client's address: REMOTE_ADDR, or behind HUITOUKE_SELF_SERVICE_PROXY_HOPS proxies the address the
    outermost trusted proxy saw (counted from the right of X-Forwarded-For, which a client can only prepend to)."""
    hops = int(settings.HUITOUKE_SELF_SERVICE_PROXY_HOPS)
    if hops > 0:
        chain = [p.strip() for p in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if p.strip()]
        if len(chain) >= hops:
            return chain[-hops][:64]
    return str(meta.get("REMOTE_ADDR", ""))[:64]


def throttle_address(address: str) -> None:
    throttle_hit(scope="ip", key=address, limit=int(settings.HUITOUKE_SELF_SERVICE_PER_IP_PER_HOUR))


# --- finding an order --------------------------------------------------------------------------------------

_DUMMY_DIGITS = "\x00\x00\x00\x00"


def normalize_order_no(value: str) -> str:
    return re.sub(r"\s+", "", value or "")[:64]


def _last4(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else _DUMMY_DIGITS


def order_identify(*, shop: Shop, order_no: str, phone_last4: str) -> Order | None:
    """The shop's order with this number whose receiving phone (else the customer's phone) ends in these four
    digits; None otherwise — the same None for a wrong number and a wrong phone. Counts one try against the
    order number (ThrottledError past HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR), whether it exists or not."""
    number = normalize_order_no(order_no)
    throttle_hit(
        scope="order",
        key=f"{shop.pk}:{number}",
        limit=int(settings.HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR),
    )
    order = (
        Order.objects.select_related("shop", "customer").filter(shop=shop, order_no=number).first() if number else None
    )
    expected = _last4((order.receiver_phone or order.customer.phone) if order else "")
    given = phone_last4 if re.fullmatch(r"\d{4}", phone_last4 or "") else "\x01\x01\x01\x01"
    matched = hmac.compare_digest(expected.encode(), given.encode())
    return order if (order is not None and matched) else None


# --- reading -----------------------------------------------------------------------------------------------


def order_tickets(order: Order) -> QuerySet[Ticket]:
    return Ticket.objects.filter(order=order).order_by("-created_at", "-id")[:20]


def public_conversation(ticket: Ticket) -> QuerySet[TicketReply]:
    """What the customer may read on the status page: the shop's public replies and their own messages (never
    internal notes), oldest first."""
    kinds = [TicketReply.Kind.PUBLIC, TicketReply.Kind.CUSTOMER]
    return ticket.replies.filter(kind__in=kinds).order_by("created_at", "id")[:200]


def customer_photos(ticket: Ticket) -> QuerySet[Attachment]:
    """The photos the customer sent (attachments without a staff uploader that are images)."""
    return ticket.attachments.filter(uploaded_by__isnull=True, content_type__startswith="image/").order_by("id")


# --- the customer's writes ---------------------------------------------------------------------------------


def _customer_of(order: Order) -> Customer:
    customer = order.customer
    for _hop in range(10):
        if customer.merged_into_id is None:
            break
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _subject(description: str) -> str:
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    return first[:80] + ("…" if len(first) > 80 else "")


@dataclass(frozen=True)
class Report:
    type: str
    description: str
    line_ids: Sequence[int] = ()


def portal_ticket_submit(*, order: Order, report: Report, photos: Sequence[CleanPhoto]) -> Ticket:
    """Open a self-service ticket for the order with the customer's description, chosen lines and photos (all
    or nothing). Photos must already be cleaned (portal_photos.photo_clean)."""
    if report.type not in CUSTOMER_TYPE_VALUES:
        raise ApplicationError("type: choose one of the listed problems", field="type")
    description = (report.description or "").strip()
    if not description:
        raise ApplicationError("description: please describe the problem", field="description")
    if len(description) > DESCRIPTION_MAX:
        raise ApplicationError(f"description: at most {DESCRIPTION_MAX} characters", field="description")
    if len(photos) > int(settings.HUITOUKE_SELF_SERVICE_MAX_PHOTOS):
        raise ApplicationError("photos: too many", field="photos")
    lines = list(OrderLine.objects.filter(order=order, pk__in=list(report.line_ids)[:200]).order_by("line_no"))
    if len(lines) != len(set(report.line_ids)):
        raise ApplicationError("lines: not items of this order", field="lines")
    with transaction.atomic():
        ticket = ticket_create(
            customer=_customer_of(order),
            type=report.type,
            channel=TicketChannel.SELF_SERVICE,
            subject=_subject(description),
            description=description,
            shop=order.shop,
            order=order,
            order_lines=lines,
        )
        for photo in photos:
            attachment_add(ticket=ticket, name=photo.name, content=photo.content, actor=None)
    return ticket


def portal_answer(*, ticket: Ticket, body: str, photos: Sequence[CleanPhoto]) -> TicketReply | None:
    """The customer answers on the status page: their text (through ticket_customer_message, which re-opens a
    ticket waiting for them) and photos. A closed ticket takes nothing more."""
    text = (body or "").strip()
    if ticket.status == TicketStatus.CLOSED:
        raise ApplicationError("this case is closed", field="body", code="closed")
    if not text and not photos:
        raise ApplicationError("body: write an answer or add a photo", field="body")
    if len(text) > ANSWER_MAX:
        raise ApplicationError(f"body: at most {ANSWER_MAX} characters", field="body")
    if len(photos) > int(settings.HUITOUKE_SELF_SERVICE_MAX_PHOTOS):
        raise ApplicationError("photos: too many", field="photos")
    reply = None
    with transaction.atomic():
        if photos and not text:
            text = str(_("(sent %(count)d photos)") % {"count": len(photos)})
        reply = ticket_customer_message(ticket=ticket, body=text, channel=TicketChannel.SELF_SERVICE)
        for photo in photos:
            attachment_add(ticket=ticket, name=photo.name, content=photo.content, actor=None)
    return reply
