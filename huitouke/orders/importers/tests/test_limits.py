"""The work a file can cause is bounded: oversized and broken cells are row errors (the rows after them are still
read), a truncated file is reported as cut off, and an XLSX is read by the cells it holds, not the size it claims.

Every file is crafted here, byte by byte where it matters."""

from __future__ import annotations

import re
import signal
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import Workbook

from huitouke.orders.importers import ImportFileError, OrderRow, RowError, parse_orders, table
from huitouke.orders.importers.table import CELL_TOO_LONG, MAX_CELL, TRUNCATED

HEADER = (
    "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,订单状态,订单创建时间,宝贝标题,宝贝总数量"
)


def order(n: int, title: str = "茶") -> str:
    return f"{n},tb_{n},10.00,0,10.00,10.00,交易成功,2024-02-25 22:00:54,{title},1"


def run(path: Path) -> list[OrderRow | RowError]:
    _fmt, stream = parse_orders(path)
    return list(stream)


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the block takes longer than `seconds`."""

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------------------------------------------- CSV


def test_a_10_mb_cell_is_one_row_error_and_the_rows_after_it_are_read(tmp_path):
    # given 20 orders, the third (row 4) with a 10 MB title
    lines = [HEADER, *(order(n) for n in range(1, 21))]
    lines[3] = order(3, "长" * 10_000_000)
    path = tmp_path / "orders.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    rows = run(path)
    # then row 4 is reported by its column, and all 19 other orders come out
    errors = [r for r in rows if isinstance(r, RowError)]
    assert errors == [RowError(4, "宝贝标题", "长" * 60 + "… (10,000,000 characters)", CELL_TOO_LONG)]
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == [str(n) for n in range(1, 21) if n != 3]


def test_a_cell_beyond_the_csv_readers_own_limit_is_reported_and_reading_goes_on(tmp_path, monkeypatch):
    # given a record the csv module refuses (its field limit, lowered here to keep the file small)
    import csv

    old = csv.field_size_limit(1000)
    try:
        lines = [HEADER, order(1), order(2, "x" * 5000), order(3)]
        path = tmp_path / "orders.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows = run(path)
    finally:
        csv.field_size_limit(old)
    assert rows[1] == RowError(3, "", "", "unreadable CSV record: field larger than field limit (1000)")
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["1", "3"]


def test_a_gb18030_file_cut_in_the_middle_of_a_character_is_reported_as_truncated(tmp_path):
    # given a small GB18030 file whose last byte is the first half of 茶
    body = ("\r\n".join([HEADER, order(1), order(2)[: -len(",1")]])).encode("gb18030")
    assert body.endswith("茶".encode("gb18030"))
    path = tmp_path / "orders.csv"
    path.write_bytes(body[:-1])
    rows = run(path)
    # then the file is read (not refused as "neither UTF-8 nor GBK") and its last row is reported as cut off
    assert isinstance(rows[0], OrderRow)
    assert rows[1] == RowError(3, "宝贝标题", "\ufffd", TRUNCATED)


def test_a_large_gb18030_file_cut_mid_character_names_its_last_row(tmp_path):
    # given a file larger than the 64 KB sample, cut inside its last character
    lines = [HEADER, *(order(n) for n in range(1, 3001))]
    body = "\r\n".join(lines).encode("gb18030")[: -len(",1")]
    path = tmp_path / "orders.csv"
    path.write_bytes(body[:-1])
    rows = run(path)
    assert len([r for r in rows if isinstance(r, OrderRow)]) == 2999
    assert rows[-1] == RowError(3001, "宝贝标题", "\ufffd", TRUNCATED)


def test_too_many_rows_stop_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(table, "MAX_ROWS", 3)
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *(order(n) for n in range(1, 6))]) + "\n", encoding="utf-8")
    rows = run(path)
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["1", "2", "3"]
    assert rows[-1] == RowError(5, "", "", "the file has more than 3 rows; split it")


def test_a_header_with_too_many_columns_is_refused(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "," + ",".join(f"c{i}" for i in range(1000)) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="more than 1,000 columns"):
        run(path)


# ------------------------------------------------------------------------------------------------------ XLSX


def xlsx(path: Path, rows: list[list[str]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def rewrite(path: Path, member: str, change) -> None:
    """Rewrite one member of a zip in place with `change(text) -> text`."""
    with zipfile.ZipFile(path) as src:
        contents = {m.filename: src.read(m) for m in src.infolist()}
    contents[member] = change(contents[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in contents.items():
            dst.writestr(name, data)


def order_cells(n: int, title: str = "茶") -> list[str]:
    return order(n, title).split(",")


def test_an_xlsx_declaring_a_huge_sheet_is_read_by_the_cells_it_holds(tmp_path):
    # given a small workbook whose sheet claims A1:XFD1048576 (17 billion cells)
    path = xlsx(tmp_path / "orders.xlsx", [HEADER.split(","), order_cells(1), order_cells(2)])
    rewrite(
        path,
        "xl/worksheets/sheet1.xml",
        lambda x: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', x),
    )
    assert path.stat().st_size < 10_000
    # then it is read in a moment, both orders
    with at_most(10):
        rows = run(path)
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["1", "2"]
    assert len(rows) == 2


def test_an_xlsx_cell_far_away_costs_nothing_and_rows_it_only_claims_are_capped(tmp_path, monkeypatch):
    # given a workbook with one cell at XFD and a row numbered past the cap
    monkeypatch.setattr(table, "MAX_ROWS", 1000)
    path = xlsx(tmp_path / "orders.xlsx", [HEADER.split(","), order_cells(1)])

    def far(x: str) -> str:
        extra = '<row r="3"><c r="XFD3" t="inlineStr"><is><t>far</t></is></c></row>'
        extra += '<row r="99999999"><c r="A99999999" t="inlineStr"><is><t>9</t></is></c></row>'
        return x.replace("</sheetData>", extra + "</sheetData>")

    rewrite(path, "xl/worksheets/sheet1.xml", far)
    with at_most(10):
        rows = run(path)
    assert isinstance(rows[0], OrderRow)
    assert rows[-1] == RowError(1002, "", "", "the sheet has more than 1,000 rows; split it")


def test_an_xlsx_with_a_cell_over_the_limit_rejects_that_row_only(tmp_path):
    # given a workbook whose second order has a title one character over the limit (written into the XML: the
    # writer would not make such a cell)
    cells = [HEADER.split(","), order_cells(1), order_cells(2, "LONG"), order_cells(3)]
    path = xlsx(tmp_path / "orders.xlsx", cells)
    rewrite(path, "xl/worksheets/sheet1.xml", lambda x: x.replace(">LONG<", ">" + "x" * (MAX_CELL + 1) + "<"))
    rows = run(path)
    assert rows[1] == RowError(3, "宝贝标题", "x" * 60 + "… (32,768 characters)", CELL_TOO_LONG)
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["1", "3"]


def test_an_xlsx_holding_a_huge_cell_is_refused_before_it_is_read(tmp_path, monkeypatch):
    # given a workbook holding one 20 MB cell (it compresses to a few KB)
    path = xlsx(tmp_path / "orders.xlsx", [HEADER.split(","), order_cells(1, "BIG")])
    rewrite(path, "xl/worksheets/sheet1.xml", lambda x: x.replace(">BIG<", ">" + "A" * 20_000_000 + "<"))
    assert path.stat().st_size < 200_000

    def never(*_a, **_k):
        raise AssertionError("openpyxl must not be asked to load this workbook")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    with pytest.raises(ImportFileError, match="holds a cell longer than 32,767 characters"):
        run(path)


# ------------------------------------------------------------------------------------------------- amounts


def test_an_amount_computed_beyond_the_limit_is_a_row_error(tmp_path):
    # given an item line whose price is allowed but price × quantity is not
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join([HEADER, order(1), order(2)]) + "\n", encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text("订单编号,标题,价格,购买数量\n1,茶,99999999.00,5\n2,茶,10.00,1\n", encoding="utf-8")
    _fmt, stream = parse_orders(orders, items_path=items)
    rows = list(stream)
    assert rows[0] == RowError(
        2, "", "499999995.00", "line 1 amount: amount larger than 99,999,999.99 (not a plausible amount)"
    )
    assert isinstance(rows[1], OrderRow)
    assert len(rows) == 2
