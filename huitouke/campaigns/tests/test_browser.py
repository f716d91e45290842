"""The whole marketing flow in a real browser with a real worker and a local SMS gateway: build a segment,
create a new-product notice, preview it, send it, and read its results. Only the consenting customers outside
the holdout group are messaged; the holdout group is not empty, and the results show both groups' figures."""

from __future__ import annotations

import json
import time
from datetime import time as clock

import pytest

from huitouke.campaigns.models import Campaign, CampaignRecipient
from huitouke.campaigns.stats import is_holdout
from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import Consent, Customer
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message, Template
from huitouke.messaging.services import channel_config_save, contact_policy_save, template_copy, template_save
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


def test_segment_campaign_preview_send_results(browser, live_server, make_user, huey_worker, gateway, screenshot_dir):
    make_user("manager", "boss")
    shop = Shop.objects.create(name="茶小铺", platform="taobao")
    channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{gateway.url}/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    # no quiet hours, so the test sends whatever the time of day
    contact_policy_save(
        shop_id=shop.pk, quiet_start=clock(0), quiet_end=clock(0), budget_days=7, budget_marketing=5, budget_care=5
    )
    consenting = set()
    for i in range(10):
        c = CustomerFactory.create(name=f"茶友{i}", phone=f"1390000{i:04d}", order_count=2)
        if i % 2 == 0:
            Consent.objects.create(customer=c, channel="sms", purpose="new_products", granted=True, source="visit")
            consenting.add(c.phone)
    # the shop's copy of the library's new-arrival text, with the code its SMS provider approved
    library = Template.objects.get(key="new_arrival", channel="sms", language="zh-hans", system=True)
    template = template_save(
        template=template_copy(template=library),
        channel="sms",
        purpose="marketing",
        language="zh-hans",
        name="上新通知（已报备）",
        body=library.body,
        provider_code="SMS_900001",
    )

    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()

    # the segment: customers with at least one order
    page.goto(f"{live_server.url}/segments/new/")
    page.fill("input[name=name]", "回头客")
    page.click("text=＋ 条件")
    page.wait_for_selector("select[name='n.conditions.0.field']")
    page.select_option("select[name='n.conditions.0.field']", "order_count")
    page.wait_for_selector("input[name='n.conditions.0._shown'][value='order_count']", state="attached")
    page.fill("input[name='n.conditions.0.min']", "1")
    page.locator("#segment-count").filter(has_text="10").wait_for()
    page.click("button[name=save]")
    page.wait_for_selector(".flash li")

    # the campaign: a new-product notice, so only the consent group can get it
    page.goto(f"{live_server.url}/campaigns/new/")
    page.fill("input[name=name]", "明前龙井上新")
    page.select_option("select[name=kind]", "new_products")
    page.select_option("select[name=segment]", label="回头客")
    page.select_option("select[name=channel]", "sms")
    page.select_option("select[name=template]", str(template.pk))
    page.select_option("select[name=shop]", label="茶小铺")
    page.fill("input[name=product]", "明前龙井")
    page.fill("input[name=holdout_percent]", "40")
    page.screenshot(path=screenshot_dir / "40-campaign-form.png", full_page=True)
    page.click("#campaign-form button[type=submit]")
    page.wait_for_selector("#preview")
    assert page.locator("#audience strong").inner_text() == "5"
    assert "明前龙井" in page.locator(".message-body").first.inner_text()
    page.screenshot(path=screenshot_dir / "41-campaign-preview.png", full_page=True)

    # the split is a stable draw from the campaign's seed: pick one that holds out exactly 2 of the 5 at 40 %
    campaign = Campaign.objects.get(name="明前龙井上新")
    digests = [pii_cipher().phone_digest(p) for p in consenting]
    audience = list(Customer.objects.filter(phone_digest__in=digests).values_list("pk", flat=True))
    seed = next(s for s in range(10_000) if sum(is_holdout(s, cid, 0.4) for cid in audience) == 2)
    Campaign.objects.filter(pk=campaign.pk).update(seed=seed)

    page.click("#send-campaign")
    page.wait_for_selector("#launch-summary", timeout=60_000)
    page.screenshot(path=screenshot_dir / "42-campaign-launched.png", full_page=True)
    campaign.refresh_from_db()
    treated = list(
        CampaignRecipient.objects.filter(campaign=campaign, holdout=False).values_list("customer__phone", flat=True)
    )
    held_out = list(
        CampaignRecipient.objects.filter(campaign=campaign, holdout=True).values_list("customer__phone", flat=True)
    )
    assert (len(treated), len(held_out)) == (3, 2)
    assert set(treated) | set(held_out) == consenting
    assert campaign.targeted == 5

    deadline = time.time() + 30
    while time.time() < deadline and sum(len(_phones(h)) for h in gateway.hits) < len(treated):
        time.sleep(0.2)
    sent_to = [p for hit in gateway.hits for p in _phones(hit)]
    assert sorted(sent_to) == sorted(treated)  # every treated customer once, nobody else

    page.click("#launch-summary a")
    page.wait_for_selector("#results")
    page.reload()
    assert Message.objects.filter(source_kind="campaign", purpose="marketing", status="sent").count() == len(treated)
    delivery = page.locator("#delivery tbody td").all_inner_texts()
    assert delivery[0] == "5"
    assert delivery[2] == "3"
    # a treated and a held-out customer buy during the window: the results and the daily chart show both groups
    from decimal import Decimal

    from django.utils import timezone

    from huitouke.orders.tests.factories import OrderFactory

    campaign.refresh_from_db()
    for holdout in (False, True):
        member = CampaignRecipient.objects.filter(campaign=campaign, holdout=holdout).order_by("customer_id").first()
        assert member is not None
        OrderFactory.create(
            shop=shop, customer_id=member.customer_id, ordered_at=timezone.now(), paid_amount=Decimal("168")
        )
    # the results page keeps the orders side between visits: the refresh after an order import counts it again
    from huitouke.campaigns.selectors import campaign_figures_refresh

    assert campaign_figures_refresh() == 1
    page.reload()
    page.wait_for_selector("[data-chart=campaign-daily] svg")
    rows = page.locator("#uplift tbody tr")
    # customers, ordered, conversion, revenue of each group: 1 of 3 messaged and 1 of 2 held out bought ¥168
    messaged = rows.nth(0).locator("td").all_inner_texts()[:4]
    holdout_row = rows.nth(1).locator("td").all_inner_texts()[:4]
    assert messaged == ["3", "1", "33%", "¥168.00"]
    assert holdout_row == ["2", "1", "50%", "¥168.00"]
    daily = page.locator("#daily tbody tr td").all_inner_texts()
    assert daily == [timezone.localdate().isoformat(), "1", "1"]
    page.screenshot(path=screenshot_dir / "43-campaign-results.png", full_page=True)
    page.context.close()
