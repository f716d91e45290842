"""message_enqueue(_many) against the real database: idempotency, rendering, validation, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.messaging.models import Message, SourceKind, Template
from huitouke.messaging.services import (
    MessageInvalidError,
    OutgoingMessage,
    SourceRef,
    message_enqueue,
    message_enqueue_many,
    template_save,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]


def sms(key, customer, **kw):
    kw.setdefault("body", "亲，您的宝贝已发货")
    return OutgoingMessage(
        idempotency_key=key, channel="sms", purpose=kw.pop("purpose", "service"), customer_id=customer.pk, **kw
    )


def test_enqueue_many_adds_rows_and_ignores_known_keys():
    c = CustomerFactory.create()
    assert message_enqueue_many(messages=[sms("a", c), sms("b", c)]) == 2
    assert message_enqueue_many(messages=[sms("a", c), sms("b", c), sms("c", c)]) == 1
    assert sorted(Message.objects.values_list("idempotency_key", flat=True)) == ["a", "b", "c"]


def test_duplicate_keys_within_one_call_add_one_row():
    c = CustomerFactory.create()
    assert message_enqueue_many(messages=[sms("same", c, body="first"), sms("same", c, body="second")]) == 1
    assert Message.objects.get().body == "first"


def test_thousands_in_chunks_are_counted_exactly():
    customers = [CustomerFactory.create() for _ in range(3)]
    rows = [sms(f"k{i}", customers[i % 3]) for i in range(2500)]
    assert message_enqueue_many(messages=iter(rows), chunk_size=700) == 2500
    assert message_enqueue_many(messages=iter(rows), chunk_size=700) == 0
    assert Message.objects.count() == 2500


def test_defaults_priority_status_and_times():
    c = CustomerFactory.create()
    now = datetime(2025, 5, 17, 6, 0, tzinfo=UTC)
    message_enqueue_many(messages=[sms("m", c, purpose="marketing"), sms("s", c)], now=now)
    m, s = Message.objects.get(idempotency_key="m"), Message.objects.get(idempotency_key="s")
    assert (m.priority, s.priority) == (3, 0)
    assert m.status == Message.Status.QUEUED
    assert m.scheduled_at == now
    assert m.next_attempt_at == now
    assert m.source_kind == SourceKind.MANUAL


def test_marketing_sms_get_the_unsubscribe_hint():
    c = CustomerFactory.create()
    message_enqueue_many(messages=[sms("m", c, purpose="marketing", body="亲，新茶上市啦")])
    body = Message.objects.get().body
    assert body.startswith("亲，新茶上市啦 退订 ")  # the links come first (test_links.py) …
    assert body.endswith("/ 回T退订")  # … and the hint last


def test_a_template_is_rendered_and_its_variables_kept():
    c = CustomerFactory.create(name="小王")
    t = template_save(channel="sms", purpose="care", language="zh-hans", name="t", body="{name}，订单{order_no}已签收")
    message_enqueue_many(messages=[sms("t", c, body="", template_id=t.pk, context={"order_no": "88"})])
    m = Message.objects.get()
    assert m.body == "小王，订单88已签收"  # {name} came from the archive
    assert m.params == {"name": "小王", "order_no": "88"}
    assert m.language == "zh-hans"
    assert m.template_id == t.pk


def test_nick_shop_and_level_come_from_the_archive(shop):
    c = CustomerFactory.create(name="王小明")
    IdentityFactory.create(customer=c, handle="tb_wxm")
    t = template_save(channel="sms", purpose="care", language="zh-hans", name="t", body="{nick}@{shop}")
    message_enqueue_many(messages=[sms("t", c, body="", template_id=t.pk, shop_id=shop.pk)])
    assert Message.objects.get().body == "tb_wxm@茶小铺"


def test_a_missing_variable_suppresses_and_never_blanks():
    c = CustomerFactory.create()
    t = template_save(channel="sms", purpose="care", language="zh-hans", name="t", body="券{coupon}快到期")
    added = message_enqueue_many(messages=[sms("t", c, body="", template_id=t.pk, context={"coupon": "  "})])
    m = Message.objects.get()
    assert added == 1
    assert m.status == Message.Status.SUPPRESSED
    assert m.reason == Message.Reason.MISSING_VARIABLE
    assert "coupon" in m.detail
    assert "{coupon}" in m.body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"purpose": "spam"}, "purpose"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"body": " "}, "body"),
        ({"customer_id": None}, "customer_id"),
        ({"scheduled_at": datetime(2025, 1, 2)}, "scheduled_at"),
        ({"deadline": datetime(2024, 1, 1, tzinfo=UTC), "scheduled_at": datetime(2025, 1, 1, tzinfo=UTC)}, "deadline"),
        ({"source": SourceRef("care", 5, None)}, "source"),
        ({"priority": 12}, "priority"),
    ],
)
def test_a_bad_row_names_itself_and_nothing_is_written(change, field):
    c = CustomerFactory.create()
    good = sms("good", c)
    values: dict[str, Any] = {
        "idempotency_key": "bad",
        "channel": "sms",
        "purpose": "service",
        "customer_id": c.pk,
        "body": "x",
    }
    values.update(change)
    with pytest.raises(MessageInvalidError) as exc:
        message_enqueue_many(messages=[good, good, OutgoingMessage(**values)])
    assert exc.value.field == field
    assert exc.value.message.startswith(f"messages[2].{field}:")
    assert Message.objects.count() == 0


def test_a_template_of_another_channel_is_refused():
    c = CustomerFactory.create()
    t = template_save(channel="email", purpose="care", language="en", name="t", subject="s", body="hello")
    with pytest.raises(MessageInvalidError, match=r"messages\[0\].template_id"):
        message_enqueue_many(messages=[sms("t", c, body="", template_id=t.pk)])


def test_staff_alerts_go_without_a_customer():
    message_enqueue_many(
        messages=[OutgoingMessage(idempotency_key="alert", channel="webhook", purpose="service", body="库存告急")]
    )
    assert Message.objects.get().customer_id is None


def test_source_is_a_generic_reference(shop):
    c = CustomerFactory.create()
    message_enqueue_many(messages=[sms("src", c, source=SourceRef.of(SourceKind.CAMPAIGN, shop))])
    m = Message.objects.get()
    assert m.source == shop
    assert m.source_kind == "campaign"


def test_message_enqueue_returns_the_existing_row_for_a_known_key():
    c = CustomerFactory.create()
    first = message_enqueue(idempotency_key="one", channel="sms", purpose="service", customer=c, body="a")
    again = message_enqueue(idempotency_key="one", channel="sms", purpose="service", customer=c, body="b")
    assert again.pk == first.pk
    assert again.body == "a"


def test_enqueue_joins_the_callers_transaction():
    c = CustomerFactory.create()

    def caller_fails_after_enqueueing() -> None:
        with transaction.atomic():
            message_enqueue_many(messages=[sms("rolled", c)])
            raise RuntimeError("the caller failed after enqueueing")

    with pytest.raises(RuntimeError):
        caller_fails_after_enqueueing()
    assert not Message.objects.filter(idempotency_key="rolled").exists()


def test_deadline_and_schedule_are_kept():
    c = CustomerFactory.create()
    at = datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
    message_enqueue_many(messages=[sms("later", c, scheduled_at=at, deadline=at + timedelta(days=1))])
    m = Message.objects.get()
    assert (m.scheduled_at, m.deadline, m.next_attempt_at) == (at, at + timedelta(days=1), at)


def test_the_library_is_loaded_by_migrate():
    assert Template.objects.filter(system=True, key="birthday", channel="sms", language="zh-hans").exists()


def test_retry_failed_requeues_failed_or_expired_rows_of_another_source_only():
    c = CustomerFactory.create(phone="13800000001")
    ct = ContentType.objects.get_for_model(Template).pk  # any model: two activations of a care rule, say
    first, second = SourceRef(SourceKind.CARE, ct, 10), SourceRef(SourceKind.CARE, ct, 11)
    keys = ("failed", "expired", "sent", "suppressed", "queued", "same-source")
    message_enqueue_many(messages=[sms(k, c, source=first) for k in keys])
    for key in keys[:-1]:
        Message.objects.filter(idempotency_key=key).update(status=key, reason="x", attempts=3, claimed_by="w")
    Message.objects.filter(idempotency_key="same-source").update(status="failed", reason="rejected")
    again = [sms(k, c, source=second if k != "same-source" else first, body="新的文字") for k in keys]
    assert message_enqueue_many(messages=again) == 0  # without retry_failed: keys that exist add nothing
    assert message_enqueue_many(messages=[*again, again[0]], retry_failed=True) == 2  # a key given twice: once
    rows = {m.idempotency_key: m for m in Message.objects.all()}
    for key in ("failed", "expired"):
        m = rows[key]
        assert (m.status, m.reason, m.attempts, m.resends, m.claimed_by) == ("queued", "", 0, 1, "")
        assert (m.source_id, m.body) == (11, "新的文字")
    for key in ("sent", "suppressed", "queued"):
        assert (rows[key].status, rows[key].source_id, rows[key].resends) == (key, 10, 0)
    assert (rows["same-source"].status, rows["same-source"].resends) == ("failed", 0)
    assert Message.objects.count() == len(keys)
