"""The stored figures are refreshed once some shop has begun a new day in its own time zone since the last
refresh, so a page's first visit after a shop's midnight does not count them inline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from huitouke.analytics import snapshots
from huitouke.analytics.tasks import figures_new_day_periodic
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

#: the last refresh began at 23:30 in Shanghai, 08:30 in Los Angeles (UTC-8 in December)
BEGAN = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)


def _refreshed_at(at: datetime) -> None:
    snapshots.figure_store(key=snapshots.REFRESHED_KEY, compute=lambda: at)


def test_no_shop_no_refresh_and_a_shop_never_refreshed_is_refreshed():
    assert snapshots.figures_day_turned() is False
    ShopFactory(name="店A")
    assert snapshots.figures_day_turned() is True


@pytest.mark.parametrize(
    ("zones", "now", "turned"),
    [
        (["Asia/Shanghai"], datetime(2026, 12, 7, 15, 59, tzinfo=UTC), False),  # 23:59 in Shanghai
        (["Asia/Shanghai"], datetime(2026, 12, 7, 16, 0, tzinfo=UTC), True),  # its midnight
        (["America/Los_Angeles"], datetime(2026, 12, 7, 16, 0, tzinfo=UTC), False),  # 08:00 there
        (["America/Los_Angeles"], datetime(2026, 12, 8, 7, 59, tzinfo=UTC), False),  # 23:59 there
        (["America/Los_Angeles"], datetime(2026, 12, 8, 8, 0, tzinfo=UTC), True),
        (["America/Los_Angeles", "Asia/Shanghai"], datetime(2026, 12, 7, 16, 0, tzinfo=UTC), True),
        (["Asia/Kolkata"], datetime(2026, 12, 7, 18, 29, tzinfo=UTC), False),  # 23:59 at UTC+5:30
        (["Asia/Kolkata"], datetime(2026, 12, 7, 18, 30, tzinfo=UTC), True),
    ],
)
def test_the_day_turns_at_each_shops_own_midnight(zones, now, turned):
    for n, zone in enumerate(zones):
        ShopFactory(name=f"店{n}", timezone=zone)
    _refreshed_at(BEGAN)
    assert snapshots.figures_day_turned(now=now) is turned


def test_the_periodic_task_refreshes_once_per_new_day():
    ShopFactory(name="店A", timezone="Asia/Shanghai")
    with freeze_time("2026-12-07 15:30:00+00:00"):
        assert figures_new_day_periodic.call_local() is not None  # never refreshed: now
        assert snapshots.figures_read(prefix=snapshots.REFRESHED_KEY)[snapshots.REFRESHED_KEY].value == BEGAN
    with freeze_time("2026-12-07 15:45:00+00:00"):
        assert figures_new_day_periodic.call_local() is None
    with freeze_time("2026-12-07 16:00:00+00:00"):
        took = figures_new_day_periodic.call_local()
        assert took is not None
        assert {"groups", "quality"} <= set(took)
    with freeze_time("2026-12-07 16:15:00+00:00"):
        assert figures_new_day_periodic.call_local() is None
