"""The self-service help page through the real URL map and middleware (Django's test client): finding an order,
reporting a problem with a photo, the status page with public replies only, an answer re-opening a ticket that
waits for the customer; and its abuse limits: one answer for a wrong number and a wrong phone, throttling per
address and per order number, oversized and non-image uploads, CSRF, forged and expired links, the shop switch."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from PIL import Image

from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory
from huitouke.service import portal, services
from huitouke.service.models import Attachment, PortalThrottle, Ticket, TicketReply

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825


def gps_jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    """A JPEG as a phone camera writes it: EXIF with the maker and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 9.0)})
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def body(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def zh() -> Client:
    return Client(REMOTE_ADDR="10.0.0.1")


@pytest.fixture
def en() -> Client:
    c = Client(REMOTE_ADDR="10.0.0.2")
    c.cookies["django_language"] = "en"
    return c


@pytest.fixture
def shop_order(shop: Any, order: Any, customer: Any) -> Any:
    order.receiver_phone = "+86 139-1234-5678"
    order.save()
    other = OrderFactory.create(shop=shop, customer=customer, order_no="T200", receiver_phone="13912345678")
    OrderLineFactory.create(order=other, line_no=1, title="普洱饼")
    return order


def identify(client: Client, shop: Any, order_no: str, last4: str) -> Any:
    return client.post(f"/help/s/{shop.pk}/", {"order_no": order_no, "phone_last4": last4})


# --- the flow ------------------------------------------------------------------------------------------------


def test_report_a_problem_and_follow_it(zh, shop, shop_order, make_user, settings):
    settings.HUITOUKE_PUBLIC_URL = "https://crm.example.cn"
    r = zh.get("/help/")
    assert r.status_code == 302
    assert r["Location"] == f"/help/s/{shop.pk}/"
    page = body(zh.get(f"/help/s/{shop.pk}/"))
    assert "茶小铺" in page
    assert "服务时间" in page
    assert "星期一至星期五 · 09:00–12:00、13:30–18:00" in page

    r = identify(zh, shop, " T100 ", "5678")
    assert r.status_code == 302
    order_url = r["Location"]
    assert order_url.startswith("/help/o/")
    page = body(zh.get(order_url))
    assert "订单 T100" in page
    assert "+86****5678" in page
    assert "龙井" in page
    assert "茶杯" in page
    assert "普洱饼" not in page
    assert "T200" not in page
    assert "王小二" not in page
    assert "13912345678" not in page

    line = shop_order.lines.get(line_no=1)
    r = zh.post(
        order_url,
        {
            "type": "quality",
            "lines": [line.pk],
            "description": "茶叶受潮结块\n打开就发现了",
            "photos": [upload("IMG.jpg", gps_jpeg())],
        },
    )
    ticket = Ticket.objects.get()
    assert r.status_code == 302
    assert r["Location"].startswith("/help/t/")
    assert (ticket.channel, ticket.type, ticket.number, ticket.subject) == (
        "self_service",
        "quality",
        1,
        "茶叶受潮结块",
    )
    assert ticket.order_id == shop_order.pk
    assert ticket.customer_id == shop_order.customer_id
    assert list(ticket.order_lines.values_list("title", flat=True)) == ["龙井"]
    photo = Attachment.objects.get(ticket=ticket)
    assert (photo.name, photo.content_type, photo.uploaded_by_id) == ("photo-1.jpg", "image/jpeg", None)
    stored = photo.file.read()
    assert b"Exif" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()

    status_url = r["Location"]
    page = body(zh.get(status_url))
    assert "谢谢！您的问题编号是 #1。" in page
    assert "问题 #1" in page
    assert "已收到，等待客服处理" in page
    assert "暂无回复" in page
    assert "茶叶受潮结块<br>打开就发现了" in page

    agent = make_user("agent", "kefu1")
    services.ticket_reply(ticket=ticket, author=agent, body="亲，麻烦再拍一张包装的照片。", channel="manual")
    services.ticket_reply(ticket=ticket, author=agent, body="内部：疑似仓库受潮", internal=True)
    services.ticket_status_set(ticket=ticket, status="waiting_customer", actor=agent)
    page = body(zh.get(status_url))
    assert "亲，麻烦再拍一张包装的照片。" in page
    assert "内部：疑似仓库受潮" not in page
    assert "kefu1" not in page  # staff names stay inside
    assert "等待您的回复" in page

    r = zh.post(status_url, {"body": "好的，包装照片在这里", "photos": [upload("b.png", png_bytes())]})
    assert r.status_code == 302
    assert r["Location"] == status_url
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.paused_at is None
    last = TicketReply.objects.filter(ticket=ticket).order_by("id").last()
    assert last is not None
    assert (last.kind, last.channel, last.body) == ("customer", "self_service", "好的，包装照片在这里")
    assert Attachment.objects.filter(ticket=ticket).count() == 2
    page = body(zh.get(status_url))
    assert "好的，包装照片在这里" in page
    photo_urls = re.findall(r'src="(/help/t/[^"]+/photos/\d+/)"', page)
    assert len(photo_urls) == 2
    got = zh.get(photo_urls[0])
    assert got.status_code == 200
    assert got["Content-Type"] == "image/jpeg"

    # the order page lists the ticket with its status link; the links for the desk are absolute
    assert "#1" in body(zh.get(order_url))
    link = portal.portal_ticket_link(ticket=ticket)
    assert link.startswith("https://crm.example.cn/help/t/")
    assert portal.ticket_from_token(link.split("/")[-2]) == ticket  # a fresh token (new timestamp), same ticket
    assert portal.portal_link(order=shop_order).startswith("https://crm.example.cn/help/o/")
    assert zh.get(portal.portal_link(order=shop_order).removeprefix("https://crm.example.cn")).status_code == 200


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(buf, "PNG")
    return buf.getvalue()


def test_the_page_in_english(en, shop, shop_order):
    page = body(en.get(f"/help/s/{shop.pk}/"))
    assert "Help with your order" in page
    assert "Monday to Friday · 09:00–12:00, 13:30–18:00" in page
    assert 'value="zh-hans"' in page  # the switch back to Chinese
    r = identify(en, shop, "T100", "5678")
    page = body(en.get(r["Location"]))
    assert "Order T100" in page
    assert "I received the wrong item" in page
    assert "Platform dispute" not in page
    assert "Negative review" not in page


def test_a_shop_chooser_when_there_are_several_shops(zh, shop):
    ShopFactory.create(name="二号店")
    page = body(zh.get("/help/"))
    assert f'href="/help/s/{shop.pk}/"' in page
    assert "二号店" in page


def test_an_answer_needs_text_or_a_photo_and_a_closed_case_takes_none(zh, shop_order, make_user):
    ticket = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="self_service", subject="问"
    )
    url = f"/help/t/{portal.ticket_token(ticket)}/"
    r = zh.post(url, {"body": "   "})
    assert r.status_code == 400
    assert "请写下回复或添加照片" in body(r)
    manager = make_user("manager", "zhuguan")
    services.ticket_status_set(ticket=ticket, status="closed", actor=manager, note="done")
    assert 'id="answer-form"' not in body(zh.get(url))
    r = zh.post(url, {"body": "还在吗"})
    assert r.status_code == 400
    assert TicketReply.objects.filter(ticket=ticket).count() == 0


