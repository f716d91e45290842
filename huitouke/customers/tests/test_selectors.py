"""Customer list, search, filters and timeline against the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer
from huitouke.customers.selectors import (
    CustomerFilter,
    customer_count,
    customer_get,
    customer_list,
    customer_list_rows,
    customer_timeline,
)
from huitouke.customers.services import customer_merge, customers_tag, note_add
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


def names(qs):
    return sorted(c.name for c in qs)


@pytest.fixture
def archive():
    zhang = CustomerFactory.create(name="张小凡", real_name="张凡", phone="13812345678", email="zhang@example.com")
    IdentityFactory.create(customer=zhang, platform="taobao", handle="小鱼爱喝茶")
    li = CustomerFactory.create(name="李四", phone="139****0000", email="li@example.org")
    IdentityFactory.create(customer=li, platform="taobao", handle="tb_88241")
    tom = CustomerFactory.create(name="Tom", email="tom@shop.com")
    IdentityFactory.create(customer=tom, platform="shopify", handle="tom@shop.com")
    return {"zhang": zhang, "li": li, "tom": tom}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("张小凡", ["张小凡"]),  # exact name
        ("张", ["张小凡"]),  # name prefix
        ("张凡", ["张小凡"]),  # real name
        ("小鱼", ["张小凡"]),  # handle prefix
        ("tb_882", ["李四"]),
        ("13812345678", ["张小凡"]),  # full phone
        # phones and emails are encrypted at rest: found by the whole value (or a phone's last four digits) only,
        # whoever searches
        ("138 1234", []),
        ("+86 138-1234-5678", ["张小凡"]),
        ("5678", ["张小凡"]),
        ("139****0000", ["李四"]),  # masked phones as exported
        ("li@ex", []),
        ("li@example.org", ["李四"]),
        ("TOM@SHOP.COM", ["Tom"]),  # email is stored lower case
        ("tom@shop.com", ["Tom"]),  # handle and email match one customer once
        ("nobody", []),
    ],
)
def test_search_exact_and_prefix_for_viewers_who_see_contact_data(archive, q, expected):
    assert names(customer_list(filters=CustomerFilter(search=q, contact_prefix=True))) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("张", ["张小凡"]),  # name prefix stays
        ("张凡", ["张小凡"]),  # real name prefix stays
        ("小鱼", ["张小凡"]),  # a handle that is no contact data: prefix stays
        ("tb_882", ["李四"]),
        ("13812345678", ["张小凡"]),  # the whole phone
        ("+86 138-1234-5678", ["张小凡"]),
        ("5678", ["张小凡"]),  # its last four digits
        ("0000", ["李四"]),  # the last four of a phone stored masked
        ("139****0000", ["李四"]),  # a masked phone as the archive stores it, whole
        ("TOM@SHOP.COM", ["Tom"]),  # the whole email (and handle), any case
        ("zhang@example.com", ["张小凡"]),
        # never by prefix: the oracle of issue 14 (136****0792 read digit by digit)
        ("138", []),
        ("1381", []),  # four digits are the last four, not a prefix
        ("13812", []),
        ("138123", []),
        ("1381234", []),
        ("138 1234", []),
        ("1381234567", []),
        ("138123456", []),
        ("139", []),
        ("li@ex", []),
        ("zhang@", []),
        ("zh", []),
        ("tom@", []),
        ("tom@shop.co", []),
    ],
)
def test_search_without_unmask_finds_contact_data_only_by_the_whole_value_or_last_four(archive, q, expected):
    filters = CustomerFilter.from_params({"search": q})
    assert filters.contact_prefix is False
    assert names(customer_list(filters=filters)) == expected
    assert customer_count(filters=filters) == len(expected)


def test_a_handle_that_is_a_phone_or_email_is_not_found_by_prefix_without_unmask(archive):
    IdentityFactory.create(customer=archive["li"], platform="pdd", handle="13601230792")
    IdentityFactory.create(customer=archive["li"], platform="woocommerce", handle="hwilson@yahoo.com")

    def found(q, **kw):
        return names(customer_list(filters=CustomerFilter.from_params({"search": q}, **kw)))

    assert [found(q) for q in ("136", "1360", "13601", "1360123", "1360123079")] == [[]] * 5
    assert [found(q) for q in ("h", "hw", "hwilson", "hwilson@", "hwilson@yahoo")] == [[]] * 5
    assert found("13601230792") == ["李四"]
    assert found("hwilson@yahoo.com") == ["李四"]
    assert found("13601", unmasked=True) == ["李四"]
    assert found("hwil", unmasked=True) == ["李四"]


@pytest.mark.parametrize(
    ("q", "index"),
    [
        ("5678", "customer_phone_last4_dg_idx"),
        ("13812345678", "customer_phone_dg_idx"),
        ("zhang@example.com", "customer_email_dg_idx"),
    ],
)
def test_contact_searches_use_their_digest_index(archive, q, index):
    from django.db import connection

    CustomerFactory.create_batch(300, phone="13900000000", email="other@example.com")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    qs = customer_list(filters=CustomerFilter.from_params({"search": q}))
    plan = qs.explain()
    assert index in plan
    assert names(qs) == ["张小凡"]


def test_contact_data_is_stored_encrypted_and_found_by_digest(archive):
    from django.db import connection

    from huitouke.core.pii_fields import pii_cipher

    with connection.cursor() as cur:
        cur.execute(
            "SELECT phone, email, real_name, address, phone_digest FROM customers_customer WHERE id = %s",
            [archive["zhang"].pk],
        )
        phone, email, real_name, _address, digest = cur.fetchone()
    assert phone.startswith("pii1:")
    assert "13812345678" not in phone
    assert "zhang" not in email
    assert pii_cipher().open(phone) == "13812345678"
    assert pii_cipher().open(real_name) == "张凡"
    assert digest == pii_cipher().phone_digest("138-1234-5678")
    assert Customer.objects.get(pk=archive["zhang"].pk).email == "zhang@example.com"


@pytest.mark.parametrize(
    "q",
    ["' OR 1=1 --", "%", "_", "\\", "<img src=x onerror=alert(1)>", "🍵🍪", "a" * 10_240, "\x00abc", "'; DROP TABLE x"],
)
def test_search_with_hostile_strings_never_fails(archive, q):
    filters = CustomerFilter.from_params({"search": q})
    assert len(filters.search) <= 128
    assert names(customer_list(filters=filters)) == []


def test_filters_combine(archive):
    shop = ShopFactory.create(name="s1")
    other = ShopFactory.create(name="s2")
    zhang, li = archive["zhang"], archive["li"]
    OrderFactory.create(
        shop=shop, customer=zhang, paid_amount=Decimal("500"), ordered_at=datetime(2025, 6, 1, tzinfo=UTC)
    )
    OrderFactory.create(
        shop=shop, customer=zhang, paid_amount=Decimal("20"), ordered_at=datetime(2025, 11, 11, tzinfo=UTC)
    )
    OrderFactory.create(shop=other, customer=li, paid_amount=Decimal("80"), ordered_at=datetime(2024, 2, 1, tzinfo=UTC))
    customer_stats_refresh()
    Customer.objects.filter(pk__in=[zhang.pk, li.pk]).update(province="浙江省")
    customers_tag(customer_ids=[zhang.pk, li.pk], tag_name="老客户")

    def run(**params):
        return names(customer_list(filters=CustomerFilter.from_params(params)))

    assert run(tag="老客户", province="浙江省") == ["张小凡", "李四"]
    assert run(shop=str(shop.pk)) == ["张小凡"]
    assert run(shop=str(other.pk)) == ["李四"]
    assert run(spent_min="100") == ["张小凡"]
    assert run(spent_max="100") == ["Tom", "李四"]
    assert run(orders_min="2") == ["张小凡"]
    assert run(orders_max="1") == ["Tom", "李四"]
    assert run(last_order_from="2025-01-01") == ["张小凡"]
    assert run(last_order_to="2024-12-31") == ["李四"]
    assert run(shop="abc") == []


def test_level_filter_and_annotation(archive):
    shop = ShopFactory.create(name="s1")
    levels = levels_set(
        shop=shop,
        specs=[LevelSpec("普通会员", Decimal("0"), 1, 100), LevelSpec("VIP", Decimal("300"), 5, 95)],
    )
    OrderFactory.create(shop=shop, customer=archive["zhang"], paid_amount=Decimal("300"))
    OrderFactory.create(shop=shop, customer=archive["li"], paid_amount=Decimal("10"))
    levels_regrade()

    rows = {c.name: c.level for c in customer_list_rows(customer_list())}  # type: ignore[attr-defined]  # annotated by loyalty
    vip = customer_list(filters=CustomerFilter.from_params({"level": str(levels[1].pk)}))

    assert rows == {"张小凡": "VIP", "李四": "普通会员", "Tom": None}
    assert names(vip) == ["张小凡"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"spent_min": "abc"}, "spent_min"),
        ({"spent_max": "-5"}, "spent_max"),
        ({"spent_min": "NaN"}, "spent_min"),
        ({"orders_min": "1.5"}, "orders_min"),
        ({"last_order_from": "2025-13-01"}, "last_order_from"),
        ({"sort": "password"}, "sort"),
    ],
)
def test_bad_filter_values_name_the_parameter(params, field):
    with pytest.raises(ApplicationError) as exc:
        CustomerFilter.from_params(params)
    assert exc.value.field == field


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("spent", ["big", "mid", "small"]), ("-spent", ["small", "mid", "big"]), ("orders", ["mid", "big", "small"])],
)
def test_sorting(sort, expected):
    CustomerFactory.create(name="big", total_spent=Decimal("900"), order_count=2)
    CustomerFactory.create(name="mid", total_spent=Decimal("500"), order_count=7)
    CustomerFactory.create(name="small", total_spent=Decimal("10"), order_count=1)
    assert [c.name for c in customer_list(filters=CustomerFilter(sort=sort))] == expected


def test_merged_customers_leave_the_list_but_stay_reachable(manager):
    a, b = CustomerFactory.create(name="a"), CustomerFactory.create(name="b")
    customer_merge(source_id=a.pk, target_id=b.pk, actor=manager)
    assert names(customer_list()) == ["b"]
    assert customer_get(customer_id=a.pk).merged_into_id == b.pk


def test_timeline_merges_notes_and_orders_newest_first(owner):
    customer = CustomerFactory.create()
    OrderFactory.create(customer=customer, order_no="A1", ordered_at=datetime(2020, 1, 1, tzinfo=UTC))
    note_add(customer=customer, author=owner, body="hello")

    events = customer_timeline(customer=customer)

    assert [e.kind for e in events] == ["note", "order"]
    assert "A1" in events[1].title
    assert events[0].at.date() > date(2020, 1, 1)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"search": "张"},
        {"search": "tb_"},
        {"search": "1"},
        {"search": "李四", "province": "浙江省"},
        {"search": "x"},
    ],
)
def test_customer_count_matches_the_list(archive, manager, params):
    extra = CustomerFactory.create(name="张三丰")
    IdentityFactory.create(customer=extra, platform="jd", handle="tb_not_taobao")
    gone = CustomerFactory.create(name="张旧", phone="13812340000")
    customer_merge(source_id=gone.pk, target_id=extra.pk, actor=manager)
    filters = CustomerFilter.from_params(params)

    assert customer_count(filters=filters) == len(customer_list(filters=filters))


def test_a_broad_search_lists_at_most_the_cap_but_counts_all(monkeypatch):
    from huitouke.customers import selectors

    monkeypatch.setattr(selectors, "SEARCH_CAP", 2)
    for i in range(3):
        CustomerFactory.create(name=f"陈{i}")
    CustomerFactory.create(name="王")
    filters = CustomerFilter(search="陈")

    assert len(customer_list(filters=filters)) == 2
    assert len(customer_list(filters=filters, capped=False)) == 3  # exports take every match
    assert customer_count(filters=filters) == 3
    assert customer_count(filters=CustomerFilter(search="陈", orders_max=5)) == 3


def test_province_list_is_distinct_and_sorted():
    from huitouke.customers.selectors import province_list

    for province in ["浙江省", "北京市", "浙江省", "", "广东省", "北京市"]:
        CustomerFactory.create(province=province)
    assert province_list() == sorted(["浙江省", "北京市", "广东省"])
