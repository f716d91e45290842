"""Reads of the canned-reply library: the replies a user may use (with search), one reply, the wording rules of
a shop, and the live context a reply is filled from (ticket, customer, order), read at the moment of use."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.pii import is_contact_like
from huitouke.customers.models import Customer
from huitouke.messaging.selectors import base_variables
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service.models import Compensation, Ticket
from huitouke.service.replies import wording
from huitouke.service.replies.links import self_service_link
from huitouke.service.replies.models import CannedReply, WordingRules
from huitouke.service.replies.search import is_initials_query

ITEMS_NAMED = 3
SEARCH_MAX = 50


def visible_replies(*, user: Any, shop: Shop | None = None) -> QuerySet[CannedReply]:
    """The replies `user` may use: the shipped ones, the shops' (only `shop`'s when given) and their own
    personal ones (in every shop, or in `shop`)."""
    mine = Q(owner_id=user.pk)
    shops = Q(owner__isnull=True, shop__isnull=False)
    if shop is not None:
        mine &= Q(shop__isnull=True) | Q(shop=shop)
        shops &= Q(shop=shop)
    return CannedReply.objects.filter(Q(owner__isnull=True, shop__isnull=True) | shops | mine)


def reply_list(
    *,
    user: Any,
    q: str = "",
    shop: Shop | None = None,
    language: str = "",
    category: str = "",
    ticket_type: str = "",
) -> QuerySet[CannedReply]:
    """Replies matching `q` by a substring of the title or the text, or (Latin letters only) by the title's
    pinyin initials ("zcp" finds 中差评…). Replies for `ticket_type` come first, then the most used."""
    qs = visible_replies(user=user, shop=shop)
    q = (q or "").strip()[:SEARCH_MAX]
    if q:
        match = Q(title__icontains=q) | Q(body__icontains=q)
        if is_initials_query(q):
            match |= Q(initials__contains=q.lower())
        qs = qs.filter(match)
    if language:
        qs = qs.filter(language=language)
    if category:
        qs = qs.filter(category=category)
    order: list[Any] = ["-usage_count", "category", "title", "id"]
    if ticket_type:
        from django.db.models import Case, IntegerField, Value, When

        qs = qs.annotate(
            for_type=Case(When(ticket_type=ticket_type, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        order.insert(0, "for_type")
    return qs.select_related("shop", "owner").order_by(*order)


def reply_get(*, user: Any, reply_id: int) -> CannedReply:
    """One reply the user may use; NotFoundError otherwise (another agent's personal reply is not found)."""
    reply = visible_replies(user=user).filter(pk=reply_id).first()
    if reply is None:
        raise NotFoundError(f"canned reply {reply_id} not found", field="id")
    return reply


def wording_rules_for(*, shop: Shop | None) -> wording.Rules:
    """The shop's wording rules, or the defaults (亲; 肯定, 保证, 绝对; 70) when it has set none."""
    row = WordingRules.objects.filter(shop=shop).first() if shop is not None else None
    if row is None:
        return wording.Rules()
    return wording.Rules(
        enabled=row.enabled, greeting=row.greeting, banned=tuple(row.banned or ()), sms_limit=row.sms_limit
    )


@dataclass(frozen=True)
class ReplyTarget:
    """Whom a reply answers: a ticket (with its customer, order and shop), or a customer and maybe an order."""

    ticket: Ticket | None
    customer: Customer | None
    order: Order | None
    shop: Shop | None


def reply_target(
    *, ticket_id: int | None = None, customer_id: int | None = None, order_no: str | None = None
) -> ReplyTarget:
    """Look up what a reply is for. A ticket brings its customer, order and shop; `order_no` is looked up in
    the ticket's shop, among the customer's orders, or alone (then it must name one order). NotFoundError names
    the parameter that matched nothing."""
    ticket = customer = order = None
    shop: Shop | None = None
    if ticket_id is not None:
        ticket = Ticket.objects.select_related("shop", "customer", "order").filter(pk=ticket_id).first()
        if ticket is None:
            raise NotFoundError(f"ticket {ticket_id} not found", field="ticket_id")
        customer, order, shop = ticket.customer, ticket.order, ticket.shop
    if customer_id is not None:
        if customer is not None and customer.pk != customer_id:
            raise ApplicationError(
                f"customer_id {customer_id} is not the customer of ticket {ticket_id}", field="customer_id"
            )
        customer = customer or Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise NotFoundError(f"customer {customer_id} not found", field="customer_id")
    no = (order_no or "").strip()
    if no:
        orders = Order.objects.select_related("shop", "customer").filter(order_no=no[:64])
        if shop is not None:
            orders = orders.filter(shop=shop)
        if customer is not None:
            orders = orders.filter(customer=customer)
        found = list(orders[:2])
        if not found:
            raise NotFoundError(f"order {no!r} not found", field="order_no")
        if len(found) > 1:
            raise ApplicationError(
                f"order_no {no!r} is in several shops; give ticket_id or customer_id too", field="order_no"
            )
        order = found[0]
        customer = customer or order.customer
        shop = shop or order.shop
    return ReplyTarget(ticket=ticket, customer=customer, order=order, shop=shop)


def _money(amount: Decimal, currency: str) -> str:
    value = f"{amount:,.2f}"
    return f"¥{value}" if currency in ("CNY", "") else f"{value} {currency}"


def _items(target: ReplyTarget, language: str) -> str:
    lines: list[OrderLine] = []
    if target.ticket is not None:
        lines = list(target.ticket.order_lines.order_by("line_no", "id"))
    if not lines and target.order is not None:
        lines = list(target.order.lines.order_by("line_no", "id"))
    titles = [line.title.strip() for line in lines if line.title.strip()]
    if not titles:
        return ""
    named, rest = titles[:ITEMS_NAMED], len(titles) - ITEMS_NAMED
    if language.startswith("en"):
        return ", ".join(named) + (f" and {rest} more" if rest > 0 else "")
    return "、".join(named) + (f"等{len(titles)}件" if rest > 0 else "")


def _refund(target: ReplyTarget) -> str:
    currency = (target.shop.currency if target.shop else "") or "CNY"
    if target.ticket is not None:
        total = target.ticket.compensations.filter(
            status=Compensation.Status.APPROVED,
            kind__in=(Compensation.Kind.REFUND, Compensation.Kind.PARTIAL_REFUND),
        ).aggregate(s=Sum("amount"))["s"]
        if total:
            return _money(total, currency)
    if target.order is not None and target.order.refund_amount > 0:
        return _money(target.order.refund_amount, currency)
    return ""


def reply_context(*, target: ReplyTarget, agent: Any, language: str = "zh-hans") -> dict[str, str]:
    """The values a reply can use now, read fresh from the database (never cached with the reply). A value the
    records do not hold is left out, so the reply asks the agent for it. {name} and {nick} never carry contact
    data: a handle that is an email or phone is no nickname (messaging's rule), and a display name that holds
    contact data is left out."""
    ctx: dict[str, str] = {}
    customer, order, ticket, shop = target.customer, target.order, target.ticket, target.shop
    if customer is not None:
        base = base_variables(wanted={customer.pk: {"name", "nick"}}, shops={customer.pk: None})[customer.pk]
        for key in ("name", "nick"):
            value = (base.get(key) or "").strip()
            if value and not is_contact_like(value):
                ctx[key] = value
    if shop is not None:
        ctx["shop"] = shop.name
    if order is not None:
        ctx["order_no"] = order.order_no
        ctx["carrier"] = order.logistics_company.strip()
        ctx["tracking_no"] = order.tracking_no.strip()
    ctx["items"] = _items(target, language)
    ctx["refund_amount"] = _refund(target)
    if agent is not None and getattr(agent, "pk", None):
        ctx["agent"] = (agent.get_full_name() or agent.get_username()).strip()
    if ticket is not None:
        ctx["ticket_no"] = str(ticket.number)
    link = self_service_link(ticket=ticket, customer=customer, order=order, shop=shop)
    if link:
        ctx["self_service_link"] = link
    return {k: v for k, v in ctx.items() if v}
