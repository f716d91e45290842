"""Sign-in with two-factor and the audit page in a real browser (Debian's Chromium via Playwright), with
screenshots kept in $HUITOUKE_HOME/screenshots: an owner turns on two-factor by scanning (reading) the QR code's
key, signs out, signs in with password + code, and reads the audit trail, filtered, in Chinese and English."""

from __future__ import annotations

import base64
import hmac
import struct
import time

import pytest

from huitouke.core.models import AuditEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"


def _totp_from_secret(secret_text: str, *, at: float) -> str:
    """The code an authenticator app shows for the key typed off the page (RFC 6238, SHA-1, 30 s, 6 digits)."""
    key = base64.b32decode(secret_text.replace(" ", "") + "=" * (-len(secret_text.replace(" ", "")) % 8))
    counter = struct.pack(">Q", int(at) // 30)
    digest = hmac.new(key, counter, "sha1").digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_two_factor_sign_in_and_the_audit_page(page, live_server, make_user, screenshot_dir):
    make_user("owner", username="laoban")
    url = live_server.url

    # sign in with the password only, then turn two-factor on from the account page
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", "laoban")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login/" not in u)
    page.click("a.who")
    page.wait_for_url(f"{url}/account/")
    page.screenshot(path=str(screenshot_dir / "signin-account.png"), full_page=True)
    page.click("#two-factor a")
    page.click("button.primary")  # set up
    assert page.locator(".qr svg").count() == 1
    secret = page.inner_text("#totp-secret")
    page.screenshot(path=str(screenshot_dir / "signin-2fa-enrol.png"), full_page=True)
    page.fill("input[name=code]", _totp_from_secret(secret, at=time.time()))
    page.click("button.primary")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=str(screenshot_dir / "signin-2fa-codes.png"), full_page=True)

    # sign out; signing in now asks for a code after the password
    page.click("form[action='/logout/'] button")
    page.goto(f"{url}/login/?next=/audit/")
    page.fill("input[name=username]", "laoban")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/login/verify/")
    page.fill("input[name=code]", "123456")
    page.click("button[type=submit]")
    assert page.locator("p.error").count() == 1
    page.screenshot(path=str(screenshot_dir / "signin-2fa-wrong-code.png"), full_page=True)
    page.fill("input[name=code]", codes[0])  # a recovery code
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/audit/")

    # the audit page (also linked from the account page): every step above is there; filter by action
    table = page.inner_text("#audit-table")
    for label in ("登录", "登录失败", "更改两步验证"):
        assert label in table, label
    page.screenshot(path=str(screenshot_dir / "audit-page-zh.png"), full_page=True)
    page.select_option("select[name=action]", "login_failed")
    page.click("#audit-filters button.primary")
    page.wait_for_url(lambda u: "action=login_failed" in u)
    rows = page.locator("#audit-table tbody tr")
    assert rows.count() == AuditEntry.objects.filter(action="login_failed").count() == 1
    assert "laoban" in rows.first.inner_text()

    with page.expect_navigation():  # the switch submits itself
        page.select_option("select[name=language]", "en")
    assert "Audit trail" in page.inner_text("h1")
    assert "Sign-in failed" in page.inner_text("#audit-table")
    page.screenshot(path=str(screenshot_dir / "audit-page-en.png"), full_page=True)
