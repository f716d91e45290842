"""The main navigation (core/nav.py): each role sees the links its permissions open, the current page's link is
marked, the labels follow the page's language, and a changed role shows on the next request."""

from __future__ import annotations

import re

import pytest

from huitouke.core.roles import AGENT, MANAGER, MARKETER, OWNER
from huitouke.core.services import user_create, user_role_set

pytestmark = pytest.mark.django_db


def _nav(client, url: str) -> list[tuple[str, str, str]]:
    page = client.get(url).content.decode()
    nav = re.search(r'<nav class="mainnav".*?</nav>', page, re.S)
    assert nav is not None
    return re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav.group(0))


def _hrefs(links: list[tuple[str, str, str]]) -> list[str]:
    return [href for href, _current, _label in links]


EVERY = ["/", "/customers/", "/imports/", "/levels/", "/messages/", "/care/", "/segments/", "/service/"]
EVERY += ["/reviews/", "/visits/", "/campaigns/", "/tokens/"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (OWNER, EVERY),
        (MANAGER, EVERY),
        (
            AGENT,
            ["/customers/", "/levels/", "/messages/", "/segments/", "/service/", "/reviews/", "/visits/", "/tokens/"],
        ),
        (
            MARKETER,
            [
                "/",
                "/customers/",
                "/levels/",
                "/messages/",
                "/care/",
                "/segments/",
                "/reviews/",
                "/campaigns/",
                "/tokens/",
            ],
        ),
    ],
)
def test_each_role_sees_the_links_its_permissions_open(client, role, expected):
    client.force_login(user_create(username=f"nav-{role}", role=role, password="pass-word-123", validate=False))
    links = _nav(client, "/customers/")
    assert _hrefs(links) == expected
    assert [href for href, current, _label in links if current] == ["/customers/"]


def test_current_link_and_language(client):
    client.force_login(user_create(username="nav-m", role=MANAGER, password="pass-word-123", validate=False))
    links = _nav(client, "/visits/plans/")
    assert [(href, label) for href, current, label in links if current] == [("/visits/", "客户回访")]
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    links = _nav(client, "/tokens/")
    assert [(href, label) for href, current, label in links if current] == [("/tokens/", "API tokens")]
    assert ("/visits/", "", "Return visits") in links


def test_a_role_change_changes_the_links_on_the_next_request(client):
    client.force_login(user_create(username="nav-a", role=AGENT, password="pass-word-123", validate=False))
    assert "/campaigns/" not in _hrefs(_nav(client, "/customers/"))
    user_role_set(username="nav-a", role=MARKETER)
    hrefs = _hrefs(_nav(client, "/customers/"))
    assert "/campaigns/" in hrefs
    assert "/visits/" not in hrefs
