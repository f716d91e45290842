"""Which files of a watched folder are ready, and the Taobao pairs (pure)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.connectors.watch import Entry, Unit, is_candidate, plan, taobao_role

NOW = 1_000_000.0


def old(name: str, size: int = 10, age: float = 600) -> Entry:
    return Entry(name, size, NOW - age)


def test_a_quiet_export_is_ready_and_a_fresh_one_waits() -> None:
    look = plan([old("shopify.csv"), old("jd.xlsx", age=2)], now=NOW, previous={})
    assert look.units == (Unit("shopify.csv"),)
    assert look.waiting == ("jd.xlsx",)


def test_a_file_that_grew_since_the_last_look_waits_even_when_quiet() -> None:
    look = plan([old("jd.csv", size=500)], now=NOW, previous={"jd.csv": 200})
    assert look.units == ()
    assert look.waiting == ("jd.csv",)
    assert plan([old("jd.csv", size=500)], now=NOW, previous={"jd.csv": 500}).units == (Unit("jd.csv"),)


def test_an_empty_file_waits() -> None:
    assert plan([old("a.csv", size=0)], now=NOW, previous={}).waiting == ("a.csv",)


def test_names_of_files_being_written_or_not_exports_are_ignored() -> None:
    names = ["a.csv.part", "b.tmp", "c.xlsx.crdownload", ".hidden.csv", "~$lock.xlsx", "notes.pdf", "ok.TXT"]
    look = plan([old(n) for n in names], now=NOW, previous={})
    assert look.units == (Unit("ok.TXT"),)
    assert look.waiting == ()
    assert [n for n in names if is_candidate(n)] == ["ok.TXT"]


def test_taobao_reports_pair_by_the_timestamp_in_their_names() -> None:
    look = plan(
        [
            old("ExportOrderList202612071030.csv"),
            old("ExportOrderDetailList202612071030.csv"),
            old("ExportOrderList202612071100.csv", age=30),  # its item report may still come
            old("宝贝报表_202612070900.xlsx"),
            old("订单报表_202612070900.xlsx"),
        ],
        now=NOW,
        previous={},
    )
    assert look.units == (
        Unit("ExportOrderList202612071030.csv", "ExportOrderDetailList202612071030.csv"),
        Unit("订单报表_202612070900.xlsx", "宝贝报表_202612070900.xlsx"),
    )
    assert look.waiting == ("ExportOrderList202612071100.csv",)


def test_an_order_report_goes_alone_after_the_wait_and_an_item_report_fails() -> None:
    look = plan(
        [old("ExportOrderList202612071030.csv", age=200), old("ExportOrderDetailList202612070800.csv", age=200)],
        now=NOW,
        previous={},
        pair_wait=120,
    )
    assert look.units == (
        Unit("ExportOrderDetailList202612070800.csv", error="item report without its order report (timestamp "
             "202612070800)"),
        Unit("ExportOrderList202612071030.csv"),
    )  # fmt: skip


def test_a_report_whose_partner_is_still_being_written_keeps_waiting() -> None:
    look = plan(
        [old("ExportOrderList202612071030.csv", age=900), old("ExportOrderDetailList202612071030.csv", age=1)],
        now=NOW,
        previous={},
    )
    assert look.units == ()
    assert look.waiting == ("ExportOrderDetailList202612071030.csv", "ExportOrderList202612071030.csv")


def test_taobao_role() -> None:
    assert taobao_role("ExportOrderList202402.csv") == ("orders", "202402")
    assert taobao_role("tmall_ExportOrderDetailList202501.csv") == ("items", "202501")
    assert taobao_role("ExportOrderList.csv") is None
    assert taobao_role("jd_orders_20250305.csv") is None


NAMES = st.sampled_from(
    ["a.csv", "b.xlsx", "c.part", "ExportOrderList20260101.csv", "ExportOrderDetailList20260101.csv",
     "ExportOrderList20260202.csv", "宝贝报表20260303.xlsx"]
)  # fmt: skip


@given(st.lists(st.tuples(NAMES, st.integers(0, 3), st.floats(0, 300)), unique_by=lambda t: t[0]), st.booleans())
@settings(deadline=None)
def test_every_export_is_taken_or_waits_exactly_once(files: list[tuple[str, int, float]], grew: bool) -> None:
    entries = [old(n, size, age) for n, size, age in files]
    previous = {n: size + 1 for n, size, _a in files} if grew else {}
    look = plan(entries, now=NOW, previous=previous)
    taken = [n for u in look.units for n in u.names]
    assert sorted(taken + list(look.waiting)) == sorted(n for n, _s, _a in files if is_candidate(n))
    if grew:
        assert look.units == ()