# --- enumeration and throttling ------------------------------------------------------------------------------


def _normal(response: Any, order_no: str) -> str:
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return text.replace(f'value="{order_no}"', 'value="?"')


def test_a_wrong_number_and_a_wrong_phone_get_the_same_answer(zh, shop, shop_order):
    wrong_phone = identify(zh, shop, "T100", "0000")
    wrong_number = identify(zh, shop, "T999", "5678")
    no_phone_order = OrderFactory.create(shop=shop, customer=shop_order.customer, order_no="T300", receiver_phone="")
    no_phone_order.customer.phone = ""
    no_phone_order.customer.save()
    no_phone = identify(zh, shop, "T300", "0000")
    assert wrong_phone.status_code == wrong_number.status_code == no_phone.status_code == 400
    assert _normal(wrong_phone, "T100") == _normal(wrong_number, "T999") == _normal(no_phone, "T300")
    assert "没有找到与该订单号和手机号相符的订单" in body(wrong_phone)


def test_tries_per_order_number_are_limited_whatever_the_address(shop, shop_order, settings):
    settings.HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR = 3
    for i in range(3):
        r = identify(Client(REMOTE_ADDR=f"10.1.0.{i}"), shop, "T100", "1111")
        assert r.status_code == 400
    r = identify(Client(REMOTE_ADDR="10.1.0.9"), shop, "T100", "5678")  # even the right phone now waits
    assert r.status_code == 429
    assert "尝试次数太多" in body(r)
    assert int(r["Retry-After"]) > 0
    r = identify(Client(REMOTE_ADDR="10.1.0.9"), shop, "T999", "1111")  # an unknown number is counted the same way
    assert r.status_code == 400
    assert identify(Client(REMOTE_ADDR="10.1.0.10"), shop, "T200", "5678").status_code == 302
    # the next hour starts afresh
    with freeze_time(timezone.now() + timedelta(hours=1)):
        assert identify(Client(REMOTE_ADDR="10.1.0.9"), shop, "T100", "5678").status_code == 302


