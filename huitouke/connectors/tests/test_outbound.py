"""Store addresses and silence-alert robot URLs go through the same outbound check as the message channels: a
loopback or private destination is refused when staff save it and again when the worker calls it (after DNS),
unless the operator allows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from huitouke.connectors.health import silence_alerts_send
from huitouke.connectors.models import Source
from huitouke.connectors.remote import RemoteError, call
from huitouke.connectors.services import source_event_record, source_get_or_create, store_connect
from huitouke.core.errors import ApplicationError
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db
SECRETS = {"consumer_key": "ck_1", "consumer_secret": "cs_1", "webhook_secret": "wh_1"}


@pytest.fixture
def strict(settings: Any) -> None:
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = False
    settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    ("address", "robot", "field"),
    [
        ("http://127.0.0.1:8080", "", "address"),
        ("10.0.0.7", "", "address"),
        ("http://localhost", "", "address"),
        ("https://shop.example.com", "http://192.168.1.5/robot", "alert_robot_url"),
        ("https://shop.example.com", "http://[::1]/robot", "alert_robot_url"),
        ("https://shop.example.com", "ftp://robot.example.com/x", "alert_robot_url"),
    ],
)
def test_a_private_store_address_or_robot_url_is_refused_on_save(
    strict: None, address: str, robot: str, field: str
) -> None:
    shop = ShopFactory.create(name="Tea House")
    with pytest.raises(ApplicationError) as caught:
        store_connect(shop=shop, kind="woocommerce", address=address, secrets_given=SECRETS, alert_robot_url=robot)
    assert caught.value.field == field
    assert Source.objects.count() == 0


def test_a_public_store_and_robot_are_saved(strict: None) -> None:
    shop = ShopFactory.create(name="Tea House")
    source = store_connect(
        shop=shop,
        kind="woocommerce",
        address="https://shop.example.com",
        secrets_given=SECRETS,
        alert_robot_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )
    assert (source.address, source.alert_robot_url) == (
        "https://shop.example.com",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )


def test_the_call_is_refused_at_send_time_after_dns(strict: None) -> None:
    sink = HttpSink().start()
    try:
        url = sink.url.replace("127.0.0.1", "localhost") + "/wp-json/wc/v3/orders"
        with pytest.raises(RemoteError) as caught:
            call(url, field="address")
    finally:
        sink.stop()
    assert caught.value.field == "address"
    assert "localhost" in caught.value.message
    assert "127.0.0.1" in caught.value.message
    assert sink.hits == []


def test_a_silence_alert_robot_on_a_private_address_is_not_called(strict: None) -> None:
    robot = HttpSink().start()
    try:
        shop = ShopFactory.create(name="Tea House")
        source = source_get_or_create(shop_id=shop.pk, kind="push")
        # stored before the operator narrowed the rules: the send-time check still stops it
        Source.objects.filter(pk=source.pk).update(silence_minutes=30, alert_robot_url=f"{robot.url}/robot")
        source_event_record(source=source, orders=1, ok=True, at=timezone.now() - timedelta(minutes=45))
        assert silence_alerts_send() == 1
    finally:
        robot.stop()
    assert robot.hits == []


def test_the_call_reaches_an_allowed_gateway_and_reads_its_json() -> None:
    sink = HttpSink().start()
    try:
        status, answer, _headers = call(f"{sink.url}/robot", method="POST", body={"msgtype": "text"})
    finally:
        sink.stop()
    assert status == 200
    assert [hit.json() for hit in sink.hits] == [{"msgtype": "text"}]
    assert answer is None or isinstance(answer, dict | list)
