"""WooCommerce: the mapping against the export importer, signed webhooks, the REST backfill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from huitouke.connectors import woocommerce
from huitouke.connectors.backfill import woocommerce_sync
from huitouke.connectors.models import Source, WebhookDelivery
from huitouke.connectors.remote import RemoteError
from huitouke.connectors.services import store_connect
from huitouke.connectors.tests.stores import WEBHOOK_SECRET, FakeWoo, sign, woo_order
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.importers import parse_orders
from huitouke.orders.importers.rows import OrderRow
from huitouke.orders.models import Order, Product
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parents[2] / "orders" / "importers" / "tests" / "golden"

#: order 4211 of the golden WooCommerce export, as the REST API and webhooks send it
ORDER_4211: dict[str, Any] = {
    "id": 4211, "number": "4211", "status": "completed", "customer_id": 0,
    "date_created": "2025-09-01T15:04:05", "date_created_gmt": "2025-09-01T07:04:05",
    "date_modified_gmt": "2025-09-02T07:00:00", "date_paid_gmt": None, "date_completed_gmt": None,
    "total": "45.00", "shipping_total": "5.00", "customer_note": "Gift wrap please",
    "billing": {"first_name": "Wei", "last_name": "Li", "email": "li.wei@example.com", "phone": "+86 138 0000 1234",
                "address_1": "1 Nanjing Road", "address_2": "", "city": "Shanghai", "state": "SH",
                "postcode": "200001"},
    "shipping": {"first_name": "", "last_name": "", "address_1": "", "city": "", "state": "", "postcode": ""},
    "line_items": [
        {"name": "Jasmine Pearls 50g", "product_id": 31, "sku": "JAS-50", "quantity": 2, "price": 15, "total": "30.00"},
        {"name": "Bamboo Tea Tray", "product_id": 32, "sku": "TRAY-B", "quantity": 1, "price": 10, "total": "10.00"},
    ],
    "shipping_lines": [], "refunds": [],
}  # fmt: skip


@pytest.fixture
def store(db: Any) -> Source:
    shop: Any = ShopFactory(name="Tea Woo", platform="woocommerce")
    return store_connect(
        shop=shop,
        kind="woocommerce",
        address="http://127.0.0.1:9",
        secrets_given={"consumer_key": "ck_test", "consumer_secret": "cs_test", "webhook_secret": WEBHOOK_SECRET},
    )


def deliver(client: Client, source: Source, payload: Any, *, signature: str | None = None, delivery: str = "d1") -> Any:
    body = json.dumps(payload).encode()
    return client.post(
        f"/sources/woocommerce/{source.key}/webhook",
        body,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Signature": sign(body) if signature is None else signature,
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Source": "https://tea.example/",
        },
    )


def test_the_mapping_matches_the_export_importers_row() -> None:
    _fmt, stream = parse_orders(GOLDEN / "woocommerce_orders_2025-09.csv", tz="Asia/Shanghai")
    from_csv = next(r for r in stream if isinstance(r, OrderRow) and r.order_no == "4211")
    from_api = woocommerce.order_row(ORDER_4211, shop_name="")
    for name in ("order_no", "buyer_handle", "buyer_name", "phone", "email", "status", "goods_amount",
                 "shipping_fee", "total_amount", "paid_amount", "refund_amount", "ordered_at", "buyer_remark",
                 "address", "city", "province", "postcode"):  # fmt: skip
        assert getattr(from_api, name) == getattr(from_csv, name), name
    assert [(ln.title, ln.sku, ln.quantity, ln.amount) for ln in from_api.lines] == [
        (ln.title, ln.sku, ln.quantity, ln.amount) for ln in from_csv.lines
    ]
    assert [ln.external_id for ln in from_api.lines] == ["", ""]  # keyed by SKU like the export's


def test_a_signed_webhook_is_written_and_a_forged_one_refused(
    store: Source, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ok = deliver(client, store, ORDER_4211)
    forged = deliver(client, store, {**ORDER_4211, "total": "0.01"}, signature=sign(b"x"), delivery="d2")
    assert (ok.status_code, forged.status_code) == (200, 401)
    order = Order.objects.get(shop=store.shop, order_no="4211")
    assert (order.status, order.total_amount) == ("completed", 45)
    assert WebhookDelivery.objects.get().status == "done"


def test_the_ping_sent_when_a_webhook_is_saved_is_acknowledged(store: Source, client: Client) -> None:
    body = b"webhook_id=12"
    answer = client.post(f"/sources/woocommerce/{store.key}/webhook", body,
                         content_type="application/x-www-form-urlencoded",
                         headers={"X-WC-Webhook-Signature": sign(body)})  # fmt: skip
    assert (answer.status_code, answer.json()) == (200, {"status": "ping"})


def test_the_rest_backfill_reads_every_page_once(store: Source, monkeypatch: Any) -> None:
    monkeypatch.setattr(woocommerce, "PAGE_SIZE", 2)
    api = FakeWoo(orders=[woo_order(n) for n in range(1, 6)])
    sink = HttpSink(responder=api).start()
    try:
        Source.objects.filter(pk=store.pk).update(address=sink.url)
        store.refresh_from_db()
        report = woocommerce_sync(source=store)
        again = woocommerce_sync(source=store, restart=True)
    finally:
        sink.stop()
    assert (report.pages, report.created, report.done) == (3, 5, True)
    assert (again.created, again.unchanged) == (0, 5)
    assert api.pages_asked == [1, 2, 3, 1, 2, 3]
    assert Order.objects.filter(shop=store.shop).count() == 5
    assert Product.objects.filter(shop=store.shop).count() == 1


def test_a_wrong_consumer_key_is_named(store: Source) -> None:
    sink = HttpSink(responder=FakeWoo(orders=[], key="other")).start()
    try:
        Source.objects.filter(pk=store.pk).update(address=sink.url)
        store.refresh_from_db()
        with pytest.raises(RemoteError, match=r"WooCommerce refused the consumer key \(HTTP 401\)"):
            woocommerce_sync(source=store)
    finally:
        sink.stop()


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"status": "teleported"}, "status: unknown order status ('teleported')"),
        ({"date_created_gmt": None, "date_created": None}, "date_created_gmt: missing"),
        (
            {"billing": {"email": ""}, "customer_id": 0},
            "billing.email: the order has no customer e-mail or customer id",
        ),
        ({"line_items": [{"name": "x", "quantity": "2"}]}, "line_items[0].quantity: a whole number from 1 ('2')"),
        ({"total": "abc"}, "total: not an amount ('abc')"),
    ],
)
def test_unreadable_orders_name_their_field(over: dict[str, Any], message: str) -> None:
    with pytest.raises(woocommerce.WooMappingError) as caught:
        woocommerce.order_row({**ORDER_4211, **over}, shop_name="")
    assert str(caught.value) == message
