"""The main archive flows in a real browser (Debian's Chromium via Playwright), with screenshots kept in
$HUITOUKE_HOME/screenshots: log in, search, open a 360 page, add a note and a tag, switch language, and a
customer named like an HTML injection renders as text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "pass-word-123"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def login(page, live_server, username):
    page.goto(f"{live_server.url}/login/?next=/customers/")  # the landing page is the dashboard
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/**")


@pytest.fixture
def archive(db):
    tea = CustomerFactory.create(
        name="小鱼爱喝茶",
        real_name="余晓",
        phone="13812345678",
        email="xiaoyu@example.com",
        province="浙江省",
        city="杭州市",
        address="文三路 1 号",
    )
    IdentityFactory.create(customer=tea, platform="taobao", handle="小鱼爱喝茶")
    order = OrderFactory.create(customer=tea, order_no="1930679858170647", paid_amount=Decimal("128.00"))
    OrderLineFactory.create(order=order, title="明前龙井 250g", unit_price=Decimal("128.00"), amount=Decimal("128.00"))
    evil = CustomerFactory.create(name=XSS, phone="13900001111")
    IdentityFactory.create(customer=evil, platform="taobao", handle="evil_buyer")
    customer_stats_refresh()
    return {"tea": tea, "evil": evil}


def test_search_360_note_tag_language_and_escaping(page, live_server, make_user, archive, screenshot_dir):
    make_user("manager", "boss")
    login(page, live_server, "boss")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.screenshot(path=screenshot_dir / "01-customer-list-zh.png", full_page=True)

    page.fill("#f-search", "小鱼")
    page.wait_for_function("() => !document.querySelector('#customer-table').innerText.includes('evil_buyer')")
    page.screenshot(path=screenshot_dir / "02-search.png", full_page=True)
    page.click("#customer-table a:has-text('小鱼爱喝茶')")
    page.wait_for_url(f"{live_server.url}/customers/{archive['tea'].pk}/")
    assert "1930679858170647" in page.content()
    assert "明前龙井 250g" in page.content()

    page.fill("#customer-notes textarea", "喜欢明前龙井,不要辣味零食")
    page.click("#customer-notes button[type=submit]")
    page.wait_for_selector("#customer-notes .note-body:has-text('喜欢明前龙井')")
    page.fill("#new-tag", "爱喝绿茶")
    page.press("#new-tag", "Enter")
    page.wait_for_selector("#customer-tags :text('爱喝绿茶')")
    page.screenshot(path=screenshot_dir / "03-customer-360-note-tag.png", full_page=True)
    assert archive["tea"].notes.get().body == "喜欢明前龙井,不要辣味零食"
    assert list(archive["tea"].tags.values_list("name", flat=True)) == ["爱喝绿茶"]

    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Customers").first.is_visible()
    page.screenshot(path=screenshot_dir / "04-customer-360-en.png", full_page=True)

    page.goto(f"{live_server.url}/customers/?search=evil")
    page.wait_for_selector("#customer-table :text('evil_buyer')")
    assert XSS in page.locator("#customer-table").inner_text()
    page.goto(f"{live_server.url}/customers/{archive['evil'].pk}/")
    assert XSS in page.locator("h1").first.inner_text()
    page.screenshot(path=screenshot_dir / "05-xss-as-text.png", full_page=True)
    assert page.dialogs == []
    assert page.locator("img[src=x]").count() == 0


def test_agent_sees_masked_contact_data(page, live_server, make_user, archive, screenshot_dir):
    make_user("agent", "kefu")
    login(page, live_server, "kefu")
    page.goto(f"{live_server.url}/customers/{archive['tea'].pk}/")
    html = page.content()
    page.screenshot(path=screenshot_dir / "06-agent-masked-360.png", full_page=True)
    assert "138****5678" in html
    assert "13812345678" not in html
    assert "xiaoyu@example.com" not in html
    assert "文三路" not in html
    assert "浙江省杭州市****" in html
    assert "浙江省杭州市浙江省" not in html
