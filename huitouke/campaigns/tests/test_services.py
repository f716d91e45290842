# ruff: noqa: E501  (the validation cases read best one per line)
"""Campaign launch, consent rule, holdout, pause/resume/cancel and results against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from huitouke.audiences.services import segment_create
from huitouke.campaigns.models import Campaign, CampaignRecipient
from huitouke.campaigns.selectors import campaign_audience, campaign_results
from huitouke.campaigns.services import (
    CampaignInput,
    campaign_cancel,
    campaign_launch,
    campaign_pause,
    campaign_resume,
    campaign_save,
    campaign_test_send,
    channel_price_set,
)
from huitouke.campaigns.stats import is_holdout
from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message, Template
from huitouke.messaging.rendering import sms_count
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: outside quiet hours


@pytest.fixture
def template():
    return Template.objects.create(
        channel="sms", purpose="marketing", language="zh-hans", name="上新", body="亲，{shop}上新啦：{product}"
    )


@pytest.fixture
def shop():
    return ShopFactory.create(name="茶小铺")


def _customers(n: int, *, consent_every: int = 0) -> list[int]:
    ids = []
    for i in range(n):
        c = CustomerFactory.create(name=f"c{i}", phone=f"1380000{i:04d}", order_count=2, total_spent=Decimal("300"))
        if consent_every and i % consent_every == 0:
            Consent.objects.create(customer=c, channel="sms", purpose="new_products", granted=True, source="visit")
        ids.append(c.pk)
    return ids


def _campaign(template, shop, *, kind="winback", share="0.2", name="春茶上新") -> Campaign:
    segment = segment_create(name=f"seg-{name}", definition={"conditions": [{"field": "order_count", "min": 1}]})
    return campaign_save(
        data=CampaignInput(
            name=name,
            kind=kind,
            segment_id=segment.pk,
            channel="sms",
            template_id=template.pk,
            shop_id=shop.pk,
            context={"product": "明前龙井"},
            holdout_share=share,
        )
    )


def _campaign_messages(campaign: Campaign):
    return Message.objects.filter(source_kind="campaign", source_id=campaign.pk, purpose="marketing")


def test_launch_splits_records_and_enqueues_only_the_treated(template, shop):
    ids = _customers(60)
    campaign = _campaign(template, shop, kind="winback")
    result = campaign_launch(campaign=campaign, now=NOW)
    recipients = dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", "holdout"))
    assert set(recipients) == set(ids)
    assert recipients == {cid: is_holdout(campaign.seed, cid, 0.2) for cid in ids}
    assert result.targeted == 60
    assert result.held_out == sum(recipients.values())
    messages = _campaign_messages(campaign)
    assert sorted(messages.values_list("customer_id", flat=True)) == sorted(c for c, h in recipients.items() if not h)
    assert result.enqueued == messages.count() == 60 - result.held_out
    first = messages.first()
    assert first is not None
    body = first.body
    assert "茶小铺上新啦：明前龙井" in body
    assert body.endswith("回T退订")  # marketing SMS carry the opt-out hint
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert (campaign.targeted, campaign.held_out) == (60, result.held_out)


def test_a_new_product_notice_reaches_only_the_consent_group(template, shop):
    ids = _customers(30, consent_every=3)
    agreed = set(ids[::3])
    campaign = _campaign(template, shop, kind="new_products", share="0")
    assert set(campaign_audience(campaign).values_list("pk", flat=True)) == agreed
    campaign_launch(campaign=campaign, now=NOW)
    assert set(_campaign_messages(campaign).values_list("customer_id", flat=True)) == agreed


def test_launching_again_is_refused_and_a_retried_launch_adds_nothing(template, shop):
    _customers(20)
    campaign = _campaign(template, shop)
    campaign_launch(campaign=campaign, now=NOW)
    count = _campaign_messages(campaign).count()
    assert count > 0
    with pytest.raises(ApplicationError) as refused:
        campaign_launch(campaign=campaign, now=NOW)
    assert refused.value.field == "status"
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LAUNCHING)  # as if the job were retried
    campaign.refresh_from_db()
    assert campaign_launch(campaign=campaign, now=NOW).enqueued == 0
    assert _campaign_messages(campaign).count() == count
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 20


def test_pause_resume_cancel_act_on_waiting_messages_only(template, shop):
    _customers(10)
    campaign = _campaign(template, shop, share="0")
    campaign_launch(campaign=campaign, now=NOW)
    first = _campaign_messages(campaign).order_by("pk").first()
    assert first is not None
    Message.objects.filter(pk=first.pk).update(status=Message.Status.SENT)  # one went out already
    assert campaign_pause(campaign=campaign) == 9
    assert _campaign_messages(campaign).filter(status=Message.Status.HELD).count() == 9
    assert campaign_resume(campaign=campaign) == 9
    assert _campaign_messages(campaign).filter(status=Message.Status.QUEUED).count() == 9
    assert campaign_cancel(campaign=campaign) == 9
    assert _campaign_messages(campaign).filter(status="suppressed", reason="cancelled").count() == 9
    assert _campaign_messages(campaign).get(pk=first.pk).status == Message.Status.SENT
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED


def test_validation_names_the_field(template, shop):
    email_template = Template.objects.create(channel="email", purpose="marketing", name="x", body="hi", subject="s")
    cases = [
        (CampaignInput(name="", kind="promotion", segment_id=None, channel="sms", template_id=None), "name"),
        (CampaignInput(name="a", kind="party", segment_id=None, channel="sms", template_id=None), "kind"),
        (CampaignInput(name="a", kind="promotion", segment_id=None, channel="sms", template_id=email_template.pk), "template"),
        (CampaignInput(name="a", kind="promotion", segment_id=None, channel="sms", template_id=None, holdout_share="0.9"), "holdout_share"),
        (CampaignInput(name="a", kind="promotion", segment_id=None, channel="sms", template_id=None, attribution_days=0), "attribution_days"),
        (CampaignInput(name="a", kind="promotion", segment_id=999, channel="sms", template_id=None), "segment"),
    ]  # fmt: skip
    for data, field in cases:
        with pytest.raises(ApplicationError) as info:
            campaign_save(data=data)
        assert info.value.field == field


def test_results_compare_the_treated_with_the_holdout_group(template, shop):
    ids = _customers(40)
    campaign = _campaign(template, shop, share="0.5")
    campaign_launch(campaign=campaign, now=NOW)
    split = dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", "holdout"))
    treated = [c for c in ids if not split[c]]
    held = [c for c in ids if split[c]]
    assert len(treated) >= 4
    assert len(held) >= 2
    day1, day3 = NOW + timedelta(days=1), NOW + timedelta(days=3)
    # treated: two buyers (100 + 50 on day 1, 200 on day 3); holdout: one buyer (80);
    OrderFactory.create(customer_id=treated[0], shop=shop, ordered_at=day1, paid_amount=Decimal("100"))
    OrderFactory.create(customer_id=treated[0], shop=shop, ordered_at=day1, paid_amount=Decimal("50"))
    OrderFactory.create(customer_id=treated[1], shop=shop, ordered_at=day3, paid_amount=Decimal("200"))
    OrderFactory.create(customer_id=held[0], shop=shop, ordered_at=day1, paid_amount=Decimal("80"))
    # not counted: outside the window, before the launch, closed
    OrderFactory.create(customer_id=treated[2], shop=shop, ordered_at=NOW + timedelta(days=8), paid_amount=Decimal("9"))
    OrderFactory.create(
        customer_id=treated[3], shop=shop, ordered_at=NOW - timedelta(hours=1), paid_amount=Decimal("9")
    )
    OrderFactory.create(
        customer_id=held[1], shop=shop, ordered_at=day1, paid_amount=Decimal("9"), status=Order.Status.CLOSED
    )
    channel_price_set(channel="sms", price="0.05")
    _campaign_messages(campaign).update(status=Message.Status.SENT)

    r = campaign_results(campaign)
    assert (r.treated.customers, r.treated.converted, r.treated.revenue) == (len(treated), 2, Decimal("350"))
    assert (r.holdout.customers, r.holdout.converted, r.holdout.revenue) == (len(held), 1, Decimal("80"))
    assert r.treated.revenue_sq == pytest.approx(150**2 + 200**2)
    assert r.rate_uplift.value == pytest.approx(2 / len(treated) - 1 / len(held))
    assert r.revenue_uplift.value == pytest.approx(350 / len(treated) - 80 / len(held))
    assert r.sent == len(treated)
    # the text, the unsubscribe and preferences links every marketing SMS carries, the hint and the signature:
    # 100 to 134 characters, two parts each
    assert {
        sms_count(b, signature="茶小铺").parts for b in _campaign_messages(campaign).values_list("body", flat=True)
    } == {2}
    parts = 2
    assert r.cost == (Decimal("0.05") * len(treated) * parts).quantize(Decimal("0.01"))
    assert r.daily[0][1:] == (1, 1)  # day 1: one treated buyer, one holdout buyer
    assert sum(d[1] for d in r.daily) == 2


def test_a_test_send_goes_to_staff_as_a_service_message(template, shop):
    ids = _customers(1)
    campaign = _campaign(template, shop)
    message = campaign_test_send(
        campaign=campaign, to_address="13912345678", customer=CustomerFactory._meta.model.objects.get(pk=ids[0])
    )
    assert message.purpose == "service"
    assert message.to_address == "13912345678"
    assert "明前龙井" in message.body
    assert not _campaign_messages(campaign).exists()


def test_sms_cost_counts_each_texts_parts_by_its_length(template, shop):
    """The cost is priced per SMS part from each text's length as carriers count it (UTF-16 units: an emoji or a
    rare character beyond the BMP is two), grouped by length in the database on PostgreSQL: the same sum as
    counting every text one by one, across the 70 / 67 boundaries."""
    from huitouke.campaigns.selectors import campaign_cost
    from huitouke.messaging.selectors import sms_signature_for
    from huitouke.messaging.services import channel_config_save

    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": "http://127.0.0.1:9/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    _customers(10)
    campaign = _campaign(template, shop, share="0")
    campaign_launch(campaign=campaign, now=NOW)
    channel_price_set(channel="sms", price="0.05")
    # with 【茶小铺】 in front (5): 5, 6, 70, 71, 71, 69, 71, 134, 135, 135 units
    bodies = ["", "好", "亲" * 65, "亲" * 66, "亲" * 64 + "😀", "😀" * 32, "𠀀" * 33, "a" * 129, "a" * 130]
    bodies.append("亲" * 128 + "😀")
    for message, body in zip(_campaign_messages(campaign).order_by("pk"), bodies, strict=True):
        Message.objects.filter(pk=message.pk).update(body=body, status=Message.Status.SENT)
    assert sms_signature_for(shop) == "茶小铺"
    one_by_one = [sms_count(b, signature="茶小铺").parts for b in bodies]
    assert one_by_one == [1, 1, 1, 2, 2, 1, 2, 2, 3, 3]
    assert campaign_cost(campaign) == Decimal("0.05") * sum(one_by_one) == Decimal("0.90")
