"""Shopify: the mapping against the export importer, signed webhooks (forged, replayed, malformed, out of
order), refunds, the GraphQL backfill with cursors and throttling, resumed after a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from huitouke.care.tests.factories import make_rule
from huitouke.connectors import backfill, shopify
from huitouke.connectors.backfill import shopify_sync
from huitouke.connectors.models import Source, SourceEvent, WebhookDelivery
from huitouke.connectors.services import store_connect
from huitouke.connectors.tests.stores import TOKEN, WEBHOOK_SECRET, FakeShopify, graphql_order, sign
from huitouke.customers.models import Customer
from huitouke.jobs import ImportRequest, orders_import
from huitouke.messaging.models import Message
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.models import Order, OrderLine
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parents[2] / "orders" / "importers" / "tests" / "golden"

#: order #1001 of the golden Shopify export, as Shopify's webhook sends it
ORDER_1001: dict[str, Any] = {
    "id": 5678901234567,
    "name": "#1001",
    "email": "Anna.Schmidt@example.com",
    "created_at": "2025-10-07T09:50:20+02:00",
    "processed_at": "2025-10-07T09:50:26+02:00",
    "updated_at": "2025-10-08T14:00:05+02:00",
    "cancelled_at": None,
    "financial_status": "paid",
    "fulfillment_status": "fulfilled",
    "currency": "EUR",
    "subtotal_price": "54.00",
    "total_price": "58.90",
    "total_shipping_price_set": {"shop_money": {"amount": "4.90", "currency_code": "EUR"}},
    "shipping_lines": [{"title": "DHL Paket", "price": "4.90"}],
    "note": "Bitte klingeln",
    "buyer_accepts_marketing": True,
    "customer": {"id": 1, "email": "Anna.Schmidt@example.com", "phone": None},
    "shipping_address": {"name": "Anna Schmidt", "address1": "Hauptstraße 1", "address2": None, "city": "Berlin",
                         "province": None, "zip": "10115", "phone": "+49 30 1234567"},
    "fulfillments": [{"created_at": "2025-10-08T14:00:00+02:00", "tracking_company": None, "tracking_number": None}],
    "line_items": [
        {"name": "Sencha Green Tea 100g", "title": "Sencha Green Tea", "sku": "SEN-100", "quantity": 2,
         "price": "18.00", "total_discount": "0.00", "fulfillment_status": "fulfilled"},
        {"name": "Gaiwan Porcelain", "title": "Gaiwan Porcelain", "sku": "GW-1", "quantity": 1, "price": "18.00",
         "total_discount": "0.00", "fulfillment_status": "fulfilled"},
    ],
    "refunds": [],
}  # fmt: skip


@pytest.fixture
def store(db: Any) -> Source:
    shop: Any = ShopFactory(name="Tea EU", platform="shopify", timezone="Europe/Berlin", currency="EUR")
    return store_connect(
        shop=shop,
        kind="shopify",
        address="http://127.0.0.1:9",
        secrets_given={"access_token": TOKEN, "webhook_secret": WEBHOOK_SECRET},
    )


def deliver(client: Client, source: Source, payload: Any, *, topic: str = "orders/create", webhook_id: str = "w1",
            signature: str | None = None, raw: bytes | None = None) -> Any:  # fmt: skip
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post(
        f"/sources/shopify/{source.key}/webhook",
        body,
        content_type="application/json",
        headers={
            "X-Shopify-Hmac-Sha256": sign(body) if signature is None else signature,
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": "tea-eu.myshopify.com",
        },
    )


def test_a_store_imported_by_csv_then_connected_doubles_nothing(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    orders_import(request=ImportRequest(path=str(GOLDEN / "shopify_orders_export_1.csv"), shop="Tea EU"))
    before = (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        answer = deliver(client, store, ORDER_1001, topic="orders/updated")
    assert answer.status_code == 200
    assert answer.json() == {"status": "queued"}
    assert WebhookDelivery.objects.get().status == "done"
    assert (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count()) == before
    assert SourceEvent.objects.filter(source=store, ok=True).count() == 1


def test_the_mapping_matches_the_export_importers_row_field_by_field() -> None:
    from huitouke.orders.importers import parse_orders
    from huitouke.orders.importers.rows import OrderRow

    _fmt, stream = parse_orders(GOLDEN / "shopify_orders_export_1.csv", tz="Europe/Berlin")
    from_csv = next(r for r in stream if isinstance(r, OrderRow) and r.order_no == "#1001")
    from_hook = shopify.order_row(ORDER_1001, shop_name="")
    for name in ("order_no", "buyer_handle", "buyer_name", "phone", "email", "status", "goods_amount",
                 "shipping_fee", "total_amount", "paid_amount", "refund_amount", "ordered_at", "paid_at",
                 "shipped_at", "closed_at", "logistics_company", "tracking_no", "buyer_remark", "address", "city",
                 "postcode", "accepts_marketing"):  # fmt: skip
        assert getattr(from_hook, name) == getattr(from_csv, name), name
    assert [(ln.title, ln.sku, ln.external_id, ln.quantity, ln.unit_price, ln.amount, ln.refund_state)
            for ln in from_hook.lines] == [
        (ln.title, ln.sku, ln.external_id, ln.quantity, ln.unit_price, ln.amount, ln.refund_state)
        for ln in from_csv.lines
    ]  # fmt: skip


def test_a_forged_or_unknown_webhook_is_refused_with_401(store: Source, client: Client) -> None:
    forged = deliver(client, store, ORDER_1001, signature=sign(b"something else"))
    assert forged.status_code == 401
    other_secret = deliver(client, store, ORDER_1001, signature=sign(json.dumps(ORDER_1001).encode(), "guess"))
    assert other_secret.status_code == 401
    missing = client.post(f"/sources/shopify/{store.key}/webhook", b"{}", content_type="application/json")
    assert missing.status_code == 401
    unknown = client.post("/sources/shopify/nosuchkey/webhook", b"{}", content_type="application/json",
                          headers={"X-Shopify-Hmac-Sha256": sign(b"{}")})  # fmt: skip
    assert unknown.status_code == 401
    assert unknown.json() == forged.json() == {"status": "signature does not match"}  # no probing for keys
    assert not WebhookDelivery.objects.exists()
    assert set(SourceEvent.objects.values_list("ok", "reason")) == {
        (False, "webhook refused: signature does not match")
    }


def test_a_replayed_webhook_is_acknowledged_and_written_once(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, store, ORDER_1001, webhook_id="abc")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = deliver(client, store, ORDER_1001, webhook_id="abc")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate delivery ignored"}
    assert callbacks == []
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.filter(order_no="#1001").count() == 1


@pytest.mark.parametrize(
    ("raw", "topic", "status", "answer"),
    [
        (b"{not json", "orders/create", 400, "the body is not JSON"),
        (b"[1, 2]", "orders/create", 400, "the body is not a JSON object"),
        (b"{}", "products/create", 200, "topic products/create ignored"),
    ],
)
def test_malformed_webhooks_get_a_clear_answer(store: Source, client: Client, raw: bytes, topic: str, status: int,
                                               answer: str) -> None:  # fmt: skip
    response = deliver(client, store, None, raw=raw, topic=topic)
    assert (response.status_code, response.json()) == (status, {"status": answer})
    assert not WebhookDelivery.objects.exists()


def test_an_order_that_cannot_be_mapped_fails_with_its_reason(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    bad = {**ORDER_1001, "line_items": [{"name": "x", "quantity": 0, "price": "1"}]}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, store, bad, webhook_id="bad").status_code == 200  # acknowledged before mapping
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.error == "orders/create bad: line_items[0].quantity: a whole number from 1 (0)"
    assert not Order.objects.exists()
    assert SourceEvent.objects.filter(ok=False).values_list("reason", flat=True)[0] == delivery.error


def test_an_older_state_arriving_late_never_overwrites_a_newer_one(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    cancelled = {**ORDER_1001, "cancelled_at": "2025-10-09T10:00:00+02:00", "financial_status": "refunded",
                 "updated_at": "2025-10-09T10:00:00+02:00"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, store, cancelled, topic="orders/cancelled", webhook_id="new")
        deliver(client, store, ORDER_1001, topic="orders/updated", webhook_id="old")
    assert Order.objects.get(order_no="#1001").status == "refunded"
    assert WebhookDelivery.objects.get(delivery_id="old").error == "a newer state of the order was written already"


def test_refunds_create_reads_the_order_from_the_admin_api(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    node = graphql_order(1, status="REFUNDED")
    node["totalRefundedSet"] = {"shopMoney": {"amount": "25.00"}}
    api = FakeShopify(orders=[node])
    sink = HttpSink(responder=api).start()
    try:
        Source.objects.filter(pk=store.pk).update(address=sink.url)
        store.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, store, {"id": 77, "order_id": 9001, "refund_line_items": []}, topic="refunds/create")
    finally:
        sink.stop()
    order = Order.objects.get(order_no="#1001")
    assert (order.status, order.refund_amount) == ("refunded", 25)
    assert api.queries == [{"id": "gid://shopify/Order/9001"}]


def test_care_reacts_to_a_paid_webhook_within_one_worker_cycle(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    make_rule("paid_today", shop_id=store.shop.pk)
    paid = {**ORDER_1001, "name": "#2001", "id": 2001, "fulfillment_status": None, "fulfillments": [],
            "created_at": now.isoformat(), "processed_at": now.isoformat(), "updated_at": now.isoformat()}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, store, paid, topic="orders/paid")
    buyer = Customer.objects.get(identities__handle="anna.schmidt@example.com")
    assert list(Message.objects.filter(source_kind="care").values_list("customer_id", flat=True)) == [buyer.pk]


def test_backfill_pages_with_cursors_and_waits_for_the_bucket(store: Source, monkeypatch: Any) -> None:
    monkeypatch.setattr(shopify, "PAGE_SIZE", 2)
    api = FakeShopify(orders=[graphql_order(n) for n in range(1, 6)], available=[1000, 100, 1000], throttle=1)
    sink = HttpSink(responder=api).start()
    waits: list[float] = []
    try:
        Source.objects.filter(pk=store.pk).update(address=sink.url)
        store.refresh_from_db()
        report = shopify_sync(source=store, sleep=waits.append)
    finally:
        sink.stop()
    assert report.as_json() == {"pages": 3, "created": 5, "updated": 0, "unchanged": 0, "failed": [],
                                "waited_seconds": 8.0, "done": True}  # fmt: skip
    # throttled first (the bucket empty: wait the page's cost / restore rate), then a page
    # that left 100 points: wait (250 - 100) / 50 s before the next
    assert waits == [5.0, 3.0]
    assert [q["after"] for q in api.queries] == [None, None, "2", "4"]
    assert Order.objects.filter(shop=store.shop).count() == 5
    store.refresh_from_db()
    assert (store.cursor, store.synced_at is not None) == ("", True)


def test_a_backfill_that_dies_mid_page_resumes_from_the_last_page_written(store: Source, monkeypatch: Any) -> None:
    monkeypatch.setattr(shopify, "PAGE_SIZE", 2)
    api = FakeShopify(orders=[graphql_order(n) for n in range(1, 8)])
    sink = HttpSink(responder=api).start()
    real_write = backfill.orders_write
    calls = {"n": 0}

    def dying_write(**kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("killed")  # the process dies inside the third page's transaction
        return real_write(**kw)

    try:
        Source.objects.filter(pk=store.pk).update(address=sink.url)
        store.refresh_from_db()
        monkeypatch.setattr(backfill, "orders_write", dying_write)
        with pytest.raises(SystemExit):
            shopify_sync(source=store, sleep=lambda s: None)
        assert Order.objects.count() == 4
        assert Source.objects.get(pk=store.pk).cursor == "4"
        monkeypatch.setattr(backfill, "orders_write", real_write)
        store.refresh_from_db()
        report = shopify_sync(source=store, sleep=lambda s: None)
    finally:
        sink.stop()
    assert (report.pages, report.created, report.unchanged) == (2, 3, 0)
    assert [q["after"] for q in api.queries] == [None, "2", "4", "4", "6"]
    assert Order.objects.count() == 7
    assert sorted(Order.objects.values_list("order_no", flat=True)) == [f"#{1000 + n}" for n in range(1, 8)]


def test_a_wrong_token_stops_the_backfill_with_a_clear_reason(store: Source) -> None:
    from huitouke.connectors.remote import RemoteError

    sink = HttpSink(responder=FakeShopify(orders=[])).start()
    try:
        store_connect(shop=store.shop, kind="shopify", address=sink.url,
                      secrets_given={"access_token": "wrong"})  # fmt: skip
        store.refresh_from_db()
        with pytest.raises(RemoteError, match=r"Shopify refused the access token \(HTTP 401\)"):
            shopify_sync(source=store, sleep=lambda s: None)
    finally:
        sink.stop()


def test_a_webhook_the_worker_lost_is_written_by_the_minute_task(store: Source, client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from huitouke.connectors.tasks import deliveries_retry_periodic

    deliver(client, store, ORDER_1001)  # stored; its task never ran (no commit in this test)
    assert deliveries_retry_periodic.call_local() == 0  # too fresh: its own task may still come
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    assert deliveries_retry_periodic.call_local() == 1
    assert WebhookDelivery.objects.get().status == "done"
    assert Order.objects.filter(order_no="#1001").count() == 1
