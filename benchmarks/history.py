"""The history a shop that has run for two years leaves around its customers, at the sizes issue 22 names, for the
page-speed crawl: messages, tickets, reviews and visit tasks topped up on PostgreSQL from the demo's own rows.

    DATABASE_URL=postgres://…/htk_pages .venv/bin/python benchmarks/history.py [--messages 10000000]
        [--tickets 1000000] [--reviews 2000000] [--visits 1000000]

The demo generator writes a few of each kind of row through the product's services (care sends, a campaign,
tickets and review cases opened from bad reviews, return visits); building ten million of them that way takes
hours. This tops each table up to its target in set-based statements instead: every new row is a copy of a
finished row of the demo (a message sent, delivered, failed, suppressed or expired; a ticket, closed;
a review; a visit done or cancelled) given to another customer (tickets and reviews: the customer and shop of
another order), moved back by up to two years, with keys that cannot collide with the demo's (`history:` message
keys, ticket numbers past the largest, review ids prefixed `h`). Nothing pending is copied, so the worker, the SLA
tick and the visit queue see no new work: the rows are history. Encrypted columns are copied as they are (they
open with the same key; the copy's recipient belongs to the row it was copied from, which a page-speed crawl does
not read). Rows are added in chunks of a million, each its own transaction, with progress; a table already at its
target is left alone, so a second run adds nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHUNK = 1_000_000
DAYS = 730  # how far back a copy may move: two years of history

#: the issue's history (orders come from the demo itself: about 4.9 M at 1 M customers)
TARGETS = {"messages": 10_000_000, "tickets": 1_000_000, "reviews": 2_000_000, "visits": 1_000_000}


@dataclass(frozen=True)
class Table:
    name: str
    model: str
    #: the rows that may be copied (finished ones only)
    templates: str
    #: INSERT … SELECT of rows g in [%(start)s, %(end)s), reading template t (`tmpl`) and a target (`pick`)
    insert: str
    #: what the copies are given: a customer ('customers') or an order ('orders')
    pick: str
    #: the column holding each copy's g after a prefix (how a run after an interrupted one goes on past it);
    #: None: the copies' keys start past the table's own (tickets: their numbers)
    key: tuple[str, str] | None = None


#: rows g of the chunk, each reading its template t (`tmpl`) and the customer or order p it is given (`pick`)
_ROWS = """FROM generate_series(%(start)s::bigint, %(end)s - 1) AS g
        JOIN tmpl t ON t.n = g %% %(templates)s
        JOIN pick p ON p.n = (g * 7919) %% %(picks)s"""
_SHIFT = f"make_interval(days => (g %% {DAYS})::int)"  # %% : the statements take named parameters

_MESSAGE_COLUMNS = (
    "channel, purpose, priority, source_kind, source_id, language, params, subject, body, to_address, scheduled_at, "
    "deadline, status, reason, detail, attempts, next_attempt_at, lease_until, claimed_by, provider_message_id, "
    "idempotency_key, resends, contacted_at, sent_at, delivered_at, created_at, updated_at, customer_id, shop_id, "
    "source_type_id, template_id"
)

MESSAGES = Table(
    name="messages",
    model="messaging_message",
    templates=(
        "SELECT * FROM messaging_message WHERE status IN ('sent', 'delivered', 'failed', 'suppressed', 'expired') "
        "AND customer_id IS NOT NULL ORDER BY id LIMIT 200000"
    ),
    insert=f"""
        INSERT INTO messaging_message ({_MESSAGE_COLUMNS})
        SELECT t.channel, t.purpose, t.priority, t.source_kind, t.source_id, t.language, t.params, t.subject, t.body,
               t.to_address, t.scheduled_at - {_SHIFT}, t.deadline - {_SHIFT}, t.status, t.reason, t.detail,
               t.attempts, t.next_attempt_at - {_SHIFT}, NULL, '', t.provider_message_id, 'history:' || g, t.resends,
               t.contacted_at - {_SHIFT}, t.sent_at - {_SHIFT}, t.delivered_at - {_SHIFT}, t.created_at - {_SHIFT},
               t.updated_at - {_SHIFT}, p.id, t.shop_id, t.source_type_id, t.template_id
        {_ROWS}""",
    pick="customers",
    key=("idempotency_key", "history:"),
)

_TICKET_COLUMNS = (
    "created_at, updated_at, number, type, channel, priority, status, subject, description, first_owned_at, "
    "platform_deadline, first_response_due, first_response_warn_at, first_response_state, first_responded_at, "
    "next_response_due, next_response_warn_at, next_response_state, next_response_started_at, resolution_due, "
    "resolution_warn_at, resolution_state, sla_state, sla_due, paused_at, paused_seconds, pauses, "
    "last_customer_message_at, last_replied_at, resolved_at, closed_at, reopen_count, resolve_reason, "
    "platform_refund_id, platform_status, customer_id, first_owner_id, order_id, owner_id, shop_id, sla_policy_id"
)

TICKETS = Table(
    name="tickets",
    model="service_ticket",
    # the demo's tickets are new ones (opened from bad reviews): a copy is that ticket as it ends, closed after a
    # first answer on the same day, resolved the next and closed two days later, no clock left running
    templates="SELECT * FROM service_ticket ORDER BY id LIMIT 200000",
    insert=f"""
        INSERT INTO service_ticket ({_TICKET_COLUMNS})
        SELECT t.created_at - {_SHIFT}, t.created_at - {_SHIFT} + interval '3 days', %(base)s + g + 1, t.type,
               t.channel, t.priority, 'closed', t.subject, t.description, t.created_at - {_SHIFT} + interval '1 hour',
               t.platform_deadline - {_SHIFT}, t.first_response_due - {_SHIFT}, t.first_response_warn_at - {_SHIFT},
               'ok', t.created_at - {_SHIFT} + interval '2 hours', NULL, NULL, 'ok', NULL,
               t.resolution_due - {_SHIFT}, t.resolution_warn_at - {_SHIFT}, 'ok', 'ok', NULL, NULL, 0, '[]'::jsonb,
               t.created_at - {_SHIFT}, t.created_at - {_SHIFT} + interval '2 hours',
               t.created_at - {_SHIFT} + interval '1 day', t.created_at - {_SHIFT} + interval '3 days', 0,
               t.resolve_reason, '', t.platform_status, p.customer_id, coalesce(t.first_owner_id, %(agent)s), p.id,
               coalesce(t.owner_id, %(agent)s), p.shop_id, t.sla_policy_id
        {_ROWS}""",
    pick="orders",
)

_REVIEW_COLUMNS = (
    "role, result, content, pictures, created_at, anonymous, is_default, follow_up, follow_up_at, reply, reply_at, "
    "dsr_description, dsr_service, dsr_logistics, tid, oid, num_iid, item_title, nick, updated_at, customer_id, "
    "order_id, order_line_id, shop_id"
)

REVIEWS = Table(
    name="reviews",
    model="reviews_review",
    templates="SELECT * FROM reviews_review ORDER BY id LIMIT 200000",
    insert=f"""
        INSERT INTO reviews_review ({_REVIEW_COLUMNS})
        SELECT t.role, t.result, t.content, t.pictures, t.created_at - {_SHIFT}, t.anonymous, t.is_default,
               t.follow_up, t.follow_up_at - {_SHIFT}, t.reply, t.reply_at - {_SHIFT}, t.dsr_description,
               t.dsr_service, t.dsr_logistics, 'h' || g, 'h' || g, t.num_iid, t.item_title, t.nick,
               t.updated_at - {_SHIFT}, p.customer_id, p.id, NULL, p.shop_id
        {_ROWS}""",
    pick="orders",
    key=("tid", "h"),
)

_VISIT_COLUMNS = (
    "created_at, updated_at, occasion, due_at, status, attempts, next_attempt_at, outcome, satisfaction, answers, "
    "feedback, new_products_opt_in, callback_on, done_at, held_out, assignee_id, customer_id, done_by_id, plan_id, "
    "ticket_id"
)

VISITS = Table(
    name="visits",
    model="visits_visittask",
    templates="SELECT * FROM visits_visittask WHERE status IN ('done', 'cancelled') ORDER BY id LIMIT 200000",
    insert=f"""
        INSERT INTO visits_visittask ({_VISIT_COLUMNS})
        SELECT t.created_at - {_SHIFT}, t.updated_at - {_SHIFT}, 'history:' || g, t.due_at - {_SHIFT}, t.status,
               t.attempts, t.next_attempt_at - {_SHIFT}, t.outcome, t.satisfaction, t.answers, t.feedback,
               t.new_products_opt_in, t.callback_on - (g %% {DAYS})::int, t.done_at - {_SHIFT}, t.held_out,
               t.assignee_id, p.id, t.done_by_id, t.plan_id, NULL
        {_ROWS}""",
    pick="customers",
    key=("occasion", "history:"),
)

TABLES = (MESSAGES, TICKETS, REVIEWS, VISITS)

_PICKS = {
    "customers": "SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM customers_customer WHERE erased_at IS NULL "
    "AND merged_into_id IS NULL",
    "orders": "SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, customer_id, shop_id FROM orders_order",
}


def _count(cur: Any, table: str) -> int:
    cur.execute(f"SELECT count(*) FROM {table}")
    return int(cur.fetchone()[0])


def topup(targets: dict[str, int], progress: Callable[[str], None] = print) -> dict[str, int]:
    """Add rows to each table until it holds its target; {table: rows added}. PostgreSQL only."""
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks/history.py needs PostgreSQL (DATABASE_URL=postgres://…)")
    added: dict[str, int] = {}
    pick_made = ""
    with connection.cursor() as cur:
        for table in TABLES:
            target = targets.get(table.name, 0)
            have = _count(cur, table.model)
            if have >= target:
                added[table.name] = 0
                progress(f"{table.name}: {have:,} rows, target {target:,}: nothing to add")
                continue
            cur.execute("DROP TABLE IF EXISTS tmpl")
            cur.execute(
                f"CREATE TEMP TABLE tmpl AS SELECT row_number() OVER () - 1 AS n, s.* FROM ({table.templates}) s"
            )
            cur.execute("CREATE UNIQUE INDEX ON tmpl (n)")
            templates = _count(cur, "tmpl")
            if not templates:
                raise SystemExit(f"{table.name}: the demo has no finished row to copy; build the demo first")
            if table.pick != pick_made:
                cur.execute("DROP TABLE IF EXISTS pick")
                cur.execute(f"CREATE TEMP TABLE pick AS {_PICKS[table.pick]}")
                cur.execute("CREATE UNIQUE INDEX ON pick (n)")
                cur.execute("ANALYZE pick")
                pick_made = table.pick
            picks = _count(cur, "pick")
            base, agent = 0, None
            if table is TICKETS:
                cur.execute("SELECT coalesce(max(number), 0) FROM service_ticket")
                base = int(cur.fetchone()[0])
                # the agent who answered them: the demo's agent login, else any active user
                cur.execute("SELECT id FROM auth_user WHERE is_active ORDER BY (username = 'agent') DESC, id LIMIT 1")
                row = cur.fetchone()
                agent = row[0] if row else None
            started, done, missing = time.perf_counter(), 0, target - have
            # the first key past any earlier top-up's, so that a run after an interrupted one never collides
            first = _first_free(cur, table)
            while done < missing:
                n = min(CHUNK, missing - done)
                with transaction.atomic():
                    cur.execute(
                        table.insert,
                        {
                            "start": first + done,
                            "end": first + done + n,
                            "templates": templates,
                            "picks": picks,
                            "base": base,
                            "agent": agent,
                        },
                    )
                done += n
                progress(f"{table.name}: {have + done:,}/{target:,} ({time.perf_counter() - started:.0f} s)")
            added[table.name] = done
            cur.execute(f"ANALYZE {table.model}")
    return added


def _first_free(cur: Any, table: Table) -> int:
    """1 + the largest g an earlier top-up of this table used (0 when none did, or the table keeps no g)."""
    if table.key is None:
        return 0
    column, prefix = table.key
    cur.execute(
        f"SELECT coalesce(max(substr({column}, %s)::bigint) + 1, 0) FROM {table.model} "
        f"WHERE {column} LIKE %s AND substr({column}, %s) ~ '^[0-9]+$'",
        [len(prefix) + 1, prefix + "%", len(prefix) + 1],
    )
    return int(cur.fetchone()[0])


def main() -> None:
    from benchmarks.common import django_setup_postgres

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in TARGETS.items():
        parser.add_argument(f"--{name}", type=int, default=default, help=f"rows wanted in all (default {default:,})")
    args = parser.parse_args()
    django_setup_postgres("history.py")
    started = time.perf_counter()
    added = topup({name: getattr(args, name) for name in TARGETS})
    print(f"added {', '.join(f'{k} {v:,}' for k, v in added.items())} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
