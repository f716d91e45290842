"""The main flow with the keyboard alone (Tab, Shift+Tab, typing, Enter): sign in, search a customer, open the 360
page, add a note and a tag, build a segment, create a care rule and work a ticket. At every Tab stop the focused
element shows a focus ring, and the focus moves forward through the page in document order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.audiences.models import Segment
from huitouke.care.models import CareRule
from huitouke.core.tests.axe import assert_accessible
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
#: this module runs axe itself (see conftest._axe_on_every_page)
AXE_DONE = True

#: the focused element, whether its focus ring shows, and whether it comes after the element focused before
_FOCUS = """prev => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
  const desc = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '');
  let forward = true;
  if (prev && window.__lastFocus && document.contains(window.__lastFocus) && window.__lastFocus !== el) {
    forward = !!(window.__lastFocus.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  }
  window.__lastFocus = el;
  return {desc, ring, forward, body: el === document.body};
}"""


def tab_to(page, selector: str, *, limit: int = 80) -> list[str]:
    """Press Tab until the element matching `selector` has the focus; every stop on the way must show its focus
    ring and come after the one before it. Returns the stops (for the failure message)."""
    page.evaluate("() => { window.__lastFocus = null; }")
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(_FOCUS, bool(stops))
        if state["body"] or (stops and stops[-1] == state["desc"]):  # the page itself, or a date/time part
            continue
        stops.append(state["desc"])
        assert state["ring"], f"no visible focus on {state['desc']} (stops: {stops})"
        assert state["forward"], f"focus went backwards to {state['desc']} (stops: {stops})"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"{selector} never got the focus in {limit} Tab presses: {stops}")


@pytest.fixture
def shop_data(db):
    shop = ShopFactory.create(name="茶小铺")
    tea = CustomerFactory.create(name="小鱼爱喝茶", phone="13812345678", province="浙江省")
    IdentityFactory.create(customer=tea, platform="taobao", handle="小鱼爱喝茶")
    OrderFactory.create(shop=shop, customer=tea, paid_amount=Decimal("628.00"))
    other = CustomerFactory.create(name="路人甲", phone="13900001111")
    OrderFactory.create(shop=shop, customer=other, paid_amount=Decimal("20.00"))
    from huitouke.orders.services import customer_stats_refresh

    customer_stats_refresh()
    return {"shop": shop, "tea": tea}


def test_the_main_flow_with_the_keyboard_alone(browser, live_server, make_user, shop_data, screenshot_dir):
    from huitouke.service import services as service

    make_user("manager", "boss")
    ticket = service.ticket_create(
        customer=shop_data["tea"], type="inquiry", channel="phone", subject="什么时候发货", shop=shop_data["shop"]
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    url = live_server.url

    # sign in
    page.goto(f"{url}/login/?next=/customers/")
    tab_to(page, "input[name=username]")
    page.keyboard.type("boss")
    tab_to(page, "input[name=password]")
    page.keyboard.type("pass-word-123")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/customers/")

    # search a customer and open the 360 page
    tab_to(page, "#f-search")
    page.keyboard.type("小鱼")
    page.wait_for_function("() => !document.querySelector('#customer-table').innerText.includes('路人甲')")
    page.wait_for_load_state("networkidle")  # the last live-search answer is in before the result gets the focus
    tab_to(page, f"#customer-table a[href='/customers/{shop_data['tea'].pk}/']")
    page.screenshot(path=screenshot_dir / "kb-01-search-focus.png")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/customers/{shop_data['tea'].pk}/")

    # a note and a tag
    tab_to(page, "#customer-notes textarea")
    page.keyboard.type("只喝绿茶")
    tab_to(page, "#customer-notes button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#customer-notes .note-body:has-text('只喝绿茶')")
    page.keyboard.press("Shift+Tab")  # the swap replaced the form; step back into the page before moving on
    tab_to(page, "#new-tag", limit=120)
    page.keyboard.type("绿茶")
    page.keyboard.press("Enter")
    page.wait_for_selector("#customer-tags :text('绿茶')")
    page.screenshot(path=screenshot_dir / "kb-02-360-note-tag.png")
    assert list(shop_data["tea"].tags.values_list("name", flat=True)) == ["绿茶"]
    assert shop_data["tea"].notes.get().body == "只喝绿茶"
    assert_accessible(page, "keyboard 360")

    # a segment: name, one condition (total spent at least 500), save
    page.goto(f"{url}/segments/new/")
    tab_to(page, "input[name=name]")
    page.keyboard.type("高消费")
    tab_to(page, "#builder > fieldset > p.builder-actions button")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name='n.conditions.0.min']")
    tab_to(page, "input[name='n.conditions.0.min']")
    page.keyboard.type("500")
    page.locator("#segment-count").filter(has_text="1").wait_for()
    tab_to(page, "button[name=save]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash li")
    assert Segment.objects.get(name="高消费").last_count == 1
    page.screenshot(path=screenshot_dir / "kb-03-segment.png")

    # a care rule with the defaults and a name
    page.goto(f"{url}/care/new/")
    tab_to(page, "#id_name")
    page.keyboard.type("回访老客")
    tab_to(page, "#save-rule", limit=120)
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash li")
    assert CareRule.objects.filter(name="回访老客").count() == 1
    page.screenshot(path=screenshot_dir / "kb-04-care-rule.png")

    # work the ticket: take it, then add an internal note
    page.goto(f"{url}/service/{ticket.pk}/")
    tab_to(page, "#take")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash li")
    tab_to(page, "#reply-body", limit=120)
    page.keyboard.type("已查物流，明天到")
    tab_to(page, "#add-note")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash li")
    page.screenshot(path=screenshot_dir / "kb-05-ticket.png")
    ticket.refresh_from_db()
    assert ticket.owner is not None
    assert ticket.owner.username == "boss"
    context.close()
