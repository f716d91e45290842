"""Shared fixtures: one user per role, logged-in clients, an API client with a real token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from huitouke.core.roles import AGENT, MANAGER, MARKETER, OWNER


@pytest.fixture(scope="session", autouse=True)
def _urlconf_loaded() -> None:
    """Load the URLconf (and with it every API schema) before any test freezes the clock: pydantic cannot build a
    schema for a date field while freezegun has swapped `datetime.date` for its FakeDate, so the first test that
    resolved a URL under freeze_time failed, depending on which test ran first in its process."""
    from django.urls import get_resolver

    _ = get_resolver().url_patterns


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    """Tests swap argon2 for a fast hasher (a speed knob only; test_roles checks the real setting)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _outbound_private_allowed(settings: Any) -> None:
    """Tests send to local servers (SMTP, gateways, webhooks on 127.0.0.1): the operator setting that allows
    private addresses is on; the outbound safety tests turn it off."""
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Each test starts in the site's default language (Chinese): a request through the test client leaves its
    language active in the thread (LocaleMiddleware activates, nothing deactivates), which would otherwise carry
    into the next test the same worker runs."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _huey_immediate() -> Any:
    """Background tasks run in-process, at once, in tests (browser tests that need a real worker start one)."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    return HUEY


@pytest.fixture
def huey_worker(_huey_immediate: Any) -> Any:
    """A real Huey consumer (two threads in this process) draining the queue, for browser tests whose pages
    hand work to the background worker (imports, campaign launches, the message dispatcher)."""
    from huey.consumer import Consumer

    from huitouke.core.fleet import QUEUES, queue

    huey = _huey_immediate
    huey.immediate = False
    consumers = []
    for name in QUEUES:  # every queue (imports and sending have their own), as `huitouke worker` does
        queue(name).flush()
        consumers.append(
            Consumer(queue(name), workers=2, worker_type="thread", periodic=False, check_worker_health=False)
        )
    for consumer in consumers:
        consumer.start()
    yield consumers[0]
    for consumer in consumers:
        consumer.stop(graceful=True)
    huey.immediate = True


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    from huitouke.core.services import user_create

    def make(role: str, username: str | None = None) -> User:
        return user_create(username=username or f"{role}1", role=role, password="pass-word-123", validate=False)

    return make


@pytest.fixture
def owner(make_user: Callable[..., User]) -> User:
    return make_user(OWNER)


@pytest.fixture
def manager(make_user: Callable[..., User]) -> User:
    return make_user(MANAGER)


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    return make_user(AGENT)


@pytest.fixture
def marketer(make_user: Callable[..., User]) -> User:
    return make_user(MARKETER)


@pytest.fixture
def client_as(make_user: Callable[..., User]) -> Callable[[str], Client]:
    """client_as("agent") -> a Django test client logged in as a fresh user with that role."""

    def make(role: str) -> Client:
        c = Client()
        c.force_login(make_user(role, username=f"{role}-client"))
        return c

    return make


@pytest.fixture
def api_client_as(make_user: Callable[..., User]) -> Callable[[str], Client]:
    """api_client_as("agent") -> a client that sends a real bearer token of a fresh user with that role."""
    from huitouke.core.services import token_create

    def make(role: str) -> Client:
        user = make_user(role, username=f"{role}-api")
        _token, key = token_create(user=user, name="tests")
        return Client(headers={"Authorization": f"Bearer {key}"})

    return make


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Any:
    """Debian's Chromium driven by Playwright (never a downloaded browser). Missing Chromium fails in CI."""
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs it with apt-get")
        pytest.skip(f"{CHROMIUM} is not installed (run scripts/test.sh)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls of the tests are still
    # synchronous and safe, so tell Django not to refuse them.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def screenshot_dir(settings: Any) -> Any:
    """Where browser tests keep their screenshots: $HUITOUKE_HOME/screenshots (kept after the run)."""
    path = settings.HUITOUKE_HOME / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _axe_on_every_page(request: Any) -> Any:
    """Every browser test runs axe-core (WCAG 2.1 A/AA) on each whole HTML page it opens with `goto`, and fails on a
    serious or critical violation (huitouke/core/tests/axe.py). A module that runs axe itself sets AXE_DONE."""
    if request.node.get_closest_marker("browser") is None or getattr(request.module, "AXE_DONE", False):
        yield
        return
    from playwright.sync_api import Page

    from huitouke.core.tests.axe import describe, violations

    found: list[str] = []
    original = Page.goto

    def goto(self: Any, url: str, **kwargs: Any) -> Any:
        response = original(self, url, **kwargs)
        content_type = (response.headers.get("content-type") or "") if response is not None else ""
        # the API's Swagger UI (/api/…/docs) is django-ninja's own page, not one of ours: left out
        ours = "/api/" not in url
        if ours and response is not None and response.ok and "html" in content_type and self.title():
            found.extend(describe(violations(self), url))
        return response

    Page.goto = goto  # type: ignore[method-assign]
    try:
        yield
    finally:
        Page.goto = original  # type: ignore[method-assign]
    assert found == [], "axe-core violations:\n" + "\n".join(found)
