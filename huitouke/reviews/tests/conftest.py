"""Shared fixtures of the reviews tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time


@pytest.fixture
def review_clock() -> Iterator[Any]:
    """Now is 2025-07-10 12:00 UTC: every golden review arrived within the last 30 days (so negative ones open
    cases), the default good rating of order 3 (due 2025-08-06 under the course rules) not yet."""
    import huitouke.urls  # noqa: F401  (the API schemas must be built with the real date type, not freezegun's)

    with freeze_time("2025-07-10 12:00:00+00:00") as frozen:
        yield frozen
