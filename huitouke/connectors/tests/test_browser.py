"""Connecting a Shopify store in a real browser: the sources page, the webhook address it shows, a signed webhook
sent to that address by a local client, and the health row that follows."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from huitouke.connectors.models import Source
from huitouke.connectors.tests.stores import sign
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_a_shopify_store_and_see_its_webhooks_arrive(browser, live_server, make_user, screenshot_dir):
    ShopFactory.create(name="Tea EU", platform="shopify")
    make_user("manager", "mgr")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "mgr")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/imports/")
    page.click("#order-sources")
    page.wait_for_url("**/sources/")
    expect(page.locator("h1")).to_have_text("订单来源")
    form = page.locator("#shopify-form")
    form.locator("select[name=shopify-shop]").select_option(label="Tea EU")
    form.locator("input[name=shopify-address]").fill("tea-eu.myshopify.com")
    form.locator("input[name=shopify-access_token]").fill("shpat_browser")
    form.locator("input[name=shopify-webhook_secret]").fill("browser-secret")
    form.locator("input[name=shopify-silence_minutes]").fill("60")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/sources/")
    url = page.locator("code.webhook-url").inner_text()
    source = Source.objects.get(kind="shopify")
    assert url == f"{live_server.url}/sources/shopify/{source.key}/webhook"
    page.screenshot(path=screenshot_dir / "90-sources-connected.png", full_page=True)

    order = {"id": 1, "name": "#1", "email": "a@example.com", "created_at": "2026-12-01T10:00:00+01:00",
             "financial_status": "paid", "processed_at": "2026-12-01T10:01:00+01:00", "total_price": "9.00",
             "line_items": [{"name": "Tea", "sku": "T", "quantity": 1, "price": "9.00"}]}  # fmt: skip
    body = json.dumps(order).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sign(body, "browser-secret"),
        "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b-1"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=20) as answer:
        assert answer.status == 200
    assert Order.objects.get(order_no="#1").status == "paid"  # written by the (in-process) worker

    page.reload()
    row = page.locator(f"#source-{source.pk}")
    assert row.locator("td").nth(2).inner_text() != "—"  # the last event is shown
    assert row.locator("td.num").first.inner_text() == "0.1"  # one event over the week
    page.screenshot(path=screenshot_dir / "91-sources-after-webhook.png", full_page=True)
    page.click("text=← 返回导入")
    page.wait_for_url("**/imports/")
