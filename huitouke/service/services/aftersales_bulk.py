"""Opening the tickets of new platform refunds in bulk: what `ticket_create` followed by `ticket_status_set` and
the ledger entry do for one refund, done for a batch with a fixed number of statements (numbers allocated at
once, SLA policy and playbook looked up once per ticket type, the shop's settings and calendar once, tickets,
lines, steps, history, breaches and ledger entries inserted in bulk), so a 100,000-row export imports in
minutes rather than hours. The history reads as if the ticket had been created and then moved: created (new),
platform status, status new → the platform's and the refund entry; breaches found on the way are recorded
as SlaBreach rows, as the ticket services do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service import selectors
from huitouke.service.importers import RefundRow, rules
from huitouke.service.models import (
    Compensation,
    Priority,
    ServiceSettings,
    SlaBreach,
    SlaPolicy,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketStatus,
    TicketStep,
)
from huitouke.service.services.common import clocks_refresh
from huitouke.service.services.tickets import _follow_up

LEDGER_NOTE = "platform refund {refund_id}"


@dataclass
class NewRefund:
    row: RefundRow
    order: Order
    line: OrderLine | None
    created: datetime
    #: when the platform last moved the refund (clamped between created and now)
    at: datetime


def description_for(row: RefundRow) -> str:
    """The ticket's description: the buyer's words, then what the export says about the refund."""
    parts = [row.description]
    if row.sub_order_no:
        parts.append(f"oid {row.sub_order_no}")
    if row.refund_fee:
        parts.append(f"refund_fee {row.refund_fee}")
    if row.goods_status:
        parts.append(f"good_status {row.goods_status}")
    if row.goods_return is not None:
        parts.append(f"has_good_return {'true' if row.goods_return else 'false'}")
    if row.return_company or row.return_tracking:
        parts.append(f"return {row.return_company} {row.return_tracking}".strip())
    return "\n".join(p for p in parts if p)


def ledger_kind(row: RefundRow, line: OrderLine | None) -> str:
    """A refund of the whole line (or of an order without a known line) or a partial one."""
    full = line is None or row.refund_fee >= line.amount
    return Compensation.Kind.REFUND if full else Compensation.Kind.PARTIAL_REFUND


def tickets_open_bulk(*, shop: Shop, items: list[NewRefund], actor: Any, now: datetime) -> list[Ticket]:
    """Open one ticket per new refund of `shop` (see the module's docstring); one transaction."""
    if not items:
        return []
    user = actor if getattr(actor, "is_authenticated", False) else None
    settings = selectors.settings_for_shop(shop=shop)
    calendars: dict[int, Any] = {}
    policies = list(selectors.sla_policy_list(shop=shop))
    by_level = any(p.levels for p in policies)
    policy_cache: dict[tuple[str, str], SlaPolicy | None] = {}
    playbook_cache: dict[str, list[Any]] = {}
    levels: dict[int, str] = {}
    with transaction.atomic():
        ServiceSettings.objects.get_or_create(shop=shop)
        ServiceSettings.objects.filter(shop=shop).update(last_number=F("last_number") + len(items))
        last = ServiceSettings.objects.filter(shop=shop).values_list("last_number", flat=True).get()
        first_number = last - len(items) + 1
        tickets: list[Ticket] = []
        breaches: list[list[tuple[str, datetime]]] = []
        for i, item in enumerate(items):
            row, order = item.row, item.order
            kind = rules.ticket_type(row.reason)
            level = ""
            if by_level:
                if order.customer_id not in levels:
                    levels[order.customer_id] = selectors.customer_level_name(customer=order.customer, shop=shop)
                level = levels[order.customer_id]
            key = (kind, level)
            if key not in policy_cache:
                policy_cache[key] = selectors.sla_policy_match(
                    shop=shop, type=kind, priority=Priority.NORMAL, channel=TicketChannel.PLATFORM, level=level
                )
            status = rules.TICKET_STATUS[row.platform_status]
            finished = status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            ticket = Ticket(
                shop=shop,
                number=first_number + i,
                customer=order.customer,
                order=order,
                type=kind,
                channel=TicketChannel.PLATFORM,
                priority=Priority.NORMAL,
                status=status,
                subject=f"{row.reason or '退款'} · {row.refund_id}"[:200],
                description=description_for(row),
                platform_refund_id=row.refund_id,
                platform_status=row.platform_status,
                sla_policy=policy_cache[key],
                resolved_at=item.at if finished else None,
                closed_at=item.at if status == TicketStatus.CLOSED else None,
                resolve_reason=f"platform: {row.platform_status}" if finished else "",
                created_at=item.created,
                updated_at=now,
            )
            year = item.created.year
            if year not in calendars:
                calendars[year] = selectors.calendar_for_shop(shop=shop, around=item.created)
            breaches.append(clocks_refresh(ticket, now=now, settings=settings, calendar=calendars[year]))
            tickets.append(ticket)
        Ticket.objects.bulk_create(tickets)
        # created_at is auto_now_add (bulk_create set it to now): bring back each refund's own time
        for ticket, item in zip(tickets, items, strict=True):
            ticket.created_at = item.created
        Ticket.objects.bulk_update(tickets, ["created_at"], batch_size=1000)
        Ticket.order_lines.through.objects.bulk_create(
            [
                Ticket.order_lines.through(ticket_id=t.pk, orderline_id=item.line.pk)
                for t, item in zip(tickets, items, strict=True)
                if item.line is not None
            ]
        )
        steps: list[TicketStep] = []
        events: list[TicketEvent] = []
        found: list[SlaBreach] = []
        ledger: list[Compensation] = []
        for ticket, item, newly in zip(tickets, items, breaches, strict=True):
            row = item.row
            if ticket.type not in playbook_cache:
                playbook = selectors.playbook_for(shop=shop, type=ticket.type)
                playbook_cache[ticket.type] = (
                    list(playbook.steps.order_by("position", "id")) if playbook is not None else []
                )
            steps += [
                TicketStep(
                    ticket=ticket, key=s.key, label=s.label, help=s.help, required=s.required, position=s.position
                )
                for s in playbook_cache[ticket.type]
            ]

            def event(
                kind: str, at: datetime, old: str = "", new: str = "", note: str = "", t: Ticket = ticket
            ) -> None:
                events.append(TicketEvent(ticket=t, actor=user, kind=kind, old=old, new=new, note=note, at=at))

            event(TicketEvent.Kind.CREATED, item.created, new=TicketStatus.NEW)
            if ticket.sla_policy is not None:
                events.append(
                    TicketEvent(
                        ticket=ticket, kind=TicketEvent.Kind.SLA_POLICY, new=ticket.sla_policy.name, at=item.created
                    )
                )
            event(TicketEvent.Kind.UPDATED, item.created, new=row.platform_status, note="platform_status")
            event(
                TicketEvent.Kind.STATUS,
                item.at,
                old=TicketStatus.NEW,
                new=ticket.status,
                note=f"platform: {row.platform_status}",
            )
            # the SlaBreach row is the ticket's record of a breach (as breaches_record keeps it)
            found += [SlaBreach(ticket=ticket, clock=clock, due=due, at=now, notified=True) for clock, due in newly]
            if row.platform_status == rules.SUCCESS and row.refund_fee > 0:
                kind = ledger_kind(row, item.line)
                note = LEDGER_NOTE.format(refund_id=row.refund_id)
                ledger.append(
                    Compensation(
                        ticket=ticket,
                        kind=kind,
                        amount=row.refund_fee,
                        cost=row.refund_fee,
                        order_line=item.line,
                        note=note,
                        status=Compensation.Status.APPROVED,
                        approved_at=item.at,
                    )
                )
                event(TicketEvent.Kind.COMPENSATION, item.at, new=f"{kind} {row.refund_fee}", note=note)
        TicketStep.objects.bulk_create(steps, batch_size=2000)
        TicketEvent.objects.bulk_create(events, batch_size=2000)
        SlaBreach.objects.bulk_create(found, batch_size=2000, ignore_conflicts=True)
        Compensation.objects.bulk_create(ledger, batch_size=2000)
        days = settings.follow_up_days
        for ticket in tickets:
            if days and ticket.resolved_at is not None and ticket.resolved_at + timedelta(days=days) >= now:
                _follow_up(ticket, ticket.resolved_at)  # settled lately: ask later whether the fix held
    return tickets
