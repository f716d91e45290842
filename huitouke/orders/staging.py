"""The PostgreSQL writer of an import: each batch is copied into temporary staging tables, then merged by SQL.

`importing.OrderWriter` resolves customers, products and existing orders in Python and inserts what is new; that
is portable (SQLite) but spends most of a million-line import shuttling rows between Python and the server. On
PostgreSQL this writer does the same upsert with the server doing the work: one COPY of the batch's orders and
lines into temporary tables, then a fixed number of set-based statements in the batch's transaction:

1. customers: one staged row per (platform, handle), the batch's newest order; identities found are reused,
   the rest get new customers and identities; existing customers have empty profile fields filled (and a
   masked phone replaced by an unmasked one), the same rule as `OrderWriter._fill_profiles`; consent answers
   carried by the file (Shopify "Accepts Marketing", the 新品通知 column) are upserted. The staged orders carry
   their profiles' shapes; only the profiles this step stores are sealed (`_stage_profiles`), into
   import_stage_profile;
2. products by (shop, product key), the first line naming a key giving its title and price;
3. orders matched to the archive by (shop, order number): changed fields are updated, changed lines replaced
   (compared as the ordered list of line values), new orders inserted with their lines. Nothing else is written,
   so importing the same file twice writes nothing the second time.

The counts (created/updated/unchanged orders, lines, customers created) and the touched customers go into the
same `ImportResult` as the portable writer's, and the suite runs every import test against both writers (the
CI runs it on PostgreSQL and on SQLite).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import Consent, Customer, CustomerIdentity
from huitouke.orders.feed import (
    LINE_STAGE_COLUMNS,
    LINE_VALUE_FIELDS,
    ORDER_STAGE_COLUMNS,
    POSTGRESQL,
    PROFILE_FIELDS,
    STORED_PROFILE_FIELDS,
    Encoded,
    Encoder,
    copy_line,
    stored_profile,
)
from huitouke.orders.importers.rows import OrderRow
from huitouke.orders.importing import CONSENT_ANSWERS, LINE_FIELDS, ORDER_FIELDS, ImportResult, OrderWriter
from huitouke.orders.models import Order, OrderLine, Product, Shop

#: orders per batch: one COPY and one merge per batch (each a transaction). The parsing child holds a batch's text
#: three times while it encodes it (the rows' strings, their join, the bytes) and the writer once more: at 50,000
#: orders a 1,000,000-line import peaked at 1.57 GB on PostgreSQL and 1.83 GB on SQLite (parent and child), at
#: 10,000 at 1.20 and 1.38 GB, in the same time (README, import_orders.py)
BATCH_ORDERS = 10_000
#: orders written by one import above which the tables' statistics are refreshed at the end
ANALYZE_AFTER = 10_000

_PROFILE = PROFILE_FIELDS
#: the digest columns that follow a profile field when it is filled (core.pii_crypto)
_DIGESTS_OF = {
    "phone": ("phone_digest", "phone_last4_digest"),
    "email": ("email_digest",),
    "real_name": ("real_name_digest",),
}
#: per profile field, SQL true when the staged value (s) fills in the archived customer's (c), the rule of
#: `OrderWriter._fill_profiles`. Phone, email, real name and address are sealed (no two tokens are equal, a
#: masked phone's token starts with "*"): only emptiness and masking are compared, which a profile's shape
#: (`feed.profile_shape`) carries as well.
_BETTER = {
    p: f"(s.{p} <> '' AND s.{p} <> c.{p} AND (c.{p} = ''"
    + (" OR (c.phone LIKE '%*%' AND s.phone NOT LIKE '%*%')" if p == "phone" else "")
    + "))"
    for p in PROFILE_FIELDS
}
_ORDER_VALUES = ORDER_FIELDS[1:]  # everything but customer_id, which the merge resolves
_LINE_VALUES = LINE_VALUE_FIELDS[3:]  # after line_no, title and sku
#: an order's ORDER_FIELDS from the staging tables (c: import_stage_match or _customer, s: import_stage_order)
_STAGED_ORDER = ", ".join(["c.customer_id", *(f"s.{f}" for f in _ORDER_VALUES)])

_STAGE_DDL = (
    f"""CREATE TEMP TABLE IF NOT EXISTS import_stage_order (
        seq integer NOT NULL, shop_id bigint NOT NULL, order_no text NOT NULL, platform text NOT NULL,
        handle text NOT NULL, name text NOT NULL, {", ".join(f"{p} text NOT NULL" for p in STORED_PROFILE_FIELDS)},
        accepts_marketing boolean, new_products boolean, summary_lines boolean NOT NULL,
        status text NOT NULL, goods_amount numeric NOT NULL, shipping_fee numeric NOT NULL,
        total_amount numeric NOT NULL, paid_amount numeric NOT NULL, refund_amount numeric NOT NULL,
        ordered_at timestamptz NOT NULL, paid_at timestamptz, shipped_at timestamptz, delivered_at timestamptz,
        confirmed_at timestamptz, closed_at timestamptz, logistics_company text NOT NULL, tracking_no text NOT NULL,
        gift text NOT NULL, buyer_remark text NOT NULL, seller_memo text NOT NULL, receiver_name text NOT NULL,
        receiver_phone text NOT NULL, receiver_address text NOT NULL, fingerprint bigint)""",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_line (
        seq integer NOT NULL, shop_id bigint NOT NULL, line_no smallint NOT NULL, pkey text NOT NULL,
        title varchar(255) NOT NULL, sku varchar(128) NOT NULL, quantity integer NOT NULL, unit_price numeric NOT NULL,
        amount numeric NOT NULL, refund_state varchar(10) NOT NULL)""",  # the types of OrderLine: compared as rows
    f"""CREATE TEMP TABLE IF NOT EXISTS import_stage_profile (
        seq integer NOT NULL, {", ".join(f"{p} text NOT NULL" for p in STORED_PROFILE_FIELDS)})""",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_customer (
        platform text NOT NULL, handle text NOT NULL, seq integer NOT NULL, customer_id bigint,
        is_new boolean NOT NULL)""",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_product (
        shop_id bigint NOT NULL, pkey text NOT NULL, product_id bigint, is_new boolean NOT NULL,
        title text NOT NULL, price numeric NOT NULL)""",
    """CREATE TEMP TABLE IF NOT EXISTS import_stage_match (
        seq integer NOT NULL, order_id bigint NOT NULL, customer_id bigint NOT NULL, old_customer_id bigint,
        is_new boolean NOT NULL, same boolean NOT NULL, fields_changed boolean NOT NULL,
        lines_changed boolean NOT NULL)""",
)
_STAGES = ("import_stage_order", "import_stage_line", "import_stage_profile", "import_stage_customer",
           "import_stage_product", "import_stage_match")  # fmt: skip


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _defaults(model: type[models.Model], given: Sequence[str], now: Any) -> tuple[str, str, list[Any]]:
    """The columns of `model` not in `given` (nor an auto primary key), with their default values as parameters:
    (", col…", ", %s…", params) to append to an INSERT … SELECT."""
    columns, params = [], []
    for f in model._meta.concrete_fields:
        if f.attname in given or (f.primary_key and "id" not in given):
            continue
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        columns.append(_qn(str(f.column)))
        params.append(f.get_db_prep_save(now if auto else f.get_default(), connection))
    if not columns:
        return "", "", []
    return ", " + ", ".join(columns), ", %s" * len(columns), params


