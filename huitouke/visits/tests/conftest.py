from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True, scope="session")
def _urls_loaded() -> None:
    import huitouke.urls  # noqa: F401


@pytest.fixture
def shop(db: Any) -> Any:
    from huitouke.orders.tests.factories import ShopFactory

    return ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")
