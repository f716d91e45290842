"""Fixtures of the messaging tests: real local HTTP and SMTP servers, a shop with channel settings pointing at
them, customers with phones and emails, and a dispatcher run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from huitouke.messaging.tests.sinks import HttpSink, SmtpSink


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def no_wake() -> Iterator[None]:
    """Enqueueing does not start the dispatcher by itself (the tests run it when they want)."""
    from huitouke.messaging import services

    saved = list(services._ENQUEUE_LISTENERS)
    services._ENQUEUE_LISTENERS.clear()
    yield
    services._ENQUEUE_LISTENERS[:] = saved


@pytest.fixture
def shop(db: Any) -> Any:
    from huitouke.orders.tests.factories import ShopFactory

    return ShopFactory.create(name="茶小铺")


@pytest.fixture(autouse=True, scope="session")
def _urls_loaded() -> None:
    """Load the URLconf (and the API schemas behind it) before any test freezes time: pydantic cannot build
    schemas for freezegun's fake date classes."""
    import huitouke.urls  # noqa: F401
