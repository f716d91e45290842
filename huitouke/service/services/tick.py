"""The per-minute SLA tick: set-based, whatever the number of open tickets.

For each clock it runs a handful of statements over the clock's partial index, all in one transaction:
INSERT … SELECT the breaches (once per ticket, clock and due time: a UNIQUE constraint), their history entries
and the owners' notifications, then one UPDATE of the states; then the same for "breaching soon". Managers hear
of every breach and of every unassigned ticket past its first response (escalation): one notification per
ticket while few, one summary each when many. Shops with a staff robot or webhook configured get one alert
message per tick. Concurrent ticks on PostgreSQL take turns through an advisory lock.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext

from huitouke.messaging.models import Channel, ChannelConfig, Purpose, SourceKind
from huitouke.messaging.services import OutgoingMessage, SourceRef, message_enqueue_many
from huitouke.orders.models import Shop
from huitouke.service import selectors
from huitouke.service.models import (
    OPEN_STATUSES,
    Clock,
    Notification,
    SlaBreach,
    SlaState,
    Ticket,
    TicketEvent,
)

#: Above this many tickets in one tick, each manager gets one summary instead of one notification per ticket.
MANAGER_DETAIL_MAX = 20
_LOCK_KEY = 7_715_001  # pg_advisory_xact_lock key of the SLA tick

_ACTIVE: dict[str, Q] = {
    Clock.FIRST_RESPONSE: Q(first_responded_at__isnull=True, first_response_due__isnull=False),
    Clock.NEXT_RESPONSE: Q(next_response_due__isnull=False),
    Clock.RESOLUTION: Q(resolved_at__isnull=True, resolution_due__isnull=False),
}


@dataclass
class SlaTickResult:
    at: datetime
    breached: dict[str, int] = field(default_factory=dict)
    breaching_soon: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    notifications: int = 0
    alerts: int = 0
    breached_ids: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "breached": self.breached,
            "breaching_soon": self.breaching_soon,
            "escalated": self.escalated,
            "notifications": self.notifications,
            "alerts": self.alerts,
        }


def _running(clock: str) -> QuerySet[Ticket]:
    return Ticket.objects.filter(_ACTIVE[clock], status__in=list(OPEN_STATUSES))


def _sql(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.order_by().query.sql_with_params()
    return sql, tuple(params)


def _dt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value)


def _insert_select(table: str, columns: str, select: str, params: tuple[Any, ...], suffix: str = "") -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select} {suffix}", params)
        return max(cursor.rowcount, 0)


def _notify_owners(qs: QuerySet[Ticket], kind: str, clock: str, at: datetime, *, first_owner: bool) -> int:
    """One notification per ticket of `qs` for its owner and (with `first_owner`) its first owner, in SQL."""
    q = connection.ops.quote_name
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    detail = _json({"clock": clock})
    sql, params = _sql(qs.values("id", "owner_id", "first_owner_id"))
    select = f"SELECT t.owner_id, %s, t.id, %s{json_cast}, %s FROM ({sql}) t WHERE t.owner_id IS NOT NULL"
    values: tuple[Any, ...] = (kind, detail, _dt(at), *params)
    if first_owner:
        select += (
            f" UNION ALL SELECT t2.first_owner_id, %s, t2.id, %s{json_cast}, %s FROM ({sql}) t2 "
            "WHERE t2.first_owner_id IS NOT NULL AND (t2.owner_id IS NULL OR t2.owner_id <> t2.first_owner_id)"
        )
        values += (kind, detail, _dt(at), *params)
    return _insert_select(
        q(Notification._meta.db_table), "user_id, kind, ticket_id, detail, created_at", select, values
    )


def _managers(
    tickets: Sequence[tuple[int, int | None]], kind: str, clock: str, at: datetime, result: SlaTickResult
) -> None:
    """Tell every manager about these (ticket id, shop id) pairs: one each while few, else one summary."""
    if not tickets:
        return
    managers = selectors.manager_ids()
    if not managers:
        return
    if len(tickets) <= MANAGER_DETAIL_MAX:
        rows = [
            Notification(user_id=m, kind=kind, ticket_id=tid, detail={"clock": clock}, created_at=at)
            for tid, _shop in tickets
            for m in managers
        ]
    else:
        rows = [
            Notification(
                user_id=m,
                kind=Notification.Kind.DIGEST,
                detail={"clock": clock, "what": kind, "count": len(tickets)},
                created_at=at,
            )
            for m in managers
        ]
    Notification.objects.bulk_create(rows)
    result.notifications += len(rows)


def _alerts(result: SlaTickResult, by_shop: Counter[int], at: datetime) -> None:
    """One staff-robot / webhook alert per shop with new breaches, for shops that have one set up."""
    if not by_shop:
        return
    configs = ChannelConfig.objects.filter(channel=Channel.WEBHOOK, enabled=True)
    shops_with = set(configs.values_list("shop_id", flat=True))
    messages = []
    names = dict(Shop.objects.filter(pk__in=list(by_shop)).values_list("pk", "name"))
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("After-sales SLA")
        body = gettext("%(shop)s: %(count)s after-sales ticket(s) just missed a response or resolution time.")
    for shop_id, count in sorted(by_shop.items()):
        if shop_id not in shops_with and None not in shops_with:
            continue
        messages.append(
            OutgoingMessage(
                idempotency_key=f"service:sla-alert:{shop_id}:{at.isoformat()}",
                channel=Channel.WEBHOOK,
                purpose=Purpose.SERVICE,
                shop_id=shop_id,
                source=SourceRef(SourceKind.ALERT),
                subject=subject,
                body=body % {"count": count, "shop": names.get(shop_id, "")},
                scheduled_at=at,
            )
        )
    if messages:
        result.alerts = message_enqueue_many(messages=messages, now=at)


def sla_tick(*, at: datetime | None = None) -> SlaTickResult:
    """Mark breaching-soon and breached clocks of unfinished tickets at `at` (default now), record each breach
    once (SlaBreach: the ticket's record of it), notify and escalate. Every ticket row changes in one UPDATE.
    Returns what was marked."""
    at = at or timezone.now()
    result = SlaTickResult(at=at)
    by_shop: Counter[int] = Counter()
    q = connection.ops.quote_name
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return result  # another tick is running; the next one catches up
        lates: list[Q] = []
        soons: list[Q] = []
        changes: dict[str, Any] = {}
        for clock in Clock.values:
            due_col, warn_col, state_col = f"{clock}_due", f"{clock}_warn_at", f"{clock}_state"
            base = _ACTIVE[clock] & Q(status__in=list(OPEN_STATUSES)) & ~Q(**{state_col: SlaState.BREACHED})
            # warn_at <= due always: the redundant bound lets the clock's partial index find the rows
            late_q = base & Q(**{f"{warn_col}__lte": at, f"{due_col}__lte": at})
            soon_q = base & Q(**{state_col: SlaState.OK, f"{warn_col}__lte": at, f"{due_col}__gt": at})
            late, soon = Ticket.objects.filter(late_q), Ticket.objects.filter(soon_q)
            sql, params = _sql(late.values("id", due_col))
            _insert_select(
                q(SlaBreach._meta.db_table),
                "ticket_id, clock, due, at, notified",
                f"SELECT t.id, %s, t.{q(due_col)}, %s, %s FROM ({sql}) t WHERE 1 = 1",
                (clock, _dt(at), True, *params),
                "ON CONFLICT (ticket_id, clock, due) DO NOTHING",
            )
            result.notifications += _notify_owners(late, Notification.Kind.BREACHED, clock, at, first_owner=True)
            hits = list(late.values_list("id", "shop_id", "owner_id"))
            _managers([(i, s) for i, s, _o in hits], Notification.Kind.BREACHED, clock, at, result)
            if clock == Clock.FIRST_RESPONSE:
                unassigned = [(i, s) for i, s, o in hits if o is None]
                if unassigned:
                    TicketEvent.objects.bulk_create(
                        [TicketEvent(ticket_id=i, kind=TicketEvent.Kind.ESCALATED, at=at) for i, _s in unassigned],
                        batch_size=5000,
                    )
                    _managers(unassigned, Notification.Kind.ESCALATED, clock, at, result)
                    result.escalated = len(unassigned)
            result.breached[clock] = len(hits)
            result.breached_ids += [i for i, _s, _o in hits]
            by_shop.update(s for _i, s, _o in hits)
            soon_count = soon.count()
            if soon_count:
                result.notifications += _notify_owners(soon, Notification.Kind.BREACHING, clock, at, first_owner=False)
            result.breaching_soon[clock] = soon_count
            if hits or soon_count:
                changes[state_col] = Case(
                    When(late_q, then=Value(SlaState.BREACHED)),
                    When(soon_q, then=Value(SlaState.BREACHING_SOON)),
                    default=F(state_col),
                )
                lates.append(late_q)
                soons.append(soon_q)
        if changes:
            any_late = _any(lates)
            changes["sla_state"] = Case(
                When(any_late, then=Value(SlaState.BREACHED)),
                When(sla_state=SlaState.BREACHED, then=Value(SlaState.BREACHED)),
                default=Value(SlaState.BREACHING_SOON),
            )
            Ticket.objects.filter(any_late | _any(soons)).update(**changes)
        _alerts(result, by_shop, at)
    return result


def _any(conditions: list[Q]) -> Q:
    combined = conditions[0]
    for c in conditions[1:]:
        combined |= c
    return combined
