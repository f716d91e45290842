"""The pure side of the staged import: COPY text encoding and batch encoding (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from huitouke.core.pii_crypto import PiiCipher
from huitouke.orders.feed import (
    CELL_SEP,
    LINE_STAGE_COLUMNS,
    ORDER_STAGE_COLUMNS,
    POSTGRESQL,
    ROW_SEP,
    SQLITE,
    Encoder,
    RowFormat,
    batched_into,
    copy_cell,
    copy_line,
    fingerprint_key,
    order_fingerprint,
    sqlite_cell,
)
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError


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


CIPHER = PiiCipher([Fernet.generate_key()], b"feed test digests")


class _Repeatable(PiiCipher):
    """Seals by a fixed rule, so that two encodings of the same rows can be compared whole."""

    def seal(self, value: str) -> str:
        return f"sealed:{value}" if value else ""


REPEATABLE = _Repeatable([Fernet.generate_key()], b"feed test digests")


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

    encoder = Encoder(shop_id, cipher=CIPHER)
    batch = encoder.encode([_order("1", paid="10.00"), _order("2", shop="别家"), _order("1", paid="12.00")])
    again = encoder.encode([_order("3")])

    assert isinstance(batch.orders, bytes)
    assert isinstance(batch.lines, bytes)
    orders = [line.split("\t") for line in batch.orders.decode().splitlines()]
    assert batch.count == 2
    assert [(o[0], o[1], o[2]) for o in orders] == [("1", "2", "2"), ("2", "1", "1")]  # seq, shop, number
    assert orders[1][ORDER_STAGE_COLUMNS.index("paid_amount")] == "12.00"
    assert orders[0][ORDER_STAGE_COLUMNS.index("real_name")] == ""  # a masked name is no name
    # personal data is sealed (a masked phone's token marked with "*"), its digests beside it
    phone = orders[0][ORDER_STAGE_COLUMNS.index("phone")]
    assert phone.startswith("*pii1:")
    assert CIPHER.open(phone) == "138****1234"
    assert CIPHER.open(orders[0][ORDER_STAGE_COLUMNS.index("address")]) == "文三路1号"
    assert orders[0][ORDER_STAGE_COLUMNS.index("phone_last4_digest")] == CIPHER.last4_digest("1234")
    assert orders[0][ORDER_STAGE_COLUMNS.index("email_digest")] == ""
    lines = [line.split("\t") for line in batch.lines.decode().splitlines()]
    assert [ln[LINE_STAGE_COLUMNS.index("pkey")] for ln in lines] == ["LJ-250", "LJ-250"]
    assert asked == [("山岚茶食", "taobao"), ("别家", "taobao")]
    assert again.count == 1


def test_a_sqlite_batch_holds_the_same_rows_as_the_values_sqlite_binds():
    rows = [_order("1", paid="10.00"), _order("2", shop="别家")]
    postgres = Encoder(lambda name, platform: 7, cipher=CIPHER).encode(rows)
    sqlite = Encoder(lambda name, platform: 7, SQLITE, cipher=CIPHER).encode(rows)

    assert isinstance(sqlite.orders, str)
    assert isinstance(sqlite.lines, str)
    assert sqlite.count == postgres.count == 2
    first = dict(zip(ORDER_STAGE_COLUMNS, sqlite.orders.split(ROW_SEP)[0].split(CELL_SEP), strict=True))
    assert (first["seq"], first["shop_id"], first["order_no"], first["paid_amount"]) == ("0", "7", "1", "10.00")
    assert first["ordered_at"] == "2025-06-18 02:00:00"  # naive UTC text, as Django stores it on SQLite
    assert first["shipped_at"] == first["accepts_marketing"] == ""  # NULL
    assert [len(line.split(CELL_SEP)) for line in sqlite.lines.split(ROW_SEP)] == [len(LINE_STAGE_COLUMNS)] * 2
    assert sqlite.odd_orders == sqlite.odd_lines == []


def test_a_stream_is_encoded_in_batches_as_it_is_parsed():
    # given: a parsed stream of five orders (one repeated) with a rejected row between them
    rows = [dataclasses.replace(_order(str(n)), row_no=n + 1) for n in range(1, 5)]
    again = dataclasses.replace(_order("3", paid="99.00"), row_no=7)
    bad = RowError(4, "订单编号", "x", "not an order number")
    stream: list[OrderRow | RowError] = [rows[0], rows[1], bad, rows[2], rows[3], again]
    for dialect in (POSTGRESQL, SQLITE):
        encoder = Encoder(lambda name, platform: 1, dialect, cipher=REPEATABLE)

        # when: cut into batches of three after a first batch of one, each encoded as its rows come
        batches = [(b.encoded(), e, last) for b, e, last in batched_into(stream, encoder.batch, 3, first=1)]

        # then: the sizes, the rejected row with the batch it was met in, and each batch as `encode` gives it
        assert [(b.count, e, last) for b, e, last in batches] == [(1, [], 2), (3, [bad], 5), (1, [], 7)]
        assert batches[0][0] == encoder.encode(rows[:1])
        assert batches[1][0] == encoder.encode([rows[1], rows[2], rows[3]])
        assert batches[2][0] == encoder.encode([again])


_texts = st.text(alphabet=st.sampled_from("ab龙\t\n\r\\\x1e\x1f "), max_size=6)
_times = st.none() | st.datetimes(timezones=st.timezones(), allow_imaginary=False)
_amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
_lines = st.tuples(
    st.integers(0, 10**5), st.integers(1, 99), _texts, st.integers(1, 99), _texts, _texts, st.integers(1, 999),
    _amounts, _amounts, _texts,
)  # fmt: skip


@given(_lines, _times, st.none() | st.booleans())
def test_the_fast_row_formats_give_what_the_general_encoders_give(line, when, flag):
    lines = RowFormat(LINE_STAGE_COLUMNS)
    assert lines.copy(line) == copy_line(line)
    text = lines.sqlite(line)
    if text is None:
        assert any(ROW_SEP in c or CELL_SEP in c for c in line if isinstance(c, str))
    else:
        assert text.split(CELL_SEP) == [str(sqlite_cell(v)) for v in line]
    # the nullable kinds: times and flags
    probe = RowFormat(("seq", "paid_at", "accepts_marketing"))
    record = (1, when, flag)
    assert probe.copy(record) == copy_line(record)
    assert probe.sqlite(record) == CELL_SEP.join("" if v is None else str(sqlite_cell(v)) for v in record)


@given(st.datetimes(timezones=st.timezones()) | st.booleans() | st.decimals(allow_nan=False, allow_infinity=False))
def test_sqlite_cells_are_text_numbers_or_none(value):
    cell = sqlite_cell(value)
    if isinstance(value, bool):
        assert cell == int(value)
    elif isinstance(value, Decimal):
        assert Decimal(cell) == value
    else:
        assert cell == str(value.astimezone(UTC).replace(tzinfo=None))


def test_an_order_row_is_the_copy_of_its_cells_and_carries_its_fingerprint():
    # a remark with a tab and a newline, a line title with a backslash: the COPY row is built in parts (the head,
    # the values the fingerprint digests, the fingerprint), each escaped as the whole row would be
    odd = dataclasses.replace(_order("7"), buyer_remark="先发\t顺丰\n谢谢", seller_memo="a\\b")
    odd = dataclasses.replace(odd, lines=(dataclasses.replace(odd.lines[0], title="龙井\\特级"),))
    for row in (_order("6"), odd):
        batch = Encoder(lambda name, platform: 4, cipher=REPEATABLE).encode([row])
        assert isinstance(batch.orders, bytes)
        cells = batch.orders.decode().removesuffix("\n").split("\t")
        assert len(cells) == len(ORDER_STAGE_COLUMNS)
        key = fingerprint_key(REPEATABLE)
        fingerprint = order_fingerprint(key, REPEATABLE, row)
        assert cells[-1] == str(fingerprint)
        whole = dict(zip(ORDER_STAGE_COLUMNS, cells, strict=True))
        assert whole["buyer_remark"] == copy_cell(row.buyer_remark[:1000])
        assert whole["seller_memo"] == copy_cell(row.seller_memo)
        assert isinstance(batch.lines, bytes)
        assert batch.lines.decode().split("\t")[LINE_STAGE_COLUMNS.index("title")] == copy_cell(row.lines[0].title)
        sqlite = Encoder(lambda name, platform: 4, SQLITE, cipher=REPEATABLE).encode([row])
        assert isinstance(sqlite.orders, str)
        stored = sqlite.odd_orders[0] if sqlite.odd_orders else tuple(sqlite.orders.split(CELL_SEP))
        assert str(stored[-1]) == str(fingerprint)  # the same digest whichever database it is staged for
    assert order_fingerprint(key, REPEATABLE, odd) != order_fingerprint(key, REPEATABLE, _order("7"))


def test_a_deferred_batch_stages_profile_shapes_and_carries_the_clear_profiles():
    # given: two orders of one buyer and one of another, whose phone is whole and email set
    other = dataclasses.replace(_order("3"), buyer_handle="tb_b", phone="13900001111", email="A@B.cn")
    rows = [_order("1"), _order("2"), other]
    for dialect in (POSTGRESQL, SQLITE):
        # when: encoded with the profiles left to the writer
        batch = Encoder(lambda name, platform: 1, dialect, cipher=CIPHER, defer_profiles=True).encode(rows)

        # then: each distinct profile once, in the clear, and per row its index
        assert batch.profiles == [
            ("", "138****1234", "", "浙江省", "杭州市", "西湖区", "文三路1号"),
            ("", "13900001111", "a@b.cn", "浙江省", "杭州市", "西湖区", "文三路1号"),
        ]
        assert batch.profile_of == [0, 0, 1]
        # and the staged rows hold the shapes only: emptiness and masking of the sealed fields, no digest
        if dialect == POSTGRESQL:
            assert isinstance(batch.orders, bytes)
            staged = [line.split("\t") for line in batch.orders.decode().splitlines()]
        else:
            assert isinstance(batch.orders, str)
            staged = [line.split(CELL_SEP) for line in batch.orders.split(ROW_SEP)]
        profile = slice(ORDER_STAGE_COLUMNS.index("real_name"), ORDER_STAGE_COLUMNS.index("real_name_digest") + 1)
        assert staged[0][profile] == ["", "*", "", "浙江省", "杭州市", "西湖区", "-", "", "", "", ""]
        assert staged[2][profile] == ["", "-", "-", "浙江省", "杭州市", "西湖区", "-", "", "", "", ""]
