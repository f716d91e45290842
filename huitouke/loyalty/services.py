"""Level writes: a shop's levels and level policy, the set-based regrade and the periodic review of memberships,
each change kept as level history (LevelChange)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from huitouke.core.bulk import values_in
from huitouke.core.errors import ApplicationError
from huitouke.loyalty import rules
from huitouke.loyalty.models import Level, LevelChange, LevelPolicy, Membership
from huitouke.loyalty.rules import LevelSpec
from huitouke.orders.models import Order, Shop

__all__ = [
    "LevelSpec",
    "RegradeResult",
    "level_policy_set",
    "levels_regrade",
    "levels_regrade_report",
    "levels_review",
    "levels_set",
]

_TMP = "loyalty_grade_tmp"


@dataclass(frozen=True)
class RegradeResult:
    """What a regrade or review did: memberships held afterwards by the customers it covered, and the number of
    level changes it recorded."""

    memberships: int
    changes: int


def levels_set(*, shop: Shop, specs: Sequence[LevelSpec]) -> list[Level]:
    """Replace a shop's levels by `specs`, lowest first, and drop its memberships (run a regrade next).

    Validated by `rules.validate_levels`: raises ApplicationError naming the first offending level and field
    (``levels[1].min_orders``)."""
    errors = rules.validate_levels(specs)
    if errors:
        raise ApplicationError(errors[0].message, field=errors[0].path)
    with transaction.atomic():
        Membership.objects.filter(shop=shop).delete()
        Level.objects.filter(shop=shop).delete()
        levels = [
            Level.objects.create(
                shop=shop,
                rank=i + 1,
                name=s.name.strip(),
                min_amount=s.min_amount,
                min_orders=s.min_orders,
                discount=s.discount,
                benefits=s.benefits,
            )
            for i, s in enumerate(specs)
        ]
    return levels


def level_policy_set(
    *, shop: Shop, window_months: int | None = None, downgrade: str = "never", grace_days: int = 30
) -> LevelPolicy:
    """Set how a shop qualifies members: lifetime (None) or a rolling window of N months; downgrade "never" or
    "review" with `grace_days`. Raises ApplicationError naming the field."""
    policy, _ = LevelPolicy.objects.get_or_create(shop=shop)
    policy.window_months = window_months
    policy.downgrade = downgrade
    policy.grace_days = grace_days
    try:
        policy.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(f"{field}: {' '.join(messages)}", field=field) from exc
    policy.save(update_fields=["window_months", "downgrade", "grace_days", "updated_at"])
    return policy


def levels_regrade(*, shop_ids: Iterable[int] | None = None, customer_ids: Iterable[int] | None = None) -> int:
    """Move every customer (or those of `customer_ids`) up to the highest level of each shop whose amount OR order
    threshold they meet, counting paid orders that are neither closed nor fully refunded, over the lifetime or the
    shop's rolling window. A regrade never lowers a level: drops happen only at `levels_review`.

    Set-based; records a LevelChange (reason regrade) per change. Returns the number of memberships the covered
    customers hold afterwards."""
    return levels_regrade_report(shop_ids=shop_ids, customer_ids=customer_ids).memberships


def levels_regrade_report(
    *,
    shop_ids: Iterable[int] | None = None,
    customer_ids: Iterable[int] | None = None,
    reason: str = LevelChange.Reason.REGRADE,
) -> RegradeResult:
    """`levels_regrade` returning the number of changes too; `reason` labels the history rows (e.g. merge)."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    if ids == []:
        return RegradeResult(0, 0)
    now = timezone.now()
    return _grade_shops(_shops(shop_ids), ids=ids, as_of=now, until=None, review=False, reason=reason)


def levels_review(*, shop_ids: Iterable[int] | None = None, today: date | None = None) -> RegradeResult:
    """The periodic review of the shops whose policy is downgrade "review": members qualifying for less than they
    hold drop to what they qualify for once `grace_days` have passed since they last qualified for their level
    (the membership's updated_at, refreshed by every regrade that finds them qualifying); upgrades apply too.

    `today` (the shop's local date, default now) ends the counting window. Records LevelChange rows (reason
    review) and sets the policy's last_review_at."""
    shops = _shops(shop_ids).filter(level_policy__downgrade=LevelPolicy.Downgrade.REVIEW)
    total = RegradeResult(0, 0)
    now = timezone.now()
    for shop in shops:
        if today is None:
            as_of, until = now, None
        else:
            as_of = datetime.combine(today + timedelta(days=1), time(), tzinfo=ZoneInfo(shop.timezone))
            until = as_of
        result = _grade_shops([shop], ids=None, as_of=as_of, until=until, review=True, reason=LevelChange.Reason.REVIEW)
        LevelPolicy.objects.filter(shop=shop).update(last_review_at=min(as_of, now), updated_at=now)
        total = RegradeResult(total.memberships + result.memberships, total.changes + result.changes)
    return total


