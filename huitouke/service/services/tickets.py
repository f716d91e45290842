"""Ticket writes: create (number, SLA policy, playbook steps), take, transfer, assign, change, status moves with
their clock pauses, and step ticks. Every change writes a TicketEvent; the first owner hears of every status
change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers.models import Customer
from huitouke.messaging.control import messages_cancel_source
from huitouke.messaging.models import Channel, Purpose, SourceKind
from huitouke.messaging.services import SourceRef, message_enqueue
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service import selectors
from huitouke.service.models import (
    Notification,
    Priority,
    ServiceSettings,
    SlaPolicy,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketStatus,
    TicketStep,
    TicketTag,
    TicketType,
)
from huitouke.service.services.common import (
    CLOCK_FIELDS,
    ConflictError,
    breaches_record,
    clocks_refresh,
    event_add,
    notify,
    now_or,
    pause_end,
    pause_start,
)

S = TicketStatus
#: Where each status may go. Reopening is resolved/closed → open.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.WAITING_CUSTOMER, S.WAITING_THIRD_PARTY, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.WAITING_CUSTOMER, S.WAITING_THIRD_PARTY, S.RESOLVED, S.CLOSED}),
    S.WAITING_CUSTOMER: frozenset({S.OPEN, S.WAITING_THIRD_PARTY, S.RESOLVED, S.CLOSED}),
    S.WAITING_THIRD_PARTY: frozenset({S.OPEN, S.WAITING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset({S.OPEN}),
}
MAX_TAGS = 20
MAX_BULK = 500


def ticket_lock(ticket: Ticket | int) -> Ticket:
    """The ticket's row, locked for the caller's transaction (re-read: another request may have changed it)."""
    pk = ticket if isinstance(ticket, int) else ticket.pk
    found = Ticket.objects.select_for_update(of=("self",)).select_related("shop", "sla_policy").filter(pk=pk).first()
    if found is None:
        raise NotFoundError(f"ticket {pk} not found", field="id")
    return found


def _number_next(shop: Shop) -> int:
    """The shop's next ticket number: one UPDATE … +1 on the shop's settings row, whose lock is held until the
    creating transaction ends, so concurrent creations get consecutive, distinct numbers."""
    ServiceSettings.objects.get_or_create(shop=shop)
    ServiceSettings.objects.filter(shop=shop).update(last_number=F("last_number") + 1, updated_at=timezone.now())
    return int(ServiceSettings.objects.filter(shop=shop).values_list("last_number", flat=True).get())


def _text(value: str, name: str, limit: int, *, required: bool = False) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise ApplicationError(_("%(field)s is required") % {"field": name}, field=name)
    if len(text) > limit:
        raise ApplicationError(f"{name}: at most {limit} characters", field=name)
    return text


def _choice(value: str, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ApplicationError(f"{name}: unknown value {value!r}; use one of {', '.join(allowed)}", field=name)
    return value


def _tags(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(names):
        name = _text(str(raw), f"tags[{i}]", 50, required=True)
        if name not in out:
            out.append(name)
    if len(out) > MAX_TAGS:
        raise ApplicationError(f"tags: at most {MAX_TAGS}", field="tags")
    return out


def _shop_for(*, customer: Customer, shop: Shop | None, order: Order | None) -> Shop:
    if order is not None:
        if order.customer_id != customer.pk:
            raise ApplicationError(
                f"order {order.order_no} belongs to another customer, not customer {customer.pk}", field="order_no"
            )
        if shop is not None and order.shop_id != shop.pk:
            raise ApplicationError(f"order {order.order_no} is not an order of shop {shop.name}", field="order_no")
        return order.shop
    if shop is not None:
        return shop
    shop_ids = list(Order.objects.filter(customer=customer).values_list("shop_id", flat=True).distinct()[:2])
    if len(shop_ids) == 1:
        return Shop.objects.get(pk=shop_ids[0])
    shops = list(Shop.objects.all()[:2])
    if len(shops) == 1:
        return shops[0]
    raise ApplicationError("name the shop (the customer's orders do not say which one)", field="shop")


def _policy_for(ticket: Ticket) -> SlaPolicy | None:
    level = selectors.customer_level_name(customer=ticket.customer, shop=ticket.shop)
    return selectors.sla_policy_match(
        shop=ticket.shop, type=ticket.type, priority=ticket.priority, channel=ticket.channel, level=level
    )


def _steps_add(ticket: Ticket) -> int:
    playbook = selectors.playbook_for(shop=ticket.shop, type=ticket.type)
    if playbook is None:
        return 0
    have = set(ticket.steps.values_list("key", flat=True))
    rows = [
        TicketStep(ticket=ticket, key=s.key, label=s.label, help=s.help, required=s.required, position=s.position)
        for s in playbook.steps.order_by("position", "id")
        if s.key not in have
    ]
    TicketStep.objects.bulk_create(rows)
    return len(rows)


def ticket_create(
    *,
    customer: Customer,
    type: str,
    channel: str,
    subject: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    shop: Shop | None = None,
    order: Order | None = None,
    order_lines: Sequence[OrderLine] = (),
    tags: Sequence[str] = (),
    platform_deadline: datetime | None = None,
    platform_refund_id: str = "",
    actor: Any = None,
    created_at: datetime | None = None,
) -> Ticket:
    """Open a ticket for a customer (optionally about one of their orders and some of its lines).

    The shop is the order's, else the one named, else the only shop the customer bought from (or the only
    shop). The first matching SLA policy and the type's playbook apply. `created_at` (default now) may lie in
    the past for cases brought over from elsewhere; the clocks start there.
    """
    now = timezone.now()
    created = now_or(created_at)
    if created > now + timedelta(minutes=5):
        raise ApplicationError("created_at lies in the future", field="created_at")
    if customer.merged_into_id:
        raise ApplicationError(
            f"customer {customer.pk} was merged into customer {customer.merged_into_id}; use that one",
            field="customer_id",
        )
    _choice(type, "type", TicketType.values)
    _choice(channel, "channel", TicketChannel.values)
    _choice(priority, "priority", Priority.values)
    subject = _text(subject, "subject", 200, required=True)
    description = _text(description, "description", 20_000)
    tag_names = _tags(tags)
    refund_id = _text(platform_refund_id, "platform_refund_id", 64)
    if platform_deadline is not None and timezone.is_naive(platform_deadline):
        raise ApplicationError("platform_deadline needs a time zone", field="platform_deadline")
    for i, line in enumerate(order_lines):
        if order is None or line.order_id != order.pk:
            raise ApplicationError(f"order_lines[{i}] is not a line of the ticket's order", field="order_lines")
    with transaction.atomic():
        the_shop = _shop_for(customer=customer, shop=shop, order=order)
        if refund_id and Ticket.objects.filter(shop=the_shop, platform_refund_id=refund_id).exists():
            raise ConflictError(
                f"shop {the_shop.name} has a ticket for refund {refund_id} already", field="platform_refund_id"
            )
        ticket = Ticket.objects.create(
            shop=the_shop,
            number=_number_next(the_shop),
            customer=customer,
            order=order,
            type=type,
            channel=channel,
            priority=priority,
            subject=subject,
            description=description,
            platform_deadline=platform_deadline,
            platform_refund_id=refund_id,
        )
        if created != ticket.created_at:
            Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
            ticket.created_at = created
        if order_lines:
            ticket.order_lines.set(order_lines)
        TicketTag.objects.bulk_create([TicketTag(ticket=ticket, name=n) for n in tag_names])
        _steps_add(ticket)
        ticket.sla_policy = _policy_for(ticket)
        newly = clocks_refresh(ticket, now=now)
        ticket.save(update_fields=[*CLOCK_FIELDS, "sla_policy"])
        breaches_record(ticket, newly, now=now)
        event_add(ticket=ticket, kind=TicketEvent.Kind.CREATED, actor=actor, new=ticket.status, at=created)
        if ticket.sla_policy:
            event_add(ticket=ticket, kind=TicketEvent.Kind.SLA_POLICY, new=ticket.sla_policy.name, at=created)
    return ticket


def _own(ticket: Ticket, user: Any, now: datetime) -> list[str]:
    """The user takes up the ticket: owner when nobody works it, first owner for good when it has none."""
    changed = []
    if ticket.owner_id is None:
        ticket.owner = user
        changed.append("owner")
    if ticket.first_owner_id is None:
        ticket.first_owner = user
        ticket.first_owned_at = now
        changed += ["first_owner", "first_owned_at"]
    if ticket.status == S.NEW:
        ticket.status = S.OPEN
        changed.append("status")
    return changed


def ticket_take(*, ticket: Ticket, user: Any, at: datetime | None = None) -> Ticket:
    """The user takes the ticket (owner; first owner if it had none). A ticket someone else works is refused:
    it is handed over by a transfer."""
    now = now_or(at)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        if ticket.owner_id == user.pk:
            return ticket
        if ticket.owner is not None:
            raise ConflictError(
                f"ticket #{ticket.number} is worked by {ticket.owner.get_username()}; ask for a transfer", field="owner"
            )
        old_status = ticket.status
        fields = _own(ticket, user, now)
        newly = clocks_refresh(ticket, now=now)
        ticket.save(update_fields=[*fields, *CLOCK_FIELDS, "updated_at"])
        breaches_record(ticket, newly, now=now)
        event_add(ticket=ticket, kind=TicketEvent.Kind.TAKEN, actor=user, new=user.get_username(), at=now)
        if old_status != ticket.status:
            event_add(
                ticket=ticket, kind=TicketEvent.Kind.STATUS, actor=user, old=old_status, new=ticket.status, at=now
            )
    return ticket


def _staff(username: str, field: str = "to") -> Any:
    user = selectors.staff_for_tickets().filter(username=username).first()
    if user is None:
        raise ApplicationError(f"{username!r} is not an active staff member who works tickets", field=field)
    return user


def ticket_transfer(*, ticket: Ticket, to: Any, note: str, actor: Any, at: datetime | None = None) -> Ticket:
    """Hand the work to another person (转交) with a required note. The first owner stays accountable."""
    now = now_or(at)
    note = _text(note, "note", 2000, required=True)
    if isinstance(to, str):
        to = _staff(to)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        if not ticket.is_open:
            raise ConflictError(f"ticket #{ticket.number} is {ticket.status}; reopen it first", field="status")
        if ticket.owner_id == to.pk:
            raise ConflictError(f"{to.get_username()} already works ticket #{ticket.number}", field="to")
        old = ticket.owner.get_username() if ticket.owner else ""
        ticket.owner = to
        ticket.save(update_fields=["owner", "updated_at"])
        event_add(
            ticket=ticket,
            kind=TicketEvent.Kind.TRANSFERRED,
            actor=actor,
            old=old,
            new=to.get_username(),
            note=note,
            at=now,
        )
        notify(user_ids=[to.pk], kind=Notification.Kind.TRANSFER, ticket=ticket, at=now, skip=actor, note=note[:200])
    return ticket


def tickets_assign(*, ticket_ids: Sequence[int], to: Any, actor: Any, at: datetime | None = None) -> int:
    """Bulk assign (a manager's queue action): every listed open ticket gets `to` as its owner. Returns how many
    changed. At most MAX_BULK tickets at once."""
    now = now_or(at)
    if isinstance(to, str):
        to = _staff(to)
    ids = sorted(set(ticket_ids))
    if len(ids) > MAX_BULK:
        raise ApplicationError(f"at most {MAX_BULK} tickets at once", field="ticket_ids")
    changed = 0
    with transaction.atomic():
        for ticket in (
            Ticket.objects.select_for_update(of=("self",)).select_related("owner").filter(pk__in=ids).order_by("pk")
        ):
            if not ticket.is_open or ticket.owner_id == to.pk:
                continue
            old = ticket.owner.get_username() if ticket.owner else ""
            ticket.owner = to
            ticket.save(update_fields=["owner", "updated_at"])
            event_add(
                ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor, old=old, new=to.get_username(), at=now
            )
            changed += 1
        if changed:
            notify(user_ids=[to.pk], kind=Notification.Kind.TRANSFER, ticket=None, at=now, skip=actor, count=changed)
    return changed


def ticket_update(*, ticket: Ticket, actor: Any, at: datetime | None = None, **changes: Any) -> Ticket:
    """Change subject, description, type, priority, channel, tags or the platform deadline. A new type, priority
    or channel picks the SLA policy again; a new type adds its playbook's missing steps."""
    allowed = {"subject", "description", "type", "priority", "channel", "tags", "platform_deadline"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ApplicationError(f"{unknown[0]} cannot be changed here", field=unknown[0])
    now = now_or(at)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        fields: list[str] = []
        for name, value in changes.items():
            if name == "tags":
                names = _tags(value or [])
                old_tags = sorted(ticket.tags.values_list("name", flat=True))
                if sorted(names) != old_tags:
                    ticket.tags.all().delete()
                    TicketTag.objects.bulk_create([TicketTag(ticket=ticket, name=n) for n in names])
                    event_add(
                        ticket=ticket,
                        kind=TicketEvent.Kind.UPDATED,
                        actor=actor,
                        old=", ".join(old_tags),
                        new=", ".join(sorted(names)),
                        note="tags",
                        at=now,
                    )
                continue
            if name == "subject":
                value = _text(value, "subject", 200, required=True)
            elif name == "description":
                value = _text(value, "description", 20_000)
            elif name == "type":
                value = _choice(value, "type", TicketType.values)
            elif name == "priority":
                value = _choice(value, "priority", Priority.values)
            elif name == "channel":
                value = _choice(value, "channel", TicketChannel.values)
            elif name == "platform_deadline" and value is not None and timezone.is_naive(value):
                raise ApplicationError("platform_deadline needs a time zone", field="platform_deadline")
            old = getattr(ticket, name)
            if old == value:
                continue
            setattr(ticket, name, value)
            fields.append(name)
            shown_old = old.isoformat() if isinstance(old, datetime) else old
            shown_new = value.isoformat() if isinstance(value, datetime) else value
            event_add(
                ticket=ticket,
                kind=TicketEvent.Kind.UPDATED,
                actor=actor,
                old=shown_old,
                new=shown_new,
                note=name,
                at=now,
            )
        if {"type", "priority", "channel"} & set(fields):
            policy = _policy_for(ticket)
            if policy != ticket.sla_policy:
                old_name = ticket.sla_policy.name if ticket.sla_policy else ""
                ticket.sla_policy = policy
                fields.append("sla_policy")
                event_add(
                    ticket=ticket,
                    kind=TicketEvent.Kind.SLA_POLICY,
                    actor=actor,
                    old=old_name,
                    new=policy.name if policy else "",
                    at=now,
                )
        if "type" in fields:
            _steps_add(ticket)
        if fields:
            newly = clocks_refresh(ticket, now=now)
            ticket.save(update_fields=[*fields, *CLOCK_FIELDS, "updated_at"])
            breaches_record(ticket, newly, now=now)
    return ticket


def open_required_steps(ticket: Ticket) -> list[TicketStep]:
    return list(ticket.steps.filter(required=True, done_at__isnull=True).order_by("position", "id"))


def _follow_up(ticket: Ticket, now: datetime) -> None:
    """Recovery step 6: a manual task N days after resolution asking whether the fix held (N per shop)."""
    days = selectors.settings_for_shop(shop=ticket.shop).follow_up_days
    if not days:
        return
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "Hello, this is %(shop)s. A few days ago we took care of your after-sales request #%(number)s. "
            "Is everything all right now? If anything still bothers you, just tell us and we will help."
        ) % {"shop": ticket.shop.name, "number": ticket.number}
    when = now + timedelta(days=days)
    # the follow-up's source is its own history entry, so a reopen cancels it and nothing else of the ticket
    event = event_add(ticket=ticket, kind=TicketEvent.Kind.FOLLOW_UP, new=when.isoformat(), at=now)
    message_enqueue(
        idempotency_key=f"service:ticket:{ticket.pk}:follow-up:{ticket.reopen_count}",
        channel=Channel.MANUAL,
        purpose=Purpose.SERVICE,
        customer=ticket.customer,
        shop_id=ticket.shop_id,
        source=SourceRef.of(SourceKind.TICKET, event),
        body=body,
        scheduled_at=when,
    )


def follow_up_cancel(ticket: Ticket) -> int:
    """Cancel the follow-ups still waiting (the ticket was reopened before they were due)."""
    cancelled = 0
    for event in TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.FOLLOW_UP):
        ref = SourceRef.of(SourceKind.TICKET, event)
        if ref.type_id is not None and ref.object_id is not None:
            cancelled += messages_cancel_source(kind=SourceKind.TICKET, type_id=ref.type_id, object_id=ref.object_id)
    return cancelled


