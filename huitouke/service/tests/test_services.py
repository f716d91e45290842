"""Ticket services against the real database: numbers, ownership, steps, policy choice, suppression, the tick's
bulk marking, playbooks per shop, attachments, and what the 360 page and the dashboard get."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from freezegun import freeze_time

from huitouke.core.errors import ApplicationError
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.registry import SuppressionCheck
from huitouke.orders.tests.factories import OrderFactory, ShopFactory
from huitouke.service import selectors, services
from huitouke.service.extensions import open_ticket_suppression
from huitouke.service.models import SlaBreach, Ticket, TicketEvent
from huitouke.service.services.attachments import sniff
from huitouke.service.tests.conftest import sh

pytestmark = pytest.mark.django_db


def make(customer, shop, **kw):
    kw.setdefault("type", "inquiry")
    kw.setdefault("channel", "phone")
    kw.setdefault("subject", "问题")
    return services.ticket_create(customer=customer, shop=shop, **kw)


def test_numbers_count_per_shop(shop, customer):
    other = ShopFactory.create(name="二店")
    numbers = [make(customer, shop).number, make(customer, shop).number, make(customer, other).number]
    assert numbers == [1, 2, 1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_numbers():
    shop = ShopFactory.create(name="并发店")
    customer = CustomerFactory.create()
    errors: list[BaseException] = []

    def create() -> None:
        try:
            for _ in range(5):
                make(customer, shop)
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(Ticket.objects.filter(shop=shop).values_list("number", flat=True)) == list(range(1, 21))


def test_first_owner_is_set_once(shop, customer, agent, agent2, no_wake):
    t = make(customer, shop)
    services.ticket_reply(ticket=t, author=agent, body="您好")  # a reply takes it up as well
    t.refresh_from_db()
    assert (t.owner, t.first_owner, t.status) == (agent, agent, "open")
    with pytest.raises(services.ConflictError):
        services.ticket_take(ticket=t, user=agent2)
    services.ticket_transfer(ticket=t, to=agent2, note="交给仓库", actor=agent)
    services.ticket_reply(ticket=t, author=agent2, body="已补发")
    services.ticket_status_set(ticket=t, status="resolved", actor=agent2)
    t.refresh_from_db()
    assert (t.owner, t.first_owner) == (agent2, agent)
    follow = selectors.TicketFilter(queue="follow_ups")
    assert list(selectors.ticket_queue(user=agent, filters=follow)) == [t]  # resolved, not closed: still followed
    services.ticket_status_set(ticket=t, status="closed", actor=agent2)
    assert list(selectors.ticket_queue(user=agent, filters=follow)) == []
    reopened = services.ticket_status_set(ticket=t, status="open", actor=agent)
    assert (reopened.status, reopened.reopen_count, reopened.closed_at) == ("open", 1, None)


def test_customer_and_order_must_belong_together(shop, customer, order):
    stranger = CustomerFactory.create()
    with pytest.raises(ApplicationError) as refused:
        services.ticket_create(customer=stranger, order=order, type="refund", channel="sms", subject="x")
    assert refused.value.field == "order_no"
    other = ShopFactory.create(name="二店")
    with pytest.raises(ApplicationError) as wrong_shop:
        services.ticket_create(customer=customer, order=order, shop=other, type="refund", channel="sms", subject="x")
    assert wrong_shop.value.field == "order_no"
    # no order and two shops the customer bought from: the shop must be named
    OrderFactory.create(shop=other, customer=customer)
    with pytest.raises(ApplicationError) as unnamed:
        services.ticket_create(customer=customer, type="refund", channel="sms", subject="x")
    assert unnamed.value.field == "shop"
    assert Ticket.objects.count() == 0


def test_status_rules(shop, customer, agent):
    t = make(customer, shop)
    with pytest.raises(ApplicationError) as bogus:
        services.ticket_status_set(ticket=t, status="bogus", actor=agent)
    assert bogus.value.field == "status"
    services.ticket_status_set(ticket=t, status="closed", actor=agent)  # an inquiry has no steps
    with pytest.raises(services.ConflictError) as refused:
        services.ticket_status_set(ticket=t, status="resolved", actor=agent)
    assert "closed" in refused.value.message


def test_required_steps_block_resolution_until_ticked(shop, customer, agent, no_wake):
    t = make(customer, shop, type="complaint")
    required = list(t.steps.filter(required=True).values_list("key", flat=True))
    assert len(required) == 7
    for key in required[:-1]:
        services.ticket_step_tick(ticket=t, key=key, actor=agent)
    with pytest.raises(services.ConflictError) as refused:
        services.ticket_status_set(ticket=t, status="resolved", actor=agent)
    assert "inform" in refused.value.message
    step = services.ticket_step_tick(ticket=t, key="inform", actor=agent)
    assert services.ticket_step_tick(ticket=t, key="inform", actor=agent).done_at == step.done_at
    assert services.ticket_status_set(ticket=t, status="resolved", actor=agent).resolve_reason == ""


def test_a_shops_own_playbook_replaces_the_default(shop, customer, manager):
    services.playbook_save(
        shop=shop,
        key="damage",
        name="破损处理",
        types=["quality", "logistics"],
        steps=[
            services.StepSpec("photos", "请买家拍照"),
            services.StepSpec("carrier", "联系快递公司", required=False),
        ],
    )
    t = make(customer, shop, type="logistics")
    assert [(s.key, s.label, s.required) for s in t.steps.all()] == [
        ("photos", "请买家拍照", True),
        ("carrier", "联系快递公司", False),
    ]
    other = make(customer, ShopFactory.create(name="二店"), type="logistics")
    assert other.steps.count() == 6  # the shipped recovery steps
    with pytest.raises(ApplicationError) as clash:
        services.playbook_save(shop=shop, key="other", name="x", types=["quality"], steps=[services.StepSpec("a", "b")])
    assert clash.value.field == "types"


def test_policy_by_level_and_channel(shop, customer):
    from huitouke.loyalty.models import Level, Membership

    gold = Level.objects.create(shop=shop, name="金卡", rank=1, min_amount=0, min_orders=0)
    Membership.objects.create(customer=customer, shop=shop, level=gold)
    spec = services.PolicySpec(
        name="金卡旺旺",
        position=1,
        levels=["金卡"],
        channels=["wangwang"],
        first_response_minutes=5,
        next_response_minutes=10,
        resolution_minutes=60,
    )
    services.sla_policy_create(spec=spec, shop=shop)
    assert make(customer, shop, channel="wangwang").sla_policy.name == "金卡旺旺"
    assert make(customer, shop, channel="phone").sla_policy.name == "Standard"
    assert make(CustomerFactory.create(), shop, channel="wangwang").sla_policy.name == "Standard"


def test_marketing_is_suppressed_while_a_ticket_is_open(shop, customer, agent):
    calm = CustomerFactory.create()
    check = SuppressionCheck(customer_ids=(customer.pk, calm.pk), now=sh(2026, 3, 2, 10, 0))
    assert open_ticket_suppression(check) == {}
    t = make(customer, shop)
    assert open_ticket_suppression(check) == {customer.pk: "open_ticket"}
    services.ticket_status_set(ticket=t, status="waiting_third_party", actor=agent)
    assert open_ticket_suppression(check) == {customer.pk: "open_ticket"}
    services.ticket_status_set(ticket=t, status="resolved", actor=agent)
    assert open_ticket_suppression(check) == {}


def test_tick_marks_many_tickets_with_a_few_statements(shop, customer, agent, django_assert_max_num_queries):
    with freeze_time(sh(2026, 3, 2, 9, 0)):
        tickets = [make(customer, shop) for _ in range(30)]
    for t in tickets[:10]:
        services.ticket_take(ticket=t, user=agent, at=sh(2026, 3, 2, 9, 1))
    with django_assert_max_num_queries(40):
        result = services.sla_tick(at=sh(2026, 3, 2, 10, 0))
    assert result.breached == {"first_response": 30, "next_response": 0, "resolution": 0}
    assert result.escalated == 20
    assert SlaBreach.objects.count() == 30
    assert TicketEvent.objects.filter(kind="escalated").count() == 20
    assert TicketEvent.objects.exclude(kind__in=["created", "sla_policy", "taken", "status", "escalated"]).count() == 0
    # 30 breached and 20 escalations for one manager-less installation: owners only (10)
    assert result.notifications == 10
    assert services.sla_tick(at=sh(2026, 3, 2, 10, 1)).breached["first_response"] == 0
    assert SlaBreach.objects.count() == 30


def test_sla_tick_command(shop, customer, capsys):
    with freeze_time(sh(2026, 3, 2, 9, 0)):
        make(customer, shop)
    call_command("sla_tick", "--at", "2026-03-02T09:50:00+08:00", "--json")
    out = capsys.readouterr().out
    assert '"breaching_soon": {"first_response": 1, "next_response": 0, "resolution": 0}' in out
    call_command("sla_tick", "--at", "2026-03-02T10:00:00+08:00")
    assert "first response: 1 breached, 0 breaching soon" in capsys.readouterr().out


def test_attachments_are_typed_by_content_and_limited(shop, customer, agent, settings):
    assert sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff(b"%PDF-1.7") == "application/pdf"
    assert sniff("快递单号 SF123".encode()) == "text/plain"
    assert sniff(b"MZ\x90\x00\x03") is None
    assert sniff("茶".encode()[:2]) == "text/plain"  # a character cut off by the sample
    t = make(customer, shop)
    item = services.attachment_add(
        ticket=t, name="../../etc/photo.jpg", content=b"\xff\xd8\xff\xe0" + b"x" * 100, actor=agent
    )
    assert (item.name, item.content_type, item.size) == ("photo.jpg", "image/jpeg", 104)
    assert item.file.read().startswith(b"\xff\xd8")
    settings.HUITOUKE_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(services.AttachmentError):
        services.attachment_add(ticket=t, name="big.jpg", content=b"\xff\xd8\xff" + b"x" * 20, actor=agent)
    with pytest.raises(services.AttachmentError):
        services.attachment_add(ticket=t, name="a.exe", content=b"MZ\x90\x00", actor=agent)


def test_dashboard_figures_and_timeline(shop, customer, agent, no_wake):
    from huitouke.customers.selectors import customer_timeline

    with freeze_time(sh(2026, 3, 2, 9, 0)):
        t = make(customer, shop, subject="发票抬头")
        make(customer, shop)
    with freeze_time(sh(2026, 3, 3, 9, 0)):
        make(customer, shop)
    services.sla_tick(at=sh(2026, 3, 3, 9, 55))
    figures = selectors.service_figures(today=sh(2026, 3, 3, 0, 0).date(), tz="Asia/Shanghai")
    assert (figures.open, figures.breaching, figures.breached, figures.new_today) == (3, 1, 2, 1)
    with freeze_time(sh(2026, 3, 3, 10, 0)):
        services.ticket_reply(ticket=t, author=agent, body="已开好发票")
    events = [e for e in customer_timeline(customer=customer) if e.kind == "ticket"]
    assert events[0].body == "已开好发票"
    assert events[0].at == sh(2026, 3, 3, 10, 0)
    assert any(e.body == "发票抬头" for e in events)


def test_follow_up_waits_n_days(shop, customer, agent, no_wake):
    from huitouke.messaging.models import Message

    services.service_settings_set(shop=shop, follow_up_days=3)
    t = make(customer, shop)
    with freeze_time(sh(2026, 3, 2, 12, 0)):
        services.ticket_status_set(ticket=t, status="resolved", actor=agent)
    m = Message.objects.get(idempotency_key=f"service:ticket:{t.pk}:follow-up:0")
    assert m.scheduled_at == sh(2026, 3, 2, 12, 0) + timedelta(days=3)
    assert (m.customer_id, m.shop_id, m.channel) == (customer.pk, shop.pk, "manual")


def test_attachments_are_served_only_to_staff_who_see_tickets(shop, customer, agent, client_as):
    t = make(customer, shop)
    item = services.attachment_add(ticket=t, name="单据.pdf", content=b"%PDF-1.4 receipt", actor=agent)
    url = f"/service/attachments/{item.pk}/"
    assert client_as("marketer").get(url).status_code == 403
    anonymous = Client().get(url)
    assert (anonymous.status_code, anonymous["Location"].split("?")[0]) == (302, "/login/")
    r = client_as("agent").get(url)
    assert (r.status_code, r["Content-Type"], r["X-Content-Type-Options"]) == (200, "application/pdf", "nosniff")
    assert b"".join(r.streaming_content) == b"%PDF-1.4 receipt"
    assert client_as("manager").get("/service/attachments/999999/").status_code == 404


def test_an_sms_reply_reopens_the_ticket_waiting_for_it(shop, customer, agent, no_wake):
    from huitouke.messaging.services import sms_reply_receive

    t = make(customer, shop, channel="sms")
    services.ticket_reply(ticket=t, author=agent, body="请问是哪一罐有问题？")
    services.ticket_status_set(ticket=t, status="waiting_customer", actor=agent)
    assert sms_reply_receive(phone="+86 138-0000-0001", text="第二罐，盖子坏了") == 0  # not an opt-out
    t.refresh_from_db()
    assert (t.status, t.paused_at) == ("open", None)
    last = t.replies.order_by("-id").first()
    assert (last.kind, last.channel, last.body) == ("customer", "sms", "第二罐，盖子坏了")
    assert t.next_response_due is not None
    # an opt-out reply stays an opt-out and is not added to the ticket
    assert sms_reply_receive(phone="13800000001", text="TD") == 1
    assert t.replies.count() == 2


def test_breaches_reach_the_work_chat_robot(shop, customer):
    from huitouke.messaging.dispatch import messages_dispatch
    from huitouke.messaging.models import Message
    from huitouke.messaging.services import channel_config_save
    from huitouke.messaging.tests.sinks import HttpSink

    sink = HttpSink().start()
    try:
        sink.responder = lambda hit: (200, {"errcode": 0, "errmsg": "ok"}, {})
        channel_config_save(
            shop_id=None,
            channel="webhook",
            provider="wecom",
            options={},
            secrets_new={"url": f"{sink.url}/robot?key=k"},
        )
        with freeze_time(sh(2026, 3, 2, 9, 0)):
            make(customer, shop)
            make(customer, shop)
        result = services.sla_tick(at=sh(2026, 3, 2, 10, 0))
        assert result.alerts == 1
        with freeze_time(sh(2026, 3, 2, 10, 0)):
            messages_dispatch()
        alert = Message.objects.get(source_kind="alert")
        assert (alert.status, alert.channel, alert.customer_id) == ("sent", "webhook", None)
        assert sink.hits[0].json() == {
            "msgtype": "text",
            "text": {"content": "售后时效\n茶小铺：2 个售后工单刚刚超过了响应或解决时限。"},
        }
    finally:
        sink.stop()


def test_notifications_read_in_the_readers_language(shop, customer, agent, agent2):
    from django.utils import translation

    t = make(customer, shop)
    services.ticket_take(ticket=t, user=agent)
    services.ticket_transfer(ticket=t, to=agent2, note="你来", actor=agent)
    services.ticket_status_set(ticket=t, status="waiting_third_party", actor=agent2)
    [status] = selectors.notification_list(user=agent)
    [handed] = selectors.notification_list(user=agent2)
    with translation.override("zh-hans"):
        assert selectors.notification_text(status) == "工单 #1：处理中 → 等待第三方"
        assert selectors.notification_text(handed) == "工单 #1 已转交给你"
    with translation.override("en"):
        assert selectors.notification_text(status) == "Ticket #1: Open → Waiting for a third party"
    assert services.notifications_mark_read(user=agent) == 1
    assert selectors.notification_list(user=agent, unread_only=True) == []


def test_a_deleted_policy_leaves_the_due_times(shop, customer, agent, no_wake):
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        t = make(customer, shop)
    due = t.resolution_due
    services.sla_policy_delete(policy_id=t.sla_policy_id)
    with freeze_time(sh(2026, 3, 2, 10, 5)):
        services.ticket_reply(ticket=t, author=agent, body="在的")
    t.refresh_from_db()
    assert (t.sla_policy_id, t.resolution_due, t.sla_due) == (None, due, due)


def test_an_import_records_a_platform_refund_without_an_actor(shop, customer, order):
    t = make(customer, shop, order=order, type="refund", platform_refund_id="R-1")
    entry = services.compensation_add(ticket=t, kind="refund", amount="100.00", cost="100.00", actor=None)
    assert (entry.status, entry.granted_by, entry.approved_by) == ("approved", None, None)
    with pytest.raises(services.ConflictError) as twice:
        make(customer, shop, order=order, type="refund", platform_refund_id="R-1")
    assert twice.value.field == "platform_refund_id"
