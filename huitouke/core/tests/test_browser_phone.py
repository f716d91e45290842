"""The main pages on a phone (390 × 844, touch): screenshots kept in $HUITOUKE_HOME/screenshots, and the page
itself never scrolls sideways (wide tables scroll inside their own keyboard-reachable box)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.core.tests.axe import assert_accessible
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
#: this module runs axe itself (see conftest._axe_on_every_page)
AXE_DONE = True

PHONE = {"width": 390, "height": 844}
#: the first element that reaches past the phone's right edge (for the failure message)
_WIDEST = """w => {
  let found = '';
  for (const el of document.querySelectorAll('main *')) {
    let clipped = false;
    for (let p = el.parentElement; p && !clipped; p = p.parentElement) {
      clipped = getComputedStyle(p).overflowX !== 'visible';
    }
    const out = el.getBoundingClientRect().right > w + 1 && !clipped;
    if (out && !found) found = el.tagName.toLowerCase() + '.' + el.className + '#' + el.id;
  }
  return found;
}"""


def test_main_pages_fit_a_phone_in_both_languages(browser, live_server, make_user, screenshot_dir):
    from huitouke.orders.services import customer_stats_refresh
    from huitouke.service import services as service

    shop = ShopFactory.create(name="茶小铺")
    tea = CustomerFactory.create(name="小鱼爱喝茶", phone="13812345678", province="浙江省", city="杭州市")
    IdentityFactory.create(customer=tea, platform="taobao", handle="小鱼爱喝茶")
    OrderFactory.create(shop=shop, customer=tea, paid_amount=Decimal("628.00"))
    customer_stats_refresh()
    ticket = service.ticket_create(customer=tea, type="inquiry", channel="phone", subject="什么时候发货", shop=shop)
    make_user("manager", "boss")
    main = {
        "customers": "/customers/",
        "customer-360": f"/customers/{tea.pk}/",
        "segment-new": "/segments/new/",
        "care": "/care/",
        "care-new": "/care/new/",
        "tickets": "/service/",
        "ticket": f"/service/{ticket.pk}/",
        "messages": "/messages/",
        "reviews": "/reviews/",
        "levels": "/levels/",
    }
    for lang in ("zh-hans", "en"):
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
        host = live_server.url.split("//", 1)[1].split(":")[0]
        context.add_cookies([{"name": "django_language", "value": lang, "domain": host, "path": "/"}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/login/")
        page.screenshot(path=screenshot_dir / f"phone-{lang}-login.png", full_page=True)
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", "pass-word-123")
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login/" not in u)
        wide = []
        for name, path in main.items():
            response = page.goto(live_server.url + path)
            assert response is not None
            assert response.status == 200, path
            # against the phone's own width: a mobile browser widens its layout viewport to fit a too-wide page
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                culprit = page.evaluate(_WIDEST, PHONE["width"])
                wide.append(f"{lang} {name}: page {width} px wide on a {PHONE['width']} px phone ({culprit})")
            page.screenshot(path=screenshot_dir / f"phone-{lang}-{name}.png", full_page=True)
            assert_accessible(page, f"phone {lang} {name}")
        context.close()
        assert wide == []
