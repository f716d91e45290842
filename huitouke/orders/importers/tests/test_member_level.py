"""Issue #14 item 21: every importer reads an optional member-level column (会员级别 / 会员等级 / Member level) into
`OrderRow.member_level`; a file without one leaves it empty. The golden files get the column appended, with the
row's value, in the file's own encoding."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from huitouke.orders.importers import OrderRow, parse_orders
from huitouke.orders.importers.table import _sniff_encoding

GOLDEN = Path(__file__).parent / "golden"

CASES = [
    ("taobao_54_ExportOrderList202403.csv", "taobao", "会员级别"),
    ("taobao_41_ExportOrderList202402.csv", "taobao", "会员等级"),
    ("jd_orders_20250305.csv", "jd", "会员等级"),
    ("pdd_orders_20250302.csv", "pdd", "会员级别"),
    ("shopify_orders_export_1.csv", "shopify", "Member level"),
    ("woocommerce_orders_2025-09.csv", "woocommerce", "member level"),
]


def _with_level_column(source: Path, target: Path, header: str) -> None:
    raw = source.read_bytes()
    encoding = _sniff_encoding(raw[:65536])
    rows = list(csv.reader(io.StringIO(raw.decode(encoding))))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*rows[0], header])
    for i, row in enumerate(rows[1:]):
        writer.writerow([*row, f" 等级{i % 3} " if row else ""])
    target.write_bytes(out.getvalue().encode(encoding))


@pytest.mark.parametrize(("name", "fmt", "header"), CASES)
def test_each_format_reads_the_member_level_column(tmp_path, name, fmt, header):
    path = tmp_path / name
    _with_level_column(GOLDEN / name, path, header)

    detected, stream = parse_orders(path)
    orders = [r for r in stream if isinstance(r, OrderRow)]
    _fmt, plain = parse_orders(GOLDEN / name)
    plain_orders = [r for r in plain if isinstance(r, OrderRow)]

    assert detected == fmt
    assert orders
    assert len(orders) == len(plain_orders)
    # the level of the order's first row, trimmed (the value is 等级<data row index mod 3>)
    assert [o.member_level for o in orders] == [f"等级{(o.row_no - 2) % 3}" for o in orders]
    assert all(o.member_level == "" for o in plain_orders)
    # nothing else changes
    assert [o.order_no for o in orders] == [o.order_no for o in plain_orders]


def test_the_generic_mapping_reads_the_member_level_column():
    _fmt, stream = parse_orders(GOLDEN / "archive_seed004.csv", fmt="generic")
    raw = list(csv.DictReader(io.StringIO((GOLDEN / "archive_seed004.csv").read_bytes().decode("utf-8-sig"))))

    orders = [r for r in stream if isinstance(r, OrderRow)]

    assert orders
    assert [o.member_level for o in orders] == [raw[o.row_no - 2]["会员级别"].strip() for o in orders]
    assert {o.member_level for o in orders} - {""}
