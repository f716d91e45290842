"""Every page of the URL map (huitouke/urlmap.py) on a small demo database, as each role: no error, at most
BUDGET queries, and no N+1 pattern — the same statement (literals aside) run again for each row shown."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from huitouke.core.roles import AGENT, MARKETER, OWNER
from huitouke.demo.services import DEMO_LOGINS
from huitouke.urlmap import pages

pytestmark = pytest.mark.django_db

#: the issue's budget: no page over 30 queries
BUDGET = 30
#: a statement shape repeated more often than this on one page is a per-row query
REPEATS = 6

_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_LISTS = re.compile(r"\((?:\s*\?\s*,)+\s*\?\s*\)")


def shape(sql: str) -> str:
    """The statement with its literals and IN lists replaced, so per-row repeats look alike."""
    return _LISTS.sub("(…)", _LITERALS.sub("?", sql))


def repeated(sqls: list[str]) -> list[tuple[str, int]]:
    """Statement shapes run more than REPEATS times (savepoints aside)."""
    counts = Counter(shape(s) for s in sqls if "SAVEPOINT" not in s)
    return [(s, n) for s, n in counts.items() if n > REPEATS]


def test_shape_groups_per_row_statements_and_repeated_flags_them():
    sqls = [f'SELECT "x" FROM "t" WHERE "id" = {i}' for i in range(10)] + ["SELECT 1 FROM u WHERE a IN (1, 2)"]
    assert repeated(sqls) == [('SELECT "x" FROM "t" WHERE "id" = ?', 10)]
    assert repeated(sqls[:REPEATS]) == []


def test_every_page_within_the_query_budget_and_without_n_plus_1():
    from django.contrib.auth import get_user_model

    call_command("demo", "--no-serve", "--customers", "150", "--seed", "3", stdout=StringIO(), stderr=StringIO())
    problems = []
    visited: Counter[str] = Counter()
    for role in (OWNER, AGENT, MARKETER):
        user = get_user_model().objects.get(username=next(x.username for x in DEMO_LOGINS if x.role == role))
        client = Client()
        client.force_login(user)
        problems += _walk(client, role, visited)
    assert visited[OWNER] >= 40
    assert visited[AGENT] >= 15
    assert problems == []


def _walk(client: Client, role: str, visited: Counter[str]) -> list[str]:
    problems = []
    for page in pages():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.url)
        if response.status_code in (403, 405):
            continue
        visited[role] += 1
        sqls = [q["sql"] for q in captured.captured_queries]
        if response.status_code >= 500:
            problems.append(f"{role} {page.label}: status {response.status_code}")
        if len(sqls) > BUDGET:
            problems.append(f"{role} {page.label}: {len(sqls)} queries")
        problems += [f"{role} {page.label}: {n}× {s[:160]}" for s, n in repeated(sqls)]
    return problems