class StagedWriter(OrderWriter, ABC):
    """`OrderWriter`'s contract (write batches of OrderRow into one shop or the shops the rows name), with the
    resolution done by the database: a batch is encoded (`feed.Encoder`, here or in the parsing child process)
    into the staging tables, then merged by SQL. Shops are resolved in Python, as there are few. Subclasses give
    the `dialect` the batches are encoded for and `write_encoded`."""

    BATCH = BATCH_ORDERS
    dialect = POSTGRESQL

    def __init__(self, *, result: ImportResult, shop: Shop | None, default_shop: str) -> None:
        super().__init__(result=result, shop=shop, default_shop=default_shop)
        self.tables = {
            "customer": _qn(Customer._meta.db_table),
            "identity": _qn(CustomerIdentity._meta.db_table),
            "consent": _qn(Consent._meta.db_table),
            "product": _qn(Product._meta.db_table),
            "order": _qn(Order._meta.db_table),
            "line": _qn(OrderLine._meta.db_table),
        }
        self._staged = False
        self._compared = False  # whether the batch has archived orders compared field by field
        self.encoder = Encoder(self.shop_id, self.dialect, cipher=pii_cipher(), defer_profiles=True)

    def shop_id(self, name: str, platform: str) -> int:
        """The id of the shop rows naming `name` on `platform` go into (the encoder's and the feed's question)."""
        return int(self.shop_named(name, platform).pk)

    def write(self, rows: list[OrderRow]) -> None:
        if rows:
            self.write_encoded(self.encoder.encode(rows))

    @abstractmethod
    def write_encoded(self, batch: Encoded) -> None:
        """Write one encoded batch in one transaction: stage it, then `_merge`."""

    # -- the dialect's steps -----------------------------------------------------------------------------------
    @abstractmethod
    def _copy_profiles(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows of (seq, *STORED_PROFILE_FIELDS) into import_stage_profile."""

    @abstractmethod
    def _stage_customers(self, cur: Any) -> int:
        """Fill import_stage_customer (one row per buyer: the batch's newest order, the customer id found through
        the identity or a new one); return how many are new."""

    @abstractmethod
    def _merge_consents(self, cur: Any, now: Any) -> None:
        """Upsert the consent answers (importing.CONSENT_ANSWERS) of each buyer's newest order in the batch."""

    @abstractmethod
    def _stage_products(self, cur: Any) -> int:
        """Fill import_stage_product (one row per product key, the first line naming it); return how many are
        new."""

    @abstractmethod
    def _stage_matches(self, cur: Any) -> None:
        """Fill import_stage_match: each staged order's id (archived or new), customer, and whether its fields
        or its lines changed."""

    # -- the merge, the same SQL on both databases -------------------------------------------------------------
    def _merge(self, cur: Any, now: Any, batch: Encoded) -> None:
        self._compared = False
        self._merge_customers(cur, now, batch)
        kept = self._keep_archived_lines(cur)
        if self._stage_products(cur):
            cols, marks, params = _defaults(Product, ("id", "shop_id", "external_id", "title", "price"), now)
            cur.execute(
                f"""INSERT INTO {self.tables["product"]} (id, shop_id, external_id, title, price{cols})
                SELECT product_id, shop_id, pkey, title, price{marks} FROM import_stage_product
                WHERE is_new ORDER BY product_id""",
                params,
            )
        self._stage_matches(cur)
        if kept:
            # the summarised orders whose staged lines were dropped keep their archived lines
            cur.execute(
                """UPDATE import_stage_match SET lines_changed = false WHERE lines_changed AND NOT is_new
                AND seq IN (SELECT seq FROM import_stage_order WHERE summary_lines)
                AND NOT EXISTS (SELECT 1 FROM import_stage_line l WHERE l.seq = import_stage_match.seq)"""
            )
        created, updated = self._count_matches(cur)
        self._write_orders(cur, now, created=created, updated=updated)

    def _keep_archived_lines(self, cur: Any) -> int:
        """Drop the staged summary line of every order that is archived with lines (they may be the item
        report's: a summary never replaces them, and names no product); return how many orders keep theirs.
        Their staged fingerprint goes too: it is the summary's, not that of the lines they keep."""
        cur.execute("SELECT EXISTS (SELECT 1 FROM import_stage_order WHERE summary_lines)")
        if not cur.fetchone()[0]:
            return 0
        t = self.tables
        cur.execute(
            f"""DELETE FROM import_stage_line WHERE seq IN (
                SELECT s.seq FROM import_stage_order s
                JOIN {t["order"]} o ON o.shop_id = s.shop_id AND o.order_no = s.order_no
                WHERE s.summary_lines AND EXISTS (SELECT 1 FROM {t["line"]} l WHERE l.order_id = o.id))"""
        )
        kept = int(cur.rowcount)
        if kept:
            cur.execute(
                """UPDATE import_stage_order SET fingerprint = NULL WHERE summary_lines
                AND NOT EXISTS (SELECT 1 FROM import_stage_line l WHERE l.seq = import_stage_order.seq)"""
            )
        return kept

    def _stage_profiles(self, cur: Any, batch: Encoded) -> bool:
        """Fill import_stage_profile with the sealed profile of each buyer whose profile the merge stores: the new
        customers' and the archived ones' with a field to fill in (`_BETTER`, on the staged shapes). The batch
        carries the clear profiles (`Encoded.profiles`: every encoder of a staged import leaves them to the writer)
        and only those are sealed, here. Return whether an archived customer is among them."""
        if batch.profiles is None:
            raise ValueError("a staged batch carries its clear profiles (Encoder(defer_profiles=True))")
        t = self.tables
        # the new buyers, then the archived ones with a field to fill: two parts, so that only the archived ones are
        # looked up (by id) among the customers, never the whole table scanned for a batch
        cur.execute(
            f"""SELECT seq, true FROM import_stage_customer WHERE is_new
            UNION ALL
            SELECT sc.seq, false FROM import_stage_customer sc JOIN import_stage_order s ON s.seq = sc.seq
            JOIN {t["customer"]} c ON c.id = sc.customer_id
            WHERE NOT sc.is_new AND ({" OR ".join(_BETTER.values())})"""
        )
        found = cur.fetchall()
        if not found:
            return False
        cipher, clear, profile_of = self.encoder.cipher, batch.profiles, batch.profile_of
        sealed: dict[int, tuple[str, ...]] = {}
        rows = []
        for seq, _new in found:
            index = profile_of[seq]
            stored = sealed.get(index)
            if stored is None:
                stored = sealed[index] = stored_profile(cipher, clear[index])
            rows.append((seq, *stored))
        self._copy_profiles(cur, rows)
        return not all(new for _seq, new in found)

    def _merge_customers(self, cur: Any, now: Any, batch: Encoded) -> None:
        t = self.tables
        created = self._stage_customers(cur)
        archived = self._stage_profiles(cur, batch)
        if created:
            cols, marks, params = _defaults(Customer, ("id", "name", *STORED_PROFILE_FIELDS), now)
            cur.execute(
                f"""INSERT INTO {t["customer"]} (id, name, {", ".join(STORED_PROFILE_FIELDS)}{cols})
                SELECT c.customer_id, s.name, {", ".join(f"p.{p}" for p in STORED_PROFILE_FIELDS)}{marks}
                FROM import_stage_customer c JOIN import_stage_order s ON s.seq = c.seq
                JOIN import_stage_profile p ON p.seq = c.seq
                WHERE c.is_new ORDER BY c.customer_id""",
                params,
            )
            cols, marks, params = _defaults(CustomerIdentity, ("customer_id", "platform", "handle"), now)
            cur.execute(
                f"""INSERT INTO {t["identity"]} (customer_id, platform, handle{cols})
                SELECT customer_id, platform, handle{marks} FROM import_stage_customer
                WHERE is_new ORDER BY customer_id""",
                params,
            )
            self.result.customers_created += created
        # existing customers: fill what the archive lacks (`_BETTER`); a filled field brings its digests along
        if archived:
            cur.execute(
                f"""UPDATE {t["customer"]} AS c
                SET {", ".join(f"{p} = CASE WHEN {_BETTER[p]} THEN s.{p} ELSE c.{p} END" for p in _PROFILE)},
                    {
                    ", ".join(
                        f"{d} = CASE WHEN {_BETTER[p]} THEN s.{d} ELSE c.{d} END"
                        for p, ds in _DIGESTS_OF.items()
                        for d in ds
                    )
                }
                FROM import_stage_customer sc JOIN import_stage_profile s ON s.seq = sc.seq
                WHERE c.id = sc.customer_id AND NOT sc.is_new AND ({" OR ".join(_BETTER.values())})"""
            )
        # most exports carry no consent answer (Taobao's never do): one look instead of a join per answer kind
        answered = " OR ".join(f"{attr} IS NOT NULL" for attr, _c, _p in CONSENT_ANSWERS)
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM import_stage_order WHERE {answered})")
        if cur.fetchone()[0]:
            self._merge_consents(cur, now)

    def _write_orders(self, cur: Any, now: Any, *, created: int, updated: int) -> None:
        """Update the changed orders, replace their changed lines, insert the new orders with their lines. Every
        order written gets its staged fingerprint, and so does an archived order compared field by field (its
        fingerprint differed or was unknown) whose lines changed or that turned out the same: a later re-import
        then skips it unread. `created` and `updated` are the batch's counts: a statement with nothing to do is
        not run, so a re-import of an unchanged batch never touches the order lines."""
        t = self.tables
        order_cols = ", ".join(ORDER_FIELDS)
        if updated:
            cur.execute(
                f"""UPDATE {t["order"]} AS o
                SET ({order_cols}, updated_at, fingerprint) = ({_STAGED_ORDER}, %s, s.fingerprint)
                FROM import_stage_match c JOIN import_stage_order s ON s.seq = c.seq
                WHERE o.id = c.order_id AND c.fields_changed""",
                [connection.ops.adapt_datetimefield_value(now)],
            )
            cur.execute(
                f"""DELETE FROM {t["line"]} WHERE order_id IN
                (SELECT order_id FROM import_stage_match WHERE lines_changed)"""
            )
        if self._compared:
            # not `same` and fields unchanged: the archived fingerprint differs (customer ids are equal here).
            # An order keeping its archived lines has none staged: its archived fingerprint stays.
            cur.execute(
                f"""UPDATE {t["order"]} AS o SET fingerprint = s.fingerprint
                FROM import_stage_match c JOIN import_stage_order s ON s.seq = c.seq
                WHERE o.id = c.order_id AND NOT c.is_new AND NOT c.same AND NOT c.fields_changed
                AND s.fingerprint IS NOT NULL"""
            )
        if created:
            cols, marks, params = _defaults(Order, ("id", "shop_id", "order_no", *ORDER_FIELDS, "fingerprint"), now)
            cur.execute(
                f"""INSERT INTO {t["order"]} (id, shop_id, order_no, {order_cols}, fingerprint{cols})
                SELECT c.order_id, s.shop_id, s.order_no, {_STAGED_ORDER}, s.fingerprint{marks}
                FROM import_stage_match c JOIN import_stage_order s ON s.seq = c.seq
                WHERE c.is_new ORDER BY c.order_id""",
                params,
            )
        if not (created or updated):
            return
        cols, marks, params = _defaults(OrderLine, ("order_id", *LINE_FIELDS), now)
        cur.execute(
            f"""INSERT INTO {t["line"]} (order_id, {", ".join(LINE_FIELDS)}{cols})
            SELECT m.order_id, l.line_no, p.product_id, l.title, l.sku, {", ".join(f"l.{f}" for f in _LINE_VALUES)}
                   {marks}
            FROM import_stage_match m JOIN import_stage_line l ON l.seq = m.seq
            JOIN import_stage_product p ON p.shop_id = l.shop_id AND p.pkey = l.pkey
            WHERE m.is_new OR m.lines_changed ORDER BY m.order_id, l.line_no""",
            params,
        )
        self.result.lines += cur.rowcount

    def _any_compared(self, cur: Any) -> bool:
        """Whether some staged order is archived with another fingerprint or customer, so that its lines are to
        be compared (a first import, or a re-import of an unchanged file, compares none)."""
        cur.execute("SELECT EXISTS (SELECT 1 FROM import_stage_match WHERE NOT is_new AND NOT same)")
        self._compared = bool(cur.fetchone()[0])
        return self._compared

    def _count_matches(self, cur: Any) -> tuple[int, int]:
        """Add the batch's created/updated/unchanged orders and touched customers (the new owner and, for a
        changed order, the old one) to the result; return the created and updated counts."""
        cur.execute(
            """SELECT count(*) FILTER (WHERE is_new),
                      count(*) FILTER (WHERE NOT is_new AND (fields_changed OR lines_changed)),
                      count(*) FILTER (WHERE NOT (is_new OR fields_changed OR lines_changed))
               FROM import_stage_match"""
        )
        created, updated, unchanged = cur.fetchone()
        result = self.result
        result.orders_created += created
        result.orders_updated += updated
        result.orders_unchanged += unchanged
        cur.execute(
            """SELECT customer_id FROM import_stage_match WHERE is_new OR fields_changed OR lines_changed
               UNION SELECT old_customer_id FROM import_stage_match WHERE fields_changed OR lines_changed"""
        )
        result.customer_ids.update(cid for (cid,) in cur.fetchall() if cid is not None)
        return int(created), int(updated)


