"""The review list and the credit page in a real browser; screenshots go to $HUITOUKE_HOME/screenshots."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from huitouke.reviews.models import Review
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_review_list_and_credit_page(browser, live_server, make_user, screenshot_dir):
    golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    call_command("credit", stdout=StringIO())
    Review.objects.filter(nick="tb_bob").update(nick="13812345678")
    make_user("agent", "kefu")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/?next=/reviews/")
    page.fill("input[name=username]", "kefu")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/reviews/**")
    page.screenshot(path=screenshot_dir / "40-reviews-list.png", full_page=True)
    rows = page.locator("#review-table tbody tr")
    assert rows.count() == 4
    assert "13812345678" not in page.content()
    page.select_option("select[name=result]", "bad")
    page.click("#review-filters button[type=submit]")
    page.wait_for_url("**result=bad**")
    assert page.locator("#review-table tbody tr").count() == 1

    # the bad review's page: its point explained, an explanation suggested from the canned replies, saved
    page.click("#review-table tbody tr a[href^='/reviews/']")
    page.wait_for_selector("#review-credit")
    assert "1" in page.locator("#review-credit p").first.inner_text()
    assert page.locator("#explain-suggestions li").count() >= 1
    suggested = page.locator("#id_text").input_value()
    assert "9001000000000002" in suggested
    page.click("#review-explain button[type=submit]")
    page.wait_for_selector("#review-reply")
    assert page.locator("#review-reply").inner_text() == suggested.strip()
    page.screenshot(path=screenshot_dir / "42-review-case.png", full_page=True)

    page.goto(f"{live_server.url}/reviews/analytics/")
    page.wait_for_selector("[data-chart=rating-trend] .main-svg")
    page.screenshot(path=screenshot_dir / "43-review-analytics.png", full_page=True)

    page.goto(f"{live_server.url}/reviews/credit/")
    page.wait_for_selector("[data-chart=credit-history] .main-svg")
    assert page.locator("#credit-score").inner_text() == "1"
    page.fill("input[name=order_no]", "9001000000000005")
    page.select_option("#what-if select[name=result]", "bad")
    page.click("#what-if button[type=submit]")
    page.wait_for_selector("#what-if-answer")
    page.screenshot(path=screenshot_dir / "41-credit.png", full_page=True)
    context.close()
