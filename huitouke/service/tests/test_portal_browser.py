"""The customer's self-service page in a real browser on a phone-sized screen (390×844): find the order, report
a problem with a photo taken by a phone (GPS in its EXIF), read the shop's answer, answer back (the ticket waiting
for the customer opens again), switch to English. Screenshots in $HUITOUKE_HOME/screenshots (85-…)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory
from huitouke.service import services
from huitouke.service.models import Attachment, Ticket
from huitouke.service.tests.test_portal import GPS_IFD, gps_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _fits_the_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_customer_reports_a_problem_from_a_phone(browser, live_server, make_user, screenshot_dir, tmp_path):
    shop = ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")
    customer = CustomerFactory.create(name="王小二", phone="13800000001")
    order = OrderFactory.create(shop=shop, customer=customer, order_no="4102938475610", receiver_phone="13912345678")
    OrderLineFactory.create(order=order, line_no=1, title="明前龙井 250g", quantity=2)
    OrderLineFactory.create(order=order, line_no=2, title="青瓷茶杯")
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(gps_jpeg((640, 480)))

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/help/")
    expect(page.locator("#shop-name")).to_have_text("茶小铺")
    expect(page.locator("#service-hours")).to_contain_text("星期一至星期五")
    page.fill("#id_order_no", "4102938475610")
    page.fill("#id_phone_last4", "0000")
    page.click("#identify")
    expect(page.locator("#identify-error")).to_contain_text("没有找到与该订单号和手机号相符的订单")
    page.screenshot(path=screenshot_dir / "85-help-not-found-phone.png", full_page=True)
    page.fill("#id_phone_last4", "5678")
    page.click("#identify")

    expect(page.locator("#order-facts")).to_contain_text("订单 4102938475610")
    expect(page.locator("#order-facts")).to_contain_text("139****5678")
    expect(page.locator("#order-items")).to_contain_text("明前龙井 250g × 2")
    page.check("input[name=type][value=quality]")
    page.check("#lines input >> nth=0")
    page.fill("#id_description", "收到的龙井有结块，像是受潮了。")
    page.set_input_files("#id_photos", str(photo))
    _fits_the_phone(page)
    page.screenshot(path=screenshot_dir / "86-help-report.png", full_page=True)
    page.click("#submit-report")

    expect(page.locator(".p-flash")).to_contain_text("谢谢！您的问题编号是 #1。")
    expect(page.locator("#status-label")).to_have_text("已收到，等待客服处理")
    expect(page.locator("#photos img")).to_have_count(1)
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.type, ticket.order_id) == ("self_service", "quality", order.pk)
    stored = Attachment.objects.get(ticket=ticket).file.read()
    assert not Image.open(io.BytesIO(stored)).getexif().get_ifd(GPS_IFD)
    _fits_the_phone(page)
    page.screenshot(path=screenshot_dir / "87-help-status-new.png", full_page=True)

    agent = make_user("agent", "kefu1")
    services.ticket_reply(
        ticket=ticket, author=agent, body="亲，非常抱歉！麻烦再拍一张外包装的照片给我们。", channel="manual"
    )
    services.ticket_reply(ticket=ticket, author=agent, body="仓库那批货要查一下", internal=True)
    services.ticket_status_set(ticket=ticket, status="waiting_customer", actor=agent)
    page.reload()
    expect(page.locator("#status-label")).to_have_text("等待您的回复")
    expect(page.locator("#conversation")).to_contain_text("麻烦再拍一张外包装的照片")
    expect(page.locator("#conversation")).not_to_contain_text("仓库那批货要查一下")
    page.fill("#id_body", "外包装的照片在这里。")
    page.set_input_files("#id_photos", str(photo))
    page.screenshot(path=screenshot_dir / "88-help-answer.png", full_page=True)
    page.click("#send-answer")
    expect(page.locator(".p-flash")).to_contain_text("谢谢，我们已收到您的回复。")
    expect(page.locator("#status-label")).to_have_text("客服正在处理")
    expect(page.locator("#photos img")).to_have_count(2)
    ticket.refresh_from_db()
    assert ticket.status == "open"

    page.click("#lang-switch")
    expect(page.locator("#status-label")).to_have_text("Our service team is on it")
    expect(page.locator("#conversation")).to_contain_text("Customer service")
    _fits_the_phone(page)
    page.screenshot(path=screenshot_dir / "89-help-status-en.png", full_page=True)
    context.close()
