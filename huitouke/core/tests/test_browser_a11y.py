"""Accessibility in a real browser: axe-core (WCAG 2.1 A/AA) on every page of the URL map, as owner and as agent,
in Chinese and English, on a small demo database; fails on any serious or critical violation, on a `lang` that
is not the page's language, and on headings that skip a level.

One browser, one context per role and language (the session cookie is reused), and the pages of the map opened
one after the other, so the walk stays short enough to run in CI. One test per role, so parallel test workers
share the walk. It checks markup, which does not depend on the database: it runs on the embedded SQLite only (the
PostgreSQL run of the suite skips it; test_urlmap walks the same map on both databases).
"""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from huitouke.core.roles import AGENT, OWNER
from huitouke.core.tests.axe import describe, violations
from huitouke.demo.services import DEMO_LOGINS
from huitouke.urlmap import Page, pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="markup does not depend on the database: the walk runs on the SQLite run of the suite",
    ),
]
#: this module runs axe itself (see conftest._axe_on_every_page)
AXE_DONE = True

LANGS = ("zh-hans", "en")


def sign_in(browser, live_server, role: str, lang: str):
    login = next(x for x in DEMO_LOGINS if x.role == role)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": "django_language", "value": lang, "domain": host, "path": "/"}])
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.goto(f"{live_server.url}/login/")
    tab.fill("input[name=username]", login.username)
    tab.fill("input[name=password]", login.password)
    tab.click("button[type=submit]")
    tab.wait_for_url(lambda u: "/login/" not in u)
    return context, tab


def reachable(role: str) -> list[Page]:
    """The pages of the map this role opens as a whole HTML page (one per pattern: filters and deep pages share
    their list's template), found with the test client first so the browser only visits real pages."""
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=next(x.username for x in DEMO_LOGINS if x.role == role)))
    out, seen = [], set()
    for page in pages():
        if page.kind not in ("page", "detail") or page.name in seen:
            continue
        seen.add(page.name)
        response = client.get(page.url)
        if response.status_code == 200 and "html" in response.get("Content-Type", "") and b"<html" in response.content:
            out.append(page)
    return out


@pytest.mark.parametrize(("role", "least"), [(OWNER, 40), (AGENT, 15)])
def test_every_page_of_the_url_map_passes_axe_in_both_languages(browser, live_server, role: str, least: int):
    call_command("demo", "--no-serve", "--customers", "40", "--seed", "3", stdout=StringIO(), stderr=StringIO())
    problems: list[str] = []
    checked: dict[str, int] = {}
    walk = reachable(role)
    for lang in LANGS:
        context, tab = sign_in(browser, live_server, role, lang)
        problems += describe(violations(tab), f"{role} {lang} landing")
        for page in walk:
            response = tab.goto(live_server.url + page.url)
            assert response is not None
            assert response.status == 200, f"{role} {lang} {page.label}: {response.status}"
            page_lang = tab.evaluate("document.documentElement.lang")
            if page_lang != lang:
                problems.append(f"{role} {lang} {page.label}: lang={page_lang!r}")
            problems += describe(violations(tab), f"{role} {lang} {page.label}")
            levels = tab.evaluate("[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])")
            skips = [f"h{a}→h{b}" for a, b in zip([0, *levels], levels, strict=False) if b > a + 1]
            if skips:
                problems.append(f"{role} {lang} {page.label}: headings skip a level ({', '.join(skips)})")
            checked[f"{role} {lang}"] = checked.get(f"{role} {lang}", 0) + 1
        context.close()
    if os.environ.get("AXE_REPORT"):  # a file to read every failing element from (the assertion shows them too)
        Path(os.environ["AXE_REPORT"]).write_text("\n".join([*problems, str(checked)]) + "\n", encoding="utf-8")
    assert checked[f"{role} en"] >= least
    assert checked[f"{role} zh-hans"] == checked[f"{role} en"]
    assert problems == []
