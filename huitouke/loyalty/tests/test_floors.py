"""Imported member levels kept as floors (issue #14 item 21) against the real database: raised, already above,
unknown names by row, name matching; the regrade never drops a member below the floor; a reviewing shop drops
them only at a review whose grace period has passed since the import."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.floors import level_floors_import
from huitouke.loyalty.models import LevelChange, Membership
from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_review, levels_set
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db
IMPORTED = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    shop = ShopFactory.create(name="茶小铺")
    levels_set(
        shop=shop,
        specs=[
            LevelSpec("普通会员", Decimal("0"), 1, 100),
            LevelSpec("银卡", Decimal("500"), 3, 98),
            LevelSpec("Gold", Decimal("2000"), 8, 95),
        ],
    )
    return shop


def _buyer(shop, name: str, paid: str) -> int:
    c = CustomerFactory.create(name=name)
    OrderFactory.create(
        shop=shop,
        customer=c,
        paid_amount=Decimal(paid),
        status="completed",
        ordered_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    customer_stats_refresh(customer_ids=[c.pk])
    return c.pk


def _held(shop) -> dict[int, str]:
    return dict(Membership.objects.filter(shop=shop).values_list("customer_id", "level__name"))


def test_floors_raise_keep_and_report(shop):
    small, silver, fresh = _buyer(shop, "small", "30"), _buyer(shop, "silver", "600"), CustomerFactory.create().pk
    levels_regrade(shop_ids=[shop.pk])

    result = level_floors_import(
        shop=shop,
        levels={small: (" gold ", 7), silver: ("普通会员", 3), fresh: ("银卡", 9), 999_999: ("钻石", 4)},
        now=IMPORTED,
    )

    assert (result.kept, result.already) == (2, 1)
    assert [u[:2] for u in result.unknown] == [(4, "钻石")]
    assert "普通会员、银卡、Gold" in result.unknown[0][2]
    assert _held(shop) == {small: "Gold", silver: "银卡", fresh: "银卡"}
    assert Membership.objects.get(shop=shop, customer_id=small).qualified_at == IMPORTED
    changes = {(c.customer_id, c.from_name, c.to_name, c.to_rank) for c in LevelChange.objects.filter(reason="import")}
    assert changes == {(small, "普通会员", "Gold", 3), (fresh, "", "银卡", 2)}


def test_a_shop_without_levels_reports_every_name(shop):
    other = ShopFactory.create(name="新店")
    cid = CustomerFactory.create().pk

    result = level_floors_import(shop=other, levels={cid: ("金卡", 2)}, now=IMPORTED)

    assert (result.kept, result.already, [u[:2] for u in result.unknown]) == (0, 0, [(2, "金卡")])
    assert "(—)" in result.unknown[0][2]
    assert not Membership.objects.filter(shop=other).exists()


def test_the_regrade_never_drops_below_the_floor(shop):
    small = _buyer(shop, "small", "30")
    with freeze_time(IMPORTED):
        level_floors_import(shop=shop, levels={small: ("Gold", 2)})

    levels_regrade(shop_ids=[shop.pk])
    levels_regrade(customer_ids=[small])

    assert _held(shop) == {small: "Gold"}


def test_a_reviewing_shop_drops_the_floor_only_once_the_grace_period_has_passed(shop):
    level_policy_set(shop=shop, downgrade="review", grace_days=30)
    small = _buyer(shop, "small", "30")
    with freeze_time(IMPORTED):
        levels_regrade(shop_ids=[shop.pk])
        level_floors_import(shop=shop, levels={small: ("Gold", 2)})

    with freeze_time("2026-03-20 04:00:00"):
        levels_review(shop_ids=[shop.pk], today=date(2026, 3, 20))
        within_grace = _held(shop)
    with freeze_time("2026-04-10 04:00:00"):
        levels_review(shop_ids=[shop.pk], today=date(2026, 4, 10))
        after_grace = _held(shop)

    assert within_grace == {small: "Gold"}
    assert after_grace == {small: "普通会员"}
    assert list(LevelChange.objects.filter(customer_id=small).order_by("id").values_list("reason", "to_name")) == [
        ("regrade", "普通会员"),
        ("import", "Gold"),
        ("review", "普通会员"),
    ]


def test_a_never_dropping_shop_keeps_the_floor_at_every_review(shop):
    small = _buyer(shop, "small", "30")
    with freeze_time(IMPORTED):
        level_floors_import(shop=shop, levels={small: ("银卡", 2)})

    with freeze_time("2027-03-01 04:00:00"):
        levels_review(shop_ids=[shop.pk])
        levels_regrade(shop_ids=[shop.pk])

    assert _held(shop) == {small: "银卡"}
