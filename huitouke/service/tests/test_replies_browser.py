"""An agent answers a ticket with a canned reply in a real browser: Ctrl+K opens the picker, pinyin initials
find the reply, the ticket's order has no parcel yet so the picker asks for the carrier and tracking number,
the filled text is inserted, a banned word typed after it brings a wording hint under the box (only a hint),
and the reply goes out. Screenshots in $HUITOUKE_HOME/screenshots (90-…)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.services import channel_config_save
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory
from huitouke.service import services as ticket_services
from huitouke.service.models import TicketReply
from huitouke.service.replies.models import CannedReply
from huitouke.service.replies.services import replies_starter_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(browser: Any, url: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_an_agent_answers_with_a_canned_reply(browser, live_server, make_user, screenshot_dir):
    replies_starter_load()  # a transactional test's flush removed the shipped replies
    channel_config_save(shop_id=None, channel="manual", provider="manual", options={})
    shop = ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")
    customer = CustomerFactory.create(name="王小二", phone="13800000001")
    order = OrderFactory.create(shop=shop, customer=customer, order_no="T20260301")
    OrderLineFactory.create(order=order, line_no=1, title="明前龙井 250g", amount=168)
    agent = make_user("agent", "kefu1")
    ticket = ticket_services.ticket_create(
        customer=customer, order=order, type="logistics", channel="wangwang", subject="快递到哪了", actor=agent
    )
    tracking = CannedReply.objects.get(key="tracking", language="zh-hans")

    page = _login(browser, live_server.url, "kefu1")
    page.goto(f"{live_server.url}/service/{ticket.pk}/")
    page.click("#reply-body")
    page.keyboard.press("Control+k")
    expect(page.locator("#reply-picker")).to_be_visible()
    page.fill("#picker-search", "wlcx")  # 物流查询 by its pinyin initials
    expect(page.locator(f"#pick-{tracking.pk}")).to_be_visible()
    expect(page.locator(".picker-item")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "90-reply-picker.png"))

    page.click(f"#pick-{tracking.pk}")
    expect(page.locator("#fill-carrier")).to_be_visible()  # the order has no parcel yet: asked, not left blank
    expect(page.locator("#fill-tracking_no")).to_be_visible()
    expect(page.locator("#picker-insert")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "91-reply-fill-in.png"))

    page.fill("#fill-carrier", "顺丰速运")
    page.fill("#fill-tracking_no", "SF1234567")
    page.click("#picker-fill-submit")
    expect(page.locator("#picker-filled")).to_contain_text("T20260301")
    page.click("#picker-insert")
    expect(page.locator("#reply-picker")).not_to_be_visible()
    text = page.input_value("#reply-body")
    assert text == (
        "亲，您的订单T20260301已由顺丰速运发出，运单号SF1234567，可以在快递官网或App查看进度。有延误我们会帮您跟进。"
    )
    page.locator("#reply-body").press("End")
    page.locator("#reply-body").type("保证明天到！")  # a banned word: a gentle hint, not a block
    expect(page.locator("#wording-hints")).to_contain_text("保证")
    text = page.input_value("#reply-body")
    page.screenshot(path=str(screenshot_dir / "92-reply-inserted.png"))

    page.click("#send-reply")
    page.wait_for_selector(".flash li")
    reply = TicketReply.objects.get(ticket=ticket, kind="public")
    assert reply.body == text
    tracking.refresh_from_db()
    assert tracking.usage_count == 1
    page.screenshot(path=str(screenshot_dir / "93-reply-sent.png"), full_page=True)

    # "/" in the empty box opens the picker too
    page.click("#reply-body")
    page.keyboard.press("/")
    expect(page.locator("#reply-picker")).to_be_visible()
    assert page.input_value("#reply-body") == ""

    # the library page, then "reply to this customer" from the 360 page, into the manual task queue
    page.goto(f"{live_server.url}/service/replies/?q=dhhf")
    expect(page.locator("#reply-rows")).to_contain_text("到货回访")
    page.screenshot(path=str(screenshot_dir / "94-reply-library.png"))
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.click("#reply-to-customer")
    page.wait_for_selector("#compose-form")
    page.click("#open-picker")
    page.fill("#picker-search", "到货")
    arrival = CannedReply.objects.get(key="arrival_check", language="zh-hans")
    page.click(f"#pick-{arrival.pk}")
    expect(page.locator("#picker-filled")).to_contain_text("明前龙井 250g")
    page.click("#picker-insert")
    assert (
        page.input_value("#reply-body")
        == "亲，订单T20260301的明前龙井 250g应该已经到了，包装和宝贝都完好吗？用着有任何不合适，随时告诉我们。"
    )
    page.screenshot(path=str(screenshot_dir / "95-reply-compose.png"))
    page.click("#send-task")
    page.wait_for_selector(".flash li")
    page.goto(f"{live_server.url}/messages/tasks/")
    expect(page.locator("body")).to_contain_text("明前龙井 250g应该已经到了")
    page.screenshot(path=str(screenshot_dir / "96-reply-task-queue.png"))
