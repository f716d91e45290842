"""Writing parsed order rows into the archive: an idempotent upsert by (shop, order number).

The parsers (`orders.importers`) turn a file into OrderRow/RowError values without touching the database; this
module writes them in batches. Each batch is one transaction, so an order and its lines land together or not at
all, and a failure never leaves half a batch behind. Per batch it runs a fixed number of statements: look up
identities, products and existing orders with their lines; insert what is new with COPY (PostgreSQL) or
executemany (SQLite); update only orders whose values changed. Re-importing the same file writes nothing.

Customer stats and member levels are not refreshed here: the caller (huitouke/jobs.py) does that for the
customers this import touched (`ImportResult.customer_ids`), so `orders` never calls an app above it.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from django.db import connection, transaction
from django.utils import timezone

from huitouke.core.bulk import TableWriter, ids_allocate, values_in
from huitouke.core.readahead import read_ahead
from huitouke.customers.models import Consent, Customer, CustomerIdentity
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.orders.services import shop_get_or_create

#: Order columns an import may change on an existing order (compared to decide "updated" vs "unchanged").
ORDER_FIELDS = (
    "customer_id",
    "status",
    "goods_amount",
    "shipping_fee",
    "total_amount",
    "paid_amount",
    "refund_amount",
    "ordered_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "confirmed_at",
    "closed_at",
    "logistics_company",
    "tracking_no",
    "gift",
    "buyer_remark",
    "seller_memo",
    "receiver_name",
    "receiver_phone",
    "receiver_address",
)
LINE_FIELDS = ("line_no", "product_id", "title", "sku", "quantity", "unit_price", "amount", "refund_state")
#: Profile fields an import fills on a customer when the archive has nothing better.
PROFILE_FIELDS = ("real_name", "phone", "email", "province", "city", "district", "address")

#: The background job kind of an upload (core.services.job_submit); huitouke/jobs.py runs it.
IMPORT_JOB_KIND = "orders_import"

BATCH_ORDERS = 10_000


@dataclass
class ImportResult:
    """The summary printed by `huitouke import-orders --json` and shown on the upload summary page."""

    format: str
    rows: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    lines: int = 0
    customers_created: int = 0
    errors: int = 0
    error_report: str | None = None
    customer_ids: set[int] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "orders_created": self.orders_created,
            "orders_updated": self.orders_updated,
            "orders_unchanged": self.orders_unchanged,
            "lines": self.lines,
            "customers_created": self.customers_created,
            "errors": self.errors,
            "error_report": self.error_report,
        }


class ErrorReport:
    """The CSV of rejected rows (row, column, value, reason), created on the first error only."""

    HEADER = ("row", "column", "value", "reason")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: TextIO | None = None
        self._writer: Any = None

    def add(self, error: RowError) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(self.HEADER)
        value = error.value
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            value = "'" + value  # the report is opened in Excel: never let a cell become a formula
        self._writer.writerow((error.row_no, error.column, value, error.reason))
        self.count += 1

    def close(self) -> str | None:
        if self._fh is None:
            return None
        self._fh.close()
        return str(self.path)


def _masked(value: str) -> bool:
    return "*" in value


def product_key(line: LineRow) -> str:
    """A product is known by the seller's code (商家编码/外部系统编号), else the SKU, else its title."""
    key = line.external_id or line.sku
    if key:
        return key[:64]
    return "t:" + hashlib.sha1(line.title.encode()).hexdigest()[:20]


