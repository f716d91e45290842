"""The sources page (health, store connections, backfill button), silence alerts and the care pages' note."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone, translation

from huitouke.connectors.health import silence_alerts_send, source_health_list
from huitouke.connectors.models import Source, SourceEvent
from huitouke.connectors.services import source_event_record, source_get_or_create, store_connect
from huitouke.core.models import Job
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Any:
    return ShopFactory(name="Tea House", platform="taobao")


def test_health_counts_the_last_seven_days(shop: Any) -> None:
    now = timezone.now()
    source = source_get_or_create(shop_id=shop.pk, kind="push")
    for days, orders, ok, reason in [(1, 10, True, ""), (2, 4, False, "2 of 6 orders rejected"), (6, 0, False, "x"),
                                     (9, 100, True, "")]:  # fmt: skip
        source_event_record(source=source, orders=orders, ok=ok, reason=reason, at=now - timedelta(days=days))
    [row] = source_health_list(now=now)
    assert (row.events_per_day, row.orders_per_day, row.failures) == (round(3 / 7, 1), 2.0, 2)
    assert [reason for _at, reason in row.reasons] == ["2 of 6 orders rejected", "x"]
    assert row.silent is False


def test_a_silent_source_alerts_once_by_email_and_robot_until_it_delivers_again(shop: Any) -> None:
    robot = HttpSink().start()
    try:
        source = source_get_or_create(shop_id=shop.pk, kind="push")
        Source.objects.filter(pk=source.pk).update(
            silence_minutes=30, alert_email="boss@example.com", alert_robot_url=f"{robot.url}/robot"
        )
        source_event_record(source=source, orders=1, ok=True, at=timezone.now() - timedelta(minutes=45))
        with translation.override("en"):
            assert silence_alerts_send() == 1
            assert silence_alerts_send() == 0  # once per silence
            source_event_record(source=source, orders=1, ok=True, at=timezone.now() - timedelta(minutes=40))
            assert silence_alerts_send() == 1  # re-armed by the delivery, silent again
    finally:
        robot.stop()
    assert [m.to for m in mail.outbox] == [["boss@example.com"], ["boss@example.com"]]
    assert "Tea House · Order push API has sent nothing since" in mail.outbox[0].body
    assert [hit.json()["msgtype"] for hit in robot.hits] == ["text", "text"]


def test_a_source_within_its_limit_is_not_silent(shop: Any) -> None:
    source = source_get_or_create(shop_id=shop.pk, kind="push")
    Source.objects.filter(pk=source.pk).update(silence_minutes=60, alert_email="boss@example.com")
    source_event_record(source=source, orders=1, ok=True, at=timezone.now() - timedelta(minutes=59))
    assert silence_alerts_send() == 0


def test_the_sources_page_shows_health_and_webhook_addresses(shop: Any, client_as: Any) -> None:
    store = store_connect(
        shop=shop,
        kind="shopify",
        address="tea.myshopify.com",
        secrets_given={"access_token": "shpat_never_shown", "webhook_secret": "hook_never_shown"},
    )
    source_event_record(source=store, orders=0, ok=False, reason="webhook refused: signature does not match")
    page = client_as("manager").get("/sources/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"http://testserver/sources/shopify/{store.key}/webhook" in html
    assert "webhook refused: signature does not match" in html
    assert "never_shown" not in html  # secrets are never shown back
    assert client_as("agent").get("/sources/").status_code == 403


def test_connecting_a_store_needs_its_secrets_and_keeps_them_encrypted(shop: Any, client_as: Any) -> None:
    client = client_as("manager")
    missing = client.post("/sources/stores/shopify/", {"shopify-shop": shop.pk, "shopify-address": "t.myshopify.com"})
    assert missing.status_code == 422
    assert "access_token is required" in missing.content.decode()
    saved = client.post(
        "/sources/stores/shopify/",
        {"shopify-shop": shop.pk, "shopify-address": "t.myshopify.com", "shopify-access_token": "shpat_secret",
         "shopify-webhook_secret": "hook", "shopify-silence_minutes": "120",
         "shopify-alert_robot_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
    )  # fmt: skip
    assert saved.status_code == 302
    source = Source.objects.get(kind="shopify")
    assert (source.address, source.silence_minutes) == ("t.myshopify.com", 120)
    assert source.alert_robot_url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    assert "shpat_secret" not in source.secrets_encrypted
    bad = client.post("/sources/stores/shopify/", {"shopify-shop": shop.pk, "shopify-address": "ftp://x"})
    assert bad.status_code == 422
    assert "is not a store address" in bad.content.decode()


def test_the_backfill_button_queues_a_job(shop: Any, client_as: Any) -> None:
    store = store_connect(
        shop=shop,
        kind="woocommerce",
        address="http://127.0.0.1:9",
        secrets_given={"consumer_key": "k", "consumer_secret": "s", "webhook_secret": "w"},
    )
    answer = client_as("manager").post(f"/sources/{store.pk}/sync/")  # the worker runs it once this commits
    assert answer.status_code == 302
    job = Job.objects.get(kind="store_sync")
    assert job.params == {"source_id": store.pk}


def test_the_care_rule_list_says_order_events_react_within_a_minute_once_a_source_is_live(
    shop: Any, client_as: Any
) -> None:
    from huitouke.care.tests.factories import make_rule

    make_rule("paid_today")
    make_rule("birthday")
    client = client_as("manager")
    assert "一分钟内响应" not in client.get("/care/").content.decode()
    source_get_or_create(shop_id=shop.pk, kind="push")
    html = client.get("/care/").content.decode()
    assert html.count("一分钟内响应") == 1  # reacts within a minute: the paid rule, not the birthday rule
    assert SourceEvent.objects.count() == 0
