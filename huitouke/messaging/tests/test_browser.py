"""The send records and the agents' task queue in a real browser: filter the records (htmx), open one, copy a
manual task's text and mark it sent; the template editor's live preview. Screenshots go to
$HUITOUKE_HOME/screenshots."""

from __future__ import annotations

import re

import pytest

from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.messaging.dispatch import messages_dispatch
from huitouke.messaging.models import Message, Template
from huitouke.messaging.services import OutgoingMessage, channel_config_save, message_enqueue_many

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_wake")]


@pytest.fixture
def records(shop):
    channel_config_save(shop_id=None, channel="manual", provider="manual", options={})
    wang = CustomerFactory.create(name="王小明", phone="13812345678")
    IdentityFactory.create(customer=wang, handle="tb_wangxm")
    li = CustomerFactory.create(name="李晓", phone="13900000000")
    rows = [
        OutgoingMessage(
            idempotency_key="visit:wang",
            channel="manual",
            purpose="service",
            customer_id=wang.pk,
            shop_id=shop.pk,
            body="亲，我是茶小铺的客服，想问问上次买的龙井喝着还合口味吗？",
        ),
        OutgoingMessage(
            idempotency_key="promo:li",
            channel="sms",
            purpose="marketing",
            customer_id=li.pk,
            shop_id=shop.pk,
            body="亲，新茶上市啦",
        ),
    ]
    message_enqueue_many(messages=rows)
    messages_dispatch()  # the visit becomes a task; the SMS fails: no SMS gateway is set up
    Message.objects.filter(idempotency_key="promo:li").update(status="suppressed", reason="opted_out")
    return wang, li


def login(browser, live_server, make_user):
    make_user("owner", "boss")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def test_send_records_and_a_manual_task(browser, live_server, make_user, records, screenshot_dir):
    context, page = login(browser, live_server, make_user)
    page.click("nav.mainnav >> text=消息")
    page.wait_for_selector("#message-table")
    assert "王小明" in page.inner_text("#message-table")
    page.screenshot(path=screenshot_dir / "60-messages-list.png", full_page=True)

    page.select_option("select[name=status]", "suppressed")
    page.wait_for_function("() => !document.querySelector('#message-table').innerText.includes('王小明')")
    table = page.inner_text("#message-table")
    assert "李晓" in table
    assert "客户已退订" in table  # the reason, in Chinese
    assert re.search(r"status=suppressed", page.url)
    page.screenshot(path=screenshot_dir / "61-messages-filtered.png", full_page=True)

    page.click("#message-table >> text=李晓")
    page.wait_for_url("**/customers/**")
    assert "新茶上市啦" in page.inner_text("#timeline")

    page.goto(f"{live_server.url}/messages/tasks/")
    row = page.locator("tr", has_text="王小明")
    assert "taobao:tb_wangxm" in row.inner_text()
    row.locator("button.copy").click()
    page.wait_for_function("() => document.querySelector('button.copy').innerText === '已复制'")
    page.screenshot(path=screenshot_dir / "62-manual-task.png", full_page=True)
    row.locator("button.primary").click()
    page.wait_for_selector("tr.done")
    assert "已标记为已发送" in page.inner_text("tr.done")
    page.screenshot(path=screenshot_dir / "63-manual-task-done.png", full_page=True)
    visit = Message.objects.get(idempotency_key="visit:wang")
    assert (visit.status, visit.claimed_by) == ("sent", "boss")
    context.close()


def test_template_preview_counts_sms(browser, live_server, make_user, records, screenshot_dir):
    context, page = login(browser, live_server, make_user)
    system = Template.objects.get(system=True, key="birthday", channel="sms", language="zh-hans")
    page.goto(f"{live_server.url}/messages/templates/{system.pk}/")
    page.fill("#preview-customer input[name=customer]", "王小明")
    page.wait_for_function("() => document.querySelector('#preview-text').innerText.includes('王小明')")
    assert "1 条短信" in page.inner_text("#sms-count")
    page.screenshot(path=screenshot_dir / "64-template-preview.png", full_page=True)
    page.click("#copy-template")
    page.wait_for_selector("textarea[name=body]:not([disabled])")
    page.fill("textarea[name=body]", "亲爱的{name}，" + "祝福" * 40)
    page.wait_for_function("() => document.querySelector('#sms-count').innerText.includes('2 条短信')")
    page.screenshot(path=screenshot_dir / "65-template-two-parts.png", full_page=True)
    context.close()
