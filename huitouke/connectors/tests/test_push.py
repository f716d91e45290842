"""The pushed order's shape and its mapping to the import's row (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.connectors.push import MAX_LINES, ShopInfo, batch_rows, shop_names

SHOPS = {"Tea House": ShopInfo(7, "taobao", "Asia/Shanghai"), "Tea EU": ShopInfo(8, "shopify", "Europe/Berlin")}


def order(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "shop": "Tea House",
        "order_no": "A1",
        "buyer_handle": "tea_lover",
        "status": "paid",
        "total_amount": "128.50",
        "created_at": "2026-12-07T10:00:00+08:00",
        "paid_at": "2026-12-07T10:05:00+08:00",
        "lines": [{"product_id": "P1", "title": "Longjing 250 g", "quantity": 2, "price": "64.25"}],
    }
    base.update(over)
    return base


def test_a_valid_order_maps_every_field_to_the_import_row() -> None:
    rows, rejected = batch_rows(
        [
            order(
                buyer_name="Li Lei",
                phone="13800001111",
                email="LI@EXAMPLE.COM",
                province="浙江省",
                city="杭州市",
                district="西湖区",
                address="龙井路 1 号",
                postcode="310000",
                goods_amount="128.50",
                shipping_fee="0",
                carrier="SF",
                tracking_no="SF123",
                buyer_remark="gift wrap",
                seller_memo="vip",
                gift="cup",
                shipped_at="2026-12-07T18:00:00+08:00",
                lines=[
                    {"product_id": "P1", "title": "Longjing", "sku": "250g", "quantity": 2, "price": "50"},
                    {"title": "Cup", "price": "28.50", "amount": "20", "refund_state": "refunded"},
                ],
            )
        ],
        SHOPS,
    )
    assert rejected == []
    [(index, shop_id, row)] = rows
    assert (index, shop_id) == (0, 7)
    assert row.platform == "taobao"  # the shop's
    assert row.email == "li@example.com"
    assert row.paid_amount == Decimal("128.50")  # paid: the total by default
    assert row.ordered_at == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    assert row.logistics_company == "SF"
    assert row.tracking_no == "SF123"
    assert [(ln.line_no, ln.external_id, ln.sku, ln.quantity, ln.unit_price, ln.amount, ln.refund_state)
            for ln in row.lines] == [
        (1, "P1", "250g", 2, Decimal("50"), Decimal("100"), ""),
        (2, "", "", 1, Decimal("28.50"), Decimal("20"), "refunded"),
    ]  # fmt: skip


def test_a_time_without_offset_is_read_in_the_shops_time_zone() -> None:
    rows, _ = batch_rows([order(shop="Tea EU", created_at="2026-07-01T12:00:00", paid_at="2026-07-01T12:30")], SHOPS)
    row = rows[0][2]
    assert row.ordered_at.utcoffset() == timedelta(hours=2)
    assert row.ordered_at.astimezone(UTC) == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert row.platform == "shopify"


def test_pending_order_has_nothing_paid_by_default() -> None:
    rows, _ = batch_rows([order(status="pending", paid_at=None)], SHOPS)
    assert rows[0][2].paid_amount == Decimal(0)


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"status": "sent"}, "status", "Input should be"),
        ({"order_no": ""}, "order_no", "at least 1 character"),
        ({"order_no": "x" * 65}, "order_no", "at most 64 characters"),
        ({"shop": "Nope"}, "shop", "no shop is named 'Nope'"),
        ({"total_amount": "-1"}, "total_amount", "greater than or equal to 0"),
        ({"total_amount": "1.005"}, "total_amount", "2 decimal places"),
        ({"total_amount": "10000000000"}, "total_amount", "less than 10000000000"),
        ({"paid_at": None}, "paid_at", "an order with status paid needs its payment time"),
        ({"created_at": "yesterday"}, "created_at", "valid datetime"),
        ({"lines": [{"title": "x", "quantity": 0}]}, "lines[0].quantity", "greater than or equal to 1"),
        ({"lines": [{"title": ""}]}, "lines[0].title", "at least 1 character"),
        ({"lines": [{"title": "x", "refund_state": "maybe"}]}, "lines[0].refund_state", "Input should be"),
        ({"lines": [{"title": "x"}] * (MAX_LINES + 1)}, "lines", f"at most {MAX_LINES} items"),
        ({"order_number": "A1"}, "order_number", "Extra inputs are not permitted"),
        ({"buyer_remark": "a\x00b"}, "buyer_remark", "control character"),
        ({"buyer_handle": None}, "buyer_handle", "valid string"),
    ],
)
def test_a_bad_order_is_rejected_naming_its_field(over: dict[str, Any], field: str, message: str) -> None:
    rows, rejected = batch_rows([order(order_no="ok"), order(**over)], SHOPS)
    assert [i for i, _s, _r in rows] == [0]
    [rejection] = rejected
    assert (rejection.index, rejection.field) == (1, field)
    assert message in rejection.message


def test_a_non_object_and_a_repeated_order_are_rejected_by_index() -> None:
    rows, rejected = batch_rows([order(), "A2", order(), order(shop="Tea EU")], SHOPS)
    assert [(i, s) for i, s, _r in rows] == [(0, 7), (3, 8)]  # one number in two shops is two orders
    assert [r.as_json() for r in rejected] == [
        {"index": 1, "field": "order", "message": "an order is a JSON object"},
        {"index": 2, "field": "order_no", "message": "the same order is at index 0 of this batch"},
    ]


def test_shop_names_ignores_what_is_not_a_name() -> None:
    assert shop_names([order(), {"shop": 3}, "x", order(shop=" Tea EU ")]) == {"Tea House", "Tea EU"}


@given(
    st.lists(
        st.one_of(
            st.builds(order, status=st.sampled_from(["paid", "pending", "bogus"]), total_amount=st.decimals(-5, 5)),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
            st.integers(),
        ),
        max_size=8,
    )
)
@settings(deadline=None)
def test_every_item_is_either_a_row_or_a_rejection(items: list[Any]) -> None:
    rows, rejected = batch_rows(items, SHOPS)
    indexes = sorted([i for i, _s, _r in rows] + [r.index for r in rejected])
    assert indexes == list(range(len(items)))


def test_offsets_other_than_the_shops_are_kept() -> None:
    rows, _ = batch_rows([order(created_at=datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=-5))))], SHOPS)
    assert rows[0][2].ordered_at == datetime(2026, 1, 1, 14, tzinfo=UTC)


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\x00\x07\x0b \t\ufffe"))


@given(
    st.lists(
        st.builds(
            order,
            order_no=_TEXT,
            buyer_name=_TEXT | st.integers() | st.none(),
            buyer_remark=_TEXT,
            status=st.sampled_from(["paid", "pending", "paid\x00", " paid"]),
            lines=st.lists(
                st.fixed_dictionaries({"title": _TEXT, "price": st.sampled_from(["1", "x", 2, None])})
                | st.sampled_from(["line", 3]),
                max_size=3,
            ),
        ),
        max_size=6,
    )
)
@settings(deadline=None)
def test_the_quick_validation_gives_what_the_checked_one_gives(items: list[Any]) -> None:
    # an order free of control characters skips the per-field check (push._quick): same rows, same rejections
    from huitouke.connectors import push

    quick = batch_rows(items, SHOPS)
    checked_only = push._quick
    try:
        push._quick = lambda item: False
        assert batch_rows(items, SHOPS) == quick
    finally:
        push._quick = checked_only
