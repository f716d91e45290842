"""The SQLite writer of an import: each batch goes into temporary staging tables, then is merged by SQL.

The same merge as `staging.StagedOrderWriter` (PostgreSQL), in SQLite's dialect, so the embedded default does not
shuttle a million-line import through Python either:

1. the batch's orders and lines are inserted into two temporary tables with one executemany each; the rows come
   from `feed.Encoder` (in the parsing child process for large files) as text whose cells are what Django binds
   on SQLite (naive UTC text for times, text for amounts, 1/0 for booleans), and the staging columns have the
   real columns' declared types, so SQLite stores them the same way;
2. customers: one staged row per (platform, handle), the batch's newest order; found identities are reused, the
   rest get new customers and identities; existing customers have empty profile fields filled (and a masked
   phone replaced by an unmasked one); consent answers carried by the file are upserted;
3. products by (shop, product key), the first line naming a key giving its title and price;
4. orders matched to the archive by (shop, order number): changed fields updated, changed lines replaced (the
   lines are the same when there are as many and each equals the archived line of its number), new orders
   inserted with their lines.

New ids are numbered past the table's highest id (and past what AUTOINCREMENT has handed out) inside the batch's
transaction, which SQLite runs as BEGIN IMMEDIATE (settings): no other writer can take one meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from huitouke.customers.models import Consent, Customer
from huitouke.orders.feed import (
    CELL_SEP,
    DECIMAL_COLUMNS,
    FLAG_COLUMNS,
    INTEGER_COLUMNS,
    LINE_STAGE_COLUMNS,
    ORDER_STAGE_COLUMNS,
    ROW_SEP,
    SQLITE,
    STORED_PROFILE_FIELDS,
    Encoded,
)
from huitouke.orders.importing import CONSENT_ANSWERS
from huitouke.orders.models import Order, Product
from huitouke.orders.staging import _LINE_VALUES, _ORDER_VALUES, StagedWriter, _defaults


def _type(column: str) -> str:
    """A staging column's declared type: the one Django gives the real column, so SQLite converts the bound
    values the same way (numeric affinity for amounts and times, text for text)."""
    if column in DECIMAL_COLUMNS:
        return "decimal"
    if column in INTEGER_COLUMNS:
        return "integer"
    if column.endswith("_at"):
        return "datetime"
    if column in FLAG_COLUMNS:
        return "bool"
    return "text"


#: (the fingerprint is emptied for an order keeping its archived lines: `StagedWriter._keep_archived_lines`)
_NULLABLE = FLAG_COLUMNS | {c for c in ORDER_STAGE_COLUMNS if c.endswith("_at") and c != "ordered_at"} | {"fingerprint"}


def _nullable(column: str) -> str:
    return "" if column in _NULLABLE else " NOT NULL"


_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS import_stage_order ("
    + ", ".join(
        "seq integer PRIMARY KEY" if c == "seq" else f"{c} {_type(c)}{_nullable(c)}" for c in ORDER_STAGE_COLUMNS
    )
    + ")",
    "CREATE TEMP TABLE IF NOT EXISTS import_stage_line ("
    + ", ".join(f"{c} {_type(c)} NOT NULL" for c in LINE_STAGE_COLUMNS)
    + ", PRIMARY KEY (seq, line_no)) WITHOUT ROWID",
    "CREATE TEMP TABLE IF NOT EXISTS import_stage_profile (seq integer PRIMARY KEY, "
    + ", ".join(f"{p} text NOT NULL" for p in STORED_PROFILE_FIELDS)
    + ")",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_customer (
        platform text NOT NULL, handle text NOT NULL, seq integer NOT NULL, customer_id integer NOT NULL,
        is_new bool NOT NULL, PRIMARY KEY (platform, handle)) WITHOUT ROWID""",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_product (
        shop_id integer NOT NULL, pkey text NOT NULL, product_id integer NOT NULL, is_new bool NOT NULL,
        title text NOT NULL, price decimal NOT NULL, PRIMARY KEY (shop_id, pkey)) WITHOUT ROWID""",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_match (
        seq integer PRIMARY KEY, order_id integer NOT NULL, customer_id integer NOT NULL, old_customer_id integer,
        is_new bool NOT NULL, same bool NOT NULL, fields_changed bool NOT NULL, lines_changed bool NOT NULL)""",
)
_STAGES = ("import_stage_order", "import_stage_line", "import_stage_profile", "import_stage_customer",
           "import_stage_product", "import_stage_match")  # fmt: skip


