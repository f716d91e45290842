"""The columnar reader (`importers.columnar`, pyarrow) gives exactly the row reader's parse: every golden file read
both ways, and the files pyarrow hands back to the row reader part-way (bad bytes, a blank line, a short row, a
row empty where the parser reads), each compared in full: orders, lines, errors and row numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitouke.orders.importers import columnar, parse_orders

GOLDEN = Path(__file__).parent / "golden"

GOLDEN_FILES = [
    ("taobao_71_ExportOrderList202506.csv", "taobao_71_ExportOrderDetailList202506.csv"),
    ("tmall_ExportOrderList202501.csv", "tmall_ExportOrderDetailList202501.csv"),
    ("taobao_41_ExportOrderList202402.csv", None),
    ("taobao_54_ExportOrderList202403.csv", None),
    ("taobao_71_ExportOrderList202506.csv", None),
    ("jd_orders_20250305.csv", None),
    ("pdd_orders_20250302.csv", None),
    ("shopify_orders_export_1.csv", None),
    ("woocommerce_orders_2025-09.csv", None),
    ("archive_seed004.csv", None),
    ("archive_seed004.xlsx", None),
]
#: the golden files of the generic format, read with the suggested mapping
GENERIC = ("archive_seed004.csv", "archive_seed004.xlsx")


@pytest.fixture
def handed_back(monkeypatch):
    """The row numbers after which pyarrow handed a file to the row reader (empty: it read every file whole),
    and how many files it read."""
    seen: dict[str, list[int]] = {"resumed": [], "read": []}
    resume, batches = columnar._resume, columnar._batches

    def spy_resume(fallback, after):
        seen["resumed"].append(after)
        return resume(fallback, after)

    def spy_batches(*args):
        seen["read"].append(1)
        return batches(*args)

    monkeypatch.setattr(columnar, "_resume", spy_resume)
    monkeypatch.setattr(columnar, "_batches", spy_batches)
    return seen


def _both(monkeypatch, orders: Path, items: Path | None) -> tuple[list, list]:
    """The parse of the pair by the row reader, then by pyarrow (small blocks: many batches)."""
    fmt = "generic" if orders.name in GENERIC else "auto"
    monkeypatch.setattr(columnar, "COLUMNAR_MIN_BYTES", None)
    _fmt, stream = parse_orders(orders, items_path=items, fmt=fmt)
    by_rows = list(stream)
    monkeypatch.setattr(columnar, "COLUMNAR_MIN_BYTES", 0)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 256)  # or twice the header line
    _fmt, stream = parse_orders(orders, items_path=items, fmt=fmt)
    return by_rows, list(stream)


@pytest.mark.parametrize(("name", "items"), GOLDEN_FILES)
def test_every_golden_file_parses_the_same_both_ways(monkeypatch, handed_back, name, items):
    by_rows, by_columns = _both(monkeypatch, GOLDEN / name, GOLDEN / items if items else None)

    assert by_columns == by_rows
    assert len(by_rows) >= 1
    taobao = name.startswith(("taobao", "tmall"))
    # the Taobao reports (and item reports) are read by pyarrow whole; the other formats keep the row reader
    assert handed_back == {"resumed": [], "read": [1] * ((2 if items else 1) if taobao else 0)}


#: a Taobao order report; its last column is one the parser does not read
HEADER = "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,宝贝标题,宝贝总数量,买家留言,其他\n"


def _row(n: int, remark: str = "") -> str:
    return f'="{1000 + n}",tb_{n % 7},{n}.50,交易成功,2025-06-18 10:{n % 60:02d}:00,茶 {n},1,{remark},\n'


def _file(tmp_path: Path, body: bytes, name: str = "ExportOrderList.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(HEADER.encode("gb18030") + body)
    return path


ROWS = "".join(_row(n) for n in range(1, 41))
#: rows enough that a byte that is not GB18030 can come after the 64 KB the encoding is sniffed from
MANY = "".join(_row(n) for n in range(1, 1501))


@pytest.mark.parametrize(
    ("case", "body", "after"),
    [
        ("clean", ROWS.encode("gb18030"), None),
        # a quoted remark over two lines, quotes inside: pyarrow reads it as the csv module does
        ("quoted", (ROWS + _row(41, '"留言, 第一行\r\n第""二""行"')).encode("gb18030"), None),
        ("bad bytes", MANY[:80_000].encode("gb18030") + b"\x81\x20" + MANY[80_000:].encode("gb18030"), 0),
        ("blank line", (ROWS[:1500] + "\n" + ROWS[1500:]).encode("gb18030"), 0),
        ("short row", (ROWS + '="2000",tb_x,1.00\n' + _row(42)).encode("gb18030"), 0),
        ("empty used cells", (ROWS + ",,,,,,,,有字\n" + ",,,,,,,,\n" + _row(43)).encode("gb18030"), 41),
        ("cut off", (ROWS + _row(44, "尾")).encode("gb18030")[:-2], 0),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_what_pyarrow_cannot_read_alike_goes_back_to_the_row_reader(
    monkeypatch, handed_back, tmp_path, case, body, after
):
    by_rows, by_columns = _both(monkeypatch, _file(tmp_path, body), None)

    assert by_columns == by_rows
    assert handed_back["read"] == [1]
    if after is None:
        assert handed_back["resumed"] == []
    elif after:
        assert handed_back["resumed"] == [after]
    else:  # somewhere after the first block
        assert len(handed_back["resumed"]) == 1
    if case == "empty used cells":
        # the row with a remark only is an error; the empty one is skipped, its number still counted
        assert [getattr(r, "row_no", None) for r in by_rows[-2:]] == [42, 44]


def test_a_file_the_row_reader_scrubs_is_not_read_by_pyarrow(monkeypatch, handed_back, tmp_path):
    # a control character (stripped by the row reader), a U+FFFD, an over-long line: the row reader reads them
    for n, body in enumerate(
        [
            (ROWS + _row(41, "响\x07铃")).encode("gb18030"),
            (ROWS + _row(41, "\ufffd")).encode("gb18030"),
            (ROWS + _row(41, "长" * 40_000)).encode("gb18030"),
        ]
    ):
        by_rows, by_columns = _both(monkeypatch, _file(tmp_path, body, f"f{n}.csv"), None)
        assert by_columns == by_rows
    assert handed_back == {"resumed": [], "read": []}
