"""REST endpoints of the service desk: tickets (list, create, read, change, take, reply, transfer, status, steps,
compensation), the shop's business calendar and the SLA policies.

Thin: parse (schemas) -> check the permission -> one service/selector -> respond. Agents work tickets; managers
also set calendars and policies and approve compensation above the agent's limit; owners everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Query, Router, Status

from huitouke.core.api import Int64, errors, require_perms
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, Shop
from huitouke.service import selectors, services
from huitouke.service.models import Compensation, SlaPolicy, Ticket, TicketReply
from huitouke.service.schemas import (
    AssignIn,
    AssignOut,
    BreachOut,
    CalendarIO,
    CompensationIn,
    CompensationOut,
    CsatOut,
    PolicyIn,
    PolicyOut,
    ReplyIn,
    ReplyOut,
    SlaOut,
    StatusIn,
    StepOut,
    SurveySentOut,
    TicketFilterIn,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
    TransferIn,
)
from huitouke.service.surveys.links import survey_url
from huitouke.service.surveys.selectors import csat_of
from huitouke.service.surveys.services import survey_send

router = Router(tags=["service"])

VIEW, ADD, CHANGE = "service.view_ticket", "service.add_ticket", "service.change_ticket"
CONFIGURE, APPROVE = "service.configure_service", "service.approve_compensation"


def _local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return timezone.localtime(value, zone) if value is not None else None


def _name(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def ticket_out(t: Ticket) -> TicketOut:
    """A ticket loaded through selectors.ticket_rows, times in the shop's time zone (ISO-8601 with offset)."""
    zone = ZoneInfo(t.shop.timezone or "Asia/Shanghai")
    return TicketOut(
        id=t.pk,
        number=t.number,
        status=t.status,
        type=t.type,
        channel=t.channel,
        priority=t.priority,
        customer_id=t.customer_id,
        order_no=t.order.order_no if t.order_id and t.order else None,
        owner=_name(t.owner),
        first_owner=_name(t.first_owner),
        sla=SlaOut(
            policy=t.sla_policy.name if t.sla_policy else None,
            first_response_due=_local(t.first_response_due, zone),
            next_response_due=_local(t.next_response_due, zone),
            resolution_due=_local(t.resolution_due, zone),
            paused=t.paused_at is not None,
            breaches=[
                BreachOut(clock=b.clock, due=_local(b.due, zone), at=_local(b.at, zone))  # type: ignore[arg-type]
                for b in sorted(t.breaches.all(), key=lambda b: (b.at, b.pk))
            ],
        ),
        steps=[
            StepOut(key=s.key, label=gettext(s.label), done_at=_local(s.done_at, zone), done_by=_name(s.done_by))
            for s in sorted(t.steps.all(), key=lambda s: (s.position, s.pk))
        ],
        created_at=_local(t.created_at, zone),  # type: ignore[arg-type]
        updated_at=_local(t.updated_at, zone),  # type: ignore[arg-type]
        shop=t.shop.name,
        subject=t.subject,
        description=t.description,
        tags=sorted(tag.name for tag in t.tags.all()),
        csat=_csat(t, zone),
    )


def _csat(t: Ticket, zone: ZoneInfo) -> CsatOut | None:
    answered = csat_of(t.surveys.all())
    if answered is None or answered.rating is None or answered.answered_at is None:
        return None
    return CsatOut(
        rating=answered.rating, comment=answered.comment, answered_at=timezone.localtime(answered.answered_at, zone)
    )


def _ticket(ticket_id: Int64) -> TicketOut:
    return ticket_out(selectors.ticket_get(ticket_id=ticket_id))


def _get(ticket_id: Int64) -> Ticket:
    found = Ticket.objects.select_related("shop").filter(pk=ticket_id).first()
    if found is None:
        raise NotFoundError(f"ticket {ticket_id} not found", field="id")
    return found


def _shop(name: str | None, *, required: bool = False) -> Shop | None:
    if name:
        shop = Shop.objects.filter(name=name).first()
        if shop is None:
            raise NotFoundError(f"no shop named {name!r}", field="shop")
        return shop
    if required:
        shops = list(Shop.objects.order_by("name")[:2])
        if len(shops) == 1:
            return shops[0]
        raise ApplicationError("name the shop (?shop=NAME)", field="shop")
    return None


