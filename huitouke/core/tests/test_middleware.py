"""The default page language."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_pages_default_to_chinese_whatever_the_browser_says(client, settings):
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    assert 'lang="zh-hans"' in client.get("/login/", headers=english_browser).content.decode()
    settings.HUITOUKE_FOLLOW_BROWSER_LANGUAGE = True
    assert 'lang="en"' in client.get("/login/", headers=english_browser).content.decode()
    settings.HUITOUKE_FOLLOW_BROWSER_LANGUAGE = False
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert 'lang="en"' in client.get("/login/", headers=english_browser).content.decode()


@pytest.mark.django_db
def test_a_form_encoded_webhook_body_is_still_readable_after_the_form_guard(client):
    """WooCommerce's ping is form-encoded (webhook_id=…); the control-character guard parses the form, and the
    webhook view then reads the raw body for its signature: no 500, the unknown key is refused (401)."""
    response = client.post(
        "/sources/woocommerce/no-such-key/webhook", "webhook_id=7", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 401
    multipart = client.post("/sources/woocommerce/no-such-key/webhook", {"webhook_id": "7"})
    assert multipart.status_code == 415
