"""The dashboard's members per level from stored counts: equal to the live count, kept until a level change is
recorded, recounted by the refresh, with the levels' live names and ranks."""

from __future__ import annotations

import pytest

from huitouke.analytics import snapshots
from huitouke.analytics.level_figures import level_distribution_stored
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Level, LevelChange, Membership
from huitouke.loyalty.selectors import level_distribution
from huitouke.orders.models import Shop

pytestmark = pytest.mark.django_db


def _archive() -> tuple[Shop, Level, Level, list[Customer]]:
    shop = Shop.objects.create(name="旗舰店", platform="taobao")
    other = Shop.objects.create(name="分店", platform="jd")
    silver = Level.objects.create(shop=shop, rank=1, name="银卡", min_amount=100, min_orders=2, discount=98)
    vip = Level.objects.create(shop=shop, rank=2, name="VIP", min_amount=1000, min_orders=5, discount=95)
    Level.objects.create(shop=other, rank=1, name="银卡", min_amount=100, min_orders=2, discount=98)
    Level.objects.create(shop=other, rank=3, name="金卡", min_amount=5000, min_orders=9, discount=90)
    people = [Customer.objects.create(name=f"c{i}") for i in range(5)]
    for person in people[:3]:
        Membership.objects.create(customer=person, shop=shop, level=silver)
    Membership.objects.create(customer=people[3], shop=shop, level=vip)
    return shop, silver, vip, people


def test_stored_counts_equal_the_live_count_and_wait_for_a_recorded_change() -> None:
    shop, silver, vip, people = _archive()
    live = level_distribution()
    stored, at = level_distribution_stored()
    assert stored == live == {"银卡": 3, "VIP": 1, "金卡": 0}
    assert list(stored) == ["银卡", "VIP", "金卡"]

    # a membership written without a recorded change is not seen until the next recount …
    Membership.objects.filter(customer=people[0]).update(level=vip)
    again, again_at = level_distribution_stored()
    assert (again, again_at) == ({"银卡": 3, "VIP": 1, "金卡": 0}, at)
    # … but renaming a level shows at once (names and ranks are read live)
    Level.objects.filter(pk=vip.pk).update(name="至尊")
    assert level_distribution_stored()[0] == {"银卡": 3, "至尊": 1, "金卡": 0}

    # a grading records its changes: the next view counts again
    LevelChange.objects.create(customer=people[0], shop=shop, from_level=silver, to_level=vip, reason="regrade")
    counted, counted_at = level_distribution_stored()
    assert counted == level_distribution() == {"银卡": 2, "至尊": 2, "金卡": 0}
    assert counted_at > at


def test_the_refresh_recounts_what_no_change_records() -> None:
    _shop, _silver, _vip, people = _archive()
    level_distribution_stored()
    people[3].delete()  # a deleted customer's membership goes with it, no change recorded
    assert level_distribution_stored()[0]["VIP"] == 1
    snapshots.snapshots_refresh()
    assert level_distribution_stored()[0] == level_distribution() == {"银卡": 3, "VIP": 0, "金卡": 0}
