"""A care rule in a real browser: create a birthday rule, preview who gets what tomorrow, run it now and read its
send records — the emails really go out, to a local SMTP server."""

from __future__ import annotations

from datetime import time, timedelta
from email.header import decode_header, make_header

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.services import channel_config_save, contact_policy_save
from huitouke.messaging.tests.sinks import SmtpSink
from huitouke.orders.tests.factories import ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_preview_run_and_read_the_records(browser, live_server, make_user, screenshot_dir):
    sink = SmtpSink().start()
    try:
        ShopFactory.create(name="茶小铺")
        channel_config_save(
            shop_id=None,
            channel="email",
            provider="smtp",
            options={"host": "127.0.0.1", "port": str(sink.port), "security": "none", "from_email": "shop@example.com"},
        )
        # no quiet hours, so the run sends at whatever time the test runs
        contact_policy_save(
            shop_id=None, quiet_start=time(0), quiet_end=time(0), budget_days=7, budget_marketing=1, budget_care=2
        )
        today = timezone.localdate()
        tomorrow = today + timedelta(days=1)
        for i, (name, day) in enumerate((("王小明", today), ("李晓红", today), ("赵明日", tomorrow))):
            CustomerFactory.create(name=name, birthday=day.replace(year=1992), email=f"buyer{i}@example.com")
        make_user("manager", "mgr")

        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "mgr")
        page.fill("input[name=password]", "pass-word-123")
        page.click("button[type=submit]")
        page.wait_for_load_state()

        page.click("nav.mainnav >> text=客户关怀")
        page.wait_for_url("**/care/")
        page.click("text=新建规则")
        page.wait_for_selector("#rule-form")
        page.select_option("#id_trigger", "birthday")
        page.wait_for_selector("#param-days_ahead")
        page.select_option("#id_channel", "email")
        # the email version of the birthday message replaces the SMS one
        expect(page.locator("#template-text")).to_contain_text("您好")
        page.fill("#id_name", "生日祝福（邮件）")
        page.fill("#id_send_time", "")
        page.screenshot(path=screenshot_dir / "70-care-new-rule.png", full_page=True)
        page.click("#save-rule")
        page.wait_for_selector(".flash li")
        assert "生日祝福（邮件）" in page.locator(".flash").inner_text()
        page.screenshot(path=screenshot_dir / "71-care-rule-saved.png", full_page=True)

        page.click("#preview-link")
        page.wait_for_selector("#preview-matched")
        assert page.locator("#preview-matched").inner_text() == "1"
        sample = page.locator(".sample").first.inner_text()
        assert "赵明日" in sample
        assert "生日快乐" in sample
        page.screenshot(path=screenshot_dir / "72-care-preview-tomorrow.png", full_page=True)

        page.click("text=返回规则")
        page.click("#run-now")
        page.wait_for_url("**/jobs/**")
        page.locator(".job-status.status-done").wait_for()
        page.screenshot(path=screenshot_dir / "73-care-run-now.png", full_page=True)
        page.click("text=← 返回")
        page.wait_for_selector("#records-table")
        records = page.locator("#records-table tbody").inner_text()
        assert "王小明" in records
        assert "李晓红" in records
        assert "赵明日" not in records
        assert records.count("已发送") == 2
        page.screenshot(path=screenshot_dir / "74-care-send-records.png", full_page=True)
        page.click("text=← 返回关怀规则")
        page.click("#install-suggested")
        page.wait_for_selector(".flash li")
        assert page.locator("#care-rules tbody tr").count() == 13
        page.screenshot(path=screenshot_dir / "75-care-rule-list.png", full_page=True)
        subjects = sorted(str(make_header(decode_header(m["Subject"]))) for m in sink.messages)
        assert subjects == ["李晓红，生日快乐！", "王小明，生日快乐！"]
        page.context.close()
    finally:
        sink.stop()