def _id_or_next(found: str, order: str) -> str:
    """SQL for a staged row's id: the archived one (`found`), else the next free one. The new rows are numbered
    1, 2, … in `order` by a running count of the rows without an id, added to the highest id so far (the one
    parameter, `_next_id`)."""
    return f"coalesce({found}, %s + sum({found} IS NULL) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING))"


def _same(left: str, right: str, columns: tuple[str, ...], right_columns: tuple[str, ...] | None = None) -> str:
    """SQL true when every column of `left` IS (null-safe equal to) the same column of `right`."""
    pairs = zip(columns, right_columns or columns, strict=True)
    return " AND ".join(f"{left}.{a} IS {right}.{b}" for a, b in pairs)


class SQLiteStagedWriter(StagedWriter):
    """The staged writer on SQLite (see the module's text)."""

    dialect = SQLITE

    def write_encoded(self, batch: Encoded) -> None:
        """Write one encoded batch (see `feed.Encoder`) in one transaction."""
        if not batch.count:
            return
        if not (isinstance(batch.orders, str) and isinstance(batch.lines, str)):
            raise TypeError("the batch was not encoded for SQLite")
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cur:
            # room for a batch's staging tables and the indexes it touches (64 MB each, not SQLite's 2 MB)
            cur.execute("PRAGMA temp.cache_size = -65536")
            cur.execute("PRAGMA main.cache_size = -65536")
            for ddl in _STAGE_DDL:
                cur.execute(ddl)
            for stage in _STAGES:
                cur.execute(f"DELETE FROM {stage}")
            self._staged = True
            for table, columns, text, odd in (
                ("import_stage_order", ORDER_STAGE_COLUMNS, batch.orders, batch.odd_orders),
                ("import_stage_line", LINE_STAGE_COLUMNS, batch.lines, batch.odd_lines),
            ):
                # an empty cell of a nullable column (times, flags) is NULL
                marks = ", ".join("nullif(%s, '')" if c in _NULLABLE else "%s" for c in columns)
                insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                if text:  # split row by row as SQLite takes them, not all at once
                    rows: Iterator[list[str]] = (row.split(CELL_SEP) for row in text.split(ROW_SEP))
                    cur.executemany(insert, rows)  # type: ignore[arg-type]  # Django's stub wants a Sequence
                if odd:
                    cur.executemany(insert, odd)
            self._merge(cur, now, batch)

    def finish(self) -> None:
        """After the last batch: empty the staging tables (a worker's connection outlives the import) and let
        SQLite refresh its statistics where they are stale, so the follow-ups plan on real row counts."""
        with connection.cursor() as cur:
            if self._staged:
                for stage in _STAGES:
                    cur.execute(f"DELETE FROM {stage}")
            if self.result.orders_created + self.result.orders_updated:
                cur.execute("PRAGMA optimize")

    @staticmethod
    def _next_id(cur: Any, model: type[models.Model]) -> int:
        """The highest id the table has held (its rows, and AUTOINCREMENT's record of ids handed out)."""
        table = model._meta.db_table
        cur.execute(
            f"SELECT max(coalesce((SELECT max(id) FROM {connection.ops.quote_name(table)}), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [table],
        )
        return int(cur.fetchone()[0])

    # -- the dialect's steps -----------------------------------------------------------------------------------
    def _copy_profiles(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join(["%s"] * (len(STORED_PROFILE_FIELDS) + 1))
        cur.executemany(
            f"INSERT INTO import_stage_profile (seq, {', '.join(STORED_PROFILE_FIELDS)}) VALUES ({marks})", rows
        )

    def _stage_customers(self, cur: Any) -> int:
        # one row per buyer: the batch's newest order (ties: the later row), found through its identity
        return self._stage_first(
            cur,
            stage=("import_stage_customer", "customer_id"),
            source="import_stage_order",
            keys=("platform", "handle"),
            order="ordered_at DESC, seq DESC",
            carried={"seq": "seq"},
            found=(self.tables["identity"], "customer_id", ("platform", "handle")),
            model=Customer,
        )

    def _merge_consents(self, cur: Any, now: Any) -> None:
        t = self.tables
        given = ("customer_id", "channel", "purpose", "granted", "source")
        cols, marks, params = _defaults(Consent, given, now)
        for attr, channels, purpose in CONSENT_ANSWERS:
            for channel in channels:
                cur.execute(
                    f"""INSERT INTO {t["consent"]} (customer_id, channel, purpose, granted, source{cols})
                    SELECT sc.customer_id, %s, %s, s.{attr}, 'import'{marks}
                    FROM import_stage_customer sc JOIN import_stage_order s ON s.seq = sc.seq
                    WHERE s.{attr} IS NOT NULL
                    ON CONFLICT (customer_id, channel, purpose) DO UPDATE
                    SET granted = excluded.granted, source = excluded.source, updated_at = excluded.updated_at""",
                    [str(channel), str(purpose), *params],
                )

    def _stage_products(self, cur: Any) -> int:
        # one row per product key: the first line naming it, found among the shop's products
        return self._stage_first(
            cur,
            stage=("import_stage_product", "product_id"),
            source="import_stage_line",
            keys=("shop_id", "pkey"),
            order="seq, line_no",
            carried={"title": "title", "price": "unit_price"},
            found=(self.tables["product"], "id", ("shop_id", "external_id")),
            model=Product,
        )

    def _stage_first(
        self,
        cur: Any,
        *,
        stage: tuple[str, str],
        source: str,
        keys: tuple[str, ...],
        order: str,
        carried: dict[str, str],
        found: tuple[str, str, tuple[str, ...]],
        model: type[models.Model],
    ) -> int:
        """Fill `stage` (table, id column) with one row per `keys` of `source`: the first in `order`, its
        `carried` columns (stage column → source column), and the id `found` (table, id column, the columns
        matching `keys`) or, when none, the next one past `model`'s highest, numbered in key order. Returns how
        many are new."""
        stage_table, stage_id = stage
        table, id_column, real_keys = found
        key_list = ", ".join(keys)
        stage_cols = ", ".join(carried)
        source_cols = ", ".join(carried.values())
        on = " AND ".join(f"r.{real} = s.{key}" for key, real in zip(keys, real_keys, strict=True))
        cur.execute(
            f"""INSERT INTO {stage_table} ({key_list}, {stage_cols}, {stage_id}, is_new)
            SELECT {key_list}, {source_cols}, {_id_or_next("found", key_list)}, found IS NULL
            FROM (
                SELECT {", ".join(f"s.{c}" for c in (*keys, *carried.values()))}, r.{id_column} AS found
                FROM (SELECT {key_list}, {source_cols},
                             row_number() OVER (PARTITION BY {key_list} ORDER BY {order}) AS first
                      FROM {source}) s
                LEFT JOIN {table} r ON {on}
                WHERE s.first = 1)""",
            [self._next_id(cur, model)],
        )
        cur.execute(f"SELECT count(*) FROM {stage_table} WHERE is_new")
        return int(cur.fetchone()[0])

    def _stage_matches(self, cur: Any) -> None:
        t = self.tables
        # the archived order is the staged one: same fingerprint (fields and lines), same customer
        same = "(o.fingerprint = s.fingerprint AND o.customer_id = c.customer_id)"
        cur.execute(
            f"""INSERT INTO import_stage_match
                (seq, order_id, customer_id, old_customer_id, is_new, same, fields_changed, lines_changed)
            SELECT s.seq,
                   {_id_or_next("o.id", "s.seq")},
                   c.customer_id, o.customer_id, o.id IS NULL, coalesce({same}, 0),
                   o.id IS NOT NULL AND NOT coalesce({same}, 0)
                   AND NOT (o.customer_id IS c.customer_id AND {_same("o", "s", _ORDER_VALUES)}),
                   0
            FROM import_stage_order s
            JOIN import_stage_customer c ON c.platform = s.platform AND c.handle = s.handle
            LEFT JOIN {t["order"]} o ON o.shop_id = s.shop_id AND o.order_no = s.order_no""",
            [self._next_id(cur, Order)],
        )
        if self._any_compared(cur):
            # an archived order's lines are unchanged when there are as many and each equals the staged line of
            # its number (line numbers are unique per order on both sides)
            cur.execute(
                f"""UPDATE import_stage_match SET lines_changed = 1
                WHERE NOT is_new AND NOT same AND (
                    (SELECT count(*) FROM {t["line"]} o WHERE o.order_id = import_stage_match.order_id)
                    <> (SELECT count(*) FROM import_stage_line l WHERE l.seq = import_stage_match.seq)
                    OR EXISTS (
                        SELECT 1 FROM import_stage_line l
                        JOIN import_stage_product p ON p.shop_id = l.shop_id AND p.pkey = l.pkey
                        LEFT JOIN {t["line"]} o ON o.order_id = import_stage_match.order_id AND o.line_no = l.line_no
                        WHERE l.seq = import_stage_match.seq AND NOT (
                            o.id IS NOT NULL AND o.product_id IS p.product_id AND o.title IS l.title
                            AND o.sku IS l.sku AND {_same("o", "l", _LINE_VALUES)})))"""
            )