@router.get("/tickets", response={200: TicketPage}, summary="List tickets")
def ticket_list(request: HttpRequest, filters: Query[TicketFilterIn]) -> dict[str, Any]:
    """One page of a queue view (mine, follow_ups, unassigned, breaching, all) narrowed by the filters."""
    require_perms(request, VIEW)
    params = filters.model_dump(exclude={"page", "page_size"}, exclude_none=True)
    if "breached" in params:
        params["breached"] = "true" if params["breached"] else "false"
    wanted = selectors.TicketFilter.from_params({k: str(v) for k, v in params.items()})
    qs = selectors.ticket_queue(user=request.user, filters=wanted)
    rows, count = selectors.ticket_page(qs, page=filters.page, page_size=filters.page_size)
    return {"items": [ticket_out(t) for t in rows], "count": count}


@router.post("/tickets", openapi_extra=errors(409), response={201: TicketOut}, summary="Open a ticket")
def ticket_create(request: HttpRequest, payload: TicketIn) -> Status[TicketOut]:
    """Open a ticket for a customer, optionally about one of their orders (by order number)."""
    require_perms(request, ADD)
    customer = Customer.objects.filter(pk=payload.customer_id).first()
    if customer is None:
        raise NotFoundError(f"customer {payload.customer_id} not found", field="customer_id")
    shop = _shop(payload.shop)
    order = None
    if payload.order_no:
        orders = Order.objects.filter(order_no=payload.order_no, customer=customer).select_related("shop")
        if shop is not None:
            orders = orders.filter(shop=shop)
        found = list(orders[:2])
        if not found:
            raise ApplicationError(f"customer {customer.pk} has no order {payload.order_no}", field="order_no")
        if len(found) > 1:
            raise ApplicationError(f"order {payload.order_no} exists in several shops; name the shop", field="shop")
        order = found[0]
    ticket = services.ticket_create(
        customer=customer,
        shop=shop,
        order=order,
        type=payload.type,
        channel=payload.channel,
        priority=payload.priority,
        subject=payload.subject,
        description=payload.description,
        tags=payload.tags,
        platform_deadline=payload.platform_deadline,
        created_at=payload.created_at,
        actor=request.user,
    )
    return Status(201, _ticket(ticket.pk))


@router.post("/tickets/assign", openapi_extra=errors(409), response={200: AssignOut}, summary="Assign tickets (bulk)")
def tickets_assign(request: HttpRequest, payload: AssignIn) -> AssignOut:
    """A manager gives up to 500 open tickets to one staff member; returns how many changed hands."""
    require_perms(request, CHANGE, CONFIGURE)
    return AssignOut(assigned=services.tickets_assign(ticket_ids=payload.ids, to=payload.to, actor=request.user))


@router.get("/tickets/{ticket_id}", response={200: TicketOut}, summary="One ticket")
def ticket_detail(request: HttpRequest, ticket_id: Int64) -> TicketOut:
    require_perms(request, VIEW)
    return _ticket(ticket_id)


@router.patch("/tickets/{ticket_id}", openapi_extra=errors(409), response={200: TicketOut}, summary="Change a ticket")
def ticket_update(request: HttpRequest, ticket_id: Int64, payload: TicketPatch) -> TicketOut:
    """Change only the fields sent (subject, description, type, priority, channel, tags, platform_deadline)."""
    require_perms(request, CHANGE)
    changes = payload.model_dump(exclude_unset=True)
    for name in ("subject", "type", "priority", "channel"):
        if name in changes and changes[name] is None:
            raise ApplicationError(f"{name} cannot be empty", field=name)
    services.ticket_update(ticket=_get(ticket_id), actor=request.user, **changes)
    return _ticket(ticket_id)


@router.post("/tickets/{ticket_id}/take", openapi_extra=errors(409), response={200: TicketOut}, summary="Take a ticket")
def ticket_take(request: HttpRequest, ticket_id: Int64) -> TicketOut:
    """The caller works the ticket now (and owns it for good as first owner when it had none)."""
    require_perms(request, CHANGE)
    services.ticket_take(ticket=_get(ticket_id), user=request.user)
    return _ticket(ticket_id)


