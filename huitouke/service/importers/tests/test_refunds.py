"""The refund export parsers on the golden files and hand-made tables (no database)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.service.importers import ImportFileError, RefundRow, RowError, parse_refunds, rules, suggest_mapping

GOLDEN = Path(__file__).parent / "golden"


def _read(path: Path, **kw: object) -> tuple[str, list[RefundRow], list[RowError]]:
    stream = parse_refunds(path, **kw)  # type: ignore[arg-type]
    items = list(stream.rows)
    return stream.layout, [r for r in items if isinstance(r, RefundRow)], [e for e in items if isinstance(e, RowError)]


@pytest.mark.parametrize("name", ["taobao-refunds-v1.csv", "taobao-refunds-v1.xlsx"])
def test_taobao_v1_rows_and_errors(name: str) -> None:
    layout, rows, errors = _read(GOLDEN / name)
    assert layout == "taobao"
    assert [r.refund_id for r in rows] == [f"10100000000000000{i}" for i in (1, 2, 3, 4, 5, 6)]
    first = rows[0]
    assert first.order_no == "3901234567890123456"  # ="…" unwrapped, never a float
    assert first.sub_order_no == "3901234567890123460"
    assert first.platform_status == rules.WAIT_SELLER_AGREE
    assert first.reason == "七天无理由退换货"
    assert first.refund_fee == Decimal("38.00")
    assert first.created_at is not None
    assert first.created_at.isoformat() == "2026-03-02T10:00:00+08:00"
    assert first.goods_status == rules.BUYER_RECEIVED
    assert first.goods_return is True
    assert rows[1].sub_order_no == ""  # oid = tid: a single-line order
    assert rows[1].return_company == "中通快递"
    assert rows[1].return_tracking == "7300000000001"
    assert [r.platform_status for r in rows] == [
        "WAIT_SELLER_AGREE",
        "SUCCESS",
        "WAIT_BUYER_RETURN_GOODS",
        "CLOSED",
        "SUCCESS",
        "SUCCESS",
    ]
    assert [(e.row_no, e.column, e.value) for e in errors] == [
        (8, "退款金额", "五十元"),
        (9, "退款状态", "等待外星人处理"),
        (10, "退款编号", "101000000000000001"),
    ]
    assert errors[0].reason == "not an amount"
    assert "unknown refund status" in errors[1].reason
    assert errors[2].reason == "refund number already used in row 2"


def test_taobao_open_platform_field_names() -> None:
    layout, rows, errors = _read(GOLDEN / "taobao-refunds-v2.xlsx")
    assert layout == "taobao"
    assert errors == []
    assert [r.platform_status for r in rows] == [
        "WAIT_SELLER_CONFIRM_GOODS",
        "SUCCESS",
        "SUCCESS",
        "CLOSED",
        "SUCCESS",
        "WAIT_SELLER_AGREE",
    ]
    assert rows[0].goods_status == rules.BUYER_RETURNED_GOODS
    assert rows[0].return_tracking == "YT0000000000001"
    assert rows[3].goods_return is False


def test_generic_mapping_and_suggestion() -> None:
    import json

    mapping = json.loads((GOLDEN / "jd-mapping.json").read_text(encoding="utf-8"))
    layout, rows, errors = _read(GOLDEN / "jd-aftersales.csv", mapping=mapping)
    assert layout == "generic"
    assert errors == []
    assert [(r.refund_id, r.order_no, r.platform_status, r.title) for r in rows] == [
        ("JD-A-1", "88001", "WAIT_SELLER_AGREE", "白茶饼"),
        ("JD-A-2", "88001", "SUCCESS", "白茶饼"),
    ]
    headers = [
        "服务单号",
        "订单号",
        "商品名称",
        "服务单状态",
        "申请原因",
        "问题描述",
        "退款金额",
        "申请时间",
        "处理时间",
    ]
    assert suggest_mapping(headers) == dict(mapping.items())
    assert suggest_mapping(["Refund ID", "Order", "Status", "Amount", "Created at"]) == {
        "refund_id": "Refund ID",
        "order_no": "Order",
        "status": "Status",
        "refund_fee": "Amount",
        "created_at": "Created at",
    }


def test_unknown_layout_names_missing_columns(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("退款编号,买家\n1,a\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="订单编号, 退款状态"):
        parse_refunds(f)
    with pytest.raises(ImportFileError, match="status need a column"):
        parse_refunds(f, mapping={"refund_id": "退款编号", "order_no": "买家"})
    with pytest.raises(ImportFileError, match="does not have"):
        parse_refunds(f, mapping={"refund_id": "退款编号", "order_no": "买家", "status": "状态"})
    with pytest.raises(ImportFileError, match="unknown field"):
        parse_refunds(f, mapping={"refund_id": "退款编号", "order_no": "买家", "status": "买家", "x": "买家"})


def test_missing_ids_and_bad_dates(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text(
        "refund_id,tid,status,created,good_status,has_good_return\n"
        ",1,SUCCESS,,,\n"
        "2,,SUCCESS,,,\n"
        "3,1,SUCCESS,yesterday,,\n"
        "4,1,SUCCESS,,maybe,\n"
        "5,1,SUCCESS,,,perhaps\n"
        "6,1,SUCCESS,2026-02-30 10:00:00,,\n"
        "7,1,success,,,\n",
        encoding="utf-8",
    )
    _layout, rows, errors = _read(f)
    assert [(e.row_no, e.column) for e in errors] == [
        (2, "refund_id"),
        (3, "tid"),
        (4, "created"),
        (5, "good_status"),
        (6, "has_good_return"),
        (7, "created"),
    ]
    assert [e.reason for e in errors[:2]] == ["missing refund number", "missing order number"]
    assert [r.refund_id for r in rows] == ["7"]


REASONS = {
    "七天无理由退换货": "return",
    "不想要了": "return",
    "拍错/多拍": "return",
    "质量问题": "quality",
    "卖家发错货": "wrong_item",
    "少件/漏发": "wrong_item",
    "与商品描述不符": "not_as_described",
    "颜色/图片与描述不符（色差）": "not_as_described",
    "未收到货": "logistics",
    "快递/物流一直未送到": "logistics",
    "商品破损": "logistics",
    "退运费": "refund",
    "协商一致退款": "refund",
    "": "refund",
    "换货": "exchange",
}


@pytest.mark.parametrize(("reason", "kind"), REASONS.items())
def test_reason_to_ticket_type(reason: str, kind: str) -> None:
    assert rules.ticket_type(reason) == kind


@given(st.text(max_size=30))
def test_any_reason_gives_a_ticket_type(reason: str) -> None:
    from huitouke.service.models import TicketType

    assert rules.ticket_type(reason) in TicketType.values


def test_status_texts_and_tables_match_the_models() -> None:
    from huitouke.service.models import TicketStatus

    assert set(rules.TICKET_STATUS) == set(rules.PLATFORM_STATUSES)
    assert set(rules.TICKET_STATUS.values()) <= set(TicketStatus.values)
    for text, code in {
        "买家已经申请退款，等待卖家同意": "WAIT_SELLER_AGREE",
        "卖家已经同意退款,等待买家退货": "WAIT_BUYER_RETURN_GOODS",
        "买家已经退货，等待卖家确认收货": "WAIT_SELLER_CONFIRM_GOODS",
        "卖家拒绝退款": "SELLER_REFUSE_BUYER",
        "退款关闭": "CLOSED",
        "退款成功": "SUCCESS",
        " wait_seller_agree ": "WAIT_SELLER_AGREE",
    }.items():
        assert rules.platform_status(text) == code
    assert rules.platform_status("处理中的奇怪状态") is None
    assert rules.goods_status("") == ""
    assert rules.goods_status("买家已退货") == "BUYER_RETURNED_GOODS"
