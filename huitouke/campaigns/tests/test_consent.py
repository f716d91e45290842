"""Seed 004: promotion news goes only to customers who agreed. Win-back and announcement campaigns used to reach
everyone who had not opted out; now the shop's consent model (opt-in by default) decides, at dispatch, and the
campaign page says beforehand how many it leaves out. Real dispatcher, real local SMS gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from huitouke.audiences.services import segment_create
from huitouke.campaigns.services import CampaignInput, campaign_launch, campaign_save
from huitouke.customers.services import consent_set
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.dispatch import messages_dispatch
from huitouke.messaging.models import Message
from huitouke.messaging.services import channel_config_save, contact_policy_save, template_save
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def gateway(db) -> Iterator[HttpSink]:
    sink = HttpSink().start()
    sink.responder = lambda hit: (200, {"Code": "OK", "BizId": "b1"}, {})
    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{sink.url}/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    yield sink
    sink.stop()


def _policy(shop, model):
    contact_policy_save(
        shop_id=shop.pk,
        quiet_start=time(0),
        quiet_end=time(0),
        budget_days=7,
        budget_marketing=5,
        budget_care=5,
        marketing_consent=model,
    )


def _world():
    shop = ShopFactory.create(name="茶小铺")
    template = template_save(
        channel="sms", purpose="marketing", language="zh-hans", name="回来看看", body="{name}，好久不见",
        provider_code="SMS_9001",
    )  # fmt: skip
    agreed, grouped, silent, refused = (
        CustomerFactory.create(name=f"c{i}", phone=f"1380000000{i}", order_count=2, total_spent=Decimal("300"))
        for i in range(4)
    )
    consent_set(customer=agreed, channel="sms", purpose="marketing", granted=True, source="t")
    consent_set(customer=grouped, channel="sms", purpose="new_products", granted=True, source="t")
    consent_set(customer=refused, channel="sms", purpose="marketing", granted=False, source="t")
    return shop, template, (agreed, grouped, silent, refused)


def _campaign(shop, template, kind):
    segment = segment_create(name=f"seg-{kind}", definition={"conditions": [{"field": "order_count", "min": 1}]})
    data = CampaignInput(
        name=f"{kind} 活动", kind=kind, segment_id=segment.pk, channel="sms", template_id=template.pk,
        shop_id=shop.pk, holdout_share="0",
    )  # fmt: skip
    return campaign_save(data=data)


def _statuses(campaign, customers):
    by_customer = {m.customer_id: (m.status, m.reason) for m in Message.objects.filter(source_id=campaign.pk)}
    return [by_customer[c.pk] for c in customers]


@pytest.mark.parametrize("kind", ["winback", "announcement"])
def test_win_back_and_announcements_reach_only_customers_who_agreed_by_default(gateway, kind):
    shop, template, customers = _world()
    _policy(shop, "opt_in")
    campaign = _campaign(shop, template, kind)
    with freeze_time(NOW):
        assert campaign_launch(campaign=campaign, now=NOW).enqueued == 4
        messages_dispatch()
    assert _statuses(campaign, customers) == [
        ("sent", ""),
        ("sent", ""),
        ("suppressed", "no_opt_in"),
        ("suppressed", "opted_out"),
    ]


def test_a_shop_without_its_own_rules_is_opt_in(gateway):
    shop, template, customers = _world()
    campaign = _campaign(shop, template, "winback")
    with freeze_time(NOW):
        campaign_launch(campaign=campaign, now=NOW)
        messages_dispatch()
    assert _statuses(campaign, customers)[2] == ("suppressed", "no_opt_in")


def test_a_shop_switched_to_opt_out_reaches_everyone_who_did_not_say_no(gateway):
    shop, template, customers = _world()
    _policy(shop, "opt_out")
    campaign = _campaign(shop, template, "winback")
    with freeze_time(NOW):
        campaign_launch(campaign=campaign, now=NOW)
        messages_dispatch()
    assert [s for s, _r in _statuses(campaign, customers)] == ["sent", "sent", "sent", "suppressed"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("opt_in", "Of these 4 customers, <strong>2</strong> will be left out: 1 never agreed, 1 said no."),
        ("opt_out", "Of these 4 customers, <strong>1</strong> said no and will be left out."),
    ],
)
def test_the_campaign_page_says_how_many_the_consent_model_leaves_out(client_as, model, expected):
    shop, template, _customers = _world()
    _policy(shop, model)
    campaign = _campaign(shop, template, "winback")
    client = client_as("marketer")
    client.cookies["django_language"] = "en"
    with translation.override("zh-hans"):
        page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert expected in page
