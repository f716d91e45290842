"""The pure side of the staged import: COPY text encoding and batch encoding (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from huitouke.orders.feed import LINE_STAGE_COLUMNS, ORDER_STAGE_COLUMNS, Encoder, copy_cell, copy_line
from huitouke.orders.importers.rows import LineRow, OrderRow


def test_copy_cells_follow_postgresqls_text_format():
    assert copy_cell(None) == "\\N"
    assert (copy_cell(True), copy_cell(False)) == ("t", "f")
    assert copy_cell("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_cell(Decimal("12.50")) == "12.50"
    assert copy_cell(7) == "7"
    assert copy_cell(datetime(2025, 6, 18, 2, 0, tzinfo=UTC)) == "2025-06-18 02:00:00+00:00"
    assert copy_line(("x", None, 3)) == "x\t\\N\t3\n"


def test_values_that_would_be_stored_wrong_are_refused():
    with pytest.raises(ValueError, match="naive"):
        copy_cell(datetime(2025, 6, 18, 2, 0))
    with pytest.raises(TypeError, match="float"):
        copy_cell(1.5)


def _order(no: str, shop: str = "山岚茶食", paid: str = "10.00") -> OrderRow:
    when = datetime(2025, 6, 18, 2, 0, tzinfo=UTC)
    line = LineRow(1, "龙井 250g", "", "LJ-250", 1, Decimal(paid), Decimal(paid), "", "")
    return OrderRow(
        row_no=2, order_no=no, platform="taobao", shop_name=shop, buyer_handle="tb_a", buyer_name="张**",
        phone="138****1234", email="", province="浙江省", city="杭州市", district="西湖区", address="文三路1号",
        postcode="310000", status="completed", goods_amount=Decimal(paid), shipping_fee=Decimal(0),
        total_amount=Decimal(paid), paid_amount=Decimal(paid), refund_amount=Decimal(0), ordered_at=when,
        paid_at=when, shipped_at=None, confirmed_at=None, logistics_company="", tracking_no="", buyer_remark="",
        seller_memo="", lines=(line,),
    )  # fmt: skip


def test_a_batch_keeps_the_last_row_of_a_repeated_order_and_asks_for_each_shop_once():
    asked: list[tuple[str, str]] = []

    def shop_id(name: str, platform: str) -> int:
        asked.append((name, platform))
        return len(asked)

    encoder = Encoder(shop_id)
    batch = encoder.encode([_order("1", paid="10.00"), _order("2", shop="别家"), _order("1", paid="12.00")])
    again = encoder.encode([_order("3")])

    orders = [line.split("\t") for line in batch.orders.decode().splitlines()]
    assert batch.count == 2
    assert [(o[0], o[1], o[2]) for o in orders] == [("1", "2", "2"), ("2", "1", "1")]  # seq, shop, number
    assert orders[1][ORDER_STAGE_COLUMNS.index("paid_amount")] == "12.00"
    assert orders[0][ORDER_STAGE_COLUMNS.index("real_name")] == ""  # a masked name is no name
    lines = [line.split("\t") for line in batch.lines.decode().splitlines()]
    assert [ln[LINE_STAGE_COLUMNS.index("pkey")] for ln in lines] == ["LJ-250", "LJ-250"]
    assert asked == [("山岚茶食", "taobao"), ("别家", "taobao")]
    assert again.count == 1