def reply_out(r: TicketReply) -> ReplyOut:
    return ReplyOut(
        id=r.pk,
        kind=r.kind,
        internal=r.internal,
        channel=r.channel,
        body=r.body,
        author=_name(r.author),
        message_id=r.message_id,
        created_at=r.created_at,
    )


@router.post(
    "/tickets/{ticket_id}/replies", openapi_extra=errors(409), response={201: ReplyOut}, summary="Reply or add a note"
)
def ticket_reply(request: HttpRequest, ticket_id: Int64, payload: ReplyIn) -> Status[ReplyOut]:
    """A reply to the customer through messaging (SMS, email or a manual task), or an internal note."""
    require_perms(request, CHANGE)
    reply = services.ticket_reply(
        ticket=_get(ticket_id),
        author=request.user,
        body=payload.body,
        internal=payload.internal,
        channel=payload.channel,
    )
    return Status(201, reply_out(reply))


@router.post(
    "/tickets/{ticket_id}/transfer", openapi_extra=errors(409), response={200: TicketOut}, summary="Transfer a ticket"
)
def ticket_transfer(request: HttpRequest, ticket_id: Int64, payload: TransferIn) -> TicketOut:
    """Hand the work to another staff member with a note; the first owner stays."""
    require_perms(request, CHANGE)
    services.ticket_transfer(ticket=_get(ticket_id), to=payload.to, note=payload.note, actor=request.user)
    return _ticket(ticket_id)


@router.post(
    "/tickets/{ticket_id}/status", openapi_extra=errors(409), response={200: TicketOut}, summary="Change the status"
)
def ticket_status(request: HttpRequest, ticket_id: Int64, payload: StatusIn) -> TicketOut:
    """Move the ticket; resolving with required steps open needs a note (409 otherwise)."""
    require_perms(request, CHANGE)
    services.ticket_status_set(ticket=_get(ticket_id), status=payload.status, note=payload.note, actor=request.user)
    return _ticket(ticket_id)


@router.post(
    "/tickets/{ticket_id}/steps/{key}", openapi_extra=errors(409), response={200: TicketOut}, summary="Tick a step"
)
def ticket_step(request: HttpRequest, ticket_id: Int64, key: str) -> TicketOut:
    require_perms(request, CHANGE)
    services.ticket_step_tick(ticket=_get(ticket_id), key=key[:32], actor=request.user)
    return _ticket(ticket_id)


def compensation_out(c: Compensation) -> CompensationOut:
    return CompensationOut(
        id=c.pk,
        ticket_id=c.ticket_id,
        kind=c.kind,
        amount=f"{c.amount:.2f}",
        cost=f"{c.cost:.2f}",
        note=c.note,
        order_line=c.order_line.line_no if c.order_line_id and c.order_line else None,
        status=c.status,
        granted_by=_name(c.granted_by),
        approved_by=_name(c.approved_by),
        created_at=c.created_at,
    )


@router.post(
    "/tickets/{ticket_id}/compensations",
    openapi_extra=errors(409),
    response={201: CompensationOut},
    summary="Add compensation",
)
def compensation_add(request: HttpRequest, ticket_id: Int64, payload: CompensationIn) -> Status[CompensationOut]:
    """An entry of the ledger; above the shop's agent limit it waits for a manager (status pending_approval)."""
    require_perms(request, CHANGE)
    ticket = _get(ticket_id)
    line = None
    if payload.order_line is not None:
        line = (
            ticket.order.lines.filter(line_no=payload.order_line).first() if ticket.order_id and ticket.order else None
        )
        if line is None:
            raise ApplicationError(f"the ticket's order has no line {payload.order_line}", field="order_line")
    entry = services.compensation_add(
        ticket=ticket,
        kind=payload.kind,
        amount=payload.amount,
        cost=payload.cost,
        note=payload.note,
        order_line=line,
        actor=request.user,
    )
    return Status(201, compensation_out(entry))


@router.post(
    "/compensations/{compensation_id}/approve",
    openapi_extra=errors(409),
    response={200: CompensationOut},
    summary="Approve compensation",
)
def compensation_approve(request: HttpRequest, compensation_id: Int64) -> CompensationOut:
    require_perms(request, APPROVE)
    return compensation_out(services.compensation_approve(compensation_id=compensation_id, actor=request.user))