def ticket_status_set(*, ticket: Ticket, status: str, actor: Any, note: str = "", at: datetime | None = None) -> Ticket:
    """Move the ticket to `status` (see TRANSITIONS; reopening is resolved/closed → open).

    Waiting for the customer pauses the SLA clocks; leaving it resumes them, stretched by the pause. Resolving
    (or closing an unresolved ticket) is refused while a required step is open unless `note` says why; it
    schedules the recovery follow-up. A reopen counts the time spent resolved as a pause.
    """
    now = now_or(at)
    _choice(status, "status", S.values)
    note = _text(note, "note", 2000)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        old = ticket.status
        if status == old:
            return ticket
        if status not in TRANSITIONS[old]:
            raise ConflictError(f"a {old} ticket cannot become {status}", field="status")
        fields = ["status", "paused_at", "pauses", "paused_seconds", "resolved_at", "closed_at", "reopen_count"]
        finishing = status in (S.RESOLVED, S.CLOSED) and ticket.resolved_at is None
        if finishing:
            missing = open_required_steps(ticket)
            if missing and not note:
                raise ConflictError(
                    _("Required steps are still open (%(steps)s): tick them, or say why you resolve anyway.")
                    % {"steps": ", ".join(s.key for s in missing)},
                    field="note",
                )
            if missing:
                ticket.resolve_reason = note
                fields.append("resolve_reason")
        if old == S.WAITING_CUSTOMER:
            pause_end(ticket, now=now)
        if status == S.WAITING_CUSTOMER:
            pause_start(ticket, now=now)
        if status == S.OPEN and old in (S.RESOLVED, S.CLOSED):
            if ticket.resolved_at is not None:
                pause_end(ticket, now=now, since=ticket.resolved_at)
            ticket.resolved_at = ticket.closed_at = None
            ticket.reopen_count += 1
            follow_up_cancel(ticket)
        if finishing:
            ticket.resolved_at = now
        if status == S.CLOSED:
            ticket.closed_at = now
        ticket.status = status
        newly = clocks_refresh(ticket, now=now)
        ticket.save(update_fields=[*fields, *CLOCK_FIELDS, "updated_at"])
        breaches_record(ticket, newly, now=now)
        event_add(ticket=ticket, kind=TicketEvent.Kind.STATUS, actor=actor, old=old, new=status, note=note, at=now)
        if finishing:
            _follow_up(ticket, now)
            from huitouke.service.surveys.services import survey_after_resolution  # it builds on this module

            survey_after_resolution(ticket=ticket, actor=actor, now=now)
        notify(
            user_ids=[ticket.first_owner_id],
            kind=Notification.Kind.STATUS,
            ticket=ticket,
            at=now,
            skip=actor,
            old=old,
            new=status,
        )
    return ticket


def ticket_step_tick(*, ticket: Ticket, key: str, actor: Any, at: datetime | None = None) -> TicketStep:
    """Tick a playbook step as done now by `actor`; ticking a done step changes nothing."""
    now = now_or(at)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        step = TicketStep.objects.select_for_update().filter(ticket=ticket, key=key).first()
        if step is None:
            raise NotFoundError(f"ticket #{ticket.number} has no step {key!r}", field="key")
        if step.done_at is not None:
            return step
        step.done_at, step.done_by = now, actor
        step.save(update_fields=["done_at", "done_by"])
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        event_add(ticket=ticket, kind=TicketEvent.Kind.STEP, actor=actor, new=step.key, at=now)
    return step


def tickets_merge(*, source: Customer, target: Customer) -> int:
    """A merged customer's tickets move to the customer they were merged into (inside the merge's transaction)."""
    ids = list(Ticket.objects.filter(customer=source).values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    Ticket.objects.filter(pk__in=ids).update(customer=target, updated_at=now)
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket_id=i, kind=TicketEvent.Kind.UPDATED, old=source.pk, new=target.pk, note="customer", at=now
            )
            for i in ids
        ]
    )
    return len(ids)
