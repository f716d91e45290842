"""Under the Content-Security-Policy (scripts from this site's files only), the pages still work in a real
browser and the browser reports no violation: the dashboard's plotly charts, the language switch, ticking every
customer on a page, adding a member level, a confirmation before a delete, and the API docs (Swagger UI).
Screenshots go to $HUITOUKE_HOME/screenshots."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from huitouke.analytics.tests import sample
from huitouke.audiences.models import Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """() => {
  window.__violations = [];
  document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " @" + e.sourceFile));
}"""


@pytest.fixture
def page(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    context.add_init_script(f"({WATCH})()")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.console_errors = []
    tab.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()


def violations(page: Any) -> list[str]:
    found = list(page.evaluate("() => window.__violations"))
    found += [t for t in page.console_errors if "Content Security Policy" in t or "Permissions-Policy" in t]
    return found


def test_pages_work_under_the_policy(page: Any, live_server: Any, make_user: Any, screenshot_dir: Any) -> None:
    today = timezone.localdate()
    shop = sample.build(customers=40, today=today)
    sample.refresh_two_weeks(today)
    from huitouke.audiences.services import segment_create

    segment = segment_create(name="老客户", definition={"conditions": [{"field": "order_count", "min": 2}]})
    make_user("owner", "boss")

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "script-src 'self'" in page.evaluate("async () => (await fetch('/')).headers.get('content-security-policy')")

    # the dashboard's charts: JSON in the page, drawn by static files
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(el => el.querySelector('svg.main-svg'))"
    )
    assert page.locator("[data-chart] svg.main-svg").count() >= 1
    page.screenshot(path=screenshot_dir / "csp-01-dashboard.png", full_page=True)

    # the language switch sends its form on change (data-autosubmit)
    page.select_option("select[name=language]", "en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")

    # tick every customer on the page (data-check-all)
    page.goto(f"{live_server.url}/customers/")
    boxes = page.locator("#customer-table input[name=ids]")
    assert boxes.count() > 0
    page.check("#customer-table th.check input[type=checkbox]")
    assert boxes.evaluate_all("bs => bs.every(b => b.checked)")

    # add a member level from the row template (data-formset-add)
    page.goto(f"{live_server.url}/levels/{shop.pk}/")
    before = page.locator("#level-rows tbody tr").count()
    page.click("#add-level")
    assert page.locator("#level-rows tbody tr").count() == before + 1
    page.screenshot(path=screenshot_dir / "csp-02-levels.png", full_page=True)

    # a delete asks first (data-confirm); saying no keeps the segment
    page.goto(f"{live_server.url}/segments/{segment.pk}/")
    page.once("dialog", lambda d: d.dismiss())
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_timeout(300)
    assert Segment.objects.filter(pk=segment.pk).exists()

    # the API docs: Swagger UI from the installed package, settings read from a JSON block
    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector("#swagger-ui .info .title")
    page.screenshot(path=screenshot_dir / "csp-03-api-docs.png")

    assert violations(page) == []


def test_an_inline_script_would_be_refused(page: Any, live_server: Any) -> None:
    """The check above can fail: a page given an inline script reports the violation."""
    page.goto(f"{live_server.url}/login/")
    page.evaluate(
        "() => { const s = document.createElement('div'); s.innerHTML = '<img src=x onerror=\"window.ran=1\">';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("() => window.__violations.length > 0")
    assert page.evaluate("() => window.ran") is None
    assert any("script-src" in v for v in violations(page))
