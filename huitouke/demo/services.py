"""Build, detect and reset the demo shop: the bulk writer and the orchestration across apps.

The demo is project-level tooling (like jobs.py): rows come from the pure `generator` and are written in bulk,
straight into the tables (COPY on PostgreSQL, executemany on SQLite), because a million customers cannot go
through per-row services. Everything after the load goes through the owning apps' services: levels_set,
customer_stats_refresh, levels_regrade, user_create, tag_get_or_create.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from huitouke.analytics.rollups import rollups_rebuild
from huitouke.core.bulk import bulk_insert
from huitouke.core.errors import ApplicationError
from huitouke.core.pii_fields import pii_cipher
from huitouke.core.roles import AGENT, MANAGER, MARKETER, OWNER
from huitouke.core.services import user_create
from huitouke.customers.models import Consent, Customer, CustomerIdentity, CustomerTag, Note
from huitouke.customers.services import tag_get_or_create
from huitouke.demo import data
from huitouke.demo.feedback import demo_reviews_build, demo_visits_build
from huitouke.demo.generator import (
    CONSENT_COLUMNS,
    CUSTOMERTAG_COLUMNS,
    IDENTITY_COLUMNS,
    LINE_COLUMNS,
    NOTE_COLUMNS,
    ORDER_COLUMNS,
    PRODUCT_COLUMNS,
    SHOP_COLUMNS,
    STORED_CUSTOMER_COLUMNS,
    DemoGenerator,
    IdStart,
    copy_chunks_produce,
    seal_customers,
    seal_orders,
)
from huitouke.demo.history import demo_history_build
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.orders.services import customer_stats_refresh

Progress = Callable[[str, int, int], None]

#: Customers generated and written per round trip.
CHUNK_SIZE = 10_000


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


#: One login per role; the passwords are public on purpose (a demo on the local machine).
DEMO_LOGINS = [DemoLogin(role, role, f"huitouke-{role}") for role in (OWNER, MANAGER, AGENT, MARKETER)]

#: The Taobao shop's member levels (either threshold qualifies).
DEMO_LEVELS = [
    LevelSpec("普通会员", Decimal("0"), 1, 100, "会员价购买；生日当月送试饮装"),
    LevelSpec("高级会员", Decimal("500"), 4, 98, "全店98折；每年两张免邮券"),
    LevelSpec("VIP会员", Decimal("1500"), 12, 95, "全店95折；新品优先试饮；专属客服"),
    LevelSpec("至尊VIP", Decimal("6000"), 30, 90, "全店9折；顺丰包邮；节日礼盒"),
]


@dataclass(frozen=True)
class DemoSummary:
    shops: int
    products: int
    customers: int
    orders: int
    lines: int
    memberships: int
    seconds: float
    reviews: int = 0
    credit_level: int = 0
    visit_tasks: int = 0


class DemoExistsError(ApplicationError):
    """The demo shop is there already (rebuilding needs --reset)."""


class DemoRefusedError(ApplicationError):
    """The installation holds real shops; the demo never writes next to or deletes real data."""


def demo_exists() -> bool:
    """Whether a demo shop has been built in this database."""
    return Shop.objects.filter(is_demo=True).exists()


def _refuse_if_real_shops() -> None:
    real = list(Shop.objects.filter(is_demo=False).values_list("name", flat=True)[:3])
    if real:
        raise DemoRefusedError(
            f"this database holds real shops ({', '.join(real)}); the demo runs only on an empty or demo database",
            field="reset",
        )


def demo_users_ensure() -> list[tuple[DemoLogin, bool]]:
    """Create the demo login of each role that does not exist yet; returns (login, created) pairs.

    An existing user keeps its password (and role): it is never overwritten.
    """
    out = []
    for login in DEMO_LOGINS:
        created = not User.objects.filter(username=login.username).exists()
        if created:
            user_create(username=login.username, role=login.role, password=login.password, validate=False)
        out.append((login, created))
    return out


def _archive_models() -> list[type[models.Model]]:
    """Shops, customers and every model that hangs off them (found through reverse relations), parents first."""
    found: list[type[models.Model]] = [Shop, Customer]
    i = 0
    while i < len(found):
        meta = found[i]._meta
        for rel in meta.related_objects:
            if rel.related_model not in found:
                found.append(rel.related_model)
        for f in meta.many_to_many:
            through = f.remote_field.through
            if through is not None and through._meta.auto_created and through not in found:
                found.append(through)
        i += 1
    return found


def demo_reset() -> None:
    """Delete every shop, customer and what hangs off them (orders, levels, notes …) — only when all shops are
    demo shops. Users and tags stay. TRUNCATE … CASCADE on PostgreSQL, plain DELETEs on SQLite.

    Raises DemoRefusedError when a real shop exists.
    """
    _refuse_if_real_shops()
    tables = [m._meta.db_table for m in _archive_models()]
    qn = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"TRUNCATE {', '.join(qn(t) for t in tables)} CASCADE")
        else:
            # SQLite checks the (deferred) foreign keys at commit, when every table is empty: order is free.
            for table in reversed(tables):
                cur.execute(f"DELETE FROM {qn(table)}")


def _max_ids() -> IdStart:
    def top(model: type[models.Model]) -> int:
        return int(model._default_manager.aggregate(m=Max("id"))["m"] or 0)

    return IdStart(
        shop=top(Shop),
        product=top(Product),
        customer=top(Customer),
        identity=top(CustomerIdentity),
        customertag=top(CustomerTag),
        note=top(Note),
        consent=top(Consent),
        order=top(Order),
        line=top(OrderLine),
    )


_LOAD_ORDER: list[tuple[str, type[models.Model], Sequence[str]]] = [
    ("customers", Customer, STORED_CUSTOMER_COLUMNS),
    ("identities", CustomerIdentity, IDENTITY_COLUMNS),
    ("customertags", CustomerTag, CUSTOMERTAG_COLUMNS),
    ("notes", Note, NOTE_COLUMNS),
    ("consents", Consent, CONSENT_COLUMNS),
    ("orders", Order, ORDER_COLUMNS),
    ("lines", OrderLine, LINE_COLUMNS),
]


def _copy(model: type[models.Model], columns: Sequence[str], text: str) -> None:
    """COPY FROM STDIN on PostgreSQL, in the open transaction."""
    if not text:
        return
    qn = connection.ops.quote_name
    connection.ensure_connection()
    raw: Any = connection.connection
    sql = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.write(text)


def _pg_drop_secondary_indexes(tables: Sequence[str], keep: Callable[[str], bool]) -> list[str]:
    """Drop the indexes of `tables` that back no constraint (except those `keep` accepts, by definition) and
    return their definitions. Building an index once after a bulk load is far cheaper than maintaining it row by
    row; inside the transaction, a failure brings them back."""
    rows: list[tuple[str, str]] = []
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                WHERE i.indrelid = %s::regclass
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY 1
                """,
                [table],
            )
            rows.extend(cur.fetchall())
        found = [(name, definition) for name, definition in rows if not keep(definition)]
        for name, _definition in found:
            cur.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def _load_postgres(options: dict[str, Any], report: Progress, total: int) -> tuple[int, int]:
    """Generate in a child process (one core) while this one streams COPY to the server (the other core)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=3)
    child = ctx.Process(target=copy_chunks_produce, args=(options, CHUNK_SIZE, queue, pii_cipher()), daemon=True)
    child.start()
    done = n_orders = n_lines = 0
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if item[0] == "error":
                raise ApplicationError(f"demo generation failed: {item[1]}")
            n_customers, orders, lines, texts = item
            for key, model, columns in _LOAD_ORDER:
                _copy(model, columns, texts[key])
            done += n_customers
            n_orders += orders
            n_lines += lines
            report("customers", done, total)
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
    return n_orders, n_lines


def _load_sqlite(options: dict[str, Any], report: Progress, total: int) -> tuple[int, int]:
    gen = DemoGenerator(**options)
    cipher = pii_cipher()
    done = n_orders = n_lines = 0
    for chunk in gen.chunks(CHUNK_SIZE):
        chunk.customers = seal_customers(chunk.customers, cipher)
        chunk.orders = seal_orders(chunk.orders, cipher)
        for key, model, columns in _LOAD_ORDER:
            bulk_insert(model, columns, getattr(chunk, key))
        done += len(chunk.customers)
        n_orders += len(chunk.orders)
        n_lines += len(chunk.lines)
        report("customers", done, total)
    return n_orders, n_lines


def _check_columns() -> None:
    """The generator's column lists must name every concrete column of each model (a model change shows here)."""
    pairs: list[tuple[type[models.Model], Sequence[str]]] = [
        (Shop, SHOP_COLUMNS),
        (Product, PRODUCT_COLUMNS),
        (Customer, STORED_CUSTOMER_COLUMNS),
        (CustomerIdentity, IDENTITY_COLUMNS),
        (CustomerTag, CUSTOMERTAG_COLUMNS),
        (Note, NOTE_COLUMNS),
        (Consent, CONSENT_COLUMNS),
        (Order, ORDER_COLUMNS),
        (OrderLine, LINE_COLUMNS),
    ]
    for model, columns in pairs:
        expected = {f.column for f in model._meta.concrete_fields}
        if expected != set(columns):
            raise ApplicationError(f"demo generator is out of date for {model.__name__}: {expected ^ set(columns)}")


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, dt_time(12)))


