"""Care and the two seed-004 rules it used to break: marketing care rules (win-back, new products) reach only
customers who agreed unless the shop works under opt-out; a rule re-opened by an edit retries the customers whose
earlier send failed or expired, and never the ones it reached. Real dispatcher, real local SMS gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from huitouke.care.models import CareActivation
from huitouke.care.services import RuleInput, care_rule_update
from huitouke.care.tests.factories import care_template, make_rule
from huitouke.care.ticks import care_run
from huitouke.customers.services import consent_set
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.dispatch import messages_dispatch
from huitouke.messaging.models import Message
from huitouke.messaging.services import channel_config_save, contact_policy_save, template_save
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 5, 17)
NOON = datetime(2026, 5, 17, 12, 0, tzinfo=SH)


@pytest.fixture
def gateway(db) -> Iterator[HttpSink]:
    """Aliyun SMS for every shop, answered by a local server; quiet hours off so the clock never holds a send."""
    sink = HttpSink().start()
    sink.responder = lambda hit: (200, {"Code": "OK", "BizId": "b1"}, {})
    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{sink.url}/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    _policy("opt_in")
    yield sink
    sink.stop()


def _policy(model: str) -> None:
    contact_policy_save(
        shop_id=None,
        quiet_start=time(0),
        quiet_end=time(0),
        budget_days=7,
        budget_marketing=5,
        budget_care=5,
        marketing_consent=model,
    )


def _agree(customer, purpose="new_products"):
    consent_set(customer=customer, channel="sms", purpose=purpose, granted=True, source="t")


def _outcome(customer) -> tuple[str, str, str]:
    m = Message.objects.get(customer=customer, source_kind="care")
    return m.purpose, m.status, m.reason


def _dormant_world():
    ShopFactory.create(name="茶小铺")
    long_ago = datetime(2025, 6, 1, 12, tzinfo=SH)
    agreed, silent, refused = (
        CustomerFactory.create(name=n, phone=f"1380000000{i}", last_order_at=long_ago)
        for i, n in enumerate(("同意", "沉默", "拒绝"))
    )
    _agree(agreed)
    consent_set(customer=refused, channel="sms", purpose="marketing", granted=False, source="t")
    return agreed, silent, refused


def _tpl(name: str, body: str, purpose: str = "care"):
    """A shop's own SMS template with the code the gateway approved it under (Aliyun sends only such)."""
    return template_save(
        channel="sms", purpose=purpose, language="zh-hans", name=name, body=body, provider_code=f"SMS_{abs(hash(name))}"
    )


@freeze_time(NOON)
def test_a_win_back_rule_reaches_only_customers_who_agreed_even_with_a_care_template(gateway):
    agreed, silent, refused = _dormant_world()
    own = _tpl("想你了", "{name}，好久不见，店里上了新茶")  # purpose "care", for a marketing trigger
    make_rule("dormant", params={"days": 90}, template=own, send_time=time(11), now=NOON)
    care_run(at=NOON)
    messages_dispatch()
    assert _outcome(agreed) == ("marketing", "sent", "")
    assert _outcome(silent) == ("marketing", "suppressed", "no_opt_in")
    assert _outcome(refused) == ("marketing", "suppressed", "opted_out")
    assert len(gateway.hits) == 1


@freeze_time(NOON)
def test_under_opt_out_the_win_back_rule_reaches_everyone_who_did_not_say_no(gateway):
    _policy("opt_out")
    agreed, silent, refused = _dormant_world()
    own = _tpl("回来看看", "{name}，好久不见", purpose="marketing")
    make_rule("dormant", params={"days": 90}, template=own, send_time=time(11), now=NOON)
    care_run(at=NOON)
    messages_dispatch()
    assert [_outcome(c)[1] for c in (agreed, silent, refused)] == ["sent", "sent", "suppressed"]


@freeze_time(NOON)
def test_a_new_product_rule_with_its_opt_in_box_unticked_still_needs_a_yes(gateway):
    shop = ShopFactory.create(name="茶小铺")
    product = ProductFactory.create(shop=shop, title="明前龙井")
    agreed, silent = CustomerFactory.create(phone="13800000001"), CustomerFactory.create(phone="13800000002")
    _agree(agreed)
    own = _tpl("上新", "{product}上新了", purpose="marketing")
    params = {"products": [product.pk], "opt_in_only": False}
    make_rule("new_product", params=params, template=own, send_time=time(10), now=NOON)
    (result,) = care_run(at=NOON).rules
    assert result.enqueued == 2  # the box is unticked: the rule asks for both …
    messages_dispatch()
    assert _outcome(agreed)[1:] == ("sent", "")
    assert _outcome(silent)[1:] == ("suppressed", "no_opt_in")  # … and the consent model keeps the silent one out


