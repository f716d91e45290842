"""The portable writer of an import (`OrderWriter`): an idempotent upsert by (shop, order number), batch by batch.

It resolves customers, products and existing orders in Python and inserts what is new; the staged writers
(`orders.staging`, `orders.staging_sqlite`) do the same with set-based SQL and are tested against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import ExpressionWrapper, F, TextField, Value
from django.utils import timezone

from huitouke.core.bulk import TableWriter, ids_allocate, keyed_ids, keyed_rows, values_in
from huitouke.core.pii_crypto import PiiCipher, is_sealed
from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import DIGEST_FIELDS, ENCRYPTED_FIELDS, Consent, Customer, CustomerIdentity
from huitouke.customers.pii import digest_values
from huitouke.orders.feed import (
    LINE_VALUE_FIELDS,
    ORDER_VALUE_FIELDS,
    PROFILE_FIELDS,
    STORED_PROFILE_FIELDS,
    customer_name,
    fingerprint_key,
    line_values,
    order_values,
    product_key,
    profile_values,
    stored_profile,
)
from huitouke.orders.feed.encoding import order_fingerprint
from huitouke.orders.importers.rows import LineRow, OrderRow
from huitouke.orders.importing.result import ImportResult
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.orders.services import shop_get_or_create

#: Order columns an import may change on an existing order (compared to decide "updated" vs "unchanged").
ORDER_FIELDS = ("customer_id", *ORDER_VALUE_FIELDS)
LINE_FIELDS = ("line_no", "product_id", *LINE_VALUE_FIELDS[1:])

#: The consent answers an export may carry (OrderRow attribute, channels it applies to, purpose). Shopify's
#: "Accepts Marketing" is the buyer's own answer to e-mail marketing; a 新品通知 column joins or leaves the
#: new-products consent group on every channel (the answer is about notices, not one channel).
CONSENT_ANSWERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("accepts_marketing", (Consent.Channel.EMAIL,), Consent.Purpose.MARKETING),
    ("new_products", (Consent.Channel.SMS, Consent.Channel.EMAIL, Consent.Channel.IM), Consent.Purpose.NEW_PRODUCTS),
)

BATCH_ORDERS = 10_000


def _masked(value: str) -> bool:
    return "*" in value


_ENCRYPTED = frozenset(ENCRYPTED_FIELDS)


class OrderWriter:
    """Writes batches of OrderRow into one shop (`shop`) or the shop each row names (`shop_name` column)."""

    #: orders per batch (one transaction each)
    BATCH = BATCH_ORDERS
    #: insert new customers with the stats of their orders in the batch: for a caller refreshing the stats right
    #: after the write (the live feed), which then leaves those rows be instead of rewriting each one again
    stats_on_insert = False
    #: fill existing buyers' profiles and store the consent answers after the orders are written instead of before
    #: (`_buyers_finish`): the live writer locks those buyers' rows there, late, so that concurrent writes sharing a
    #: buyer overlap until then (the same values either way)
    profiles_last = False

    def __init__(self, *, result: ImportResult, shop: Shop | None, default_shop: str) -> None:
        self.result = result
        self.shop = shop
        self.default_shop = default_shop
        self._shops: dict[tuple[str, str], Shop] = {}
        self._fingerprint_key: bytes | None = None
        self._cipher: PiiCipher | None = None
        #: the batch's buyers for `_buyers_finish`
        self._buyers_due: _Buyers | None = None

    # -- resolution -------------------------------------------------------------------------------------------
    def _shop_for(self, row: OrderRow) -> Shop:
        return self.shop_named(row.shop_name, row.platform)

    def shop_named(self, name: str, platform: str) -> Shop:
        """The shop a row naming `name` (or none) on `platform` goes into: the import's shop when one is given."""
        if self.shop is not None:
            return self.shop
        key = (name or self.default_shop, platform)
        if key not in self._shops:
            self._shops[key] = shop_get_or_create(name=key[0], platform=platform)
        return self._shops[key]

    def _customers(self, rows: list[OrderRow], now: Any) -> dict[tuple[str, str], int]:
        """Customer id per (platform, handle): found through identities, or drawn for a new buyer, whom
        `_buyers_finish` inserts (with existing buyers' empty profile fields filled from the batch's newest order)."""
        newest: dict[tuple[str, str], OrderRow] = {}
        for row in rows:
            key = (row.platform, row.buyer_handle)
            seen = newest.get(key)
            if seen is None or row.ordered_at >= seen.ordered_at:
                newest[key] = row
        found = _identities(newest)
        new_keys = [k for k in newest if k not in found]
        new = dict(zip(new_keys, ids_allocate(Customer, len(new_keys)), strict=True))
        self._buyers_due = _Buyers(rows, newest, found, new)
        return {**found, **new}

    def _claim(self, kind: str, keys: list[Any]) -> bool:
        """Before inserting the buyers (`kind` "b": (platform, handle)) or products ("p": (shop id, key)) found
        missing, claim them against concurrent writers; True when claimed, and the caller then looks them up again
        (a claim may have waited for a writer that created some). The import's writers claim nothing: one import
        runs at a time."""
        return False

    def _buyers_lock(self, ids: list[int]) -> None:
        """Before the existing buyers' rows (`ids`, sorted) are written: the live writer locks them."""

    def _buyers_finish(self, now: Any) -> None:
        """The batch's buyers, once their orders are written or before (`profiles_last`): the new ones inserted
        (with their stats when `stats_on_insert`), the existing ones' empty profile fields filled from their newest
        order, the consent answers stored. A new buyer that a concurrent write created meanwhile (found once
        claimed) is that write's customer: the batch's orders drawn for it move to that customer."""
        due, self._buyers_due = self._buyers_due, None
        if due is None:
            return
        new = due.new
        if new and self._claim("b", list(new)):
            late = _identities(new)  # created meanwhile by the write that held the claim
            for key, cid in late.items():
                drawn = new.pop(key)
                Order.objects.filter(customer_id=drawn).update(customer_id=cid)
                if drawn in self.result.customer_ids:
                    self.result.customer_ids.discard(drawn)
                    self.result.customer_ids.add(cid)
            due.found.update(late)
        if new:
            self._customers_insert(due, now)
        existing = {due.found[k]: due.newest[k] for k in due.found}
        drawn_ids = set(new.values())
        self._buyers_lock(sorted((existing.keys() | self.result.customer_ids) - drawn_ids))
        self._fill_profiles(existing)
        self._consents({**existing, **{cid: due.newest[k] for k, cid in new.items()}}, now)

    def _customers_insert(self, due: _Buyers, now: Any) -> None:
        """Insert the new buyers of `due` with the ids drawn for them, and their identities."""
        new = due.new
        stats = self._new_stats(due.rows, set(new)) if self.stats_on_insert else {}
        cipher = pii_cipher()
        TableWriter(Customer, now=now).insert_tuples(
            ("id", "name", *STORED_PROFILE_FIELDS, *(STATS_FIELDS if self.stats_on_insert else ())),
            (
                (
                    cid,
                    customer_name(due.newest[k]),
                    *stored_profile(cipher, profile_values(due.newest[k]), sealed=False),
                    *(stats.get(k, _NO_STATS) if self.stats_on_insert else ()),
                )
                for k, cid in new.items()
            ),
        )
        TableWriter(CustomerIdentity, now=now).insert_tuples(
            ("id", "customer_id", "platform", "handle"),
            (
                (iid, cid, k[0], k[1])
                for iid, (k, cid) in zip(ids_allocate(CustomerIdentity, len(new)), new.items(), strict=True)
            ),
        )
        self.result.customers_created += len(new)

    def _new_stats(self, rows: list[OrderRow], new: set[tuple[str, str]]) -> dict[tuple[str, str], Stats]:
        """STATS_FIELDS of the new buyers (`new`: platform, handle) as `orders.services.customer_stats_refresh`
        computes them from their counted orders, all of which are in the batch (the last row of each order
        number wins, as written). Only a head start: the refresh corrects any difference."""
        latest: dict[tuple[int, str], OrderRow] = {}
        for row in rows:
            latest[(self._shop_for(row).pk, row.order_no)] = row
        stats: dict[tuple[str, str], Stats] = {}
        for row in latest.values():
            key = (row.platform, row.buyer_handle)
            if key not in new or row.status not in Order.COUNTED:
                continue
            count, spent, first, last = stats.get(key, _NO_STATS)
            at = row.ordered_at
            stats[key] = (
                count + 1,
                spent + (row.paid_amount - row.refund_amount),
                at if first is None or at < first else first,
                at if last is None or at > last else last,
            )
        return stats

    def _fill_profiles(self, rows_by_customer: dict[int, OrderRow]) -> None:
        """Fill existing customers' empty profile fields (and a masked phone with an unmasked one) from their
        newest order. Decided on the stored values as they are, never decrypted: a sealed value is empty only
        when its clear value is, and a masked one keeps its "*" (`core.pii_crypto`). A field that changes is
        sealed once with its digests; the others are written back as stored (no re-sealing)."""
        if not rows_by_customer:
            return
        if connection.vendor == "postgresql":
            stored_rows: Iterable[Any] = keyed_rows(
                Customer, "id", list(rows_by_customer), STORED_PROFILE_FIELDS, sql_type="bigint"
            )
        else:
            raw = [ExpressionWrapper(F(name), output_field=TextField()) for name in STORED_PROFILE_FIELDS]
            stored_rows = Customer.objects.filter(pk__in=values_in(rows_by_customer, "bigint")).values_list("id", *raw)
        changed: list[Customer] = []
        for cid, *stored in stored_rows:
            current = dict(zip(STORED_PROFILE_FIELDS, stored, strict=True))
            values: dict[str, str] = {}
            for name, value in zip(PROFILE_FIELDS, profile_values(rows_by_customer[cid]), strict=True):
                old = current[name]
                if value and (not old or (name == "phone" and _masked(old) and not _masked(value))):
                    values[name] = value
            if not values:
                continue
            update: dict[str, Any] = {
                # as stored: a sealed value goes in as a Value, which the field would otherwise open to recognise
                name: Value(current[name], output_field=TextField())
                if name in _ENCRYPTED and is_sealed(current[name])
                else current[name]
                for name in STORED_PROFILE_FIELDS
            }
            update.update(values)  # clear: the field seals it
            update.update(digest_values({name: value for name, value in values.items() if name in DIGEST_FIELDS}))
            changed.append(Customer(id=cid, **update))
        if changed:
            Customer.objects.bulk_update(changed, STORED_PROFILE_FIELDS, batch_size=500)

    @staticmethod
    def _consents(newest: dict[int, OrderRow], now: Any) -> None:
        """The consent answers the buyers' newest orders carry (CONSENT_ANSWERS), upserted."""
        for attr, channels, purpose in CONSENT_ANSWERS:
            answers = [(cid, getattr(row, attr)) for cid, row in newest.items() if getattr(row, attr) is not None]
            if not answers:
                continue
            Consent.objects.bulk_create(
                [
                    Consent(
                        customer_id=cid,
                        channel=channel,
                        purpose=purpose,
                        granted=bool(granted),
                        source="import",
                        created_at=now,
                        updated_at=now,
                    )
                    for cid, granted in answers
                    for channel in channels
                ],
                update_conflicts=True,
                unique_fields=["customer", "channel", "purpose"],
                update_fields=["granted", "source", "updated_at"],
            )

    def _products(self, items: list[tuple[int, LineRow]], now: Any) -> dict[tuple[int, str], int]:
        wanted: dict[tuple[int, str], LineRow] = {}
        for shop_id, line in items:
            wanted.setdefault((shop_id, product_key(line)), line)
        found = _product_ids(wanted)
        new = [k for k in wanted if k not in found]
        if new and self._claim("p", new):
            found.update(_product_ids(new))  # created meanwhile by the write that held the claim
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
        return (customer_id, *order_values(row))

    @staticmethod
    def _line_values(line: LineRow, product_id: int | None) -> tuple[Any, ...]:
        """The LINE_FIELDS of a line, in that order."""
        values = line_values(line)
        return (values[0], product_id, *values[1:])

    def finish(self) -> None:
        """After the last batch (nothing to do here; the staged writers empty their staging tables and refresh
        the planner's statistics)."""

    def write(self, rows: list[OrderRow]) -> None:
        """Write one batch in one transaction."""
        if not rows:
            return
        now = timezone.now()
        owns_transaction = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and owns_transaction:
                # an import can simply be re-run, so a crash losing the last commits costs nothing; not so a
                # caller's transaction (an order push answered 200 must survive a crash): it keeps its durability
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit = off")
            shop_ids = [self._shop_for(r).pk for r in rows]
            customers = self._customers(rows, now)
            if not self.profiles_last:
                self._buyers_finish(now)
            # per order (the last row naming it): its fingerprint and customer, what an archived order is skipped on
            fingerprint = self._fingerprint
            parsed = {
                (shop_id, r.order_no): (fingerprint(r), customers[(r.platform, r.buyer_handle)])
                for shop_id, r in zip(shop_ids, rows, strict=True)
            }
            existing = self._existing(parsed)
            # a summary line never replaces the lines an archived order has (they may be the item report's)
            kept = {
                (shop_id, r.order_no)
                for shop_id, r in zip(shop_ids, rows, strict=True)
                if r.summary_lines and existing.get((shop_id, r.order_no), _NONE)[2]
            }
            skipped = {key for key, found in existing.items() if found[3]}
            products = self._products(
                [
                    (shop_id, ln)
                    for shop_id, r in zip(shop_ids, rows, strict=True)
                    if (shop_id, r.order_no) not in kept and (shop_id, r.order_no) not in skipped
                    for ln in r.lines
                ],
                now,
            )
            wanted: dict[tuple[int, str], Wanted] = {}
            order_values, line_values = self._order_values, self._line_values
            for shop_id, row in zip(shop_ids, rows, strict=True):
                key = (shop_id, row.order_no)
                if key in skipped:
                    continue
                values = order_values(row, customers[(row.platform, row.buyer_handle)])
                if key in kept:
                    # the fingerprint of the summary is not that of the archived lines the order keeps
                    wanted[key] = (values, existing[key][2], None)
                else:
                    lines = [line_values(ln, products.get((shop_id, product_key(ln)))) for ln in row.lines]
                    wanted[key] = (values, lines, parsed[key][0])
            self.result.orders_unchanged += len(skipped)
            self._apply(wanted, {k: v for k, v in existing.items() if not v[3]}, now)
            if self.profiles_last:
                self._buyers_finish(now)

    def _fingerprint(self, row: OrderRow) -> int:
        if self._cipher is None or self._fingerprint_key is None:
            self._cipher = pii_cipher()
            self._fingerprint_key = fingerprint_key(self._cipher)
        return order_fingerprint(self._fingerprint_key, self._cipher, row)

    @staticmethod
    def _existing(parsed: dict[tuple[int, str], tuple[int, int]]) -> dict[tuple[int, str], Archived]:
        """The batch's orders already in the archive (`parsed`: (shop, order number) → (fingerprint, customer)),
        with their values, lines, and whether they are the parsed order (same fingerprint and customer: their
        lines are not read). One query per shop; when the batch is all new (a first import) or all the same (a
        re-import of an unchanged file) no line is looked up."""
        by_shop: dict[int, list[str]] = defaultdict(list)
        for shop_id, order_no in parsed:
            by_shop[shop_id].append(order_no)
        found: dict[tuple[int, str], Archived] = {}
        by_id: dict[int, tuple[int, str]] = {}
        for shop_id, numbers in by_shop.items():
            ids = keyed_ids(Order, "order_no", numbers, scope={"shop_id": shop_id})
            if not ids:
                continue  # new orders only (a first import, a push of new orders)
            for order_id, order_no, archived_fingerprint, *values in (
                Order.objects.filter(pk__in=values_in(ids.values(), "bigint"))
                .order_by()
                .values_list("id", "order_no", "fingerprint", *ORDER_FIELDS)
            ):
                key = (shop_id, order_no)
                same = archived_fingerprint is not None and (archived_fingerprint, values[0]) == parsed[key]
                found[key] = (order_id, tuple(values), [], same, archived_fingerprint)
                if not same:
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
        wanted: dict[tuple[int, str], Wanted],
        existing: dict[tuple[int, str], Archived],
        now: Any,
    ) -> None:
        """Write the batch's orders but the ones skipped as the same: `existing` are the archived ones compared
        field by field. A written order gets its fingerprint; so does a compared one whose lines changed or that
        turned out the same (its fingerprint differed or was unknown)."""
        result = self.result
        new_keys = [k for k in wanted if k not in existing] if existing else list(wanted)
        changed_orders: list[Order] = []
        fingerprinted: list[Order] = []
        replace_lines: dict[int, list[tuple[Any, ...]]] = {}
        for key, (order_id, old, old_lines, _same, old_fingerprint) in existing.items():
            values, lines, fingerprint = wanted[key]
            fields_changed = old != values and any(_differs(a, b) for a, b in zip(old, values, strict=True))
            lines_changed = old_lines != lines and (
                len(old_lines) != len(lines)
                or any(
                    any(_differs(a, b) for a, b in zip(o, n, strict=True))
                    for o, n in zip(old_lines, lines, strict=True)
                )
            )
            if fields_changed:
                changed_orders.append(
                    Order(
                        id=order_id,
                        updated_at=now,
                        fingerprint=fingerprint,
                        **dict(zip(ORDER_FIELDS, values, strict=True)),
                    )
                )
            elif fingerprint is not None and fingerprint != old_fingerprint:
                fingerprinted.append(Order(id=order_id, fingerprint=fingerprint))
            if not (fields_changed or lines_changed):
                result.orders_unchanged += 1
                continue
            result.orders_updated += 1
            result.customer_ids.update((old[0], values[0]))
            if lines_changed:
                replace_lines[order_id] = lines
        if changed_orders:
            Order.objects.bulk_update(changed_orders, [*ORDER_FIELDS, "updated_at", "fingerprint"], batch_size=500)
        if fingerprinted:
            Order.objects.bulk_update(fingerprinted, ["fingerprint"], batch_size=500)
        if replace_lines:
            OrderLine.objects.filter(order_id__in=values_in(replace_lines, "bigint")).delete()
            self._insert_lines(replace_lines, now)
        if new_keys:
            ids = ids_allocate(Order, len(new_keys))
            TableWriter(Order, now=now).insert_tuples(
                ("id", "shop_id", "order_no", *ORDER_FIELDS, "fingerprint"),
                ((oid, k[0], k[1], *wanted[k][0], wanted[k][2]) for oid, k in zip(ids, new_keys, strict=True)),
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


def _identities(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Customer id per (platform, handle) of the buyers already known, one query per platform."""
    found: dict[tuple[str, str], int] = {}
    for platform, handles in _grouped(keys).items():
        for handle, cid in keyed_ids(
            CustomerIdentity, "handle", handles, scope={"platform": platform}, result="customer_id"
        ).items():
            found[(platform, handle)] = cid
    return found


def _product_ids(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Product id per (shop id, product key) of the products already known, one query per shop."""
    found: dict[tuple[int, str], int] = {}
    for shop_id, external_ids in _grouped(keys).items():
        for key, pid in keyed_ids(Product, "external_id", external_ids, scope={"shop_id": shop_id}).items():
            found[(shop_id, key)] = pid
    return found


def _grouped(keys: Iterable[tuple[Any, str]]) -> dict[Any, list[str]]:
    """The second parts of `keys` grouped by the first."""
    out: dict[Any, list[str]] = defaultdict(list)
    for first, second in keys:
        out[first].append(second)
    return out


@dataclass
class _Buyers:
    """A batch's buyers between `_customers` and `_buyers_finish`: its rows, each buyer's newest order, the
    customer ids found and those drawn for new buyers, by (platform, handle)."""

    rows: list[OrderRow]
    newest: dict[tuple[str, str], OrderRow]
    found: dict[tuple[str, str], int]
    new: dict[tuple[str, str], int]


#: a customer's stats columns and their values with no counted order
STATS_FIELDS = ("order_count", "total_spent", "first_order_at", "last_order_at")
Stats = tuple[int, Decimal, Any, Any]
_NO_STATS: Stats = (0, Decimal(0), None, None)

#: an order to write: its ORDER_FIELDS, its LINE_FIELDS per line, its fingerprint (None: unknown)
Wanted = tuple[tuple[Any, ...], list[tuple[Any, ...]], int | None]
#: an archived order: id, ORDER_FIELDS, LINE_FIELDS per line (not read when it is the parsed one), whether it is
#: (same fingerprint and customer), its fingerprint
Archived = tuple[int, tuple[Any, ...], list[tuple[Any, ...]], bool, int | None]
_NONE: Archived = (0, (), [], False, None)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(old or 0) != Decimal(new or 0)
    return bool(old != new)
