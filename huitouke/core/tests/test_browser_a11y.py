"""Accessibility in a real browser: axe-core (WCAG 2.1 A/AA) on every page of the URL map, as owner and as agent,
in Chinese and English, on a small demo database; fails on any serious or critical violation.

One browser, one context per role and language (the session cookie is reused), and the pages of the map opened
one after the other, so the walk stays short enough to run in CI.
"""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError

from huitouke.core.roles import AGENT, OWNER
from huitouke.core.tests.axe import describe, violations
from huitouke.demo.services import DEMO_LOGINS
from huitouke.urlmap import pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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


def test_every_page_of_the_url_map_passes_axe_as_owner_and_agent_in_both_languages(browser, live_server):
    call_command("demo", "--no-serve", "--customers", "40", "--seed", "3", stdout=StringIO(), stderr=StringIO())
    # one page per pattern (filters and deep pages share the template of their list)
    seen: set[str] = set()
    walk = [p for p in pages() if p.kind in ("page", "detail") and not (p.name in seen or seen.add(p.name))]
    problems: list[str] = []
    checked: dict[str, int] = {}
    for role in (OWNER, AGENT):
        for lang in LANGS:
            context, tab = sign_in(browser, live_server, role, lang)
            problems += describe(violations(tab), f"{role} {lang} login-landing")
            for page in walk:
                try:
                    response = tab.goto(live_server.url + page.url)
                except PlaywrightError:  # an empty error answer (405 of a POST-only page) has nothing to check
                    continue
                if response is None or response.status in (403, 404, 405):
                    continue
                assert response.status < 500, f"{role} {lang} {page.label}: {response.status}"
                if "html" not in (response.headers.get("content-type") or ""):
                    continue
                page_lang = tab.evaluate("document.documentElement.lang")
                if not page_lang and not tab.title():  # an htmx fragment (a picker, a preview), not a page
                    continue
                if page_lang != lang:
                    problems.append(f"{role} {lang} {page.label} lang={page_lang!r}")
                checked[f"{role} {lang}"] = checked.get(f"{role} {lang}", 0) + 1
                problems += describe(violations(tab), f"{role} {lang} {page.label}")
            context.close()
    if os.environ.get("AXE_REPORT"):
        print("\n".join(problems))
        print(checked)
    assert checked[f"{OWNER} en"] >= 40 and checked[f"{AGENT} en"] >= 15
    assert problems == []
