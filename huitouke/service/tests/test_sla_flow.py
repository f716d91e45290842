"""The SLA clocks of one ticket through its life, on the default calendar, against the real database: a pause while
waiting for the customer, a transfer, the tick's breach record and notifications, resolution, a reopen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from huitouke.messaging.models import Message
from huitouke.service import selectors, services
from huitouke.service.models import Notification, SlaBreach, Ticket, TicketEvent
from huitouke.service.tests.conftest import sh

pytestmark = pytest.mark.django_db


def _reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_clocks_through_a_tickets_life(shop, customer, order, agent, agent2, manager, no_wake):
    # Monday 2 March 2026, 10:00 in Shanghai: the Standard policy (60 / 120 / 1350 business minutes)
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        t = services.ticket_create(
            customer=customer, order=order, type="quality", channel="wangwang", subject="茶叶受潮", actor=agent
        )
    assert t.number == 1
    assert t.sla_policy is not None
    assert t.sla_policy.name == "Standard"
    assert t.first_response_due == sh(2026, 3, 2, 11, 0)
    assert t.first_response_warn_at == sh(2026, 3, 2, 10, 48)  # 80 % of 60 minutes
    # 390 minutes left on Monday, 450 on Tuesday and Wednesday, 60 on Thursday
    assert t.resolution_due == sh(2026, 3, 5, 10, 0)
    assert t.sla_due == sh(2026, 3, 2, 11, 0)
    assert [s.key for s in t.steps.all()] == ["apologise", "empathise", "fix", "compensate", "deliver", "follow_up"]

    with freeze_time(sh(2026, 3, 2, 10, 5)):
        services.ticket_take(ticket=t, user=agent)
    with freeze_time(sh(2026, 3, 2, 10, 20)):
        services.ticket_reply(ticket=t, author=agent, body="您好，非常抱歉，我们马上处理")
    with freeze_time(sh(2026, 3, 2, 10, 30)):
        services.ticket_status_set(ticket=t, status="waiting_customer", actor=agent)
    t = _reload(t)
    assert t.first_responded_at == sh(2026, 3, 2, 10, 20)
    assert t.paused_at == sh(2026, 3, 2, 10, 30)
    # while the ticket waits for the customer the business due times are unknown and nothing is due
    assert (t.resolution_due, t.resolution_warn_at, t.sla_due) == (None, None, None)

    # the customer answers at 14:30: 150 business minutes paused (10:30-12:00, 13:30-14:30)
    with freeze_time(sh(2026, 3, 2, 14, 30)):
        services.ticket_customer_message(ticket=t, body="照片发您了", channel="wangwang")
    t = _reload(t)
    assert (t.status, t.paused_at, t.paused_seconds) == ("open", None, 150 * 60)
    assert t.resolution_due == sh(2026, 3, 5, 14, 0)
    assert t.next_response_due == sh(2026, 3, 2, 16, 30)
    assert t.next_response_warn_at == sh(2026, 3, 2, 16, 6)

    with freeze_time(sh(2026, 3, 2, 15, 0)):
        services.ticket_transfer(ticket=t, to="agent2", note="仓库同事跟进", actor=agent)
    t = _reload(t)
    assert (t.owner_id, t.first_owner_id) == (agent2.pk, agent.pk)

    soon = services.sla_tick(at=sh(2026, 3, 2, 16, 10))
    assert soon.breaching_soon == {"first_response": 0, "next_response": 1, "resolution": 0}
    assert _reload(t).sla_state == "breaching_soon"
    assert list(selectors.ticket_queue(user=agent2, filters=selectors.TicketFilter(queue="breaching"))) == [t]

    late = services.sla_tick(at=sh(2026, 3, 2, 16, 31))
    assert late.breached == {"first_response": 0, "next_response": 1, "resolution": 0}
    again = services.sla_tick(at=sh(2026, 3, 2, 16, 32))
    assert again.breached == {"first_response": 0, "next_response": 0, "resolution": 0}
    breaches = list(SlaBreach.objects.filter(ticket=t).values_list("clock", "due", "notified"))
    assert breaches == [("next_response", sh(2026, 3, 2, 16, 30), True)]
    told = sorted(Notification.objects.filter(ticket=t, kind="breached").values_list("user__username", flat=True))
    assert told == ["agent1", "agent2", "manager1"]
    t = _reload(t)
    assert (t.next_response_state, t.sla_state) == ("breached", "breached")

    # the late answer stops the next-response clock; the resolution clock is on time again
    with freeze_time(sh(2026, 3, 2, 16, 40)):
        services.ticket_reply(ticket=t, author=agent2, body="已安排补发")
    t = _reload(t)
    assert (t.next_response_due, t.sla_state, t.sla_due) == (None, "ok", sh(2026, 3, 5, 14, 0))

    # resolving with required steps open needs a reason
    with freeze_time(sh(2026, 3, 3, 10, 0)), pytest.raises(services.ConflictError) as refused:
        services.ticket_status_set(ticket=t, status="resolved", actor=agent2)
    assert refused.value.field == "note"
    with freeze_time(sh(2026, 3, 3, 10, 0)):
        services.ticket_status_set(ticket=t, status="resolved", actor=agent2, note="客户已确认收到补发")
    t = _reload(t)
    assert (t.status, t.resolved_at, t.resolve_reason) == ("resolved", sh(2026, 3, 3, 10, 0), "客户已确认收到补发")
    follow_up = Message.objects.get(idempotency_key=f"service:ticket:{t.pk}:follow-up:0")
    assert (follow_up.channel, follow_up.purpose, follow_up.scheduled_at) == (
        "manual",
        "service",
        sh(2026, 3, 3, 10, 0) + timedelta(days=7),
    )
    # the first owner hears of every status change made by others: the customer's answer, the resolution
    heard = Notification.objects.filter(ticket=t, kind="status", user__username="agent1").order_by("id")
    assert [(n.detail["old"], n.detail["new"]) for n in heard] == [("waiting_customer", "open"), ("open", "resolved")]

    # the customer comes back on Wednesday 10:00: reopened, the day spent resolved (450 minutes) is a pause
    with freeze_time(sh(2026, 3, 4, 10, 0)):
        services.ticket_customer_message(ticket=t, body="又坏了")
    t = _reload(t)
    assert (t.status, t.reopen_count, t.resolved_at) == ("open", 1, None)
    assert t.resolution_due == sh(2026, 3, 6, 14, 0)
    assert Message.objects.get(pk=follow_up.pk).status == "suppressed"
    kinds = list(TicketEvent.objects.filter(ticket=t).values_list("kind", flat=True))
    assert kinds.count("status") == 5  # new→open, open→waiting, waiting→open, open→resolved, resolved→open
    assert {"transferred", "follow_up", "taken", "reply"} <= set(kinds)
    history = selectors.ticket_history(ticket=t)
    assert [(h.kind, h.old, h.at) for h in history if h.kind == "sla_breached"] == [
        ("sla_breached", "next_response", sh(2026, 3, 2, 16, 31))
    ]
    assert [h.at for h in history] == sorted(h.at for h in history)


def test_unassigned_ticket_past_first_response_escalates(shop, customer, manager, no_wake):
    with freeze_time(sh(2026, 3, 2, 17, 30)):
        t = services.ticket_create(customer=customer, shop=shop, type="inquiry", channel="phone", subject="发票")
    # 30 minutes on Monday, 30 on Tuesday morning
    assert t.first_response_due == sh(2026, 3, 3, 9, 30)
    result = services.sla_tick(at=sh(2026, 3, 3, 9, 30))
    assert result.breached["first_response"] == 1
    assert result.escalated == 1
    assert TicketEvent.objects.filter(ticket=t, kind="escalated").count() == 1
    assert sorted(Notification.objects.filter(ticket=t).values_list("kind", "user__username")) == [
        ("breached", "manager1"),
        ("escalated", "manager1"),
    ]


def test_platform_deadline_governs_when_earlier(shop, customer, no_wake):
    with freeze_time(sh(2026, 3, 6, 17, 0)):  # a Friday: the business due times reach into next week
        t = services.ticket_create(
            customer=customer,
            shop=shop,
            type="refund",
            channel="platform",
            subject="仅退款",
            platform_deadline=sh(2026, 3, 7, 17, 0),
        )
    assert t.first_response_due == sh(2026, 3, 6, 18, 0)
    assert t.resolution_due == sh(2026, 3, 7, 17, 0)
    # 80 % of the 24 wall-clock hours
    assert t.resolution_warn_at == sh(2026, 3, 7, 12, 12)


def test_a_platform_deadline_runs_on_while_waiting_for_the_customer(shop, customer, agent, no_wake):
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        t = services.ticket_create(
            customer=customer,
            shop=shop,
            type="refund",
            channel="platform",
            subject="退款",
            platform_deadline=sh(2026, 3, 3, 10, 0),
        )
    with freeze_time(sh(2026, 3, 2, 10, 10)):
        services.ticket_reply(ticket=t, author=agent, body="请提供照片")
        services.ticket_status_set(ticket=t, status="waiting_customer", actor=agent)
    t = _reload(t)
    assert t.sla_due == sh(2026, 3, 3, 10, 0)  # the business clock waits, the platform's does not
    assert services.sla_tick(at=sh(2026, 3, 3, 9, 59)).breached["resolution"] == 0
    assert services.sla_tick(at=sh(2026, 3, 3, 10, 0)).breached["resolution"] == 1
    assert list(SlaBreach.objects.filter(ticket=t).values_list("clock", "due")) == [
        ("resolution", sh(2026, 3, 3, 10, 0))
    ]