class StagedOrderWriter(StagedWriter):
    """The staged writer on PostgreSQL: COPY into the staging tables, merged with set-based statements."""

    def __init__(self, *, result: ImportResult, shop: Shop | None, default_shop: str) -> None:
        super().__init__(result=result, shop=shop, default_shop=default_shop)
        self._sequences: dict[str, str] = {}
        #: the tables `finish` analyses (an import that rewrites its customers' stats right after analyses the
        #: customers then instead: `importing.orders_import_rows`)
        self.analyzed: tuple[str, ...] = ("customer", "identity", "product", "order", "line")

    def write_encoded(self, batch: Encoded) -> None:
        """Write one encoded batch (see `feed.Encoder`) in one transaction."""
        if not batch.count:
            return
        now = timezone.now()
        owns_transaction = not connection.in_atomic_block
        with transaction.atomic(), connection.cursor() as cur:
            if owns_transaction:  # a crashed import is simply run again; a caller's transaction keeps durability
                cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("SET LOCAL jit = off")
            # the archive an import matches against is cached by the time it is read: a batch's ten thousand keys
            # are looked up by index, not by scanning the whole customers, identities or orders at every batch
            # (the default 4 took the 300,000 customers' heap scan for cheaper: 0.2 s a batch, growing with them)
            cur.execute("SET LOCAL random_page_cost = 1.1")
            for ddl in _STAGE_DDL:
                cur.execute(ddl)
            cur.execute(f"TRUNCATE {', '.join(_STAGES)}")
            self._staged = True
            raw = cur.cursor  # the psycopg cursor behind Django's wrapper
            if not (isinstance(batch.orders, bytes) and isinstance(batch.lines, bytes)):
                raise TypeError("the batch was not encoded for PostgreSQL's COPY")
            with raw.copy(f"COPY import_stage_order ({', '.join(ORDER_STAGE_COLUMNS)}) FROM STDIN") as copy:
                copy.write(batch.orders)
            with raw.copy(f"COPY import_stage_line ({', '.join(LINE_STAGE_COLUMNS)}) FROM STDIN") as copy:
                copy.write(batch.lines)
            # the statistics of the join keys only (cheap), so the planner sizes the staging tables right
            cur.execute("ANALYZE import_stage_order (seq, shop_id, order_no, platform, handle)")
            cur.execute("ANALYZE import_stage_line (seq, shop_id, pkey)")
            self._merge(cur, now, batch)

    def finish(self) -> None:
        """After the last batch: refresh the planner's statistics of the tables an import filled substantially
        (as autovacuum would, later), so the follow-ups (stats, levels) plan their joins on real row counts. The
        staging tables are emptied: a worker's connection outlives the import."""
        result = self.result
        with connection.cursor() as cur:
            if self._staged:  # the staging tables exist in this session
                cur.execute(f"TRUNCATE {', '.join(_STAGES)}")
            if result.orders_created + result.orders_updated < ANALYZE_AFTER:
                return
            for name in self.analyzed:
                cur.execute(f"ANALYZE {self.tables[name]}")

    # -- the dialect's steps -----------------------------------------------------------------------------------
    def _copy_profiles(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        with cur.cursor.copy(f"COPY import_stage_profile (seq, {', '.join(STORED_PROFILE_FIELDS)}) FROM STDIN") as copy:
            copy.write("".join(map(copy_line, rows)).encode())
        cur.execute("ANALYZE import_stage_profile (seq)")

    def _stage_customers(self, cur: Any) -> int:
        t = self.tables
        # one row per buyer: the batch's newest order (ties: the later row), found through its identity or new
        cur.execute(
            f"""INSERT INTO import_stage_customer (platform, handle, seq, customer_id, is_new)
            SELECT DISTINCT ON (s.platform, s.handle) s.platform, s.handle, s.seq, i.customer_id,
                   i.customer_id IS NULL
            FROM import_stage_order s
            LEFT JOIN {t["identity"]} i ON i.platform = s.platform AND i.handle = s.handle
            ORDER BY s.platform, s.handle, s.ordered_at DESC, s.seq DESC"""
        )
        cur.execute(
            "UPDATE import_stage_customer SET customer_id = nextval(%s::regclass) WHERE is_new",
            [self._sequence(cur, Customer)],
        )
        created = int(cur.rowcount)
        # sized for the planner: joined by id to the archived customers next (`_stage_profiles`); unanalysed, it
        # was taken for a few rows and the customers table scanned whole at every batch
        cur.execute("ANALYZE import_stage_customer (seq, customer_id, is_new)")
        return created

    def _merge_consents(self, cur: Any, now: Any) -> None:
        t = self.tables
        given = ("customer_id", "channel", "purpose", "granted", "source")
        cols, marks, params = _defaults(Consent, given, now)
        for attr, channels, purpose in CONSENT_ANSWERS:
            cur.execute(
                f"""INSERT INTO {t["consent"]} (customer_id, channel, purpose, granted, source{cols})
                SELECT sc.customer_id, ch.channel, %s, s.{attr}, 'import'{marks}
                FROM import_stage_customer sc JOIN import_stage_order s ON s.seq = sc.seq
                CROSS JOIN unnest(%s::text[]) AS ch(channel)
                WHERE s.{attr} IS NOT NULL
                ON CONFLICT (customer_id, channel, purpose) DO UPDATE
                SET granted = EXCLUDED.granted, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at""",
                [str(purpose), *params, [str(c) for c in channels]],
            )

    def _stage_products(self, cur: Any) -> int:
        t = self.tables
        cur.execute(
            f"""INSERT INTO import_stage_product (shop_id, pkey, product_id, is_new, title, price)
            SELECT DISTINCT ON (l.shop_id, l.pkey) l.shop_id, l.pkey, p.id, p.id IS NULL, l.title, l.unit_price
            FROM import_stage_line l
            LEFT JOIN {t["product"]} p ON p.shop_id = l.shop_id AND p.external_id = l.pkey
            ORDER BY l.shop_id, l.pkey, l.seq, l.line_no"""
        )
        cur.execute(
            "UPDATE import_stage_product SET product_id = nextval(%s::regclass) WHERE is_new",
            [self._sequence(cur, Product)],
        )
        return int(cur.rowcount)

    def _sequence(self, cur: Any, model: type[models.Model]) -> str:
        """The name of the sequence behind a table's id (looked up once, then used as a constant per row)."""
        table = model._meta.db_table
        if table not in self._sequences:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            self._sequences[table] = cur.fetchone()[0]
        return self._sequences[table]

    def _stage_matches(self, cur: Any) -> None:
        t = self.tables
        archived = ", ".join(f"o.{f}" for f in ORDER_FIELDS)
        # the archived order is the staged one: same fingerprint (fields and lines), same customer
        same = "(o.fingerprint = s.fingerprint AND o.customer_id = c.customer_id)"
        line_row = "ROW(" + ", ".join(LINE_FIELDS) + ")"
        staged_line_row = (
            "ROW(l.line_no, p.product_id, l.title, l.sku, " + ", ".join(f"l.{f}" for f in _LINE_VALUES) + ")"
        )
        cur.execute(
            f"""INSERT INTO import_stage_match
                (seq, order_id, customer_id, old_customer_id, is_new, same, fields_changed, lines_changed)
            SELECT s.seq,
                   CASE WHEN o.id IS NULL THEN nextval(%s::regclass) ELSE o.id END,
                   c.customer_id, o.customer_id, o.id IS NULL, coalesce({same}, false),
                   o.id IS NOT NULL AND NOT coalesce({same}, false)
                   AND ({archived}) IS DISTINCT FROM ({_STAGED_ORDER}),
                   false
            FROM import_stage_order s
            JOIN import_stage_customer c ON c.platform = s.platform AND c.handle = s.handle
            LEFT JOIN {t["order"]} o ON o.shop_id = s.shop_id AND o.order_no = s.order_no""",
            [self._sequence(cur, Order)],
        )
        if cur.rowcount and self._any_compared(cur):
            # the lines of the orders already archived, compared as ordered lists of rows (two grouped scans)
            cur.execute(
                f"""UPDATE import_stage_match SET lines_changed = true WHERE seq IN (
                    SELECT x.seq FROM import_stage_match x
                    LEFT JOIN (
                        SELECT l.order_id, array_agg({line_row} ORDER BY l.line_no) AS lines
                        FROM {t["line"]} l JOIN import_stage_match mm
                        ON mm.order_id = l.order_id AND NOT mm.is_new AND NOT mm.same
                        GROUP BY l.order_id
                    ) old ON old.order_id = x.order_id
                    LEFT JOIN (
                        SELECT l.seq, array_agg({staged_line_row} ORDER BY l.line_no) AS lines
                        FROM import_stage_line l JOIN import_stage_match mm
                        ON mm.seq = l.seq AND NOT mm.is_new AND NOT mm.same
                        JOIN import_stage_product p ON p.shop_id = l.shop_id AND p.pkey = l.pkey
                        GROUP BY l.seq
                    ) new ON new.seq = x.seq
                    WHERE NOT x.is_new AND NOT x.same AND old.lines IS DISTINCT FROM new.lines)"""
            )