def test_requests_per_address_are_limited(shop, shop_order, settings, en):
    settings.HUITOUKE_SELF_SERVICE_PER_IP_PER_HOUR = 4
    for n in range(4):
        assert identify(en, shop, f"X{n}", "1234").status_code == 400
    r = identify(en, shop, "T100", "5678")
    assert r.status_code == 429
    assert "Too many tries. Please wait about" in body(r)
    assert identify(Client(REMOTE_ADDR="10.9.9.9"), shop, "T100", "5678").status_code == 302


def test_behind_a_proxy_the_address_comes_from_x_forwarded_for(settings):
    settings.HUITOUKE_SELF_SERVICE_PROXY_HOPS = 1
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}
    assert portal.client_address(meta) == "203.0.113.7"  # what the proxy saw, not what the client claimed
    settings.HUITOUKE_SELF_SERVICE_PROXY_HOPS = 0
    assert portal.client_address(meta) == "127.0.0.1"


def test_throttle_counters_are_rows_shared_by_processes_and_old_windows_are_swept(shop):
    now = timezone.now()
    portal.throttle_hit(scope="ip", key="1.2.3.4", limit=5, now=now - timedelta(hours=3))
    portal.throttle_hit(scope="ip", key="1.2.3.4", limit=5, now=now)
    portal.throttle_hit(scope="ip", key="1.2.3.4", limit=5, now=now)
    rows = list(PortalThrottle.objects.values_list("hits", flat=True))
    assert rows == [2]  # the window of three hours ago was swept when this hour's row was made
    assert "1.2.3.4" not in PortalThrottle.objects.get().key  # only a hash is kept


# --- uploads and sizes ---------------------------------------------------------------------------------------


@pytest.fixture
def order_url(shop_order: Any) -> str:
    return f"/help/o/{portal.order_token(shop_order)}/"


