"""Each segment condition against a small hand-built archive: exactly the customers a person would pick."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from huitouke.audiences.conditions import DefinitionError
from huitouke.audiences.selectors import segment_count, segment_customers
from huitouke.customers.models import Consent, CustomerTag, Tag
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Level, Membership
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory, ShopFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def _days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture
def archive() -> dict[str, Any]:
    """Five customers with distinct histories (stats set by hand, as customer_stats_refresh would)."""
    c = {
        "ann": CustomerFactory.create(
            name="ann",
            total_spent=Decimal("1200"),
            order_count=5,
            province="浙江省",
            city="杭州市",
            first_order_at=_days_ago(400),
            last_order_at=_days_ago(10),
            birthday=date(1990, 3, 8),
        ),
        "bob": CustomerFactory.create(
            name="bob",
            total_spent=Decimal("80"),
            order_count=1,
            province="广东省",
            city="深圳市",
            first_order_at=_days_ago(20),
            last_order_at=_days_ago(20),
            birthday=date(1985, 12, 1),
        ),
        "cai": CustomerFactory.create(
            name="cai",
            total_spent=Decimal("300"),
            order_count=2,
            province="浙江省",
            city="宁波市",
            first_order_at=_days_ago(500),
            last_order_at=_days_ago(250),
        ),
        "dan": CustomerFactory.create(
            name="dan",
            total_spent=Decimal("500"),
            order_count=3,
            province="北京",
            first_order_at=_days_ago(900),
            last_order_at=_days_ago(800),
        ),
        "eve": CustomerFactory.create(name="eve"),  # never bought
    }
    CustomerFactory.create(name="merged", total_spent=Decimal("5000"), order_count=9, merged_into=c["ann"])
    return c


def _names(definition) -> list[str]:
    return sorted(segment_customers(definition, now=NOW).values_list("name", flat=True))


def _one(condition) -> list[str]:
    return _names({"conditions": [condition]})


def test_empty_definition_is_everyone_but_merged_customers(archive):
    assert _names({}) == ["ann", "bob", "cai", "dan", "eve"]
    assert segment_count({}, now=NOW) == 5


def test_spend_and_order_count_ranges_are_inclusive(archive):
    assert _one({"field": "total_spent", "min": "300", "max": "1200"}) == ["ann", "cai", "dan"]
    assert _one({"field": "total_spent", "max": "80"}) == ["bob", "eve"]
    assert _one({"field": "order_count", "min": 2, "max": 3}) == ["cai", "dan"]


def test_purchase_dates(archive):
    assert _one({"field": "last_order_at", "within_days": 30}) == ["ann", "bob"]
    assert _one({"field": "last_order_at", "not_within_days": 200}) == ["cai", "dan", "eve"]
    assert _one({"field": "first_order_at", "after": str((NOW - timedelta(days=450)).date())}) == ["ann", "bob"]
    assert _one({"field": "first_order_at", "before": str(_days_ago(450).date())}) == ["cai", "dan"]


def test_region_province_or_city(archive):
    assert _one({"field": "region", "provinces": ["浙江省"]}) == ["ann", "cai"]
    assert _one({"field": "region", "provinces": ["北京"], "cities": ["深圳市"]}) == ["bob", "dan"]


def test_birthday_month(archive):
    assert _one({"field": "birthday_month", "months": [3, 12]}) == ["ann", "bob"]


def test_tags_any_all_none(archive):
    vip, old = Tag.objects.create(name="vip"), Tag.objects.create(name="老客")
    CustomerTag.objects.bulk_create([
        CustomerTag(customer=archive["ann"], tag=vip), CustomerTag(customer=archive["ann"], tag=old),
        CustomerTag(customer=archive["cai"], tag=old),
    ])  # fmt: skip
    assert _one({"field": "tags", "tags": ["vip", "老客"]}) == ["ann", "cai"]
    assert _one({"field": "tags", "match": "all", "tags": ["vip", "老客"]}) == ["ann"]
    assert _one({"field": "tags", "match": "none", "tags": ["老客"]}) == ["bob", "dan", "eve"]


def test_level_and_its_negation(archive):
    shop = Shop.objects.create(name="旗舰店", platform="taobao")
    vip = Level.objects.create(shop=shop, rank=2, name="VIP", min_amount=1000, min_orders=5, discount=95)
    silver = Level.objects.create(shop=shop, rank=1, name="银卡", min_amount=100, min_orders=2, discount=98)
    Membership.objects.create(customer=archive["ann"], shop=shop, level=vip)
    Membership.objects.create(customer=archive["cai"], shop=shop, level=silver)
    assert _one({"field": "level", "levels": ["VIP"]}) == ["ann"]
    assert _one({"field": "level", "levels": ["VIP", "银卡"], "negate": True}) == ["bob", "dan", "eve"]


def test_shop_and_products_bought(archive):
    flagship, outlet = ShopFactory.create(name="旗舰店"), ShopFactory.create(name="折扣店")
    tea = ProductFactory.create(shop=flagship, external_id="TEA-1", title="龙井", category="茶叶")
    cup = ProductFactory.create(shop=flagship, external_id="CUP-1", title="杯子", category="茶具")
    OrderLineFactory.create(
        order=OrderFactory.create(shop=flagship, customer=archive["ann"], ordered_at=_days_ago(10)), product=tea
    )
    OrderLineFactory.create(
        order=OrderFactory.create(shop=outlet, customer=archive["bob"], ordered_at=_days_ago(20)),
        product=cup,
        sku="CUP-RED",
    )
    # closed orders and refunded lines are not purchases
    OrderLineFactory.create(
        order=OrderFactory.create(shop=flagship, customer=archive["cai"], status=Order.Status.CLOSED), product=tea
    )
    OrderLineFactory.create(
        order=OrderFactory.create(shop=flagship, customer=archive["dan"], ordered_at=_days_ago(800)),
        product=tea,
        refund_state=OrderLine.RefundState.REFUNDED,
    )
    OrderLineFactory.create(
        order=OrderFactory.create(shop=flagship, customer=archive["dan"], ordered_at=_days_ago(800)), product=cup
    )
    assert _one({"field": "shop", "shops": ["折扣店"]}) == ["bob"]
    assert _one({"field": "bought", "products": ["TEA-1"]}) == ["ann"]
    assert _one({"field": "bought", "products": ["龙井"]}) == ["ann"]  # by title
    assert _one({"field": "bought", "products": ["CUP-RED"]}) == ["bob"]  # by the line's SKU
    assert _one({"field": "bought", "categories": ["茶具"]}) == ["bob", "dan"]
    assert _one({"field": "bought", "categories": ["茶具"], "within_days": 30}) == ["bob"]
    assert _one({"field": "bought", "products": ["TEA-1"], "negate": True}) == ["bob", "cai", "dan", "eve"]


def test_consent_groups(archive):
    Consent.objects.create(customer=archive["ann"], channel="sms", purpose="new_products", granted=True)
    Consent.objects.create(customer=archive["bob"], channel="email", purpose="new_products", granted=True)
    Consent.objects.create(customer=archive["cai"], channel="sms", purpose="new_products", granted=False)
    assert _one({"field": "consent", "purpose": "new_products"}) == ["ann", "bob"]
    assert _one({"field": "consent", "purpose": "new_products", "channel": "sms"}) == ["ann"]
    assert _one({"field": "consent", "purpose": "new_products", "member": False}) == ["cai", "dan", "eve"]


def test_lifecycle_stages(archive):
    assert _one({"field": "lifecycle", "stages": ["prospect"]}) == ["eve"]
    assert _one({"field": "lifecycle", "stages": ["new"]}) == ["bob"]
    assert _one({"field": "lifecycle", "stages": ["active"]}) == ["ann"]
    assert _one({"field": "lifecycle", "stages": ["at_risk"]}) == ["cai"]
    assert _one({"field": "lifecycle", "stages": ["lapsed"]}) == ["dan"]
    every = _one({"field": "lifecycle", "stages": ["prospect", "new", "active", "at_risk", "lapsed"]})
    assert every == ["ann", "bob", "cai", "dan", "eve"]  # the stages cover everyone, once


def test_and_or_and_nested_groups(archive):
    zhejiang = {"field": "region", "provinces": ["浙江省"]}
    big = {"field": "total_spent", "min": "400"}
    assert _names({"op": "and", "conditions": [zhejiang, big]}) == ["ann"]
    assert _names({"op": "or", "conditions": [zhejiang, big]}) == ["ann", "cai", "dan"]
    nested = {"op": "and", "conditions": [
        {"field": "order_count", "min": 1},
        {"field": "group", "op": "or", "conditions": [zhejiang, {"field": "birthday_month", "months": [12]}]},
    ]}  # fmt: skip
    assert _names(nested) == ["ann", "bob", "cai"]
    assert _names({"conditions": [{"field": "group", "conditions": []}]}) == ["ann", "bob", "cai", "dan", "eve"]


def test_an_invalid_definition_raises(archive):
    with pytest.raises(DefinitionError):
        segment_customers({"conditions": [{"field": "order_count"}]})


def test_scores_rfm_segment_clv_and_churn_risk(archive):
    from huitouke.analytics.models import CustomerScore

    def score(customer, segment, clv, p_alive):
        CustomerScore.objects.create(
            customer=customer, recency_days=10, frequency=2, monetary=Decimal("100"), r_score=3, f_score=3,
            m_score=3, segment=segment, clv=clv, p_alive=p_alive, computed_at=NOW,
        )  # fmt: skip

    score(archive["ann"], "champions", Decimal("900"), 0.95)
    score(archive["bob"], "new", Decimal("120"), 0.5)
    score(archive["cai"], "at_risk", Decimal("40"), 0.2)
    score(archive["dan"], "lost", None, None)  # no prediction: in no CLV range and no churn band
    assert _one({"field": "rfm_segment", "segments": ["champions", "at_risk"]}) == ["ann", "cai"]
    assert _one({"field": "clv", "min": "100", "max": "900"}) == ["ann", "bob"]
    assert _one({"field": "churn_risk", "bands": ["high"]}) == ["cai"]
    assert _one({"field": "churn_risk", "bands": ["medium", "low"]}) == ["ann", "bob"]