def _shops(shop_ids: Iterable[int] | None) -> Any:
    shops = Shop.objects.filter(levels__isnull=False).distinct().order_by("pk")
    if shop_ids is not None:
        shops = shops.filter(pk__in=list(shop_ids))
    return shops


def _grade_shops(
    shops: Iterable[Shop],
    *,
    ids: list[int] | None,
    as_of: datetime,
    until: datetime | None,
    review: bool,
    reason: str,
) -> RegradeResult:
    memberships = changes = 0
    shops = list(shops)
    policies = {p.shop_id: p for p in LevelPolicy.objects.filter(shop__in=shops)}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {_TMP}")
        cur.execute(
            f"CREATE TEMPORARY TABLE {_TMP} (customer_id bigint PRIMARY KEY, q_rank integer NULL,"
            " old_rank integer NULL, new_rank integer NULL)"
        )
        for shop in shops:
            policy = policies.get(shop.pk) or LevelPolicy(shop=shop)
            m, c = _grade_shop(cur, shop, policy, ids=ids, as_of=as_of, until=until, review=review, reason=reason)
            memberships += m
            changes += c
        cur.execute(f"DROP TABLE {_TMP}")
    return RegradeResult(memberships, changes)


def _grade_shop(
    cur: Any,
    shop: Shop,
    policy: LevelPolicy,
    *,
    ids: list[int] | None,
    as_of: datetime,
    until: datetime | None,
    review: bool,
    reason: str,
) -> tuple[int, int]:
    """One shop: qualifying rank from the orders (T.q_rank), rank held (old_rank), rank after the policy
    (new_rank); then history for the differences, and deletes / updates / inserts of memberships."""
    lvl, mem, chg, order = (
        Level._meta.db_table,
        Membership._meta.db_table,
        LevelChange._meta.db_table,
        Order._meta.db_table,
    )
    adapt = connection.ops.adapt_datetimefield_value
    levels = list(Level.objects.filter(shop=shop).order_by("rank"))
    zero = rules.qualifying_index(levels, Decimal(0), 0)
    zero_rank = None if zero is None else levels[zero].rank
    stamp = adapt(min(as_of, timezone.now()))
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input

    id_params: list[Any] = []
    order_scope = member_scope = ""
    if ids is not None:
        id_set = values_in(ids, "bigint")
        order_scope, member_scope = f" AND o.customer_id IN ({id_set.sql})", f" AND m.customer_id IN ({id_set.sql})"
        id_params = list(id_set.params)
    window: list[Any] = []
    window_sql = ""
    if policy.window_months:
        local = as_of.astimezone(ZoneInfo(shop.timezone))
        window_sql += " AND o.ordered_at >= %s"
        window.append(adapt(rules.months_before(local, policy.window_months)))
    if until is not None:
        window_sql += " AND o.ordered_at < %s"
        window.append(adapt(until))

    # The qualifying rank as an inline CASE over the shop's few levels, highest first (either threshold
    # qualifies), and the rank held now joined in the same statement: no per-customer subqueries.
    if levels:
        # CAST: on SQLite a SUM has no type affinity and would compare with the Decimal parameter as text
        whens = " ".join("WHEN s.spent >= CAST(%s AS NUMERIC) OR s.n >= %s THEN %s" for _lv in reversed(levels))
        rank_sql = f"CASE {whens} ELSE NULL END"
        rank_params: list[Any] = [v for lv in reversed(levels) for v in (lv.min_amount, lv.min_orders, lv.rank)]
    else:
        rank_sql, rank_params = "NULL", []
    cur.execute(f"DELETE FROM {_TMP}")
    cur.execute(
        f"""
        INSERT INTO {_TMP} (customer_id, q_rank, old_rank)
        SELECT s.customer_id, {rank_sql}, held.rank
        FROM (
            SELECT o.customer_id, SUM(o.paid_amount - o.refund_amount) AS spent, COUNT(*) AS n
            FROM {order} o
            WHERE o.shop_id = %s AND o.status IN ({counted})
              AND (o.refund_amount = 0 OR o.refund_amount < o.paid_amount){window_sql}{order_scope}
            GROUP BY o.customer_id
        ) s
        LEFT JOIN (
            SELECT m.customer_id, l.rank FROM {mem} m JOIN {lvl} l ON l.id = m.level_id WHERE m.shop_id = %s
        ) held ON held.customer_id = s.customer_id
        """,
        [*rank_params, shop.pk, *window, *id_params, shop.pk],
    )
    # members without counted orders (in the window) qualify as a customer with nothing spent
    cur.execute(
        f"""
        INSERT INTO {_TMP} (customer_id, q_rank, old_rank)
        SELECT m.customer_id, %s, l.rank FROM {mem} m JOIN {lvl} l ON l.id = m.level_id
        WHERE m.shop_id = %s{member_scope}
          AND NOT EXISTS (SELECT 1 FROM {_TMP} t WHERE t.customer_id = m.customer_id)
        """,
        [zero_rank, shop.pk, *id_params],
    )
    # rules.level_after_regrade / level_after_review, set-based; ranks start at 1 so 0 stands for "no level"
    drop_params: list[Any] = []
    if review and policy.downgrade == LevelPolicy.Downgrade.REVIEW:
        drop_sql = (
            f"EXISTS (SELECT 1 FROM {mem} m WHERE m.shop_id = %s"
            f" AND m.customer_id = {_TMP}.customer_id AND m.updated_at <= %s)"
        )
        drop_params = [shop.pk, adapt(as_of - timedelta(days=policy.grace_days))]
    else:
        drop_sql = "1 = 0"
    cur.execute(
        f"""
        UPDATE {_TMP} SET new_rank = CASE
            WHEN COALESCE(q_rank, 0) >= COALESCE(old_rank, 0) THEN q_rank
            WHEN {drop_sql} THEN q_rank
            ELSE old_rank END
        """,
        drop_params,
    )
    cur.execute(
        f"""
        INSERT INTO {chg} (customer_id, shop_id, from_level_id, to_level_id, from_name, to_name,
                           from_rank, to_rank, reason, created_at)
        SELECT t.customer_id, %s, lo.id, ln.id, COALESCE(lo.name, ''), COALESCE(ln.name, ''),
               t.old_rank, t.new_rank, %s, %s
        FROM {_TMP} t
        LEFT JOIN {lvl} lo ON lo.shop_id = %s AND lo.rank = t.old_rank
        LEFT JOIN {lvl} ln ON ln.shop_id = %s AND ln.rank = t.new_rank
        WHERE COALESCE(t.old_rank, 0) <> COALESCE(t.new_rank, 0)
        """,
        [shop.pk, reason, adapt(timezone.now()), shop.pk, shop.pk],
    )
    changes = cur.rowcount
    cur.execute(
        f"""
        DELETE FROM {mem} WHERE shop_id = %s
          AND customer_id IN (SELECT customer_id FROM {_TMP} WHERE new_rank IS NULL AND old_rank IS NOT NULL)
        """,
        [shop.pk],
    )
    # Moved members get their new level. Under a review policy, confirmed members are touched too: updated_at
    # is when the member last qualified for the level held (the grace clock); without one nothing reads it.
    confirmed = "q_rank >= new_rank" if policy.downgrade == LevelPolicy.Downgrade.REVIEW else "new_rank <> old_rank"
    cur.execute(
        f"""
        UPDATE {mem} SET updated_at = %s, level_id = (
            SELECT l.id FROM {_TMP} t JOIN {lvl} l ON l.shop_id = %s AND l.rank = t.new_rank
            WHERE t.customer_id = {mem}.customer_id)
        WHERE shop_id = %s AND customer_id IN (
            SELECT customer_id FROM {_TMP}
            WHERE old_rank IS NOT NULL AND new_rank IS NOT NULL AND ({confirmed} OR new_rank <> old_rank))
        """,
        [stamp, shop.pk, shop.pk],
    )
    cur.execute(
        f"""
        INSERT INTO {mem} (customer_id, shop_id, level_id, created_at, updated_at)
        SELECT t.customer_id, %s, l.id, %s, %s
        FROM {_TMP} t JOIN {lvl} l ON l.shop_id = %s AND l.rank = t.new_rank
        WHERE t.old_rank IS NULL
        """,
        [shop.pk, stamp, stamp, shop.pk],
    )
    cur.execute(f"SELECT COUNT(*) FROM {_TMP} WHERE new_rank IS NOT NULL")
    return int(cur.fetchone()[0]), changes
