"""The dispatcher end to end against the real database and local servers: every policy reason, holds that are
released, the budget, retries and backoff, leases, manual tasks, unsubscribing and resending."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from huitouke.customers.models import Consent
from huitouke.customers.services import consent_set, customer_merge
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.dispatch import backoff_seconds, messages_dispatch, next_due_in, rate_acquire
from huitouke.messaging.models import Message, RateBucket, SourceKind
from huitouke.messaging.registry import register_suppression_hook, unregister_suppression_hook
from huitouke.messaging.services import (
    OutgoingMessage,
    SourceRef,
    channel_config_save,
    contact_policy_save,
    customer_opt_out,
    manual_task_mark_sent,
    message_enqueue_many,
    messages_resend,
    sms_reply_receive,
    template_save,
    unsubscribe_by_token,
    unsubscribe_token,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2025, 5, 17, 14, 0, tzinfo=SH)
NIGHT = datetime(2025, 5, 17, 23, 0, tzinfo=SH)


@pytest.fixture
def sms_channel(http_sink, shop):
    """Aliyun SMS for the shop, pointing at the local sink, which answers OK with a BizId per call."""
    calls = iter(range(1, 10_000))
    http_sink.responder = lambda hit: (200, {"Code": "OK", "BizId": f"biz{next(calls)}"}, {})
    channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{http_sink.url}/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    return http_sink


@pytest.fixture
def template(db):
    return template_save(
        channel="sms",
        purpose="care",
        language="zh-hans",
        name="签收",
        body="亲，{name}，订单{order_no}已签收",
        provider_code="SMS_1",
    )


@pytest.fixture
def enqueue(shop, template):
    def make(customer, key, purpose="care", **kw):
        kw.setdefault("context", {"order_no": "A1"})
        message_enqueue_many(
            messages=[
                OutgoingMessage(
                    idempotency_key=key,
                    channel=kw.pop("channel", "sms"),
                    purpose=purpose,
                    customer_id=customer.pk,
                    shop_id=shop.pk,
                    template_id=kw.pop("template_id", template.pk),
                    **kw,
                )
            ],
            now=kw.get("scheduled_at") or timezone.now(),
        )
        return Message.objects.get(idempotency_key=key)

    return make


def phones(sink) -> list[str]:
    return [p for hit in sink.hits for p in phones_of(hit)]


def refresh(m):
    m.refresh_from_db()
    return m


@freeze_time(NOON)
def test_a_due_message_is_sent_and_recorded(sms_channel, enqueue):
    c = CustomerFactory.create(name="小王", phone="13800000001")
    m = enqueue(c, "k1")
    stats = messages_dispatch()
    m = refresh(m)
    assert (stats.claimed, stats.sent) == (1, 1)
    assert m.status == Message.Status.SENT
    assert m.to_address == "13800000001"
    assert m.provider_message_id == "biz1"
    assert m.attempts == 1
    assert m.sent_at == timezone.now()
    assert m.contacted_at == timezone.now()
    assert phones(sms_channel) == ["13800000001"]
    assert sms_channel.hits[0].form()["OutId"] == "k1"


@freeze_time(NOON)
def test_many_messages_go_in_batch_calls(sms_channel, enqueue):
    customers = [CustomerFactory.create(phone=f"1380000{i:04d}") for i in range(150)]
    for i, c in enumerate(customers):
        enqueue(c, f"b{i}", purpose="service")
    stats = messages_dispatch(batch_size=500)
    assert stats.sent == 150
    assert len(sms_channel.hits) == 2  # SendBatchSms takes 100 numbers
    assert sorted(phones(sms_channel)) == sorted(c.phone for c in customers)


@freeze_time(NOON)
def test_small_batches_walk_the_queue_in_priority_order(sms_channel, enqueue):
    customers = [CustomerFactory.create(phone=f"1380000000{i}") for i in range(5)]
    for i, c in enumerate(customers):
        enqueue(c, f"k{i}", purpose="service", priority=4 - i)  # the last enqueued is the most urgent
    stats = messages_dispatch(batch_size=2)
    assert (stats.sent, stats.batches) == (5, 3)
    by_call = [set(phones_of(hit)) for hit in sms_channel.hits]
    phone = [c.phone for c in customers]
    assert by_call == [{phone[4], phone[3]}, {phone[2], phone[1]}, {phone[0]}]


# --- every reason ------------------------------------------------------------------------------------------------


@freeze_time(NOON)
@pytest.mark.parametrize(
    ("setup", "purpose", "status", "reason"),
    [
        (
            lambda c: consent_set(customer=c, channel="sms", purpose="care", granted=False, source="t"),
            "care",
            "suppressed",
            "opted_out",
        ),
        (
            lambda c: consent_set(customer=c, channel="sms", purpose="marketing", granted=False, source="t"),
            "marketing",
            "suppressed",
            "opted_out",
        ),
        (lambda c: Consent.objects.none(), "marketing", "sent", ""),
        (lambda c: type(c).objects.filter(pk=c.pk).update(erased_at=timezone.now()), "service", "suppressed", "erased"),
        (lambda c: type(c).objects.filter(pk=c.pk).update(phone="138****0001"), "service", "suppressed", "no_address"),
        (lambda c: type(c).objects.filter(pk=c.pk).update(phone=""), "transactional", "suppressed", "no_address"),
        # an opt-out of email does not stop SMS
        (
            lambda c: consent_set(customer=c, channel="email", purpose="care", granted=False, source="t"),
            "care",
            "sent",
            "",
        ),
        # service messages ignore opt-outs
        (
            lambda c: consent_set(customer=c, channel="sms", purpose="care", granted=False, source="t"),
            "service",
            "sent",
            "",
        ),
    ],
)
def test_policy_reasons_are_recorded(sms_channel, enqueue, setup, purpose, status, reason):
    c = CustomerFactory.create(phone="13800000001")
    setup(c)
    m = enqueue(c, "k", purpose=purpose)
    messages_dispatch()
    m = refresh(m)
    assert (m.status, m.reason) == (status, reason)
    assert bool(sms_channel.hits) == (status == "sent")


@freeze_time(NOON)
def test_marketing_needs_an_opt_in_where_the_shop_requires_it(sms_channel, enqueue, shop):
    contact_policy_save(
        shop_id=shop.pk,
        quiet_start=time(21),
        quiet_end=time(9),
        budget_days=7,
        budget_marketing=1,
        budget_care=2,
        marketing_requires_opt_in=True,
    )
    asked, silent = CustomerFactory.create(phone="13800000001"), CustomerFactory.create(phone="13800000002")
    consent_set(customer=asked, channel="sms", purpose="marketing", granted=True, source="form")
    m1, m2 = enqueue(asked, "a", purpose="marketing"), enqueue(silent, "b", purpose="marketing")
    messages_dispatch()
    assert refresh(m1).status == "sent"
    assert (refresh(m2).status, m2.reason) == ("suppressed", "no_opt_in")


def test_quiet_hours_hold_and_release_at_the_next_allowed_minute(sms_channel, enqueue):
    c = CustomerFactory.create(phone="13800000001")
    with freeze_time(NIGHT):
        m = enqueue(c, "night")
        messages_dispatch()
        m = refresh(m)
        assert (m.status, m.reason) == ("held", "quiet_hours")
        assert m.next_attempt_at == datetime(2025, 5, 18, 9, 0, tzinfo=SH)
        assert next_due_in() == pytest.approx(10 * 3600)
    with freeze_time(datetime(2025, 5, 18, 8, 59, tzinfo=SH)):
        assert messages_dispatch().claimed == 0
        assert sms_channel.hits == []
    with freeze_time(datetime(2025, 5, 18, 9, 0, tzinfo=SH)):
        messages_dispatch()
        assert refresh(m).status == "sent"
        assert len(sms_channel.hits) == 1


@freeze_time(NIGHT)
def test_service_is_not_held_by_quiet_hours(sms_channel, enqueue):
    m = enqueue(CustomerFactory.create(phone="13800000001"), "svc", purpose="service")
    messages_dispatch()
    assert refresh(m).status == "sent"


@freeze_time(NIGHT)
def test_quiet_hours_beyond_the_deadline_expire(sms_channel, enqueue):
    m = enqueue(CustomerFactory.create(phone="13800000001"), "bday", deadline=NIGHT + timedelta(hours=2))
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("expired", "quiet_hours")


def _contacted(customer, purpose, when, key):
    """A message of `purpose` that went out at `when` (as the dispatcher records it)."""
    m = Message.objects.create(
        customer=customer,
        channel="sms",
        purpose=purpose,
        idempotency_key=key,
        scheduled_at=when,
        next_attempt_at=when,
        status="sent",
        contacted_at=when,
        sent_at=when,
    )
    return m


def test_over_budget_waits_by_priority_and_is_sent_when_the_budget_frees(sms_channel, enqueue, shop):
    contact_policy_save(
        shop_id=shop.pk, quiet_start=time(0), quiet_end=time(0), budget_days=7, budget_marketing=1, budget_care=1
    )
    c = CustomerFactory.create(phone="13800000001")
    with freeze_time(NOON):
        _contacted(c, "care", NOON - timedelta(days=6), "old")
        urgent = enqueue(c, "urgent", priority=1, scheduled_at=NOON - timedelta(minutes=5))
        later = enqueue(c, "later", priority=3, scheduled_at=NOON - timedelta(minutes=10))
        messages_dispatch()
        assert (refresh(urgent).status, urgent.reason) == ("held", "contact_budget")
        assert urgent.next_attempt_at == NOON + timedelta(days=1)
        assert refresh(later).status == "held"
    with freeze_time(NOON + timedelta(days=1)):
        messages_dispatch()
        # one care contact frees: the higher priority goes first, the other waits again
        assert refresh(urgent).status == "sent"
        assert (refresh(later).status, later.reason) == ("held", "contact_budget")
        assert later.next_attempt_at == NOON + timedelta(days=8)


@freeze_time(NOON)
def test_over_budget_past_the_deadline_expires(sms_channel, enqueue):
    c = CustomerFactory.create(phone="13800000001")
    _contacted(c, "marketing", NOON - timedelta(days=1), "old")
    m = enqueue(c, "promo", purpose="marketing", deadline=NOON + timedelta(days=2))
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("expired", "contact_budget")


@freeze_time(NOON)
def test_two_care_messages_in_one_batch_share_the_budget(sms_channel, enqueue):
    c = CustomerFactory.create(phone="13800000001")
    _contacted(c, "care", NOON - timedelta(days=1), "old")
    a, b = enqueue(c, "a"), enqueue(c, "b")
    messages_dispatch()
    assert sorted([refresh(a).status, refresh(b).status]) == ["held", "sent"]


@freeze_time(NOON)
def test_a_deadline_that_passed_expires(sms_channel, enqueue):
    m = enqueue(
        CustomerFactory.create(phone="13800000001"),
        "late",
        scheduled_at=NOON - timedelta(days=2),
        deadline=NOON - timedelta(days=1),
    )
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("expired", "deadline_passed")


@freeze_time(NOON)
def test_suppression_hooks_stop_marketing(sms_channel, enqueue):
    troubled, happy = CustomerFactory.create(phone="13800000001"), CustomerFactory.create(phone="13800000002")
    seen = []

    def open_tickets(check):
        seen.append(check)
        return {troubled.pk: "open_ticket"}

    register_suppression_hook("test-tickets", open_tickets)
    try:
        promo1, promo2 = enqueue(troubled, "p1", purpose="marketing"), enqueue(happy, "p2", purpose="marketing")
        care = enqueue(troubled, "c1", purpose="care")
        messages_dispatch()
    finally:
        unregister_suppression_hook("test-tickets")
    assert (refresh(promo1).status, promo1.reason) == ("suppressed", "open_ticket")
    assert refresh(promo2).status == "sent"
    assert refresh(care).status == "sent"
    assert set(seen[0].customer_ids) == {troubled.pk, happy.pk}
    assert seen[0].negative_review_days == 30


@freeze_time(NOON)
def test_a_missing_channel_fails_with_its_reason(enqueue, shop):
    m = enqueue(CustomerFactory.create(phone="13800000001"), "k")
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("failed", "no_channel")


@freeze_time(NOON)
def test_the_default_setting_serves_shops_without_their_own(http_sink, enqueue):
    http_sink.responder = lambda hit: (200, {"Code": "OK", "BizId": "x"}, {})
    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": http_sink.url, "sign_name": "总店"},
        secrets_new={"access_key_id": "a", "access_key_secret": "b"},
    )
    m = enqueue(CustomerFactory.create(phone="13800000001"), "k")
    messages_dispatch()
    assert refresh(m).status == "sent"
    assert http_sink.hits[0].form()["SignName"] == "总店"


# --- retries, rejections, leases ---------------------------------------------------------------------------------


def test_transient_errors_are_retried_with_exponential_backoff(sms_channel, enqueue, settings):
    settings.HUITOUKE_SEND_MAX_ATTEMPTS = 3
    answers: Iterator[tuple[int, dict[str, str], dict[str, str]]] = iter(
        [(503, {}, {}), (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL"}, {}), (200, {"Code": "OK", "BizId": "z"}, {})]
    )
    sms_channel.responder = lambda hit: next(answers)
    c = CustomerFactory.create(phone="13800000001")
    with freeze_time(NOON) as frozen:
        m = enqueue(c, "r", purpose="service")
        messages_dispatch()
        assert (refresh(m).status, m.reason, m.attempts) == ("queued", "retrying", 1)
        assert m.next_attempt_at == NOON + timedelta(seconds=backoff_seconds(1))
        frozen.tick(timedelta(seconds=backoff_seconds(1)))
        messages_dispatch()
        assert (refresh(m).status, m.attempts) == ("queued", 2)
        assert "BUSINESS_LIMIT_CONTROL" in m.detail
        assert m.next_attempt_at - timezone.now() == timedelta(seconds=backoff_seconds(2))
        frozen.tick(timedelta(seconds=backoff_seconds(2)))
        messages_dispatch()
        assert (refresh(m).status, m.attempts, m.reason) == ("sent", 3, "")


def test_backoff_doubles_up_to_an_hour(settings):
    settings.HUITOUKE_RETRY_BASE_SECONDS = 30
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(20) == 3600


@freeze_time(NOON)
def test_the_last_attempt_fails_with_send_error(sms_channel, enqueue, settings):
    settings.HUITOUKE_SEND_MAX_ATTEMPTS = 1
    sms_channel.responder = lambda hit: (500, {}, {})
    m = enqueue(CustomerFactory.create(phone="13800000001"), "r", purpose="service")
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("failed", "send_error")


@freeze_time(NOON)
def test_a_permanent_refusal_fails_with_the_providers_words(sms_channel, enqueue):
    sms_channel.responder = lambda hit: (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}, {})
    m = enqueue(CustomerFactory.create(phone="13800000001"), "r", purpose="service")
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("failed", "rejected")
    assert "MOBILE_NUMBER_ILLEGAL" in m.detail


def test_a_dead_workers_claim_comes_back_when_its_lease_ends(sms_channel, enqueue):
    c = CustomerFactory.create(phone="13800000001")
    with freeze_time(NOON):
        m = enqueue(c, "lost", purpose="service")
        Message.objects.filter(pk=m.pk).update(
            status="sending", claimed_by="dead-worker", lease_until=NOON + timedelta(seconds=60), attempts=1
        )
        assert messages_dispatch().claimed == 0  # the lease still runs
    with freeze_time(NOON + timedelta(seconds=61)):
        messages_dispatch()
    m = refresh(m)
    assert (m.status, m.attempts) == ("sent", 2)
    assert len(sms_channel.hits) == 1


@freeze_time(NOON)
def test_a_claim_that_keeps_dying_gives_up(sms_channel, enqueue, settings):
    settings.HUITOUKE_SEND_MAX_ATTEMPTS = 2
    m = enqueue(CustomerFactory.create(phone="13800000001"), "poison", purpose="service")
    Message.objects.filter(pk=m.pk).update(status="sending", lease_until=NOON - timedelta(seconds=1), attempts=2)
    messages_dispatch()
    assert (refresh(m).status, m.reason) == ("failed", "send_error")
    assert sms_channel.hits == []


def test_rate_limit_bucket_is_shared_and_refills(db):
    with freeze_time(NOON) as frozen:
        rate_acquire("channel:t", 5.0, 5)
        bucket = RateBucket.objects.get(key="channel:t")
        assert bucket.tokens == pytest.approx(0.0)
        frozen.tick(timedelta(seconds=1))
        rate_acquire("channel:t", 5.0, 5)  # refilled after a second: no wait
        assert RateBucket.objects.get(key="channel:t").tokens == pytest.approx(0.0)


@freeze_time(NOON, tick=True)
def test_a_rate_limited_channel_sends_in_chunks_within_the_rate(sms_channel, enqueue, shop):
    channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": sms_channel.url, "sign_name": "s"},
        rate_per_second=20,
    )
    for i in range(30):
        enqueue(CustomerFactory.create(phone=f"1380000{i:04d}"), f"k{i}", purpose="service")
    stats = messages_dispatch()
    assert stats.sent == 30
    sizes = [len(phones_of(hit)) for hit in sms_channel.hits]
    assert max(sizes) <= 20
    assert sum(sizes) == 30


def phones_of(hit) -> list[str]:
    form = hit.form()
    return [form["PhoneNumbers"]] if "PhoneNumbers" in form else json.loads(form["PhoneNumberJson"])


# --- manual tasks, unsubscribe, inbound replies, resend, merge ------------------------------------------------------


@freeze_time(NOON)
def test_manual_messages_wait_for_an_agent(enqueue, make_user, shop):
    channel_config_save(shop_id=None, channel="manual", provider="manual", options={})
    manual = template_save(
        channel="manual", purpose="service", language="zh-hans", name="回访", body="亲，{name}，最近还好吗？"
    )
    c = CustomerFactory.create(name="小王")
    m = enqueue(c, "call", purpose="service", channel="manual", template_id=manual.pk)
    stats = messages_dispatch()
    m = refresh(m)
    assert stats.tasks == 1
    assert m.is_manual_task
    assert m.to_address == "小王"
    assert messages_dispatch().claimed == 0  # a task is not claimed again
    agent = make_user("agent")
    done = manual_task_mark_sent(message_id=m.pk, actor=agent)
    assert (done.status, done.claimed_by) == ("sent", agent.username)


@freeze_time(NOON)
def test_unsubscribing_takes_effect_before_the_next_dispatch(sms_channel, enqueue):
    c = CustomerFactory.create(phone="13800000001")
    sent = enqueue(c, "first", purpose="marketing")
    messages_dispatch()
    waiting = enqueue(c, "second", purpose="marketing", scheduled_at=NOON)
    unsubscribe_by_token(token=unsubscribe_token(refresh(sent).pk))
    assert (refresh(waiting).status, waiting.reason) == ("suppressed", "opted_out")
    assert Consent.objects.get(customer=c, channel="sms", purpose="marketing").granted is False
    later = enqueue(c, "third", purpose="marketing")
    messages_dispatch()
    assert (refresh(later).status, later.reason) == ("suppressed", "opted_out")
    assert len(sms_channel.hits) == 1


@pytest.mark.parametrize(("reply", "opted"), [("TD", 1), (" t ", 1), ("退订", 1), ("td。", 1), ("TDX", 0), ("好的", 0)])
def test_inbound_replies(reply, opted, shop):
    from huitouke.orders.tests.factories import OrderFactory

    customer = CustomerFactory.create(phone="13800000001")
    OrderFactory.create(shop=shop, customer=customer)
    config = channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": "https://dysmsapi.aliyuncs.com/", "sign_name": "s"},
        secrets_new={"access_key_id": "a", "access_key_secret": "b"},
    )
    assert sms_reply_receive(phone="+86 138-0000-0001", text=reply, config=config) == opted
    assert Consent.objects.filter(channel="sms", purpose="marketing", granted=False).count() == opted


@freeze_time(NOON)
def test_opt_out_also_clears_the_agents_queue(enqueue):
    channel_config_save(shop_id=None, channel="manual", provider="manual", options={})
    c = CustomerFactory.create(name="小李")
    m = enqueue(c, "task", purpose="marketing", channel="manual", template_id=None, body="新品到了")
    messages_dispatch()
    assert refresh(m).is_manual_task
    customer_opt_out(customer=c, channel="manual", purpose="marketing", source="phone")
    assert (refresh(m).status, m.reason) == ("suppressed", "opted_out")


@freeze_time(NOON)
def test_resend_brings_back_failed_and_expired_only(sms_channel, enqueue, shop):
    source = SourceRef.of(SourceKind.CAMPAIGN, shop)
    a, b, c = (CustomerFactory.create(phone=f"1380000000{i}") for i in range(3))
    sent = enqueue(a, "s", purpose="service", source=source)
    failed = enqueue(b, "f", purpose="service", source=source)
    expired = enqueue(c, "e", purpose="service", source=source, deadline=NOON + timedelta(hours=1))
    messages_dispatch()
    Message.objects.filter(pk=failed.pk).update(status="failed", reason="rejected")
    Message.objects.filter(pk=expired.pk).update(status="expired", reason="deadline_passed")
    before = len(phones(sms_channel))
    assert messages_resend(source_kind="campaign", source_type_id=source.type_id, source_id=source.object_id) == 2
    assert (refresh(failed).status, failed.resends, failed.attempts) == ("queued", 1, 0)
    assert refresh(expired).deadline is None
    messages_dispatch()
    assert {refresh(failed).status, refresh(expired).status} == {"sent"}
    assert refresh(sent).resends == 0
    assert sorted(phones(sms_channel)[before:]) == ["13800000001", "13800000002"]
    assert messages_resend(source_kind="campaign", source_type_id=source.type_id, source_id=source.object_id) == 0


@freeze_time(NOON)
def test_merging_moves_the_send_record(sms_channel, enqueue, make_user):
    old, kept = CustomerFactory.create(phone="13800000001"), CustomerFactory.create(phone="13800000002")
    m = enqueue(old, "k", purpose="service")
    customer_merge(source_id=old.pk, target_id=kept.pk, actor=make_user("owner"))
    assert refresh(m).customer_id == kept.pk


@freeze_time(NOON)
def test_email_through_the_dispatcher_carries_a_working_unsubscribe_link(smtp_sink, shop, settings):
    settings.HUITOUKE_PUBLIC_URL = "https://crm.example.com"
    channel_config_save(
        shop_id=shop.pk,
        channel="email",
        provider="smtp",
        options={
            "host": "127.0.0.1",
            "port": str(smtp_sink.port),
            "security": "none",
            "from_email": "shop@example.com",
        },
    )
    c = CustomerFactory.create(email="buyer@example.com")
    message_enqueue_many(
        messages=[
            OutgoingMessage(
                idempotency_key="mail",
                channel="email",
                purpose="marketing",
                customer_id=c.pk,
                shop_id=shop.pk,
                subject="新茶",
                body="新茶到了",
            )
        ]
    )
    messages_dispatch()
    m = Message.objects.get()
    assert m.status == "sent"
    header = smtp_sink.messages[0]["List-Unsubscribe"]
    token = header.strip("<>").rstrip("/").rsplit("/", 1)[1]
    assert header.startswith("<https://crm.example.com/messages/u/")
    assert unsubscribe_by_token(token=token).pk == m.pk


def test_timeline_shows_messages(enqueue, sms_channel):
    from huitouke.customers.selectors import customer_timeline

    c = CustomerFactory.create(phone="13800000001")
    with freeze_time(NOON):
        enqueue(c, "k", purpose="service")
        messages_dispatch()
    events = [e for e in customer_timeline(customer=c) if e.kind == "message"]
    assert len(events) == 1
    assert "亲，" in events[0].body
    assert events[0].url.startswith("/messages/")


def test_utc_storage(enqueue, sms_channel):
    with freeze_time(NOON):
        m = enqueue(CustomerFactory.create(phone="13800000001"), "k", purpose="service")
    assert refresh(m).scheduled_at == NOON.astimezone(UTC)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_a_customer_being_decided_by_another_worker_is_left_for_the_next_batch(sms_channel, enqueue):
    """Two workers never spend one customer's contact budget at once: while another session holds the
    customer's budget lock, their care message stays queued (untouched) and the others are sent."""
    import psycopg

    from huitouke.messaging.dispatch import _LOCK_BASE

    busy, free = CustomerFactory.create(phone="13800000001"), CustomerFactory.create(phone="13800000002")
    db = settings.DATABASES["default"]
    with psycopg.connect(  # opened before time is frozen: psycopg waits on the clock
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as other_worker:
        other_worker.execute("SELECT pg_advisory_lock(%s)", [_LOCK_BASE + busy.pk])
        with freeze_time(NOON):
            waiting, other = enqueue(busy, "busy"), enqueue(free, "free")
            messages_dispatch()
        assert (refresh(waiting).status, waiting.attempts) == ("queued", 0)
        assert refresh(other).status == "sent"
        other_worker.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_BASE + busy.pk])
    with freeze_time(NOON):
        messages_dispatch()
    assert refresh(waiting).status == "sent"


@freeze_time(NIGHT)
def test_a_staff_alert_goes_to_the_work_chat_robot_at_any_hour(http_sink):
    http_sink.responder = lambda hit: (200, {"errcode": 0, "errmsg": "ok"}, {})
    channel_config_save(
        shop_id=None,
        channel="webhook",
        provider="wecom",
        options={},
        secrets_new={"url": f"{http_sink.url}/robot?key=k"},
    )
    message_enqueue_many(
        messages=[
            OutgoingMessage(
                idempotency_key="alert:ticket:9",
                channel="webhook",
                purpose="service",
                subject="新售后",
                body="工单 9 待处理",
            )
        ]
    )
    messages_dispatch()
    m = Message.objects.get()
    assert (m.status, m.to_address) == ("sent", "wecom")  # the robot's URL (it holds the key) is never shown
    assert http_sink.hits[0].json() == {"msgtype": "text", "text": {"content": "新售后\n工单 9 待处理"}}