def demo_build(
    *,
    customers: int = 20_000,
    seed: int = 42,
    progress: Progress | None = None,
    reset: bool = False,
    today: date | None = None,
) -> DemoSummary:
    """Build the demo business: a Taobao tea-and-snacks shop and a small Shopify store, `customers` customers
    (~90% on Taobao) with 24 months of orders up to yesterday, member levels, refreshed stats and levels, reviews
    with the shop's credit, return-visit plans with a week of tasks, and one login per role. The same seed, size
    and day give the same rows.

    Raises DemoRefusedError when real shops exist and DemoExistsError when a demo exists and `reset` is off.
    With `reset`, the old demo is deleted in the archive's transaction, so a failed load leaves it untouched; the
    history (care, a campaign, reviews, visits) is built after that commit, in transactions of its own.
    `progress(stage, done, total)` is called as the work advances.
    """
    if customers < 1:
        raise ApplicationError("customers must be at least 1", field="customers")
    report: Progress = progress or (lambda stage, done, total: None)
    started = time.monotonic()
    _refuse_if_real_shops()
    if demo_exists() and not reset:
        raise DemoExistsError("the demo shop exists already; use --reset to rebuild it", field="reset")
    _check_columns()
    demo_users_ensure()
    author_id = User.objects.filter(username=MANAGER).values_list("pk", flat=True).first()
    today = today or timezone.localdate()
    postgres = connection.vendor == "postgresql"
    loaded = [Shop, Product, Customer, CustomerIdentity, CustomerTag, Note, Consent, Order, OrderLine]
    qn = connection.ops.quote_name
    with transaction.atomic():
        if reset:
            demo_reset()
            report("reset", 1, 1)
        tag_ids = {name: tag_get_or_create(name=name).pk for name in data.TAG_NAMES}
        options: dict[str, Any] = {
            "customers": customers,
            "seed": seed,
            "today": today,
            "ids": _max_ids(),
            "tag_ids": tag_ids,
            "note_author_id": author_id,
        }
        static = DemoGenerator(**{**options, "customers": 1})  # the shops and catalogue, without customers
        bulk_insert(Shop, SHOP_COLUMNS, static.shop_rows)
        bulk_insert(Product, PRODUCT_COLUMNS, static.product_rows)
        deferred: list[str] = []
        if postgres:
            with connection.cursor() as cur:
                # Check foreign keys per statement: deferring millions of checks to COMMIT costs memory.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # The stats refresh below looks orders up by customer: that one index stays.
            deferred = _pg_drop_secondary_indexes(
                [m._meta.db_table for _key, m, _cols in _LOAD_ORDER],
                keep=lambda definition: definition.endswith("(customer_id)") and "orders_order" in definition,
            )
            n_orders, n_lines = _load_postgres(options, report, customers)
        else:
            n_orders, n_lines = _load_sqlite(options, report, customers)
        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), loaded):
                cur.execute(sql)
            if postgres:
                # Fresh statistics, or the planner treats the million new rows as an empty table.
                cur.execute(f"ANALYZE {', '.join(qn(m._meta.db_table) for m in loaded)}")
        report("orders", n_orders, n_orders)
        taobao = Shop.objects.get(pk=static.shops["taobao"].id)
        levels_set(shop=taobao, specs=DEMO_LEVELS)
        customer_stats_refresh(customer_ids=None)
        rollups_rebuild()
        report("stats", customers, customers)
        memberships = levels_regrade()
        report("levels", memberships, memberships)
        if deferred:
            with connection.cursor() as cur:
                for i, definition in enumerate(deferred, start=1):
                    cur.execute(definition)
                    report("indexes", i, len(deferred))
                cur.execute(f"ANALYZE {', '.join(qn(m._meta.db_table) for m in loaded)}")
    # The history after the archive's commit, each step in its own transactions as in a running shop: the
    # dispatcher's per-customer locks last one batch, where one transaction around a million customers' sends
    # would hold them all (PostgreSQL: "out of shared memory", max_locks_per_transaction).
    now = timezone.now() if today == timezone.localdate() else _noon(today)
    demo_history_build(shop_id=taobao.pk, levels=DEMO_LEVELS, now=now, progress=report)
    n_reviews, _cases, credit = demo_reviews_build(shop=taobao, now=now, seed=seed)
    report("reviews", n_reviews, n_reviews)
    visit_tasks, _done = demo_visits_build(shop=taobao, now=now)
    report("visits", visit_tasks, visit_tasks)
    if postgres and not connection.in_atomic_block:
        # Mark the freshly loaded pages all-visible so that index-only scans work from the start.
        with connection.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {', '.join(qn(m._meta.db_table) for m in loaded)}")
        report("vacuum", 1, 1)
    return DemoSummary(
        shops=len(static.shop_rows),
        products=len(static.product_rows),
        customers=customers,
        orders=n_orders,
        lines=n_lines,
        memberships=memberships,
        seconds=round(time.monotonic() - started, 1),
        reviews=n_reviews,
        credit_level=credit.level.index,
        visit_tasks=visit_tasks,
    )