def test_the_rule_page_shows_how_many_the_consent_model_leaves_out(gateway, client_as):
    _dormant_world()
    CustomerFactory.create(name="沉默二")
    rule = make_rule("dormant", params={"days": 90}, send_time=time(11))
    birthday = make_rule("birthday", send_time=time(9))
    owner = client_as("owner")
    owner.cookies["django_language"] = "en"
    with translation.override("zh-hans"):  # the page's language stays with the page
        page = owner.get(reverse("care:detail", args=[rule.pk])).content.decode()
        other = owner.get(reverse("care:detail", args=[birthday.pk])).content.decode()
    # 4 customers: 1 agreed, 2 never answered, 1 said no
    assert "Of these 4 customers, <strong>3</strong> will be left out: 2 never agreed, 1 said no." in page
    assert 'id="consent-reach"' not in other  # a birthday rule sends care, not marketing


# --- a rule re-opened by an edit (seed 004) ------------------------------------------------------------------


@pytest.mark.parametrize(("status", "reason"), [("failed", "rejected"), ("expired", "deadline_passed")])
def test_an_edit_retries_the_customers_whose_send_failed_or_expired_and_never_the_ones_reached(gateway, status, reason):
    ShopFactory.create(name="茶小铺")
    a = CustomerFactory.create(name="阿甲", phone="13800000001", birthday=date(1990, 5, 17))
    b = CustomerFactory.create(name="阿乙", phone="13800000002", birthday=date(1991, 5, 17))
    with freeze_time(datetime(2026, 5, 17, 9, 40, tzinfo=SH)):
        rule = make_rule("birthday", template=_tpl("生日", "{name}生日快乐"), send_time=time(9, 30))
        (first,) = care_run(at=datetime(2026, 5, 17, 9, 40, tzinfo=SH)).rules
        assert first.enqueued == 2
        messages_dispatch()
    a_msg, b_msg = (Message.objects.get(customer=c) for c in (a, b))
    assert (a_msg.status, b_msg.status) == ("sent", "sent")
    # the gateway refused A's message (or it waited past its deadline); B got theirs
    Message.objects.filter(pk=a_msg.pk).update(status=status, reason=reason, sent_at=None)
    first_body = b_msg.body

    with freeze_time(datetime(2026, 5, 17, 10, 0, tzinfo=SH)):
        (again,) = care_run(at=datetime(2026, 5, 17, 10, 0, tzinfo=SH)).rules
        assert (again.enqueued, again.suppressed) == (0, {"already_sent": 2})  # the same activation: no retry
        own = _tpl("生日新版", "{name}生日快乐！送您一张券")
        data = RuleInput(name=rule.name, trigger="birthday", channel="sms", template_id=own.pk, send_time=time(9, 30))
        care_rule_update(rule=rule, data=data)
        assert rule.activations.count() == 2
        (reopened,) = care_run(at=datetime(2026, 5, 17, 10, 0, tzinfo=SH)).rules
        assert (reopened.matched, reopened.enqueued, reopened.suppressed) == (2, 1, {"already_sent": 1})
        messages_dispatch()
        (later,) = care_run(at=datetime(2026, 5, 17, 10, 30, tzinfo=SH)).rules
        assert (later.enqueued, later.suppressed) == (0, {"already_sent": 2})

    current = CareActivation.objects.get(rule=rule, number=2)
    a_msg, b_msg = (Message.objects.get(customer=c) for c in (a, b))
    # A: the same record (one per rule, customer and occasion), now with the new text, under the new activation
    assert (a_msg.status, a_msg.source_id, a_msg.resends, a_msg.body) == (
        "sent",
        current.pk,
        1,
        "阿甲生日快乐！送您一张券",
    )
    # B: untouched, never a second copy
    assert (b_msg.status, b_msg.source_id, b_msg.resends, b_msg.body) == (
        "sent",
        rule.activations.get(number=1).pk,
        0,
        first_body,
    )
    assert Message.objects.count() == 2
    sent_to = "".join(unquote_plus(hit.body.decode()) for hit in gateway.hits)
    assert (sent_to.count("13800000001"), sent_to.count("13800000002")) == (2, 1)  # A twice, B only once


def test_a_suppressed_or_waiting_message_is_not_retried_by_a_re_activation(gateway):
    ShopFactory.create(name="茶小铺")
    waiting = CustomerFactory.create(name="阿甲", phone="13800000001", birthday=date(1990, 5, 17))
    refused = CustomerFactory.create(name="阿乙", phone="13800000002", birthday=date(1991, 5, 17))
    at = datetime(2026, 5, 17, 9, 40, tzinfo=SH)
    with freeze_time(at):
        rule = make_rule("birthday", send_time=time(9, 30))
        care_run(at=at)  # not dispatched: both wait
        Message.objects.filter(customer=refused).update(status="suppressed", reason="opted_out")
        own = _tpl("生日新版", "{name}生日快乐")
        data = RuleInput(name=rule.name, trigger="birthday", channel="sms", template_id=own.pk, send_time=time(9, 30))
        care_rule_update(rule=rule, data=data)
        (reopened,) = care_run(at=at).rules
    assert (reopened.enqueued, reopened.suppressed) == (0, {"already_sent": 2})
    assert [Message.objects.get(customer=c).status for c in (waiting, refused)] == ["queued", "suppressed"]
    assert set(Message.objects.values_list("resends", flat=True)) == {0}


def test_care_template_helper_still_gives_the_shipped_marketing_template():
    assert care_template("dormant").purpose == "marketing"