def test_non_images_are_refused_whatever_their_name(en, order_url):
    pdf = upload("photo.jpg", b"%PDF-1.7 fake", "image/jpeg")
    r = en.post(order_url, {"type": "quality", "description": "broken", "photos": [pdf]})
    assert r.status_code == 400
    assert "Photo 1 is not a JPEG, PNG, WebP or GIF picture." in body(r)
    fake = upload("x.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50)  # JPEG magic, no picture behind it
    r = en.post(order_url, {"type": "quality", "description": "broken", "photos": [fake]})
    assert r.status_code == 400
    assert "Photo 1 could not be read as a picture." in body(r)
    assert Ticket.objects.count() == 0
    assert Attachment.objects.count() == 0


def test_oversized_photos_too_many_photos_and_long_texts_are_refused(en, order_url, settings):
    settings.HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES = 1024 * 1024
    settings.HUITOUKE_SELF_SERVICE_MAX_PHOTOS = 2
    big = upload("big.jpg", b"\xff\xd8\xff" + b"\x00" * (1024 * 1024))
    r = en.post(order_url, {"type": "quality", "description": "broken", "photos": [big]})
    assert r.status_code == 400
    assert "Photo 1 is larger than 1 MB." in body(r)
    three = [upload(f"{i}.jpg", gps_jpeg()) for i in range(3)]
    r = en.post(order_url, {"type": "quality", "description": "broken", "photos": three})
    assert r.status_code == 400
    assert "At most 2 photos." in body(r)
    r = en.post(order_url, {"type": "quality", "description": "x" * 2001})
    assert r.status_code == 400
    assert "at most 2000 characters" in body(r)
    r = en.post(order_url, {"type": "dispute", "description": "broken"})
    assert r.status_code == 400
    assert "Select a valid choice" in body(r)
    assert Ticket.objects.count() == 0


def test_a_body_over_the_cap_is_refused_before_it_is_read(en, order_url, settings):
    settings.HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES = 512 * 1024
    settings.HUITOUKE_SELF_SERVICE_MAX_PHOTOS = 1
    payload = "description=" + "x" * (512 * 1024 + 64 * 1024)  # one byte over photos + form slack
    r = en.post(order_url, payload, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413
    assert "Send at most 1 photos of up to 0.5 MB each." in body(r)
    assert "too much to send at once" in body(r)
    assert Ticket.objects.count() == 0


def test_items_of_another_order_cannot_be_picked(en, order_url, shop):
    foreign = OrderLineFactory.create(order=OrderFactory.create(shop=shop), line_no=1, title="别人的")
    r = en.post(order_url, {"type": "quality", "description": "broken", "lines": [foreign.pk]})
    assert r.status_code == 400
    assert Ticket.objects.count() == 0


# --- CSRF ----------------------------------------------------------------------------------------------------


def test_every_form_needs_its_csrf_token(shop, shop_order):
    ticket = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="self_service", subject="问"
    )
    c = Client(enforce_csrf_checks=True, REMOTE_ADDR="10.5.0.1")
    order_url = f"/help/o/{portal.order_token(shop_order)}/"
    ticket_url = f"/help/t/{portal.ticket_token(ticket)}/"
    assert c.post(f"/help/s/{shop.pk}/", {"order_no": "T100", "phone_last4": "5678"}).status_code == 403
    assert c.post(order_url, {"type": "quality", "description": "x"}).status_code == 403
    assert c.post(ticket_url, {"body": "x"}).status_code == 403
    assert Ticket.objects.count() == 1
    assert TicketReply.objects.count() == 0
    # with the token from the page the same form goes through
    page = c.get(f"/help/s/{shop.pk}/").content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    token = found.group(1)
    r = c.post(f"/help/s/{shop.pk}/", {"order_no": "T100", "phone_last4": "5678", "csrfmiddlewaretoken": token})
    assert r.status_code == 302


# --- links ---------------------------------------------------------------------------------------------------


def test_forged_altered_and_expired_links_are_not_found(zh, shop_order, settings):
    settings.HUITOUKE_SELF_SERVICE_LINK_DAYS = 30
    ticket = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="self_service", subject="问"
    )
    good = portal.ticket_token(ticket)
    assert zh.get(f"/help/t/{good}/").status_code == 200
    forged = signing.dumps({"t": ticket.pk}, salt="another salt")
    altered = good[:-1] + ("A" if good[-1] != "A" else "B")
    order_as_ticket = portal.order_token(shop_order)
    for token in (forged, altered, order_as_ticket, "nonsense", "x" * 300):
        r = zh.get(f"/help/t/{token}/")
        assert r.status_code == 404, token
        assert "链接无效" in body(r)
    assert zh.get(f"/help/o/{portal.ticket_token(ticket)}/").status_code == 404
    with freeze_time(timezone.now() + timedelta(days=31)):
        r = zh.get(f"/help/t/{good}/")
        assert r.status_code == 404
        assert "链接已过期" in body(r)
        assert zh.get(f"/help/o/{order_as_ticket}/").status_code == 404
    with freeze_time(timezone.now() + timedelta(days=29)):
        assert zh.get(f"/help/t/{good}/").status_code == 200