class OrderWriter:
    """Writes batches of OrderRow into one shop (`shop`) or the shop each row names (`shop_name` column)."""

    def __init__(self, *, result: ImportResult, shop: Shop | None, default_shop: str) -> None:
        self.result = result
        self.shop = shop
        self.default_shop = default_shop
        self._shops: dict[tuple[str, str], Shop] = {}

    # -- resolution -------------------------------------------------------------------------------------------
    def _shop_for(self, row: OrderRow) -> Shop:
        if self.shop is not None:
            return self.shop
        key = (row.shop_name or self.default_shop, row.platform)
        if key not in self._shops:
            self._shops[key] = shop_get_or_create(name=key[0], platform=row.platform)
        return self._shops[key]

    def _customers(self, rows: list[OrderRow], now: Any) -> dict[tuple[str, str], int]:
        """Customer id per (platform, handle): found through identities, created when new; empty profile fields
        of existing customers are filled from the newest order of the batch."""
        newest: dict[tuple[str, str], OrderRow] = {}
        for row in rows:
            key = (row.platform, row.buyer_handle)
            seen = newest.get(key)
            if seen is None or row.ordered_at >= seen.ordered_at:
                newest[key] = row
        found: dict[tuple[str, str], int] = {}
        by_platform: dict[str, list[str]] = defaultdict(list)
        for platform, handle in newest:
            by_platform[platform].append(handle)
        for platform, handles in by_platform.items():
            for handle, cid in CustomerIdentity.objects.filter(
                platform=platform, handle__in=values_in(handles)
            ).values_list("handle", "customer_id"):
                found[(platform, handle)] = cid
        new_keys = [k for k in newest if k not in found]
        if new_keys:
            ids = ids_allocate(Customer, len(new_keys))
            TableWriter(Customer, now=now).insert_tuples(
                ("id", "name", *PROFILE_FIELDS),
                ((cid, k[1][:128], *self._profile(newest[k])) for cid, k in zip(ids, new_keys, strict=True)),
            )
            TableWriter(CustomerIdentity, now=now).insert_tuples(
                ("id", "customer_id", "platform", "handle"),
                (
                    (iid, cid, k[0], k[1])
                    for iid, cid, k in zip(ids_allocate(CustomerIdentity, len(ids)), ids, new_keys, strict=True)
                ),
            )
            found.update(zip(new_keys, ids, strict=True))
            self.result.customers_created += len(ids)
        fresh = set(new_keys)
        self._fill_profiles({found[k]: row for k, row in newest.items() if k not in fresh})
        self._consents({found[k]: row for k, row in newest.items() if row.accepts_marketing is not None}, now)
        self._new_products({found[k]: row for k, row in newest.items() if row.new_products is not None}, now)
        return found

    @staticmethod
    def _profile(row: OrderRow) -> tuple[str, ...]:
        """The PROFILE_FIELDS an order offers, in that order."""
        return (
            "" if _masked(row.buyer_name) else row.buyer_name[:64],
            row.phone[:32],
            row.email.lower()[:254],
            row.province[:32],
            row.city[:32],
            row.district[:32],
            row.address[:255],
        )

    def _fill_profiles(self, rows_by_customer: dict[int, OrderRow]) -> None:
        if not rows_by_customer:
            return
        changed: list[Customer] = []
        for cid, *current in Customer.objects.filter(pk__in=values_in(rows_by_customer, "bigint")).values_list(
            "id", *PROFILE_FIELDS
        ):
            offered = self._profile(rows_by_customer[cid])
            if offered == tuple(current):
                continue
            values: dict[str, str] = {}
            for name, old, value in zip(PROFILE_FIELDS, current, offered, strict=True):
                better = value and (not old or (name == "phone" and _masked(old) and not _masked(value)))
                if better and value != old:
                    values[name] = value
            if values:
                changed.append(Customer(id=cid, **dict(zip(PROFILE_FIELDS, current, strict=True)), **values))
        if changed:
            Customer.objects.bulk_update(changed, PROFILE_FIELDS, batch_size=500)

    @staticmethod
    def _consents(rows_by_customer: dict[int, OrderRow], now: Any) -> None:
        """Shopify's "Accepts Marketing" column is the buyer's own answer: record it as e-mail marketing consent."""
        if not rows_by_customer:
            return
        Consent.objects.bulk_create(
            [
                Consent(
                    customer_id=cid,
                    channel=Consent.Channel.EMAIL,
                    purpose=Consent.Purpose.MARKETING,
                    granted=bool(row.accepts_marketing),
                    source="import",
                    created_at=now,
                    updated_at=now,
                )
                for cid, row in rows_by_customer.items()
            ],
            update_conflicts=True,
            unique_fields=["customer", "channel", "purpose"],
            update_fields=["granted", "source", "updated_at"],
        )

    @staticmethod
    def _new_products(rows_by_customer: dict[int, OrderRow], now: Any) -> None:
        """A column saying whether the buyer wants new-product and promotion notices: their answer joins or leaves
        the 新品通知 consent group, on every channel (the answer is about notices, not one channel)."""
        if not rows_by_customer:
            return
        Consent.objects.bulk_create(
            [
                Consent(
                    customer_id=cid,
                    channel=channel,
                    purpose=Consent.Purpose.NEW_PRODUCTS,
                    granted=bool(row.new_products),
                    source="import",
                    created_at=now,
                    updated_at=now,
                )
                for cid, row in rows_by_customer.items()
                for channel in (Consent.Channel.SMS, Consent.Channel.EMAIL, Consent.Channel.IM)
            ],
            update_conflicts=True,
            unique_fields=["customer", "channel", "purpose"],
            update_fields=["granted", "source", "updated_at"],
        )

    def _products(self, items: list[tuple[int, LineRow]], now: Any) -> dict[tuple[int, str], int]:
        wanted: dict[tuple[int, str], LineRow] = {}
        for shop_id, line in items:
            wanted.setdefault((shop_id, product_key(line)), line)
        found: dict[tuple[int, str], int] = {}
        by_shop: dict[int, list[str]] = defaultdict(list)
        for shop_id, key in wanted:
            by_shop[shop_id].append(key)
        for shop_id, keys in by_shop.items():
            for key, pid in Product.objects.filter(shop_id=shop_id, external_id__in=values_in(keys)).values_list(
                "external_id", "id"
            ):
                found[(shop_id, key)] = pid
        new = [k for k in wanted if k not in found]
        if new:
            ids = ids_allocate(Product, len(new))
            TableWriter(Product, now=now).insert_tuples(
                ("id", "shop_id", "external_id", "title", "price"),
                (
                    (pid, k[0], k[1], wanted[k].title[:255], wanted[k].unit_price)
                    for pid, k in zip(ids, new, strict=True)
                ),
            )
            found.update(zip(new, ids, strict=True))
        return found

    # -- orders ------------------------------------------------------------------------------------------------
    @staticmethod
    def _order_values(row: OrderRow, customer_id: int) -> tuple[Any, ...]:
        """The ORDER_FIELDS of an order, in that order."""
        return (
            customer_id,
            row.status,
            row.goods_amount,
            row.shipping_fee,
            row.total_amount,
            row.paid_amount,
            row.refund_amount,
            row.ordered_at,
            row.paid_at,
            row.shipped_at,
            row.delivered_at,
            row.confirmed_at,
            row.closed_at,
            row.logistics_company[:64],
            row.tracking_no[:64],
            row.gift[:255],
            row.buyer_remark[:1000],
            row.seller_memo[:1000],
            row.buyer_name[:64],
            row.phone[:32],
            (row.province + row.city + row.district + row.address)[:255],
        )

    @staticmethod
    def _line_values(line: LineRow, product_id: int | None) -> tuple[Any, ...]:
        return (
            line.line_no,
            product_id,
            line.title[:255],
            line.sku[:128],
            line.quantity,
            line.unit_price,
            line.amount,
            line.refund_state,
        )

    def write(self, rows: list[OrderRow]) -> None:
        """Write one batch in one transaction."""
        if not rows:
            return
        now = timezone.now()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # an import can simply be re-run, so a crash losing the last commits costs nothing
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit = off")
            shop_ids = [self._shop_for(r).pk for r in rows]
            customers = self._customers(rows, now)
            products = self._products(
                [(shop_id, ln) for shop_id, r in zip(shop_ids, rows, strict=True) for ln in r.lines], now
            )
            wanted: dict[tuple[int, str], tuple[tuple[Any, ...], list[tuple[Any, ...]]]] = {}
            order_values, line_values = self._order_values, self._line_values
            for shop_id, row in zip(shop_ids, rows, strict=True):
                values = order_values(row, customers[(row.platform, row.buyer_handle)])
                lines = [line_values(ln, products.get((shop_id, product_key(ln)))) for ln in row.lines]
                wanted[(shop_id, row.order_no)] = (values, lines)
            existing = self._existing(wanted)
            self._apply(wanted, existing, now)

    @staticmethod
    def _existing(
        wanted: dict[tuple[int, str], Any],
    ) -> dict[tuple[int, str], tuple[int, tuple[Any, ...], list[tuple[Any, ...]]]]:
        """The batch's orders already in the archive, with their values and lines. One query per shop; when the
        batch is all new (a first import) that query returns nothing and the lines are never looked up."""
        by_shop: dict[int, list[str]] = defaultdict(list)
        for shop_id, order_no in wanted:
            by_shop[shop_id].append(order_no)
        found: dict[tuple[int, str], tuple[int, tuple[Any, ...], list[tuple[Any, ...]]]] = {}
        by_id: dict[int, tuple[int, str]] = {}
        for shop_id, numbers in by_shop.items():
            for order_id, order_no, *values in Order.objects.filter(
                shop_id=shop_id, order_no__in=values_in(numbers)
            ).values_list("id", "order_no", *ORDER_FIELDS):
                key = (shop_id, order_no)
                found[key] = (order_id, tuple(values), [])
                by_id[order_id] = key
        if by_id:
            for order_id, *line in (
                OrderLine.objects.filter(order_id__in=values_in(by_id, "bigint"))
                .order_by("order_id", "line_no")
                .values_list("order_id", *LINE_FIELDS)
            ):
                found[by_id[order_id]][2].append(tuple(line))
        return found

    def _apply(
        self,
        wanted: dict[tuple[int, str], tuple[tuple[Any, ...], list[tuple[Any, ...]]]],
        existing: dict[tuple[int, str], tuple[int, tuple[Any, ...], list[tuple[Any, ...]]]],
        now: Any,
    ) -> None:
        result = self.result
        new_keys = [k for k in wanted if k not in existing] if existing else list(wanted)
        changed_orders: list[Order] = []
        replace_lines: dict[int, list[tuple[Any, ...]]] = {}
        for key, (order_id, old, old_lines) in existing.items():
            values, lines = wanted[key]
            fields_changed = old != values and any(_differs(a, b) for a, b in zip(old, values, strict=True))
            lines_changed = old_lines != lines and (
                len(old_lines) != len(lines)
                or any(
                    any(_differs(a, b) for a, b in zip(o, n, strict=True))
                    for o, n in zip(old_lines, lines, strict=True)
                )
            )
            if not (fields_changed or lines_changed):
                result.orders_unchanged += 1
                continue
            result.orders_updated += 1
            result.customer_ids.update((old[0], values[0]))
            if fields_changed:
                changed_orders.append(
                    Order(id=order_id, updated_at=now, **dict(zip(ORDER_FIELDS, values, strict=True)))
                )
            if lines_changed:
                replace_lines[order_id] = lines
        if changed_orders:
            Order.objects.bulk_update(changed_orders, [*ORDER_FIELDS, "updated_at"], batch_size=500)
        if replace_lines:
            OrderLine.objects.filter(order_id__in=values_in(replace_lines, "bigint")).delete()
            self._insert_lines(replace_lines, now)
        if new_keys:
            ids = ids_allocate(Order, len(new_keys))
            TableWriter(Order, now=now).insert_tuples(
                ("id", "shop_id", "order_no", *ORDER_FIELDS),
                ((oid, k[0], k[1], *wanted[k][0]) for oid, k in zip(ids, new_keys, strict=True)),
            )
            result.orders_created += len(ids)
            result.customer_ids.update(wanted[k][0][0] for k in new_keys)
            self._insert_lines({oid: wanted[k][1] for oid, k in zip(ids, new_keys, strict=True)}, now)

    def _insert_lines(self, lines_by_order: dict[int, list[tuple[Any, ...]]], now: Any) -> None:
        count = sum(len(v) for v in lines_by_order.values())
        ids = iter(ids_allocate(OrderLine, count))
        TableWriter(OrderLine, now=now).insert_tuples(
            ("id", "order_id", *LINE_FIELDS),
            ((next(ids), order_id, *line) for order_id, lines in lines_by_order.items() for line in lines),
        )
        self.result.lines += count


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(old or 0) != Decimal(new or 0)
    return bool(old != new)


def orders_import_rows(
    *,
    stream: Iterable[OrderRow | RowError],
    result: ImportResult,
    report: ErrorReport,
    shop: Shop | None = None,
    default_shop: str = "",
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_ORDERS,
) -> ImportResult:
    """Write a parsed stream into the archive, `batch_size` orders per transaction; rejected rows go to `report`.

    `result.rows` counts the file's data rows seen (the highest row number less the header). Progress is
    reported after each batch with that count. The stream is parsed in a background thread (`read_ahead`) so that
    parsing the next batch overlaps with the database writing this one; the writes stay in the caller's thread.
    """
    writer = OrderWriter(result=result, shop=shop, default_shop=default_shop or "默认店铺")
    batch: list[OrderRow] = []
    last_row = 1
    for item in read_ahead(stream):
        last_row = max(last_row, item.row_no)
        if isinstance(item, RowError):
            report.add(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            writer.write(batch)
            batch = []
            if progress:
                progress(last_row - 1)
    writer.write(batch)
    result.rows = max(result.rows, last_row - 1)
    result.errors = report.count
    result.error_report = report.close()
    if progress:
        progress(result.rows)
    return result
