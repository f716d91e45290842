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
