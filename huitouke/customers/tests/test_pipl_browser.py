"""The PIPL requests in a real browser (Chromium via Playwright): an owner downloads a customer's data from the
360 page, then erases it after typing the number; screenshots in $HUITOUKE_HOME/screenshots."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal

import pytest

from huitouke.customers.models import Customer
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.orders.models import Order
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_owner_downloads_then_erases_a_customers_data(page, live_server, make_user, screenshot_dir):
    # given: a customer with an order, and an owner signed in
    tea = CustomerFactory.create(
        name="小鱼爱喝茶", real_name="余晓", phone="13812345678", email="xiaoyu@example.com", address="文三路 1 号"
    )
    IdentityFactory.create(customer=tea, platform="taobao", handle="小鱼爱喝茶")
    OrderFactory.create(customer=tea, order_no="T2001", paid_amount=Decimal("128.00"), receiver_phone="13812345678")
    customer_stats_refresh()
    make_user("owner", "boss")
    page.goto(f"{live_server.url}/login/?next=/customers/{tea.pk}/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/{tea.pk}/")

    # when: the owner opens the requests page and downloads the data
    page.click("#privacy-link")
    page.wait_for_url(f"{live_server.url}/customers/{tea.pk}/privacy/")
    page.screenshot(path=screenshot_dir / "h20c-1-privacy-page.png", full_page=True)
    with page.expect_download() as info:
        page.click("#privacy-export button[type=submit]")
    download = info.value
    assert download.suggested_filename == f"customer-{tea.pk}.zip"
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as bundle:
        data = json.loads(bundle.read(f"customer-{tea.pk}.json"))
    assert data["customer"]["phone"] == "13812345678"
    assert [o["order_no"] for o in data["related"]["orders.order"]["rows"]] == ["T2001"]

    # and erases it: a wrong number is refused, the right one erases
    page.fill("#erase-confirm", "1")
    page.click("#erase-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/{tea.pk}/privacy/")
    assert Customer.objects.get(pk=tea.pk).erased_at is None
    page.fill("#erase-confirm", str(tea.pk))
    page.click("#erase-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/{tea.pk}/")

    # then: the 360 page shows the erased customer; the order and its amount stay
    assert page.locator("#erased-notice").is_visible()
    assert "13812345678" not in page.content()
    assert page.locator("h1").first.inner_text().startswith(f"#{tea.pk}")
    page.screenshot(path=screenshot_dir / "h20c-2-erased-360.png", full_page=True)
    order = Order.objects.get(order_no="T2001")
    assert (order.paid_amount, order.receiver_phone) == (Decimal("128.00"), "")
