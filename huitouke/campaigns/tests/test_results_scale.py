"""The campaign results page reads messaging's kept counts and the stored SMS parts: its statements do not grow
with the messages, it reads no message while the stored parts are fresh, and it counts the parts again once
they are older than costs.RECOUNT_EVERY and more texts went out (or at once when the signature changed)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from huitouke.campaigns import costs
from huitouke.campaigns.selectors import campaign_results
from huitouke.campaigns.services import campaign_launch, channel_price_set
from huitouke.campaigns.tests.test_services import NOW, _campaign, _campaign_messages, _customers
from huitouke.messaging.models import Message, Template
from huitouke.messaging.rendering import sms_count
from huitouke.messaging.services import channel_config_save
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    return Template.objects.create(
        channel="sms", purpose="marketing", language="zh-hans", name="上新", body="亲，{shop}上新啦：{product}"
    )


@pytest.fixture
def shop():
    return ShopFactory.create(name="茶小铺")


@pytest.fixture
def launched(template, shop):
    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": "http://127.0.0.1:9/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    _customers(30)
    campaign = _campaign(template, shop, share="0")
    campaign_launch(campaign=campaign, now=NOW)
    channel_price_set(channel="sms", price="0.05")
    return campaign


def _send(campaign, n: int, body: str) -> None:
    ids = list(_campaign_messages(campaign).filter(status="queued").order_by("pk").values_list("pk", flat=True)[:n])
    Message.objects.filter(pk__in=ids).update(status=Message.Status.SENT, body=body)


def _page(client, campaign) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in captured.captured_queries]


def _on_messages(sqls: list[str]) -> list[str]:
    return [s for s in sqls if '"messaging_message"' in s]


def test_the_results_page_reads_no_message_while_the_stored_parts_are_fresh(launched, client_as):
    campaign = launched
    one_part, two_parts = "亲" * 10, "亲" * 66  # with 【茶小铺】: 15 and 71 units
    assert (sms_count(one_part, signature="茶小铺").parts, sms_count(two_parts, signature="茶小铺").parts) == (1, 2)
    client = client_as("marketer")
    client.cookies["django_language"] = "en"  # the sentences below are matched in English
    with freeze_time(NOW + timedelta(minutes=1)):
        _send(campaign, 3, one_part)
        html, first = _page(client, campaign)  # nothing stored yet: the parts are counted (one read of messages)
        assert len(_on_messages(first)) == 1
        assert campaign_results(campaign).cost == Decimal("0.15")
        assert "Priced on 3 SMS parts of 3 texts" in html
        _html, few = _page(client, campaign)
        assert _on_messages(few) == []
    with freeze_time(NOW + timedelta(minutes=5)):
        _send(campaign, 20, two_parts)  # many more texts: the kept counts move, the stored parts stay (fresh)
        html, many = _page(client, campaign)
        assert _on_messages(many) == []
        assert len(many) == len(few)
        results = campaign_results(campaign)
        assert results.sms_parts is not None
        assert (results.contacted, results.sms_parts.texts, results.cost) == (23, 3, Decimal("0.15"))
        assert "Counted again every 10 minutes while texts go out." in html
    with freeze_time(NOW + timedelta(minutes=1) + costs.RECOUNT_EVERY + timedelta(seconds=1)):
        html, later = _page(client, campaign)  # older than RECOUNT_EVERY and stale: counted again
        assert len(_on_messages(later)) == 1
        results = campaign_results(campaign)
        assert results.sms_parts is not None
        assert (results.sms_parts.texts, results.sms_parts.parts, results.cost) == (23, 43, Decimal("2.15"))
        assert "Priced on 43 SMS parts of 23 texts" in html
        assert "Counted again every 10 minutes" not in html
        html, again = _page(client, campaign)  # up to date: no read of messages
        assert _on_messages(again) == []


def test_a_new_signature_counts_the_parts_again_at_once(launched):
    campaign = launched
    _send(campaign, 2, "亲" * 64)  # 69 units with 【茶小铺】: one part each; 71 with a longer signature
    assert campaign_results(campaign).cost == Decimal("0.10")
    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": "http://127.0.0.1:9/", "sign_name": "茶小铺旗舰"},
        secrets_new={},
    )
    assert campaign_results(campaign).cost == Decimal("0.20")


def test_the_outcomes_come_from_the_kept_counts(launched):
    campaign = launched
    _send(campaign, 4, "hi")
    ids = list(_campaign_messages(campaign).filter(status="queued").values_list("pk", flat=True)[:2])
    Message.objects.filter(pk__in=ids).update(status=Message.Status.SUPPRESSED, reason=Message.Reason.OPTED_OUT)
    with CaptureQueriesContext(connection) as captured:
        results = campaign_results(campaign)
    queued = _campaign_messages(campaign).filter(status="queued").count()
    assert results.statuses == {"sent": 4, "suppressed": 2, "queued": queued}
    assert results.suppressed == {"opted_out": 2}
    assert queued == 30 - 6
    statements = [q["sql"] for q in captured.captured_queries]
    [parts] = _on_messages(statements)  # the parts, counted once (nothing stored yet); the outcomes: no read
    assert "GROUP BY" in parts
    assert '"messaging_message"."status" IN' in parts
