"""The Taobao order report's cells converted column by column (pyarrow.compute), for the files pyarrow reads.

`orders(ctx, parts)` gives exactly what the row parser (`taobao._rows`) gives for the same rows, batch by batch
of `columnar.columnar_batches`: for each column, a vectorised test picks the cells whose value the columns give
exactly as the cell parser would (`column_cells`: a plain `12.50`, a `2025-06-18 10:00:54` that reads back the same,
a `="1930679858170647"` id…), converted whole; a row with any other cell in a column that can reject it is
parsed by the row parser, in its place in the stream, so the order numbers seen, the item lines taken and the
errors are the row parser's. Cells that cannot reject a row (phones, tracking numbers) are converted by the cell
parser itself where the columns cannot, and columns whose cells repeat (statuses, amounts, addresses, phones)
are converted once per distinct cell (the cell parser on each, the results spread).

Only pure functions of a cell are shared this way, so the outcome is the row parser's by construction;
`tests/test_taobao_columns.py` compares both on the golden files, the benchmark's generated pair and a table of
odd cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import (
    _BLANKS,
    MAX_QUANTITY,
    parse_amount,
    parse_status,
    unit_price,
    unwrap,
)
from huitouke.orders.importers.column_cells import (
    _FAST_AMOUNT,
    _FAST_QUANTITY,
    _addresses,
    _each_distinct,
    _ids,
    _phones,
    _quantity,
    _times,
    _tracking,
)
from huitouke.orders.importers.columnar import Batch, Handover
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError

if TYPE_CHECKING:
    from huitouke.orders.importers.table import Table
    from huitouke.orders.importers.taobao import _Context, _Item, _ItemValues

#: an order number parse_id accepts as it is (digits: never the spreadsheet's float form)
_PLAIN_NO = r"^[0-9]+$"
_WRAPPED_NO = r'^="[0-9]+"$'
#: an item line's values as _parse_item makes them, but its refund state: (title, sku, external id, quantity,
#: unit price, amount, attributes)
_Made = tuple[str, str, str, int, Decimal, Decimal, str]


def orders(ctx: _Context, parts: Iterator[Batch | Handover]) -> Iterator[OrderRow | RowError]:
    from huitouke.orders.importers.taobao import _rows

    for part in parts:
        if isinstance(part, Handover):
            yield from _rows(ctx, part.rows)
        else:
            yield from _batch(ctx, part)


def _batch(ctx: _Context, batch: Batch) -> Iterator[OrderRow | RowError]:
    from huitouke.orders.importers.taobao import STATUS, _rows, _summary_line

    table, c, tz, size = ctx.table, ctx.c, ctx.tz, batch.size
    empty = pa.array([""] * size, pa.string())

    def raw(field: str) -> Any:
        return batch.columns.get(c[field], empty)

    def trimmed(field: str) -> Any:
        return pc.utf8_trim(raw(field), characters=_BLANKS)

    # rows the columns convert as the row parser would, in every column that can reject a row
    fast: list[Any] = []
    no_raw = raw("order_no")
    wrapped = pc.match_substring_regex(no_raw, _WRAPPED_NO)
    fast.append(pc.or_(wrapped, pc.match_substring_regex(no_raw, _PLAIN_NO)))
    order_nos = pc.if_else(wrapped, pc.utf8_slice_codeunits(no_raw, 2, -1), no_raw).to_pylist()
    buyer = trimmed("buyer")
    fast.append(pc.not_equal(buyer, ""))
    amounts = []
    for field in ("goods", "shipping", "total", "paid", "refund"):
        column = raw(field)
        fast.append(pc.match_substring_regex(column, _FAST_AMOUNT))
        amounts.append(_each_distinct(column, parse_amount)[0])
    statuses, known = _each_distinct(raw("status"), lambda s: parse_status(s, STATUS))
    fast.append(known)
    times = []
    for field in ("created", "paid_at", "shipped", "confirmed"):
        values, ok = _times(raw(field), tz)
        fast.append(ok)
        times.append(values)
    fast.append(pc.not_equal(raw("created"), ""))
    ok_rows = fast[0]
    for mask in fast[1:]:
        ok_rows = pc.and_(ok_rows, mask)

    chosen = trimmed("new_address")
    chosen = pc.if_else(pc.equal(chosen, ""), trimmed("address"), chosen)
    addresses = _addresses(chosen)
    mobiles, tels = _phones(raw("mobile")), _phones(raw("tel"))
    tracking = _ids(raw("tracking"), _tracking)
    shops, names, carriers, remarks, memos, memos2, closes, levels, titles = (
        trimmed(f).to_pylist()
        for f in ("shop", "name", "carrier", "remark", "memo", "memo2", "close_reason", "member_level", "title")
    )
    quantities = raw("quantity").to_pylist()

    by_order, seen, has_refund = ctx.by_order, ctx.seen, ctx.has_refund
    headers, line_cache, base, states = ctx.item_headers, ctx.line_cache, ctx.item_base, ctx.refund_states
    k_title, k_quantity = c["title"], c["quantity"]
    closed, refunded, taobao = r.CLOSED, r.REFUNDED, r.TAOBAO
    first = batch.row_no
    for i, (ok, order_no, buyer_handle, goods, shipping, total, paid, refund, status, created) in enumerate(
        zip(ok_rows.to_pylist(), order_nos, buyer.to_pylist(), *amounts, statuses, times[0], strict=True)
    ):
        row_no = first + i
        if not ok:
            yield from _rows(ctx, iter([(row_no, _row(batch, table.width, i))]))
            continue
        repeat = seen.repeat(order_no, row_no)
        if repeat is not None:
            yield repeat
            continue
        if status == closed and has_refund and refund > 0 and refund >= paid:
            status = refunded  # a trade closes itself after a full refund
        own = by_order.pop(order_no, None) if by_order is not None else None
        lines: tuple[LineRow, ...] | RowError
        if own:
            lines = _lines(own, headers, row_no, status, line_cache, base, states)
        else:
            quantity = _quantity(quantities[i])
            if quantity:
                refund_state = r.REFUND_REFUNDED if status == refunded else r.REFUND_NONE
                amount = unit_price(goods, quantity)
                lines = (LineRow(1, titles[i], "", "", quantity, amount, goods, "", refund_state),)
            else:  # the row parser's error, from the two cells it reads
                row = [""] * (table.width + 1)
                row[k_title], row[k_quantity] = raw("title")[i].as_py(), quantities[i]
                lines = _summary_line(table, c, row_no, row, goods, status)
        if isinstance(lines, RowError):
            yield lines
            continue
        province, city, district, street, postcode = addresses[i]
        memo, memo2 = memos[i], memos2[i]
        yield OrderRow(
            row_no=row_no,
            order_no=order_no,
            platform=taobao,
            shop_name=shops[i],
            buyer_handle=buyer_handle,
            buyer_name=names[i],
            phone=mobiles[i] or tels[i],
            email="",
            province=province,
            city=city,
            district=district,
            address=street,
            postcode=postcode,
            status=status,
            goods_amount=goods,
            shipping_fee=shipping,
            total_amount=total,
            paid_amount=paid,
            refund_amount=refund,
            ordered_at=created,
            paid_at=times[1][i],
            shipped_at=times[2][i],
            confirmed_at=times[3][i],
            logistics_company=carriers[i],
            tracking_no=tracking[i],
            buyer_remark=remarks[i],
            seller_memo=f"{memo}; {memo2}" if memo and memo2 else memo or memo2,
            close_reason=closes[i],
            member_level=levels[i],
            lines=lines,
            summary_lines=not own,
        )


def load_items(
    items: Table, parts: Iterator[Batch | Handover], base: dict[_ItemValues, _Made]
) -> dict[str, list[_Item]]:
    """`taobao._load_items` over the item report's batches: the same order number → (row number, cells), each
    distinct line's cells made once (pyarrow finds the distinct lines; no cell holds the separator, a control
    character, in a file pyarrow reads). `base` receives the values of the lines the columns read whole, by
    their cells (`_lines`)."""
    from huitouke.orders.importers.common import resolve
    from huitouke.orders.importers.taobao import ITEM_FIELDS, _load_items

    c = resolve(items, ITEM_FIELDS)
    pool: dict[_ItemValues, _ItemValues] = {}
    intern = pool.setdefault
    by_order: dict[str, list[_Item]] = {}
    for part in parts:
        if isinstance(part, Handover):
            _load_items(items, part.rows, by_order, pool)
            continue
        empty = pa.array([""] * part.size, pa.string())

        def raw(field: str, part: Batch = part, empty: Any = empty) -> Any:
            return part.columns.get(c[field], empty)

        attributes = pc.utf8_trim(raw("attributes"), characters=_BLANKS)
        package = raw("package")
        packages = pc.utf8_trim(package, characters=_BLANKS)
        # join(text(attributes), text(package), sep="; ") when the package cell is not empty
        both = pc.and_(pc.not_equal(attributes, ""), pc.not_equal(packages, ""))
        joined = pc.if_else(
            pc.equal(package, ""),
            attributes,
            pc.if_else(
                both,
                pc.binary_join_element_wise(attributes, packages, "; "),
                pc.max_element_wise(attributes, packages),
            ),
        )
        columns = [
            joined if f == "attributes" else raw(f)
            for f in ("title", "price", "quantity", "external_id", "attributes", "status", "sku", "refund")
        ]
        lines = pc.dictionary_encode(pc.binary_join_element_wise(*columns, _SEPARATOR))
        distinct = [intern(v, v) for v in (tuple(line.split(_SEPARATOR)) for line in lines.dictionary.to_pylist())]
        # each line's values but its refund state, as _parse_item makes them, where the columns read them so
        price, quantity = raw("price"), raw("quantity")
        plain = pc.match_substring_regex(quantity, _FAST_QUANTITY)
        count = pc.cast(pc.if_else(plain, quantity, "0"), pa.int64())
        fast = pc.and_(
            pc.match_substring_regex(price, _FAST_AMOUNT),
            pc.and_(plain, pc.and_(pc.greater_equal(count, 1), pc.less_equal(count, MAX_QUANTITY))),
        )
        made = zip(
            fast.to_pylist(),
            pc.utf8_trim(raw("title"), characters=_BLANKS).to_pylist(),
            _ids(raw("sku"), unwrap),
            _ids(raw("external_id"), unwrap),
            count.to_pylist(),
            _each_distinct(price, parse_amount)[0],
            strict=True,
        )
        for row_no, order_no, values, (ok, title, sku, external_id, n, unit) in zip(
            range(part.row_no, part.row_no + part.size),
            _ids(raw("order_no"), unwrap),
            map(distinct.__getitem__, lines.indices.to_pylist()),
            made,
            strict=True,
        ):
            if ok and values not in base:
                base[values] = (title, sku, external_id, n, unit, unit * n, values[4])
            item = (row_no, values)
            own = by_order.get(order_no)
            if own is None:
                by_order[order_no] = [item]
            else:
                own.append(item)
    return by_order


#: joins an item line's cells into one string (never in a cell: the columnar reader takes no control character)
_SEPARATOR = "\x1f"


def _lines(
    own: list[_Item],
    headers: tuple[str, str],
    row_no: int,
    status: str,
    cache: dict[Any, Any],
    base: dict[_ItemValues, _Made],
    states: dict[tuple[str, str, str], str],
) -> tuple[LineRow, ...] | RowError:
    """taobao._item_lines for an order whose every line the columns read (`base`; the refund state, which
    depends on the order's status, once per refund, item status and order status); any other order's lines are
    taobao._item_lines's."""
    from huitouke.orders.importers.taobao import _item_lines, _refund_state

    lines = []
    for n, (_row_no, values) in enumerate(own, 1):
        made = base.get(values)
        if made is None:
            return _item_lines(own, headers, row_no, status, cache)
        key = (values[7], values[5], status)
        state = states.get(key)
        if state is None:
            state = states[key] = _refund_state(*key)
        lines.append(LineRow(n, *made, state))
    return tuple(lines)


def _row(batch: Batch, width: int, i: int) -> list[str]:
    """Row `i` of the batch as the row reader gives it (the used columns' cells, "" elsewhere)."""
    row = [""] * (width + 1)
    for at, column in batch.columns.items():
        row[at] = column[i].as_py()
    return row