def test_photos_of_staff_and_of_other_tickets_are_not_served(zh, shop_order, make_user):
    agent = make_user("agent", "kefu1")
    mine = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="self_service", subject="a"
    )
    other = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="self_service", subject="b"
    )
    staff_file = services.attachment_add(ticket=mine, name="internal.png", content=png_bytes(), actor=agent)
    other_photo = services.attachment_add(ticket=other, name="p.png", content=png_bytes(), actor=None)
    token = portal.ticket_token(mine)
    assert zh.get(f"/help/t/{token}/photos/{staff_file.pk}/").status_code == 404
    assert zh.get(f"/help/t/{token}/photos/{other_photo.pk}/").status_code == 404


# --- the shop's switch ---------------------------------------------------------------------------------------


def test_a_shop_can_switch_the_page_off(zh, shop, shop_order, make_user):
    from huitouke.service.tests.test_views import login

    agent_client, _a = login(make_user, "agent")
    assert agent_client.post("/service/settings/self-service/", {"shop": shop.pk}).status_code == 403
    manager, _m = login(make_user, "manager")
    page = body(manager.get(f"/service/settings/?shop={shop.pk}"))
    assert 'id="self-service-enabled" checked' in page
    assert f"/help/s/{shop.pk}/" in page
    r = manager.post("/service/settings/self-service/", {"shop": shop.pk})  # the box unticked
    assert r.status_code == 302
    assert not portal.portal_enabled(shop)
    ticket = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="self_service", subject="问"
    )
    for url in (
        f"/help/s/{shop.pk}/",
        f"/help/o/{portal.order_token(shop_order)}/",
        f"/help/t/{portal.ticket_token(ticket)}/",
    ):
        page = body(zh.get(url))
        assert "页面暂不可用" in page
        assert 'id="identify-form"' not in page
        assert "龙井" not in page
    assert identify(zh, shop, "T100", "5678").status_code == 200  # no lookup at all
    manager.post("/service/settings/self-service/", {"shop": shop.pk, "enabled": "on"})
    assert portal.portal_enabled(shop)
    assert identify(zh, shop, "T100", "5678").status_code == 302


def test_agents_see_the_customers_status_link_on_the_ticket(shop_order, make_user, settings):
    from huitouke.service.tests.test_views import login

    settings.HUITOUKE_PUBLIC_URL = "https://crm.example.cn"
    ticket = services.ticket_create(
        customer=shop_order.customer, order=shop_order, type="inquiry", channel="phone", subject="问"
    )
    agent, _a = login(make_user, "agent")
    page = body(agent.get(f"/service/{ticket.pk}/"))
    found = re.search(r'value="https://crm\.example\.cn/help/t/([^"/]+)/" id="self-service-link"', page)
    assert found is not None
    assert portal.ticket_from_token(found.group(1)) == ticket
    portal.portal_enabled_set(shop=shop_order.shop, enabled=False)
    assert 'id="self-service-link"' not in body(agent.get(f"/service/{ticket.pk}/"))
