"""Date fields in Chromium: an English browser on a Chinese page shows and takes dates in year-month-day order (a
browser date picker would show mm/dd/yyyy, following the browser's language instead of the page's)."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_birthday_in_year_month_day_order_in_an_english_browser(
    browser: Any, live_server: Any, make_user: Any, screenshot_dir: Any
) -> None:
    # given a customer born on 12 May 1990, and an English (US) Chromium on the Chinese pages
    make_user("owner", "own")
    customer = CustomerFactory.create(name="王小明", birthday="1990-05-12")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/?next=/customers/{customer.pk}/")
    page.fill("input[name=username]", "own")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    assert page.evaluate("document.documentElement.lang") == "zh-hans"

    # then the birthday shows as 1990-05-12 (what is on the screen is the field's text), with a Chinese example
    field = page.locator("input[name=birthday]")
    assert field.evaluate("el => el.type") == "text"
    assert field.input_value() == "1990-05-12"
    assert field.get_attribute("placeholder") == "如 2025-05-12"
    page.screenshot(path=screenshot_dir / "dates-birthday-en-browser.png", full_page=True)

    # and a date typed in that order is saved; one in another order is refused by the field
    field.fill("1991-06-13")
    assert field.evaluate("el => el.checkValidity()") is True
    field.fill("06/13/1991")
    assert field.evaluate("el => el.checkValidity()") is False
    field.fill("1991-06-13")
    field.locator("xpath=ancestor::form").locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    customer.refresh_from_db()
    assert str(customer.birthday) == "1991-06-13"
    context.close()


def test_list_filter_takes_a_typed_date_when_it_is_complete(browser: Any, live_server: Any, make_user: Any) -> None:
    # given buyers who last ordered in May and in June 2025
    make_user("owner", "own")
    for name, day in (("五月买家", "2025-05-20"), ("六月买家", "2025-06-10")):
        CustomerFactory.create(name=name, order_count=1, last_order_at=f"{day}T12:00:00+08:00")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/?next=/customers/")
    page.fill("input[name=username]", "own")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/customers/**")
    field = page.locator("input[name=last_order_from]")
    assert field.evaluate("el => el.type") == "text"

    # when half a date is typed and the person pauses, nothing is reported as wrong
    field.press_sequentially("2025-0", delay=20)
    page.wait_for_timeout(800)
    assert page.locator(".error-box").count() == 0
    # and once it is complete and the field is left, the list is filtered by it
    field.press_sequentially("6-01", delay=20)
    field.press("Tab")
    page.locator("#customer-table").filter(has_not_text="五月买家").wait_for()
    table = page.locator("#customer-table").inner_text()
    assert "六月买家" in table
    assert "五月买家" not in table
    context.close()
