"""The inbound SMS webhook (issue 14, item 11): signed pushes, forged, replayed, stale and oversized ones, the
token pushes of Aliyun and Tencent with their per-reply replay guard, the binding to one shop, and the limits.

Every request goes through the whole stack (Django's test client: middleware, the API, the database)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone

from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.inbound import MAX_REPLIES, inbound_signature, signed_headers
from huitouke.messaging.models import ChannelConfig, InboundNonce
from huitouke.messaging.services import channel_config_save
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
CHINA = ZoneInfo("Asia/Shanghai")


def _sms(shop_id: int | None, provider: str = "aliyun") -> ChannelConfig:
    if provider == "tencent":
        options = {"endpoint": "https://sms.tencentcloudapi.com/", "sdk_app_id": "1400", "sign_name": "s"}
        secrets = {"secret_id": "a", "secret_key": "b"}
    else:
        options = {"endpoint": "https://dysmsapi.aliyuncs.com/", "sign_name": "s"}
        secrets = {"access_key_id": "a", "access_key_secret": "b"}
    return channel_config_save(shop_id=shop_id, channel="sms", provider=provider, options=options, secrets_new=secrets)


@pytest.fixture
def two_shops() -> dict[str, Any]:
    """Shops A and B, each with its own SMS setting, and a buyer with the same phone in each."""
    a, b = ShopFactory.create(name="A铺"), ShopFactory.create(name="B铺")
    buyer_a, buyer_b = CustomerFactory.create(phone=PHONE), CustomerFactory.create(phone=PHONE)
    OrderFactory.create(shop=a, customer=buyer_a, paid_amount=Decimal("10"))
    OrderFactory.create(shop=b, customer=buyer_b, paid_amount=Decimal("10"))
    return {"a": a, "b": b, "buyer_a": buyer_a, "buyer_b": buyer_b, "config_a": _sms(a.pk), "config_b": _sms(b.pk)}


def _opted_out(customer: Any) -> bool:
    return Consent.objects.filter(customer=customer, channel="sms", purpose="marketing", granted=False).exists()


def _signed(config: ChannelConfig, payload: Any, *, nonce: str = "n0nce-0123456789ab", **kw: Any) -> Any:
    body = json.dumps(payload).encode()
    headers = signed_headers(config=config, body=body, nonce=nonce, **kw)
    return Client().post("/api/v1/messages/inbound-sms/generic", body, content_type="application/json", headers=headers)


# --- signed pushes -----------------------------------------------------------------------------------------------


def test_a_signed_push_opts_out_only_the_customers_of_that_shop(two_shops):
    response = _signed(two_shops["config_a"], {"phone": "+86 138-1234-5678", "text": "退订"})

    assert response.status_code == 200
    assert response.json() == {"received": 1, "opted_out": 1, "duplicates": 0, "stale": 0}
    assert _opted_out(two_shops["buyer_a"]) is True
    assert _opted_out(two_shops["buyer_b"]) is False  # the same phone, another shop: untouched


def test_the_signature_is_hmac_sha256_of_timestamp_nonce_and_body(two_shops):
    """What a relay computes, spelled out with hashlib: the documented format, not just our own helper."""
    import hmac

    config = two_shops["config_a"]
    body = json.dumps([{"phone": PHONE, "text": "T"}]).encode()
    stamp, nonce = str(int(time.time())), "abcdefghijklmnop"
    signature = hmac.new(config.inbound_secret.encode(), f"{stamp}.{nonce}.".encode() + body, "sha256").hexdigest()
    assert signature == inbound_signature(secret=config.inbound_secret, timestamp=stamp, nonce=nonce, body=body)
    headers = {
        "X-Huitouke-Channel": str(config.pk),
        "X-Huitouke-Timestamp": stamp,
        "X-Huitouke-Nonce": nonce,
        "X-Huitouke-Signature": signature,
    }
    response = Client().post(
        "/api/v1/messages/inbound-sms/generic", body, content_type="application/json", headers=headers
    )
    assert response.json()["opted_out"] == 1


@pytest.mark.parametrize("forgery", ["wrong_secret", "other_channel", "tampered_body", "no_signature", "bad_nonce"])
def test_forged_pushes_are_refused_and_change_nothing(two_shops, forgery):
    config_a, config_b = two_shops["config_a"], two_shops["config_b"]
    payload = [{"phone": PHONE, "text": "退订"}]
    body = json.dumps(payload).encode()
    headers = signed_headers(config=config_a, body=body, nonce="n0nce-0123456789ab")
    if forgery == "wrong_secret":
        headers["X-Huitouke-Signature"] = inbound_signature(
            secret="guessed", timestamp=headers["X-Huitouke-Timestamp"], nonce="n0nce-0123456789ab", body=body
        )
    elif forgery == "other_channel":  # signed for A, claims to be B
        headers["X-Huitouke-Channel"] = str(config_b.pk)
    elif forgery == "tampered_body":
        body = json.dumps([{"phone": "13900000000", "text": "退订"}]).encode()
    elif forgery == "no_signature":
        del headers["X-Huitouke-Signature"]
    elif forgery == "bad_nonce":
        headers["X-Huitouke-Nonce"] = "short"
        headers["X-Huitouke-Signature"] = inbound_signature(
            secret=config_a.inbound_secret, timestamp=headers["X-Huitouke-Timestamp"], nonce="short", body=body
        )

    response = Client().post(
        "/api/v1/messages/inbound-sms/generic", body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert not Consent.objects.exists()
    assert not InboundNonce.objects.exists()


def test_a_replayed_push_is_refused(two_shops):
    config = two_shops["config_a"]
    assert _signed(config, {"phone": PHONE, "text": "TD"}).status_code == 200
    Consent.objects.all().delete()  # the customer opted back in

    again = _signed(config, {"phone": PHONE, "text": "TD"})

    assert again.status_code == 409
    assert again.json()["code"] == "replayed"
    assert not Consent.objects.exists()
    assert InboundNonce.objects.filter(config=config).count() == 1


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_stale_push_is_refused(two_shops, offset, monkeypatch):
    now = int(time.time())
    # the server's clock stands still: the push is exactly `offset` seconds off, however slowly the request runs
    # (with the clock running, 301 s ahead became 300 s once the request took a second on a loaded machine)
    monkeypatch.setattr(time, "time", lambda: float(now))
    response = _signed(two_shops["config_a"], {"phone": PHONE, "text": "T"}, timestamp=now + offset)

    assert response.status_code == 401
    assert response.json()["code"] == "stale_request"
    assert not Consent.objects.exists()


def test_within_the_window_is_taken(two_shops):
    response = _signed(two_shops["config_a"], {"phone": PHONE, "text": "T"}, timestamp=int(time.time()) - 280)
    assert response.json()["opted_out"] == 1


def test_the_nonce_is_unique_per_setting_in_the_database(two_shops):
    now = timezone.now()
    InboundNonce.objects.create(config=two_shops["config_a"], nonce="sig:x", received_at=now)
    InboundNonce.objects.create(config=two_shops["config_b"], nonce="sig:x", received_at=now)  # another setting
    with pytest.raises(IntegrityError):
        InboundNonce.objects.create(config=two_shops["config_a"], nonce="sig:x", received_at=now)


# --- size and rate -----------------------------------------------------------------------------------------------


def test_500_forged_replies_in_one_push_are_refused_whole(two_shops):
    payload = [{"phone": f"138{i:08d}", "text": "退订"} for i in range(500)]
    response = _signed(two_shops["config_a"], payload)

    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "too_large"
    assert body["message"] == f"a push carries at most {MAX_REPLIES} replies; this one has 500"
    assert not Consent.objects.exists()


def test_exactly_100_replies_are_taken(two_shops):
    payload = [{"phone": PHONE if i == 0 else f"139{i:08d}", "text": "退订"} for i in range(MAX_REPLIES)]
    response = _signed(two_shops["config_a"], payload)
    assert response.json() == {"received": 100, "opted_out": 1, "duplicates": 0, "stale": 0}


def test_an_oversized_body_is_refused_before_anything_else(two_shops):
    body = json.dumps({"phone": PHONE, "text": "T" + "x" * 70_000}).encode()
    headers = signed_headers(config=two_shops["config_a"], body=body, nonce="n0nce-0123456789ab")
    response = Client().post(
        "/api/v1/messages/inbound-sms/generic", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 413
    assert response.json()["message"] == "a push is at most 64 KiB"


def test_pushes_are_rate_limited_per_setting(two_shops, settings):
    settings.HUITOUKE_INBOUND_BURST = 3
    settings.HUITOUKE_INBOUND_RATE = 0.001
    statuses = [
        _signed(two_shops["config_a"], {"phone": PHONE, "text": "hi"}, nonce=f"n0nce-0123456789-{i}").status_code
        for i in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    # another shop's setting has its own bucket
    assert _signed(two_shops["config_b"], {"phone": PHONE, "text": "hi"}).status_code == 200


def test_failed_proofs_are_rate_limited_per_address(two_shops, settings):
    settings.HUITOUKE_INBOUND_FAIL_BURST = 2
    settings.HUITOUKE_INBOUND_FAIL_RATE = 0.001
    url = "/api/v1/messages/inbound-sms/aliyun?token=guess"
    statuses = [Client().post(url, "[]", content_type="application/json").status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]


# --- token pushes of Aliyun and Tencent -------------------------------------------------------------------------


def _aliyun(items: list[dict[str, Any]], token: str) -> Any:
    return Client().post(
        f"/api/v1/messages/inbound-sms/aliyun?token={token}", json.dumps(items), content_type="application/json"
    )


def _china_now(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(CHINA) + delta).strftime("%Y-%m-%d %H:%M:%S")


def test_an_aliyun_push_is_taken_once_per_reply(two_shops):
    token = two_shops["config_a"].inbound_token
    items = [
        {"phone_number": PHONE, "content": "TD", "send_time": _china_now(), "sequence_id": 1001, "sign_name": "s"},
        {"phone_number": "13900000000", "content": "好的", "send_time": _china_now(), "sequence_id": 1002},
    ]
    first = _aliyun(items, token)
    assert first.json() == {"received": 2, "opted_out": 1, "duplicates": 0, "stale": 0}
    assert [_opted_out(two_shops["buyer_a"]), _opted_out(two_shops["buyer_b"])] == [True, False]
    Consent.objects.all().delete()

    retried = _aliyun(items, token)  # the gateway pushes the same batch again

    assert retried.status_code == 200  # so the gateway stops retrying
    assert retried.json() == {"received": 2, "opted_out": 0, "duplicates": 2, "stale": 0}
    assert not Consent.objects.exists()


@pytest.mark.parametrize("when", [timedelta(hours=-25), timedelta(hours=2)])
def test_an_old_or_future_aliyun_reply_is_not_acted_on(two_shops, when):
    items = [{"phone_number": PHONE, "content": "TD", "send_time": _china_now(when), "sequence_id": 7}]
    response = _aliyun(items, two_shops["config_a"].inbound_token)
    assert response.json() == {"received": 1, "opted_out": 0, "duplicates": 0, "stale": 1}
    assert not Consent.objects.exists()


def test_a_tencent_push_is_taken_once(db):
    shop = ShopFactory.create()
    buyer = CustomerFactory.create(phone=PHONE)
    OrderFactory.create(shop=shop, customer=buyer, paid_amount=Decimal("10"))
    config = _sms(shop.pk, "tencent")
    url = f"/api/v1/messages/inbound-sms/tencent?token={config.inbound_token}"
    body = json.dumps({"mobile": PHONE, "nationcode": "86", "text": "退订", "sign": "s", "time": int(time.time())})

    assert Client().post(url, body, content_type="application/json").json()["opted_out"] == 1
    assert Client().post(url, body, content_type="application/json").json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("aliyun?token=nope", "unknown inbound token"),
        ("generic?token={token}", "generic pushes must be signed (X-Huitouke-Signature)"),
        ("tencent?token={token}", "unknown inbound token"),  # an Aliyun setting's token on the Tencent path
        ("aliyun", "unknown inbound token"),
    ],
)
def test_token_pushes_need_the_settings_token_and_an_unsigned_provider(two_shops, path, why):
    url = "/api/v1/messages/inbound-sms/" + path.format(token=two_shops["config_a"].inbound_token)
    items = [{"phone_number": PHONE, "content": "TD", "send_time": _china_now(), "sequence_id": 1}]
    response = Client().post(url, json.dumps(items), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["message"] == why
    assert not Consent.objects.exists()


def test_the_default_setting_serves_only_shops_without_their_own(two_shops):
    """A third shop without an SMS setting is served by the default setting; A and B have their own."""
    c = ShopFactory.create(name="C铺")
    buyer_c = CustomerFactory.create(phone=PHONE)
    OrderFactory.create(shop=c, customer=buyer_c, paid_amount=Decimal("10"))
    default = _sms(None)

    response = _signed(default, {"phone": PHONE, "text": "T"})

    assert response.json()["opted_out"] == 1
    assert [_opted_out(two_shops["buyer_a"]), _opted_out(two_shops["buyer_b"]), _opted_out(buyer_c)] == [
        False,
        False,
        True,
    ]


def test_the_settings_page_shows_how_to_sign(client_as, two_shops):
    page = client_as("owner").get("/messages/channels/").content.decode()
    config = two_shops["config_a"]
    assert config.inbound_secret in page
    assert f"?token={config.inbound_token}" in page
    assert f'id="inbound-{config.pk}"' in page


@pytest.mark.django_db(transaction=True)
def test_a_signed_push_over_a_real_socket(live_server):
    """The relay's side exactly as docs/api.md shows it: urllib, the four headers, a real HTTP server."""
    import hashlib
    import hmac
    import secrets
    import urllib.error
    import urllib.request

    shop = ShopFactory.create()
    buyer = CustomerFactory.create(phone=PHONE)
    OrderFactory.create(shop=shop, customer=buyer, paid_amount=Decimal("10"))
    config = _sms(shop.pk)
    body = json.dumps([{"phone": PHONE, "text": "退订"}]).encode()
    stamp, nonce = str(int(time.time())), secrets.token_urlsafe(24)
    sig = hmac.new(config.inbound_secret.encode(), f"{stamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Huitouke-Channel": str(config.pk),
        "X-Huitouke-Timestamp": stamp,
        "X-Huitouke-Nonce": nonce,
        "X-Huitouke-Signature": sig,
    }
    url = f"{live_server.url}/api/v1/messages/inbound-sms/generic"

    def post() -> tuple[int, Any]:
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert post() == (200, {"received": 1, "opted_out": 1, "duplicates": 0, "stale": 0})
    status, answer = post()  # the same request again
    assert (status, answer["code"]) == (409, "replayed")
    assert _opted_out(buyer) is True
