"""Live forms under overlapping requests, in a real browser: a person types in bursts (20 ms a key, pauses long
enough for a request to leave) while the server answers slowly, earlier requests slower than later ones. What
was typed is never lost or changed by an answer that arrives later, and the result on the page is the one for the
final input. Covers the segment builder, the customer search, the care rule form and the level simulation.

Slow answers come two ways: the live server's function a view calls is wrapped to sleep first (SlowServer), or
the page's requests leave late (slow_network: XMLHttpRequest.send is held back for a delay the test chooses per
request), which reorders answers whatever the live server does with concurrent requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"


class SlowServer:
    """Wraps module functions so that each call sleeps first; `delay(n)` gives the sleep of the n-th call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.calls = 0
        self.lock = threading.Lock()

    def wrap(self, module: Any, name: str, delay: Callable[[int, tuple[Any, ...], dict[str, Any]], float]) -> None:
        original = getattr(module, name)

        def slow(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.calls += 1
                n = self.calls
            time.sleep(delay(n, args, kwargs))
            return original(*args, **kwargs)

        self.monkeypatch.setattr(module, name, slow)


#: Installed before any page script: each XMLHttpRequest leaves after window.__delay(url, body, n) ms (n counts
#: the requests since window.__delay was set). A request aborted before it leaves is never sent.
SLOW_NETWORK = """
(() => {
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__url = String(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function (body) {
    const xhr = this;
    const ms = window.__delay ? window.__delay(decodeURIComponent(xhr.__url), body, ++window.__sent) : 0;
    if (!ms) { return send.call(xhr, body); }
    setTimeout(() => { try { send.call(xhr, body); } catch (e) { /* aborted before it left */ } }, ms);
  };
})();
"""


def slow_network(page: Any, delay_js: str) -> None:
    """Hold this page's requests back: `delay_js` is a JS function (url, body, n) -> milliseconds."""
    page.evaluate(f"window.__sent = 0; window.__delay = {delay_js};")


@pytest.fixture
def page(browser: Any, live_server: Any, make_user: Any) -> Iterator[Any]:
    make_user("owner", "own")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_init_script(SLOW_NETWORK)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{live_server.url}/login/?next=/customers/")
    tab.fill("input[name=username]", "own")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/customers/**")
    yield tab
    context.close()


def type_in_bursts(page: Any, selector: str, text: str, *, burst: int, pause_ms: int) -> None:
    """Type `text` 20 ms a key, pausing `pause_ms` after every `burst` keys (long enough for a request to leave)."""
    field = page.locator(selector)
    field.click()
    for i in range(0, len(text), burst):
        field.press_sequentially(text[i : i + burst], delay=20)
        page.wait_for_timeout(pause_ms)


def settle(page: Any) -> None:
    """Wait until no htmx request is under way (the busy class is off) twice in a row."""
    for _ in range(2):
        page.wait_for_function("() => !document.body.classList.contains('is-busy')")
        page.wait_for_timeout(700)


def test_segment_builder_keeps_what_is_typed(page: Any, live_server: Any, monkeypatch: Any, screenshot_dir: Any):
    # given customers who spent 200 … 3000
    for i, spent in enumerate([200, 800, 1200, 1500, 3000]):
        CustomerFactory.create(name=f"买家{i}", total_spent=Decimal(spent), order_count=1)
    page.goto(f"{live_server.url}/segments/new/")
    page.click("text=＋ 条件")
    page.wait_for_selector("input[name='n.conditions.0.min']")
    # and a network that holds the first request back 2.5 s and the others 0.2 s
    slow_network(page, "(url, body, n) => (n === 1 ? 2500 : 200)")

    # when the minimum is typed a key at a time, with pauses that send a request each time
    # (the form sends nothing while its required name is empty: the name comes first)
    type_in_bursts(page, "input[name=name]", "大额老客", burst=2, pause_ms=600)
    type_in_bursts(page, "input[name='n.conditions.0.min']", "1000", burst=1, pause_ms=600)
    settle(page)

    # then every key is still there and the count is the one for 1000
    assert page.input_value("input[name='n.conditions.0.min']") == "1000"
    assert page.input_value("input[name=name]") == "大额老客"
    assert page.locator("#segment-count").inner_text() == "3"
    page.screenshot(path=screenshot_dir / "live-forms-segment.png", full_page=True)


def test_customer_search_shows_the_last_query(page: Any, live_server: Any, monkeypatch: Any, screenshot_dir: Any):
    # given buyers 王一 … and a server that answers short (earlier) searches slowest
    for name in ("王小明", "王小红", "王大伟", "李小明"):
        CustomerFactory.create(name=name)
    page.goto(f"{live_server.url}/customers/")
    # the shorter (earlier) the search, the later its request leaves
    slow_network(page, "(url) => { const m = /search=([^&]*)/.exec(url); return m ? 1600 - 500 * m[1].length : 0; }")

    # when "王小明" is typed with pauses
    type_in_bursts(page, "#f-search", "王小明", burst=1, pause_ms=400)
    settle(page)

    # then the box holds it and the table lists that buyer only (not the answer to "王" or "王小")
    assert page.input_value("#f-search") == "王小明"
    rows = page.locator("#customer-table tbody tr")
    assert rows.count() == 1
    assert "王小明" in rows.first.inner_text()
    page.screenshot(path=screenshot_dir / "live-forms-customers.png", full_page=True)


def test_leaving_the_search_asks_nothing_again_and_a_focused_result_keeps_the_focus(
    page: Any, live_server: Any, screenshot_dir: Any
):
    # given buyers and a search typed and answered
    buyers = {name: CustomerFactory.create(name=name) for name in ("王小明", "王小红", "李小明")}
    page.goto(f"{live_server.url}/customers/")
    type_in_bursts(page, "#f-search", "王小", burst=2, pause_ms=400)
    settle(page)
    assert page.locator("#customer-table tbody tr").count() == 2
    slow_network(page, "() => 0")  # from here on, window.__sent counts the requests that leave

    # when the keyboard leaves the search box (a "change" event with the question already answered)
    page.keyboard.press("Tab")
    page.wait_for_timeout(800)
    # then no request leaves
    assert page.evaluate("window.__sent") == 0

    # given a result link with the focus while an answer that lists it again is on its way (held back 1.5 s)
    link = f"#customer-table a[href='/customers/{buyers['王小明'].pk}/']"
    slow_network(page, "() => 1500")
    focused_before = page.evaluate(
        """s => {
          const url = '/customers/?search=' + encodeURIComponent('王小');
          htmx.ajax('GET', url, {target: '#customer-table', swap: 'outerHTML'});
          const a = document.querySelector(s);
          a.focus();
          window.__focused = a;
          return document.activeElement === a;
        }""",
        link,
    )
    assert focused_before
    settle(page)
    # then, after the swap, the same link (a new element: the old one is gone) has the focus
    assert page.evaluate("window.__sent") == 1
    assert page.evaluate("!window.__focused.isConnected")
    assert page.evaluate("s => document.activeElement.matches(s)", link)
    # and Enter opens that buyer
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/customers/{buyers['王小明'].pk}/")


def test_care_rule_form_keeps_a_parameter_typed_during_a_refresh(
    page: Any, live_server: Any, monkeypatch: Any, screenshot_dir: Any
):
    # given the new-rule form for birthdays and a server that takes 1.2 s to redraw its parameters
    page.goto(f"{live_server.url}/care/new/")
    page.select_option("#id_trigger", "birthday")
    page.wait_for_selector("input[name=p_days_ahead]")
    settle(page)
    from huitouke.care import forms

    SlowServer(monkeypatch).wrap(forms, "params_from_post", lambda n, a, k: 1.2)

    # when the channel changes (a redraw leaves) and the days are typed right after
    page.select_option("#id_channel", "email")
    page.fill("input[name=p_days_ahead]", "")
    page.locator("input[name=p_days_ahead]").press_sequentially("3", delay=20)
    page.fill("#id_name", "")
    page.locator("#id_name").press_sequentially("生日提前三天", delay=20)
    settle(page)

    # then the days typed are still there after the redraw
    assert page.input_value("input[name=p_days_ahead]") == "3"
    assert page.input_value("#id_name") == "生日提前三天"
    page.screenshot(path=screenshot_dir / "live-forms-care.png", full_page=True)


def test_level_simulation_shows_the_last_request(page: Any, live_server: Any, monkeypatch: Any, screenshot_dir: Any):
    # given 高级会员 from ¥500 (or 3 orders), buyers of ¥80, ¥300 × 2 and ¥1,600 (two of them 高级会员 today)
    shop = ShopFactory.create(name="山岚茶食")
    levels_set(
        shop=shop,
        specs=[LevelSpec("普通会员", Decimal("0.01"), 1, 100), LevelSpec("高级会员", Decimal("500"), 3, 98)],
    )
    recently = timezone.now() - timedelta(days=30)
    for amounts in ([Decimal("80")], [Decimal("300"), Decimal("300")], [Decimal("1600")]):
        customer = CustomerFactory.create()
        for amount in amounts:
            OrderFactory.create(shop=shop, customer=customer, paid_amount=amount, ordered_at=recently)
    levels_regrade()
    page.goto(f"{live_server.url}/levels/{shop.pk}/")
    # and a network that holds the first simulation back 1.5 s
    slow_network(page, "(url, body, n) => (n === 1 ? 1500 : 100)")
    spend = page.locator("#level-rows tbody tr").nth(1).locator("input[name$='-min_amount']")

    # when ¥700 is simulated (the ¥600 buyer would move down), then ¥400 is typed and simulated at once
    spend.fill("")
    spend.press_sequentially("700", delay=20)
    page.click("#simulate")
    page.wait_for_timeout(200)
    spend.fill("")
    spend.press_sequentially("400", delay=20)
    page.click("#simulate")
    settle(page)
    page.wait_for_timeout(1500)  # longer than the first answer takes

    # then the threshold typed last is kept and the simulation shown is the one for ¥400: nobody moves
    assert spend.input_value() == "400"
    page.screenshot(path=screenshot_dir / "live-forms-levels.png", full_page=True)
    assert page.locator("#sim-down").inner_text() == "0"
    assert page.locator("#sim-up").inner_text() == "0"
    assert page.locator("#sim-stay").inner_text() == "3"