@router.get("/service/calendar", response={200: CalendarIO}, summary="A shop's business calendar")
def calendar_get(request: HttpRequest, shop: str = "") -> dict[str, Any]:
    """The calendar SLA clocks count on (the defaults when the shop has not set one)."""
    require_perms(request, VIEW)
    the_shop = _shop(shop, required=True)
    assert the_shop is not None
    return selectors.calendar_settings(shop=the_shop).as_json()


@router.put(
    "/service/calendar", openapi_extra=errors(409), response={200: CalendarIO}, summary="Set a shop's business calendar"
)
def calendar_put(request: HttpRequest, payload: CalendarIO, shop: str = "") -> dict[str, Any]:
    """Replace the shop's calendar; new clocks count on it."""
    require_perms(request, CONFIGURE)
    the_shop = _shop(shop, required=True)
    assert the_shop is not None
    services.calendar_set(shop=the_shop, **payload.model_dump())
    return selectors.calendar_settings(shop=the_shop).as_json()


def policy_out(p: SlaPolicy) -> PolicyOut:
    return PolicyOut(
        id=p.pk,
        name=p.name,
        position=p.position,
        types=list(p.types),
        priorities=list(p.priorities),
        channels=list(p.channels),
        levels=list(p.levels),
        first_response_minutes=p.first_response_minutes,
        next_response_minutes=p.next_response_minutes,
        resolution_minutes=p.resolution_minutes,
        shop=p.shop.name if p.shop_id and p.shop else None,
    )


def _spec(payload: PolicyIn) -> services.PolicySpec:
    return services.PolicySpec(**payload.model_dump(exclude={"shop"}))


@router.get("/service/sla-policies", response={200: list[PolicyOut]}, summary="SLA policies")
def policy_list(request: HttpRequest, shop: str = "") -> list[PolicyOut]:
    """In the order they are tried (with ?shop=: that shop's own, then those for every shop)."""
    require_perms(request, VIEW)
    return [policy_out(p) for p in selectors.sla_policy_list(shop=_shop(shop))]


@router.post("/service/sla-policies", openapi_extra=errors(409), response={201: PolicyOut}, summary="Add an SLA policy")
def policy_create(request: HttpRequest, payload: PolicyIn) -> Status[PolicyOut]:
    require_perms(request, CONFIGURE)
    policy = services.sla_policy_create(spec=_spec(payload), shop=_shop(payload.shop))
    record(actor=request.user, action=AuditEntry.Action.POLICY, target_type="sla_policy", target_id=policy.pk)
    return Status(201, policy_out(policy))


@router.put(
    "/service/sla-policies/{policy_id}",
    openapi_extra=errors(409),
    response={200: PolicyOut},
    summary="Change an SLA policy",
)
def policy_update(request: HttpRequest, policy_id: Int64, payload: PolicyIn) -> PolicyOut:
    require_perms(request, CONFIGURE)
    policy = services.sla_policy_update(policy_id=policy_id, spec=_spec(payload))
    record(actor=request.user, action=AuditEntry.Action.POLICY, target_type="sla_policy", target_id=policy.pk)
    return policy_out(policy)


@router.delete(
    "/service/sla-policies/{policy_id}", openapi_extra=errors(409), response={204: None}, summary="Delete an SLA policy"
)
def policy_delete(request: HttpRequest, policy_id: Int64) -> Status[None]:
    require_perms(request, CONFIGURE)
    services.sla_policy_delete(policy_id=policy_id)
    record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="sla_policy", target_id=policy_id)
    return Status(204, None)


@router.post(
    "/tickets/{ticket_id}/survey",
    openapi_extra=errors(409),
    response={200: SurveySentOut},
    summary="Send the satisfaction survey now",
)
def ticket_survey(request: HttpRequest, ticket_id: Int64) -> SurveySentOut:
    """Send the survey of the ticket's current resolution now (once per resolution: asking again returns the same
    link, no second message); 409 while the ticket is not resolved or closed."""
    require_perms(request, CHANGE)
    survey = survey_send(ticket=_get(ticket_id), actor=request.user)
    return SurveySentOut(survey_url=survey_url(survey.pk))
