"""Seed 001 in a real browser with a real worker and a local SMS gateway: tick buyers on the customer list, send
them a message, check the preview's figures, send, and find the send in the campaign list with its results. The
customer who opted out is counted as not sent in the preview and never reaches the gateway."""

from __future__ import annotations

import json
import time
from datetime import time as clock

import pytest

from huitouke.campaigns.models import Campaign
from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message, Template
from huitouke.messaging.services import channel_config_save, contact_policy_save
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.orders.models import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gateway():
    sink = HttpSink().start()
    calls = iter(range(1, 100_000))
    sink.responder = lambda hit: (200, {"Code": "OK", "BizId": f"biz{next(calls)}"}, {})
    yield sink
    sink.stop()


def _phones(hit) -> list[str]:
    form = hit.form()
    return [form["PhoneNumbers"]] if "PhoneNumbers" in form else json.loads(form["PhoneNumberJson"])


def test_tick_buyers_preview_and_send(browser, live_server, make_user, huey_worker, gateway, screenshot_dir):
    make_user("marketer", "mk")
    shop = Shop.objects.create(name="茶小铺", platform="taobao")
    channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{gateway.url}/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    contact_policy_save(
        shop_id=shop.pk, quiet_start=clock(0), quiet_end=clock(0), budget_days=7, budget_marketing=5, budget_care=5,
        marketing_consent="opt_out",
    )  # fmt: skip
    buyers = [
        CustomerFactory.create(name=f"茶友{i}", phone=f"1390000{i:04d}", order_count=4 - i, total_spent=100 * (4 - i))
        for i in range(4)
    ]
    Consent.objects.create(customer=buyers[1], channel="sms", purpose="marketing", granted=False, source="reply")
    template = Template.objects.create(
        channel="sms",
        purpose="marketing",
        language="zh-hans",
        name="老客回馈",
        body="{name}您好，{product}回馈老客",
        provider_code="SMS_900002",
    )

    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "mk")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/customers/?sort=spent")
    for buyer in buyers[:3]:
        page.check(f"input[name=ids][value='{buyer.pk}']")
    page.screenshot(path=screenshot_dir / "60-one-off-ticked.png", full_page=True)
    page.click("#bulk-send-message")
    page.wait_for_selector("#one-off-form")
    assert page.locator("#one-off-scope").inner_text() == "已勾选 3 位客户。"
    page.select_option("select[name=template]", str(template.pk))
    page.select_option("select[name=shop]", label="茶小铺")
    page.fill("input[name=product]", "明前龙井")
    page.click("#one-off-preview")
    page.wait_for_selector("#one-off-result")
    assert page.locator("#count-send").inner_text() == "2"
    assert page.locator("#count-suppressed").inner_text() == "1"
    assert page.locator("#one-off-not-sent").inner_text() == "客户已退订: 1"
    # marketers see the first picked buyer's phone masked
    assert "139****0000" in page.locator("#one-off-sample").inner_text()
    assert "茶友0您好，明前龙井回馈老客" in page.locator("#one-off-sample .message-body").inner_text()
    page.screenshot(path=screenshot_dir / "61-one-off-preview.png", full_page=True)

    page.click("#one-off-send")
    page.wait_for_selector("#launch-summary", timeout=60_000)
    page.screenshot(path=screenshot_dir / "62-one-off-launched.png", full_page=True)
    campaign = Campaign.objects.get(one_off=True)
    assert (campaign.targeted, campaign.held_out, campaign.status) == (3, 0, "sent")

    deadline = time.time() + 30
    while (
        time.time() < deadline
        and Message.objects.filter(source_id=campaign.pk, status__in=["queued", "sending"]).exists()
    ):
        time.sleep(0.2)
    statuses = dict(
        Message.objects.filter(source_id=campaign.pk, source_kind="campaign").values_list("customer_id", "status")
    )
    sent_to = sorted(p for hit in gateway.hits for p in _phones(hit))
    assert statuses == {buyers[0].pk: "sent", buyers[1].pk: "suppressed", buyers[2].pk: "sent"}
    assert sent_to == ["13900000000", "13900000002"]
    page.goto(f"{live_server.url}/campaigns/")
    row = page.locator("#campaigns tbody tr").filter(has_text=campaign.name)
    assert "从列表勾选的客户" in row.inner_text()
    row.locator("a").click()
    page.wait_for_selector("#results")
    delivery = page.locator("#delivery tbody td").all_inner_texts()
    assert delivery[:3] == ["3", "0", "2"]
    assert page.locator("#not-sent").inner_text() == "客户已退订: 1"
    page.screenshot(path=screenshot_dir / "63-one-off-results.png", full_page=True)
    page.context.close()
