"""Level definitions and the lifetime regrade (issue #4 extends both)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.core.errors import ApplicationError
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Membership
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

SPECS = [
    LevelSpec("普通会员", Decimal("0"), 1, 100),
    LevelSpec("高级会员", Decimal("200"), 3, 98),
    LevelSpec("VIP", Decimal("1000"), 10, 95),
]


def level_of(customer, shop):
    m = Membership.objects.filter(customer=customer, shop=shop).select_related("level").first()
    return m.level.name if m else None


def test_either_threshold_qualifies_and_closed_or_refunded_orders_do_not_count():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    by_amount, by_count, neither, refunded = CustomerFactory.create_batch(4)
    OrderFactory.create(shop=shop, customer=by_amount, paid_amount=Decimal("1000"))
    for _ in range(3):
        OrderFactory.create(shop=shop, customer=by_count, paid_amount=Decimal("1"))
    OrderFactory.create(shop=shop, customer=neither, status=Order.Status.CLOSED, paid_amount=Decimal("5000"))
    OrderFactory.create(
        shop=shop, customer=refunded, paid_amount=Decimal("1200"), refund_amount=Decimal("1100")
    )  # 100 net: 普通会员

    levels_regrade()

    assert level_of(by_amount, shop) == "VIP"
    assert level_of(by_count, shop) == "高级会员"
    assert level_of(neither, shop) is None
    assert level_of(refunded, shop) == "普通会员"


def test_regrade_is_per_shop_and_repeatable():
    s1, s2 = ShopFactory.create(name="a"), ShopFactory.create(name="b")
    levels_set(shop=s1, specs=SPECS)
    levels_set(shop=s2, specs=SPECS)
    c = CustomerFactory.create()
    OrderFactory.create(shop=s1, customer=c, paid_amount=Decimal("300"))
    OrderFactory.create(shop=s2, customer=c, paid_amount=Decimal("5"))

    first = levels_regrade()
    second = levels_regrade()

    assert first == second == 2
    assert (level_of(c, s1), level_of(c, s2)) == ("高级会员", "普通会员")


def test_regrade_limited_to_customers():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a, b = CustomerFactory.create(), CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))
    OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("300"))

    assert levels_regrade(customer_ids=[a.pk]) == 1
    assert Membership.objects.count() == 1
    assert levels_regrade(customer_ids=[]) == 0


def test_regrade_takes_more_customers_than_one_statement_has_parameters():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))

    assert levels_regrade(customer_ids=[a.pk, *range(a.pk + 1, a.pk + 40_000)]) == 1
    assert levels_regrade(customer_ids=[a.pk, *range(a.pk + 1, a.pk + 40_000)]) == 1
    assert Membership.objects.get().customer == a


@pytest.mark.parametrize(
    ("specs", "field"),
    [
        ([LevelSpec("", Decimal("0"), 1, 100)], "levels[0].name"),
        ([LevelSpec("a", Decimal("0"), 1, 0)], "levels[0].discount"),
        ([LevelSpec("a", Decimal("100"), 1, 100), LevelSpec("b", Decimal("50"), 5, 95)], "levels[1].min_amount"),
        ([LevelSpec("a", Decimal("0"), 3, 100), LevelSpec("b", Decimal("50"), 3, 95)], "levels[1].min_amount"),
    ],
)
def test_levels_set_validates(specs, field):
    with pytest.raises(ApplicationError) as exc:
        levels_set(shop=ShopFactory.create(), specs=specs)
    assert exc.value.field == field
