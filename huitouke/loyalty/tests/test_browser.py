"""Editing member levels in a real browser (Debian's Chromium via Playwright), screenshots in
$HUITOUKE_HOME/screenshots: open the settings from the nav, add a level, simulate (htmx), fix a rule error named by
row and field, save, and read the at-risk list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Level, Membership
from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_set
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def tea_shop(db):
    """普通会员 (¥0.01 or 1 order) and 高级会员 (¥500 or 3 orders); buyers of ¥80, ¥300 × 2 and ¥1,600."""
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
    return shop


def login(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_edit_levels_simulate_then_save(page, live_server, make_user, tea_shop, screenshot_dir):
    make_user("manager", "yunying")
    login(page, live_server, "yunying")
    page.click("nav.mainnav a:has-text('会员等级')")
    page.wait_for_url(f"{live_server.url}/levels/{tea_shop.pk}/")
    assert page.locator("#level-rows tbody tr").count() == 2
    page.screenshot(path=screenshot_dir / "levels-01-settings.png", full_page=True)

    # add a third level whose order threshold does not rise: the simulation names the row and the field
    page.click("#add-level")
    row = page.locator("#level-rows tbody tr").nth(2)
    row.locator("input[name$='-name']").fill("VIP")
    row.locator("input[name$='-min_amount']").fill("1500")
    row.locator("input[name$='-min_orders']").fill("3")
    row.locator("input[name$='-discount']").fill("95")
    row.locator("input[name$='-benefits']").fill("顺丰包邮,生日礼")
    page.click("#simulate")
    page.wait_for_selector("#simulation .error-box")
    error = page.locator("#simulation .error-box").inner_text()
    assert "第 3 级(VIP)" in error
    assert "最低订单数" in error
    page.screenshot(path=screenshot_dir / "levels-02-simulation-error.png", full_page=True)

    # fix it and simulate: the ¥1,600 buyer moves up to VIP, the ¥600 buyer moves down (¥500 -> ¥600 needed)
    row.locator("input[name$='-min_orders']").fill("6")
    page.locator("#level-rows tbody tr").nth(1).locator("input[name$='-min_amount']").fill("650")
    page.click("#simulate")
    page.wait_for_selector("#sim-up")
    assert page.locator("#sim-up").inner_text() == "1"
    assert page.locator("#sim-down").inner_text() == "1"
    assert page.locator("#sim-stay").inner_text() == "1"
    assert Level.objects.get(shop=tea_shop, rank=2).min_amount == Decimal("500")  # nothing saved yet
    page.screenshot(path=screenshot_dir / "levels-03-simulation.png", full_page=True)

    # a rolling window and downgrades at review, then save
    page.check("input[name=basis][value=window]")
    page.fill("input[name=window_months]", "12")
    page.check("input[name=downgrade][value=review]")
    page.fill("input[name=grace_days]", "15")
    page.click("#save-levels")
    page.wait_for_selector(".flash .success")
    page.screenshot(path=screenshot_dir / "levels-04-saved.png", full_page=True)
    names = dict(Membership.objects.filter(shop=tea_shop).values_list("customer__orders__paid_amount", "level__name"))
    assert names == {Decimal("80.00"): "普通会员", Decimal("300.00"): "普通会员", Decimal("1600.00"): "VIP"}
    assert list(Level.objects.filter(shop=tea_shop).values_list("name", flat=True)) == ["普通会员", "高级会员", "VIP"]

    # the at-risk list of the reviewing shop, and back
    page.click("a:has-text('可能掉级的会员')")
    page.wait_for_url(f"{live_server.url}/levels/{tea_shop.pk}/at-risk/")
    page.screenshot(path=screenshot_dir / "levels-05-at-risk.png", full_page=True)
    page.click("a:has-text('等级设置')")
    page.wait_for_url(f"{live_server.url}/levels/{tea_shop.pk}/")


def test_at_risk_in_chinese_and_english(page, live_server, make_user, tea_shop, screenshot_dir):
    level_policy_set(shop=tea_shop, window_months=12, downgrade="review", grace_days=30)
    lapsing = CustomerFactory.create(name="快掉级的老顾客", phone="13812345678")
    OrderFactory.create(
        shop=tea_shop, customer=lapsing, paid_amount=Decimal("900"), ordered_at=datetime(2024, 1, 10, tzinfo=UTC)
    )
    with freeze_time("2024-06-01"):
        levels_regrade()
    make_user("agent", "kefu")
    login(page, live_server, "kefu")
    page.goto(f"{live_server.url}/levels/{tea_shop.pk}/at-risk/")
    assert "再消费 ¥500.00 或 再下 3 单" in page.locator("#at-risk-table").inner_text()
    page.screenshot(path=screenshot_dir / "levels-06-at-risk-zh.png", full_page=True)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")

    page.click("nav.mainnav a:has-text('Member levels')")
    page.wait_for_url(f"{live_server.url}/levels/{tea_shop.pk}/at-risk/")

    text = page.locator("#at-risk-table").inner_text()
    assert "快掉级的老顾客" in text
    assert "138****5678" in text
    assert "Spend ¥500.00 more or place 3 more orders" in text
    page.screenshot(path=screenshot_dir / "levels-07-at-risk-en.png", full_page=True)
