"""The compensation ledger (适度赔偿): entries on a ticket, within the agent's limit or waiting for a manager."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from huitouke.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from huitouke.orders.models import OrderLine
from huitouke.service import selectors
from huitouke.service.models import Compensation, Notification, Ticket, TicketEvent
from huitouke.service.services.common import ConflictError, event_add, notify, now_or
from huitouke.service.services.tickets import _text, ticket_lock

APPROVE_PERMISSION = "service.approve_compensation"
AMOUNT_MAX = Decimal("1000000000")


def _money(value: Any, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(f"{name}: {value!r} is not an amount", field=name) from exc
    if not amount.is_finite() or amount < 0 or amount >= AMOUNT_MAX:
        raise ApplicationError(f"{name}: give an amount from 0 to {AMOUNT_MAX - 1}", field=name)
    if amount != amount.quantize(Decimal("0.01")):
        raise ApplicationError(f"{name}: at most two decimals", field=name)
    return amount


def compensation_add(
    *,
    ticket: Ticket,
    kind: str,
    actor: Any,
    amount: Any = 0,
    cost: Any = 0,
    note: str = "",
    order_line: OrderLine | None = None,
    at: datetime | None = None,
) -> Compensation:
    """Record what the customer gets (`amount`) and what it costs the shop (`cost`).

    A manager (service.approve_compensation) grants any amount. An agent grants up to the shop's limit
    (ServiceSettings.agent_compensation_limit, compared with the larger of amount and cost); above it the entry
    waits for a manager's approval and the managers are notified. Without an actor (an import recording a
    refund the platform made) the entry is approved as it is."""
    now = now_or(at)
    if kind not in Compensation.Kind.values:
        raise ApplicationError(
            f"kind: unknown value {kind!r}; use one of {', '.join(Compensation.Kind.values)}", field="kind"
        )
    value, price = _money(amount, "amount"), _money(cost, "cost")
    note = _text(note, "note", 2000)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        if order_line is not None and order_line.order_id != ticket.order_id:
            raise ApplicationError("order_line is not a line of the ticket's order", field="order_line")
        limit = selectors.settings_for_shop(shop=ticket.shop).agent_compensation_limit
        # no actor: the system records what already happened (a platform refund from an import) — approved
        manager = actor is None or actor.has_perm(APPROVE_PERMISSION)
        approved = manager or max(value, price) <= limit
        entry = Compensation.objects.create(
            ticket=ticket,
            kind=kind,
            amount=value,
            cost=price,
            order_line=order_line,
            note=note,
            granted_by=actor,
            status=Compensation.Status.APPROVED if approved else Compensation.Status.PENDING_APPROVAL,
            approved_by=actor if approved else None,
            approved_at=now if approved else None,
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        event_add(
            ticket=ticket, kind=TicketEvent.Kind.COMPENSATION, actor=actor, new=f"{kind} {value}", note=note, at=now
        )
        if not approved:
            notify(
                user_ids=selectors.manager_ids(),
                kind=Notification.Kind.APPROVAL,
                ticket=ticket,
                at=now,
                skip=actor,
                compensation=entry.pk,
                amount=str(value),
            )
    return entry


def compensation_approve(*, compensation_id: int, actor: Any, at: datetime | None = None) -> Compensation:
    """A manager approves an entry above the agent's limit."""
    now = now_or(at)
    if not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDeniedError("only a manager approves compensation above the agent's limit")
    with transaction.atomic():
        entry = Compensation.objects.select_for_update().filter(pk=compensation_id).first()
        if entry is None:
            raise NotFoundError(f"compensation {compensation_id} not found", field="id")
        if entry.status != Compensation.Status.PENDING_APPROVAL:
            raise ConflictError(f"compensation {compensation_id} is approved already", field="status")
        entry.status = Compensation.Status.APPROVED
        entry.approved_by, entry.approved_at = actor, now
        entry.save(update_fields=["status", "approved_by", "approved_at"])
        event_add(
            ticket=entry.ticket,
            kind=TicketEvent.Kind.COMPENSATION_APPROVED,
            actor=actor,
            new=f"{entry.kind} {entry.amount}",
            at=now,
        )
    return entry
