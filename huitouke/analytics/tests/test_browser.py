"""The analytics pages in a real browser: the dashboard as the landing page with its charts drawn by the bundled
plotly.min.js, the drill-down from a movement between segments to the customers who moved, and the products,
groups and cohorts pages. Screenshots go to $HUITOUKE_HOME/screenshots."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from huitouke.analytics import selectors
from huitouke.analytics.tests import sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def charts_drawn(page, count: int | None = None) -> int:
    """Wait until plotly has drawn its SVG into every chart container; returns how many there are."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(el => el.querySelector('svg.main-svg'))"
    )
    drawn = page.locator("[data-chart] svg.main-svg").count()
    containers = page.locator("[data-chart]").count()
    assert drawn >= containers > 0
    if count is not None:
        assert containers == count
    return containers


def test_dashboard_charts_and_the_movers_drill_down(browser, live_server, make_user, screenshot_dir):
    today = timezone.localdate()
    sample.build(customers=120, today=today)
    sample.refresh_two_weeks(today)
    moves = selectors.movements_latest()
    assert moves, "the sample shop should have customers moving between segments"
    figures = selectors.customer_figures(today=today)
    make_user("owner", "boss")

    context = browser.new_context(viewport={"width": 1360, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # the landing page is the dashboard, and its charts are drawn (offline: plotly.min.js from the package)
    assert page.locator("h1").inner_text() in ("仪表盘", "Dashboard")
    charts_drawn(page, count=4)
    assert page.locator("#kpi-customers dd").inner_text().startswith(f"{figures.total:,}")
    assert page.locator("#kpi-new dd").inner_text().startswith(f"{figures.new:,}")
    # the sales chart has the twelve months of the table beside it
    # one bar per month (plotly keeps an empty "M0,0Z" path for a month without sales), drawn where there were sales
    bars = page.locator("#panel-sales .chart .bars path, #panel-sales .chart .bar path")
    assert bars.count() == 12
    drawn = [d for d in bars.evaluate_all("paths => paths.map(p => p.getAttribute('d'))") if d != "M0,0Z"]
    months = selectors.sales_by_month(months=12, today=today)
    assert len(drawn) == sum(1 for m in months if m.revenue)
    assert page.locator("#table-sales tbody tr").count() == 12
    page.screenshot(path=screenshot_dir / "50-analytics-dashboard.png", full_page=True)

    # drill down: the biggest movement links to exactly the customers who moved
    first = moves[0]
    link = page.locator("#table-movements tbody tr").first.locator("a")
    link.click()
    page.wait_for_url(re.compile(r"/customers/\?rfm_move="))
    count_text = page.locator(".count, #result-count").first.inner_text()
    assert str(first.customers) in count_text
    page.screenshot(path=screenshot_dir / "51-analytics-movers.png", full_page=True)

    # the table export of a panel is an XLSX file
    page.goto(f"{live_server.url}/")
    with page.expect_download() as download:
        page.click("#export-segments")
    assert download.value.suggested_filename.endswith(".xlsx")

    # the customer page shows the customer's scores
    from huitouke.analytics.models import CustomerScore

    score = CustomerScore.objects.filter(frequency__gte=3).order_by("-monetary").first()
    assert score is not None
    page.goto(f"{live_server.url}/customers/{score.customer_id}/")
    panel = page.locator("#customer-scores")
    assert f"R{score.r_score} · F{score.f_score} · M{score.m_score}" in panel.inner_text()
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=screenshot_dir / "55-analytics-customer-scores.png")

    for path, name in (
        ("/analytics/products/?days=90", "52-analytics-products.png"),
        ("/analytics/groups/", "53-analytics-groups.png"),
        ("/analytics/cohorts/", "54-analytics-cohorts.png"),
    ):
        page.goto(f"{live_server.url}{path}")
        charts_drawn(page)
        page.screenshot(path=screenshot_dir / name, full_page=True)
    context.close()
