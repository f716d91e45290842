"""Wiring of the service pages: who may see what (403/404), masking for agents, every form's bad input answered
with a message naming the problem (never a 500), and each action reaching its service."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from huitouke.core.models import AuditEntry
from huitouke.service import services
from huitouke.service.models import (
    Attachment,
    Compensation,
    SlaState,
    Ticket,
    TicketReply,
    TicketStatus,
)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def login(make_user: Any, role: str, username: str | None = None, lang: str = "en") -> tuple[Client, Any]:
    user = make_user(role, username=username or f"{role}-v")
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = lang
    return c, user


@pytest.fixture
def ticket(shop: Any, customer: Any, order: Any, no_wake: Any) -> Ticket:
    return services.ticket_create(
        customer=customer,
        type="quality",
        channel="wangwang",
        subject="茶叶受潮",
        shop=shop,
        order=order,
        order_lines=list(order.lines.filter(line_no=1)),
        tags=["受潮"],
    )


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the queue -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager", "agent"])
def test_queue_renders_for_the_roles_that_work_tickets(make_user, role, ticket):
    c, _u = login(make_user, role)
    r = c.get("/service/?queue=all")
    assert r.status_code == 200
    assert "#1" in text(r)
    assert 'hx-sync="this:replace"' in text(r)


def test_queue_refused_to_marketers_and_sends_strangers_to_login(make_user, ticket):
    c, _u = login(make_user, "marketer")
    assert c.get("/service/").status_code == 403
    assert c.get(f"/service/{ticket.pk}/").status_code == 403
    assert c.get("/service/new/").status_code == 403
    r = Client().get("/service/")
    assert r.status_code == 302
    assert r["Location"].startswith("/login/")


def test_agents_see_the_phone_masked_managers_unmasked_and_audited(make_user, ticket):
    agent, _a = login(make_user, "agent")
    page = text(agent.get("/service/?queue=all"))
    assert "138****0001" in page
    assert "13800000001" not in page
    detail = text(agent.get(f"/service/{ticket.pk}/"))
    assert "138****0001" in detail
    assert "13800000001" not in detail
    assert "w***@example.com" in detail
    assert "wang@example.com" not in detail
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()
    manager, m = login(make_user, "manager")
    assert "13800000001" in text(manager.get("/service/?queue=all"))
    assert "wang@example.com" in text(manager.get(f"/service/{ticket.pk}/"))
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK, actor=m).count() == 2


def test_queue_views_pick_their_tickets(make_user, shop, customer, ticket, no_wake):
    c, agent = login(make_user, "agent")
    other = services.ticket_create(customer=customer, type="inquiry", channel="phone", subject="问发货", shop=shop)
    services.ticket_take(ticket=ticket, user=agent)
    Ticket.objects.filter(pk=other.pk).update(sla_state=SlaState.BREACHING_SOON)

    def numbers(url: str) -> list[str]:
        body = c.get(url, headers={"HX-Request": "true"}).content.decode()
        return re.findall(r">#(\d+)</a>", body)

    assert numbers("/service/") == ["1"]  # mine is the default view
    assert numbers("/service/?queue=follow_ups") == ["1"]
    assert numbers("/service/?queue=unassigned") == ["2"]
    assert numbers("/service/?queue=breaching") == ["2"]
    assert numbers("/service/?queue=all") == ["2", "1"]
    assert numbers("/service/?queue=all&type=quality") == ["1"]
    assert numbers("/service/?queue=all&tag=受潮") == ["1"]
    assert numbers("/service/?queue=all&status=new") == ["2"]
    assert numbers("/service/?queue=all&sla_state=breaching_soon") == ["2"]


def test_live_filter_answers_with_the_results_only(make_user, ticket):
    c, _u = login(make_user, "agent")
    r = c.get("/service/?queue=all&type=quality", headers={"HX-Request": "true"})
    body = r.content.decode()
    assert r.status_code == 200
    assert body.lstrip().startswith('<div id="ticket-results"')
    assert "<html" not in body
    assert "ticket-filters" not in body


@pytest.mark.parametrize(
    ("query", "label"),
    [("queue=later", "View"), ("type=broken", "Type"), ("sla_state=late", "SLA"), ("priority=x", "Priority")],
)
def test_a_bad_filter_is_named_not_a_500(make_user, query, label, ticket):
    c, _u = login(make_user, "agent")
    r = c.get(f"/service/?{query}")
    assert r.status_code == 200
    assert re.search(rf'role="alert"><strong>{label}:</strong>', text(r))


def test_bulk_assign_by_a_manager(make_user, shop, customer, ticket, no_wake):
    c, _m = login(make_user, "manager")
    _a, _agent = login(make_user, "agent", "agent-b")
    other = services.ticket_create(customer=customer, type="inquiry", channel="phone", subject="问", shop=shop)
    r = c.post("/service/assign/", {"ids": [ticket.pk, other.pk], "to": "agent-b", "next": "/service/?queue=all"})
    assert r.status_code == 302
    assert r["Location"] == "/service/?queue=all"
    assert set(Ticket.objects.values_list("owner__username", flat=True)) == {"agent-b"}
    page = text(c.get("/service/?queue=all"))
    assert "2 tickets assigned to agent-b." in page


def test_bulk_assign_bad_input_and_roles(make_user, ticket):
    c, _m = login(make_user, "manager")
    r = c.post("/service/assign/", {"to": "nobody", "next": "/\\evil.example/"})
    assert r["Location"] == "/service/"
    assert "Tick tickets first." in text(c.get("/service/?queue=all"))
    c.post("/service/assign/", {"ids": [ticket.pk], "to": "nobody"})
    assert "Not assigned: &#x27;nobody&#x27; is not an active staff member" in text(c.get("/service/?queue=all"))
    assert Ticket.objects.get().owner_id is None
    agent, _a = login(make_user, "agent")
    assert agent.post("/service/assign/", {"ids": [ticket.pk], "to": "agent-v"}).status_code == 403


# --- a new ticket --------------------------------------------------------------------------------------------


def test_customer_search_lists_masked_matches(make_user, customer):
    c, _u = login(make_user, "agent")
    r = c.get("/service/new/?q=王小二", headers={"HX-Request": "true"})
    body = text(r)
    assert r.status_code == 200
    assert body.lstrip().startswith('<div id="customer-matches"')
    assert "138****0001" in body
    assert f"?customer={customer.pk}" in body


def test_open_a_ticket_from_the_customer_with_order_lines(make_user, customer, order, no_wake):
    c, _agent = login(make_user, "agent")
    page = text(c.get(f"/service/new/?customer={customer.pk}&from=customer"))
    assert "T100" in page
    assert "龙井" in page
    assert "Back to the customer" in page
    line = order.lines.get(line_no=2)
    r = c.post(
        "/service/new/",
        {
            "customer": customer.pk,
            "order": order.pk,
            "lines": [line.pk],
            "type": "wrong_item",
            "channel": "phone",
            "priority": "high",
            "subject": "发错杯子",
            "description": "",
            "tags": "发错, 杯子",
        },
    )
    t = Ticket.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/service/{t.pk}/"
    assert (t.order_id, t.type, t.priority, t.shop_id) == (order.pk, "wrong_item", "high", order.shop_id)
    assert list(t.order_lines.values_list("title", flat=True)) == ["茶杯"]
    assert sorted(t.tags.values_list("name", flat=True)) == ["发错", "杯子"]
    assert t.steps.count() == 6


def test_new_ticket_bad_input_gets_messages(make_user, customer, order, no_wake):
    from huitouke.customers.tests.factories import CustomerFactory
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

    c, _u = login(make_user, "agent")
    base = {"customer": customer.pk, "type": "quality", "channel": "phone", "priority": "normal", "subject": "x"}
    r = c.post("/service/new/", {**base, "subject": ""})
    assert r.status_code == 400
    assert "This field is required." in text(r)
    r = c.post("/service/new/", {**base, "type": "fun"})
    assert r.status_code == 400
    assert "Select a valid choice. fun is not one of the available choices." in text(r)
    stranger = OrderFactory.create(shop=order.shop, customer=CustomerFactory.create(), order_no="T900")
    r = c.post("/service/new/", {**base, "order": stranger.pk})
    assert r.status_code == 400
    assert "Pick one of this customer&#x27;s orders." in text(r)
    second = OrderFactory.create(shop=order.shop, customer=customer, order_no="T101")
    other_line = OrderLineFactory.create(order=second, line_no=1, title="壶")
    r = c.post("/service/new/", {**base, "order": order.pk, "lines": [other_line.pk]})
    assert r.status_code == 400
    assert "The ticked lines must belong to the order you picked." in text(r)
    assert not Ticket.objects.exists()
    assert c.get("/service/new/?customer=999999").status_code == 404
    assert c.get("/service/new/?customer=abc").status_code == 404


# --- the ticket page -----------------------------------------------------------------------------------------


def test_ticket_page_shows_the_ticket(make_user, ticket):
    c, _u = login(make_user, "agent")
    page = text(c.get(f"/service/{ticket.pk}/"))
    for part in ("#1 茶叶受潮", "Quality problem", "T100", "龙井", "nobody yet", "First response", "Resolution"):
        assert part in page
    assert "Own the problem and apologise" in page
    assert "Take this ticket" in page
    assert c.get("/service/999999/").status_code == 404


def test_history_translates_every_value(make_user, ticket):
    c, agent = login(make_user, "agent", lang="zh-hans")
    services.ticket_take(ticket=ticket, user=agent)
    services.ticket_step_tick(ticket=ticket, key="apologise", actor=agent)
    services.ticket_status_set(ticket=ticket, status="waiting_customer", actor=agent)
    services.compensation_add(ticket=ticket, kind="coupon", amount="10", actor=agent)
    page = text(c.get(f"/service/{ticket.pk}/"))
    history = page.split('id="history"')[1].split("</section>")[0]
    assert "waiting_customer" not in history
    assert "coupon" not in history
    assert ">apologise<" not in history
    assert "处理中 → 等待顾客回复" in history
    assert "新工单 → 处理中" in history
    assert "优惠券 ¥10.00" in history


def test_take_reply_note_transfer_step_status(make_user, ticket, no_wake):
    c, agent = login(make_user, "agent")
    _b, other = login(make_user, "agent", "agent-b")
    assert c.post(f"/service/{ticket.pk}/take/").status_code == 302
    ticket.refresh_from_db()
    assert (ticket.owner_id, ticket.first_owner_id, ticket.status) == (agent.pk, agent.pk, "open")
    r = c.post(f"/service/{ticket.pk}/reply/", {"body": "您好，我们马上处理", "channel": "manual", "as": "reply"})
    assert r.status_code == 302
    assert r["Location"].endswith("#replies")
    page = text(c.get(f"/service/{ticket.pk}/"))
    assert 'class="copy-text"' in page
    assert "您好，我们马上处理</textarea>" in page
    c.post(f"/service/{ticket.pk}/reply/", {"body": "内部备注", "channel": "sms", "as": "note"})
    assert list(TicketReply.objects.order_by("id").values_list("kind", "channel")) == [
        ("public", "manual"),
        ("internal", ""),
    ]
    assert c.post(f"/service/{ticket.pk}/steps/apologise/").status_code == 302
    assert ticket.steps.get(key="apologise").done_by_id == agent.pk
    assert c.post(f"/service/{ticket.pk}/steps/nope/").status_code == 404
    r = c.post(f"/service/{ticket.pk}/transfer/", {"to": "agent-b", "note": "明天我休假"})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.owner_id, ticket.first_owner_id) == (other.pk, agent.pk)
    r = c.post(f"/service/{ticket.pk}/status/", {"status": "waiting_customer", "note": ""})
    assert r.status_code == 302
    assert Ticket.objects.get().status == "waiting_customer"


def test_reply_and_transfer_bad_input(make_user, ticket):
    c, _a = login(make_user, "agent")
    r = c.post(f"/service/{ticket.pk}/reply/", {"body": "  ", "as": "reply"})
    assert r.status_code == 400
    assert "Text: This field is required." in text(r)
    r = c.post(f"/service/{ticket.pk}/reply/", {"body": "hi", "channel": "fax", "as": "reply"})
    assert r.status_code == 400
    assert "Send by: Select a valid choice." in text(r)
    r = c.post(f"/service/{ticket.pk}/transfer/", {"to": "agent-v", "note": ""})
    assert r.status_code == 400
    assert "Note for the colleague: This field is required." in text(r)
    r = c.post(f"/service/{ticket.pk}/transfer/", {"to": "ghost", "note": "x"})
    assert r.status_code == 400
    assert "&#x27;ghost&#x27; is not an active staff member" in text(r)
    assert not TicketReply.objects.exists()
    assert Ticket.objects.get().owner_id is None


def test_resolving_with_open_required_steps_needs_a_reason(make_user, ticket):
    c, agent = login(make_user, "agent")
    services.ticket_take(ticket=ticket, user=agent)
    r = c.post(f"/service/{ticket.pk}/status/", {"status": "resolved", "note": ""})
    body = text(r)
    assert r.status_code == 400
    assert "These required steps are still open: Own the problem and apologise、Listen and show you care" in body
    assert Ticket.objects.get().status == "open"
    r = c.post(f"/service/{ticket.pk}/status/", {"status": "resolved", "note": "顾客不再回复，平台已退款"})
    assert r.status_code == 302
    t = Ticket.objects.get()
    assert (t.status, t.resolve_reason) == ("resolved", "顾客不再回复，平台已退款")
    r = c.post(f"/service/{ticket.pk}/status/", {"status": "waiting_customer"})
    assert r.status_code == 400
    assert "a resolved ticket cannot become waiting_customer" in text(r)
    r = c.post(f"/service/{ticket.pk}/status/", {"status": "gone"})
    assert r.status_code == 400
    assert "New status: Select a valid choice." in text(r)
    assert c.post(f"/service/{ticket.pk}/status/", {"status": "open"}).status_code == 302
    assert Ticket.objects.get().status == TicketStatus.OPEN


def test_compensation_above_the_limit_waits_for_a_manager(make_user, ticket):
    c, _agent = login(make_user, "agent")
    r = c.post(f"/service/{ticket.pk}/compensations/", {"kind": "partial_refund", "amount": "80", "cost": "80"})
    assert r.status_code == 302
    entry = Compensation.objects.get()
    assert entry.status == "pending_approval"
    assert "Waiting for a manager" in text(c.get(f"/service/{ticket.pk}/"))
    assert c.post(f"/service/{ticket.pk}/compensations/{entry.pk}/approve/").status_code == 403
    m, manager = login(make_user, "manager")
    assert 'class="approve"' in text(m.get(f"/service/{ticket.pk}/"))
    assert m.post(f"/service/{ticket.pk}/compensations/{entry.pk}/approve/").status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.approved_by_id) == ("approved", manager.pk)
    assert m.post(f"/service/{ticket.pk}/compensations/{entry.pk + 1}/approve/").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "gift", "amount": "abc", "cost": "0"}, "To the customer (¥): Enter a number."),
        ({"kind": "gift", "amount": "-1", "cost": "0"}, "Ensure this value is greater than or equal to 0."),
        ({"kind": "cash", "amount": "1", "cost": "0"}, "Kind: Select a valid choice."),
        ({"kind": "gift", "amount": "1.001", "cost": "0"}, "Ensure that there are no more than 2 decimal places."),
        ({"kind": "gift", "amount": "1", "cost": "0", "order_line": "999999"}, "Pick a line of the ticket"),
    ],
)
def test_compensation_bad_input(make_user, ticket, data, message):
    c, _a = login(make_user, "agent")
    r = c.post(f"/service/{ticket.pk}/compensations/", data)
    assert r.status_code == 400
    assert message in text(r)
    assert not Compensation.objects.exists()


def test_attachments_are_sniffed_and_served_only_through_the_checked_view(make_user, ticket, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.HUITOUKE_HOME = tmp_path
    c, _a = login(make_user, "agent")
    r = c.post(f"/service/{ticket.pk}/attachments/", {"file": SimpleUploadedFile("photo.jpg", PNG, "image/jpeg")})
    assert r.status_code == 302
    item = Attachment.objects.get()
    assert (item.name, item.content_type, item.size) == ("photo.jpg", "image/png", len(PNG))
    got = c.get(f"/service/attachments/{item.pk}/")
    assert got.status_code == 200
    assert got["Content-Type"] == "image/png"
    assert got["X-Content-Type-Options"] == "nosniff"
    assert b"".join(got.streaming_content) == PNG  # type: ignore[attr-defined]
    assert c.get(f"/service/attachments/{item.pk + 1}/").status_code == 404
    marketer, _m = login(make_user, "marketer")
    assert marketer.get(f"/service/attachments/{item.pk}/").status_code == 403
    assert Client().get(f"/service/attachments/{item.pk}/").status_code == 302
    r = c.post(f"/service/{ticket.pk}/attachments/", {"file": SimpleUploadedFile("x.exe", b"MZ\x90\x00\x03" * 20)})
    assert r.status_code == 400
    assert "only photos, PDF" in text(r)
    r = c.post(f"/service/{ticket.pk}/attachments/", {})
    assert r.status_code == 400
    assert "Choose a file to upload." in text(r)
    settings.HUITOUKE_ATTACHMENT_MAX_BYTES = 10
    r = c.post(f"/service/{ticket.pk}/attachments/", {"file": SimpleUploadedFile("big.png", PNG)})
    assert r.status_code == 400
    assert "The file is larger than" in text(r)
    assert Attachment.objects.count() == 1


def test_the_360_page_offers_a_new_ticket(make_user, customer, ticket):
    c, _a = login(make_user, "agent")
    page = text(c.get(f"/customers/{customer.pk}/"))
    assert f'href="/service/new/?customer={customer.pk}&amp;from=customer"' in page
    assert f'href="/service/{ticket.pk}/"' in page


def test_recording_what_the_customer_said_reopens_a_waiting_ticket(make_user, ticket, no_wake):
    c, agent = login(make_user, "agent")
    services.ticket_take(ticket=ticket, user=agent)
    services.ticket_reply(ticket=ticket, author=agent, body="请拍照", channel="manual")
    services.ticket_status_set(ticket=ticket, status="waiting_customer", actor=agent)
    r = c.post(f"/service/{ticket.pk}/reply/", {"body": "照片已经发到旺旺了", "as": "customer"})
    assert r.status_code == 302
    t = Ticket.objects.get()
    assert (t.status, t.paused_at, t.next_response_started_at is not None) == ("open", None, True)
    assert list(TicketReply.objects.filter(kind="customer").values_list("body", "channel")) == [
        ("照片已经发到旺旺了", "wangwang")
    ]
    r = c.post(f"/service/{ticket.pk}/reply/", {"body": "", "as": "customer"})
    assert r.status_code == 400
    assert "Text: This field is required." in text(r)


def test_notifications_listed_in_the_readers_words_and_marked_read(make_user, ticket, no_wake):
    from huitouke.service.models import Notification

    first, agent = login(make_user, "agent")
    _b, other = login(make_user, "agent", "agent-b")
    services.ticket_take(ticket=ticket, user=agent)
    services.ticket_transfer(ticket=ticket, to=other, note="请跟进", actor=agent)
    services.ticket_status_set(ticket=ticket, status="waiting_customer", actor=other)
    page = text(first.get("/service/"))
    notices = page.split('id="notices"')[1].split("</section>")[0]
    assert "Ticket status changed" in notices
    assert "Open → Waiting for the customer" in notices
    assert f'href="/service/{ticket.pk}/">Ticket #1: Open → Waiting for the customer</a>' in notices
    assert first.post("/service/notifications/read/").status_code == 302
    assert not Notification.objects.filter(user=agent, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == 1
    assert 'id="notices"' not in text(first.get("/service/"))
    second = Client()
    second.force_login(other)
    second.cookies["django_language"] = "en"
    assert "Ticket handed to you</strong> · <a" in text(second.get("/service/"))
    assert "Ticket #1 was handed to you" in text(second.get("/service/"))


def test_edit_the_ticket(make_user, ticket):
    c, _a = login(make_user, "agent")
    data = {
        "subject": "茶叶受潮（已确认）",
        "type": "dispute",
        "priority": "urgent",
        "channel": "platform",
        "tags": "受潮，维权",
        "description": "平台介入",
    }
    assert c.post(f"/service/{ticket.pk}/edit/", data).status_code == 302
    t = Ticket.objects.get()
    assert (t.subject, t.type, t.priority, t.channel, t.description) == (
        "茶叶受潮（已确认）",
        "dispute",
        "urgent",
        "platform",
        "平台介入",
    )
    assert sorted(t.tags.values_list("name", flat=True)) == ["受潮", "维权"]
    assert t.sla_policy is not None
    assert t.sla_policy.name == "Urgent"
    # the recovery steps it had stay; the dispute playbook's missing ones are added
    keys = set(t.steps.values_list("key", flat=True))
    assert keys == {"apologise", "empathise", "fix", "compensate", "deliver", "follow_up"} | {
        "respond",
        "welcome",
        "listen",
        "reassure",
        "remedy",
        "inform",
    }
    page = text(c.get(f"/service/{ticket.pk}/"))
    assert "Priority" in page.split('id="history"')[1]
    assert "Normal → Urgent" in page
    r = c.post(f"/service/{ticket.pk}/edit/", {**data, "subject": ""})
    assert r.status_code == 400
    assert "Subject: This field is required." in text(r)
    r = c.post(f"/service/{ticket.pk}/edit/", {**data, "priority": "asap"})
    assert r.status_code == 400
    assert "Priority: Select a valid choice." in text(r)
    assert Ticket.objects.get().priority == "urgent"


def test_a_large_queue_is_counted_exactly_up_to_a_bound_then_estimated(
    make_user, shop, customer, ticket, monkeypatch, no_wake
):
    from huitouke.core import counting
    from huitouke.service import views

    c, _a = login(make_user, "agent")
    services.ticket_create(customer=customer, type="inquiry", channel="phone", subject="问", shop=shop)
    services.ticket_create(customer=customer, type="inquiry", channel="phone", subject="再问", shop=shop)
    monkeypatch.setattr(views, "COUNT_CAP", 2)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    monkeypatch.setattr(counting, "planner_estimate", lambda qs: 40)  # PostgreSQL's guess past the bound
    page = text(c.get("/service/?queue=all"))
    assert '<p class="count" id="ticket-count">about 40 tickets</p>' in page
    assert "Page 1 of 40" in page
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    assert '<p class="count" id="ticket-count">3 tickets</p>' in text(c.get("/service/?queue=all"))


def test_queue_rows_show_what_the_per_row_template_showed_in_a_fixed_number_of_queries(
    make_user, shop, customer, ticket, agent2, no_wake
):
    """The row's labels, links, owners and SLA badge are worked out once per page (display.queue_rows); the SLA
    cell is the same text `_sla_badge.html` renders, and more rows cost no more queries."""
    from datetime import timedelta

    from django.db import connection
    from django.template.loader import render_to_string
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone, translation

    c, agent = login(make_user, "agent")

    def page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            body = c.get("/service/?queue=all", headers={"HX-Request": "true"}).content.decode()
        return body, len(captured.captured_queries)

    due = timezone.now() + timedelta(days=3, minutes=5)
    Ticket.objects.filter(pk=ticket.pk).update(
        owner=agent2, first_owner=agent, sla_state=SlaState.BREACHED, sla_due=due, priority="urgent"
    )
    _body, queries_one = page()
    paused = services.ticket_create(customer=customer, type="inquiry", channel="phone", subject="问发货", shop=shop)
    closed = services.ticket_create(customer=customer, type="return", channel="phone", subject="退货", shop=shop)
    Ticket.objects.filter(pk=paused.pk).update(paused_at=timezone.now(), status=TicketStatus.WAITING_CUSTOMER)
    Ticket.objects.filter(pk=closed.pk).update(status=TicketStatus.CLOSED)
    body, queries_three = page()
    assert queries_three == queries_one
    flat = re.sub(r"\s+", " ", body)
    assert f'<td><a href="/service/{ticket.pk}/">#1</a></td>' in flat
    assert f'<td><a href="/service/{ticket.pk}/">茶叶受潮</a> <span class="badge tag">受潮</span></td>' in flat
    assert '<td>王小二<br><small class="muted phone">138****0001</small></td>' in flat
    assert '<td><span class="badge priority-urgent">Urgent</span></td>' in flat
    assert f'<td>agent2<br><small class="muted">first: {agent.username}</small></td>' in flat
    assert '<td>—</td> <td><time datetime="' in flat  # nobody works the other two
    created = timezone.localtime(Ticket.objects.get(pk=ticket.pk).created_at)
    assert f'<time datetime="{created.isoformat()}">{created:%Y-%m-%d %H:%M}</time>' in flat
    with translation.override("en"):
        for t in Ticket.objects.filter(pk__in=[ticket.pk, paused.pk, closed.pk]):
            badge = re.sub(r"\s+", " ", render_to_string("service/_sla_badge.html", {"t": t})).strip()
            assert f'<td class="sla">{badge} </td>' in flat or f'<td class="sla">{badge}</td>' in flat
    assert '✕ Breached</span> <br><time class="small"' in flat
    assert "⏸ Paused</span>" in flat
    assert '<td class="sla"><span class="muted">—</span> </td>' in flat


def test_a_page_number_past_the_offset_bound_reads_no_deeper_than_the_bound(
    make_user, shop, customer, ticket, monkeypatch, no_wake
):
    from huitouke.service import views

    for n in range(4):
        services.ticket_create(customer=customer, type="inquiry", channel="phone", subject=f"问{n}", shop=shop)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    monkeypatch.setattr(views, "MAX_OFFSET_PAGE", 2)
    c, _a = login(make_user, "agent")
    numbers = list(Ticket.objects.order_by("-created_at", "-id").values_list("number", flat=True))

    def shown(query: str) -> tuple[list[str], str]:
        page = text(c.get(f"/service/?queue=all&{query}", headers={"HX-Request": "true"}))
        return re.findall(r">#(\d+)</a>", page), re.search(r"Page \d+ of \d+", page).group(0)  # type: ignore[union-attr]

    assert shown("page=4") == ([str(numbers[1])], "Page 2 of 5")
    assert shown("page=2") == ([str(numbers[1])], "Page 2 of 5")
    last = Ticket.objects.get(number=numbers[2]).pk
    assert shown(f"page=4&after={last}") == ([str(numbers[3])], "Page 4 of 5")  # "Next" reads on by keyset
