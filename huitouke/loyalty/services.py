"""Level writes: a shop's levels and level policy, the set-based regrade and the periodic review of memberships,
each change kept as level history (LevelChange).

The grading itself is SQL (loyalty/grading.py): one aggregate over the shop's orders joined to the memberships,
graded by an inline CASE. Only the members whose row must change are collected (into a temporary table), so a
regrade that changes nothing writes nothing, and a first grading writes each membership and its history row once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from huitouke.core.bulk import values_in
from huitouke.core.errors import ApplicationError, ConflictError
from huitouke.core.models import AuditEntry
from huitouke.core.services import audit_log
from huitouke.loyalty import grading, rules
from huitouke.loyalty.models import Level, LevelChange, LevelPolicy, Membership
from huitouke.loyalty.rules import LevelSpec
from huitouke.orders.models import Shop

__all__ = [
    "LEVELS_JOB_KIND",
    "LevelSpec",
    "LevelsRemoveAllError",
    "LevelsSaved",
    "RegradeResult",
    "level_policy_set",
    "levels_configure",
    "levels_regrade",
    "levels_regrade_report",
    "levels_review",
    "levels_set",
]

#: The background job that saves a large shop's levels (registered by huitouke/jobs.py).
LEVELS_JOB_KIND = "levels_save"

_TMP = "loyalty_grade_tmp"


@dataclass(frozen=True)
class RegradeResult:
    """What a regrade or review did: memberships held afterwards by the customers it covered, and the number of
    level changes it recorded."""

    memberships: int
    changes: int


@dataclass(frozen=True)
class LevelsSaved:
    """What saving a shop's levels and policy did: `regraded` is "afresh" (thresholds changed: everyone graded
    against the new ones), "upgrades" (the policy changed: members moved up where they now qualify) or "" (only
    names, discounts or benefits changed: nobody moved)."""

    levels: list[Level]
    regraded: str
    memberships: int
    changes: int

    def as_json(self) -> dict[str, Any]:
        return {
            "levels": len(self.levels),
            "regraded": self.regraded,
            "memberships": self.memberships,
            "changes": self.changes,
        }


# --- definitions --------------------------------------------------------------------------------------------


class LevelsRemoveAllError(ConflictError):
    """An empty level list for a shop that has levels: refused unless removing them all was asked for."""

    def __init__(self, *, levels: int, members: int) -> None:
        super().__init__(
            f"this removes all {levels} levels and drops all {members} memberships; to do that, ask for it "
            "explicitly (confirm_remove_all=true)",
            field="levels",
        )
        self.levels = levels
        self.members = members


def _summary(levels: Sequence[Level] | Sequence[LevelSpec]) -> list[str]:
    """One line per level for the audit log: "金卡 ≥¥1000.00 or 5 orders · 95"."""
    return [f"{lv.name.strip()} ≥¥{lv.min_amount:.2f} or {lv.min_orders} orders · {lv.discount}" for lv in levels]


def _check(specs: Sequence[LevelSpec]) -> None:
    errors = rules.validate_levels(specs)
    if errors:
        raise ApplicationError(errors[0].message, field=errors[0].path)


def levels_set(*, shop: Shop, specs: Sequence[LevelSpec], actor: Any = None, remove_all: bool = False) -> list[Level]:
    """Replace a shop's levels by `specs`, lowest first.

    When only names, discounts or benefits change, levels are edited in place and nobody moves. When thresholds
    change, or levels are added or removed, every customer of the shop is graded afresh against the new thresholds
    in the same transaction: members may move down as well as up (the simulation shows how many first), each move
    recorded as history with reason "levels" and the names as they were.

    Validated by `rules.validate_levels`: raises ApplicationError naming the first offending level and field
    (``levels[1].min_orders``); nothing is written then. An empty list for a shop that has levels removes them
    all and drops every membership: refused (LevelsRemoveAllError, 409) unless `remove_all`. Every replacement
    is audited: who (`actor`, None for the system), the shop, the levels before and after."""
    return _levels_set(shop=shop, specs=specs, actor=actor, remove_all=remove_all)[0]


def _levels_set(
    *, shop: Shop, specs: Sequence[LevelSpec], actor: Any, remove_all: bool
) -> tuple[list[Level], RegradeResult | None]:
    _check(specs)
    with transaction.atomic():
        old = list(Level.objects.select_for_update().filter(shop=shop).order_by("rank"))
        if old and not specs and not remove_all:
            raise LevelsRemoveAllError(levels=len(old), members=Membership.objects.filter(shop=shop).count())
        before = _summary(old)
        levels, result = _replace(shop, old, specs)
        audit_log(
            actor=actor,
            action=AuditEntry.Action.LEVELS,
            target_type="shop",
            target_id=shop.pk,
            shop=shop.name,
            before=before,
            after=_summary(levels),
            regraded=result is not None,
            changes=result.changes if result else 0,
        )
    return levels, result


def _replace(shop: Shop, old: list[Level], specs: Sequence[LevelSpec]) -> tuple[list[Level], RegradeResult | None]:
    """Write the new level list over `old` (locked by the caller), grading afresh when thresholds change."""
    with transaction.atomic():
        if rules.same_thresholds(old, specs):
            return _write_levels(shop, old, specs), None
        policy = grading.policy_of(shop)
        now = timezone.now()
        scope = grading.scope_for(shop, policy.window_months, as_of=now)
        before = [copy.copy(lv) for lv in old]  # the names as they were, for the history
        with _session() as cur:
            if _first_grading_applies(cur, scope):
                levels = _write_levels(shop, old, specs)
                result = _first_grading(cur, shop, scope, levels, reason=LevelChange.Reason.LEVELS, stamp=now)
            else:
                _collect(cur, scope, grading.bars(specs), mode="fresh", refresh_before=_refresh_before(policy, now))
                levels = _write_levels(shop, old, specs)
                result = _apply(cur, shop, scope, old=before, new=levels, reason=LevelChange.Reason.LEVELS, stamp=now)
        # members of removed levels were moved (or dropped) above; the history keeps those levels' names
        Level.objects.filter(shop=shop, rank__gt=len(specs)).delete()
    return levels, result


def _write_levels(shop: Shop, old: list[Level], specs: Sequence[LevelSpec]) -> list[Level]:
    """Edit the shop's level rows in place, rank by rank (memberships keep pointing at the same rows), and add
    rows for new ranks. Rows of ranks beyond `specs` are left for the caller to delete."""
    by_rank = {lv.rank: lv for lv in old}
    renamed = [lv for i, lv in enumerate(old[: len(specs)]) if lv.name != specs[i].name.strip()]
    for lv in renamed:  # two steps: names are unique per shop, and two levels may swap theirs
        Level.objects.filter(pk=lv.pk).update(name=f"#{lv.rank}#{lv.pk}")
    levels = []
    for i, spec in enumerate(specs):
        values = {
            "name": spec.name.strip(),
            "min_amount": spec.min_amount,
            "min_orders": spec.min_orders,
            "discount": spec.discount,
            "benefits": spec.benefits,
        }
        level = by_rank.get(i + 1)
        if level is None:
            level = Level(shop=shop, rank=i + 1, **values)
        else:
            for key, value in values.items():
                setattr(level, key, value)
        level.save()
        levels.append(level)
    for lv in old[len(specs) :]:  # free their names for the new list
        Level.objects.filter(pk=lv.pk).update(name=f"#removed#{lv.pk}")
    return levels


def level_policy_set(
    *, shop: Shop, window_months: int | None = None, downgrade: str = "never", grace_days: int = 30
) -> LevelPolicy:
    """Set how a shop qualifies members: lifetime (None) or a rolling window of N months; downgrade "never" or
    "review" with `grace_days`. Raises ApplicationError naming the field. Moves nobody: run a regrade next (the
    levels page does), which also starts the grace clock of every qualifying member under a review policy."""
    if window_months is not None and window_months < 1:
        raise ApplicationError("window_months: a rolling window counts at least 1 month", field="window_months")
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


def levels_configure(
    *,
    shop: Shop,
    specs: Sequence[LevelSpec],
    window_months: int | None,
    downgrade: str,
    grace_days: int,
    actor: Any = None,
    remove_all: bool = False,
) -> LevelsSaved:
    """Save a shop's levels and policy together, as the levels page does, in one transaction: the policy first,
    then the levels (graded afresh when thresholds change, see `levels_set`); when only the policy changed, a
    regrade of the shop moves members up where the new policy lets them (nobody drops before a review).
    Raises ApplicationError naming the level and field, or the policy field, and LevelsRemoveAllError for an empty
    list without `remove_all` (see `levels_set`); nothing is written then. Audited like `levels_set`."""
    _check(specs)
    with transaction.atomic():
        before = grading.policy_of(shop)
        policy = level_policy_set(shop=shop, window_months=window_months, downgrade=downgrade, grace_days=grace_days)
        changed = (before.window_months, before.downgrade) != (policy.window_months, policy.downgrade)
        levels, result = _levels_set(shop=shop, specs=specs, actor=actor, remove_all=remove_all)
        if result is not None:
            return LevelsSaved(levels, "afresh", result.memberships, result.changes)
        if changed and levels:
            result = levels_regrade_report(shop_ids=[shop.pk])
            return LevelsSaved(levels, "upgrades", result.memberships, result.changes)
        members = Membership.objects.filter(shop=shop).count()
    return LevelsSaved(levels, "", members, 0)


# --- grading ------------------------------------------------------------------------------------------------


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
    (Membership.qualified_at, refreshed by every grading that finds them qualifying); upgrades apply too.

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


#: A grace clock younger than this is not rewritten: the nightly review and the regrade after it, or an import
#: shortly after, would otherwise rewrite every qualifying member of a reviewing shop twice. Reviews run nightly,
#: so an hour cannot move a drop to another night in practice.
CLOCK_RESOLUTION = timedelta(hours=1)


def _refresh_before(policy: LevelPolicy, stamp: datetime) -> datetime | None:
    """Grace clocks older than this are restarted for members who still qualify; None when nothing reads the
    clocks (only a shop that drops members at a review does)."""
    return stamp - CLOCK_RESOLUTION if policy.downgrade == LevelPolicy.Downgrade.REVIEW else None


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
    if not shops:  # no shop has levels: nothing to grade (and no work table to set up)
        return RegradeResult(0, 0)
    policies = {p.shop_id: p for p in LevelPolicy.objects.filter(shop__in=shops)}
    stamp = min(as_of, timezone.now())
    with transaction.atomic(), _session() as cur:
        for shop in shops:
            policy = policies.get(shop.pk) or LevelPolicy(shop=shop)
            levels = list(Level.objects.filter(shop=shop).order_by("rank"))
            scope = grading.scope_for(shop, policy.window_months, as_of=as_of, until=until, ids=ids)
            reviewing = review and policy.downgrade == LevelPolicy.Downgrade.REVIEW
            mode: grading.Mode = "review" if reviewing else "regrade"
            drop_before = as_of - timedelta(days=policy.grace_days) if reviewing else None
            if _first_grading_applies(cur, scope):
                result = _first_grading(cur, shop, scope, levels, reason=reason, stamp=stamp)
                memberships += result.memberships
                changes += result.changes
                continue
            _collect(
                cur,
                scope,
                grading.bars(levels),
                mode=mode,
                refresh_before=_refresh_before(policy, stamp),
                drop_before=drop_before,
            )
            result = _apply(cur, shop, scope, old=levels, new=levels, reason=reason, stamp=stamp)
            memberships += result.memberships
            changes += result.changes
    return RegradeResult(memberships, changes)


@contextmanager
def _session() -> Iterator[Any]:
    """A cursor and the temporary table of one grading: the members whose membership row must change. On SQLite
    it gets a primary key for the joins; on PostgreSQL none (it is filled in one statement, analysed, and the
    joins hash it)."""
    key = " PRIMARY KEY" if connection.vendor == "sqlite" else ""
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {_TMP}")
        cur.execute(
            f"CREATE TEMPORARY TABLE {_TMP} (customer_id bigint NOT NULL{key}, q_rank integer NULL,"
            " old_rank integer NULL, new_rank integer NULL)"
        )
        yield cur
        cur.execute(f"DROP TABLE {_TMP}")


def _collect(
    cur: Any,
    scope: grading.Scope,
    bars: Sequence[grading.Bar],
    *,
    mode: grading.Mode,
    refresh_before: datetime | None,
    drop_before: datetime | None = None,
) -> None:
    """Fill the temporary table with the scope's members whose row must be written: their rank changes, or (with
    `refresh_before`) they qualify for the rank they end up with and their grace clock is older than that."""
    graded, params = grading.graded_sql(scope, bars, mode=mode, drop_before=drop_before)
    keep = "COALESCE(new_rank, 0) <> COALESCE(old_rank, 0)"
    if refresh_before is not None:
        keep += (
            " OR (new_rank IS NOT NULL AND COALESCE(q_rank, 0) >= new_rank"
            " AND (qualified_at IS NULL OR qualified_at < %s))"
        )
        params = [*params, connection.ops.adapt_datetimefield_value(refresh_before)]
    cur.execute(f"DELETE FROM {_TMP}")
    with grading.whole_shop_plan(cur, scope):
        cur.execute(
            f"INSERT INTO {_TMP} (customer_id, q_rank, old_rank, new_rank)"
            f" SELECT customer_id, q_rank, old_rank, new_rank FROM ({graded}) g WHERE {keep}",
            params,
        )
    if connection.vendor == "postgresql":
        cur.execute(f"ANALYZE {_TMP}")


def _first_grading_applies(cur: Any, scope: grading.Scope) -> bool:
    """True on PostgreSQL when the scope holds no membership yet (a shop's first grading, new customers after an
    import): then every qualifying customer simply joins, and `_first_grading` writes memberships and history in
    one statement, without the temporary table."""
    if connection.vendor != "postgresql":
        return False  # SQLite has no INSERT inside WITH; the general path does the same there
    held, params = grading.held_sql(scope)
    cur.execute(f"SELECT EXISTS ({held})", params)
    return not cur.fetchone()[0]


def _first_grading(
    cur: Any, shop: Shop, scope: grading.Scope, levels: Sequence[Level], *, reason: str, stamp: datetime
) -> RegradeResult:
    """Everyone in the scope who qualifies joins at the level they qualify for: one INSERT … SELECT of the
    memberships (in customer order, grace clocks started) whose RETURNING rows feed the INSERT of their history
    (from no level to the level joined)."""
    mem, chg = Membership._meta.db_table, LevelChange._meta.db_table
    at = connection.ops.adapt_datetimefield_value(stamp)
    counted, counted_params = grading.counted_sql(scope)
    case, case_params = grading.rank_case(grading.bars(levels))
    level_id, level_params = _by_rank("q_rank", levels, "pk")
    to_name, name_params = _by_key("level_id", levels, "name")
    to_rank, rank_params = _by_key("level_id", levels, "rank")
    with grading.whole_shop_plan(cur, scope):
        cur.execute(
            f"""
            WITH joined AS (
                INSERT INTO {mem} (customer_id, shop_id, level_id, created_at, updated_at, qualified_at)
                SELECT customer_id, %s, {level_id}, %s, %s, %s
                FROM (SELECT customer_id, {case} AS q_rank FROM ({counted}) s) g
                WHERE q_rank IS NOT NULL
                ORDER BY customer_id
                RETURNING customer_id, level_id
            )
            INSERT INTO {chg} (customer_id, shop_id, from_level_id, to_level_id, from_name, to_name,
                               from_rank, to_rank, reason, created_at)
            SELECT customer_id, %s, NULL, level_id, '', {to_name}, NULL, {to_rank}, %s, %s FROM joined
            """,
            [
                shop.pk,
                *level_params,
                at,
                at,
                at,
                *case_params,
                *counted_params,
                shop.pk,
                *name_params,
                *rank_params,
                reason,
                at,
            ],
        )
        joined = cur.rowcount  # (before the plan settings are restored on the same cursor)
    if joined > 10_000:
        cur.execute(f"ANALYZE {mem}")  # see _apply
    return RegradeResult(joined, joined)


def _by_key(column: str, levels: Sequence[Level], attr: str) -> tuple[str, list[Any]]:
    """A CASE mapping a level id column to an attribute of that level."""
    if not levels:
        return "NULL", []
    whens = " ".join("WHEN %s THEN %s" for _lv in levels)
    return f"CASE {column} {whens} ELSE NULL END", [v for lv in levels for v in (lv.pk, getattr(lv, attr))]


def _by_rank(column: str, levels: Sequence[Level], attr: str) -> tuple[str, list[Any]]:
    """A CASE mapping a rank column to an attribute of the level at that rank (NULL for no level)."""
    if not levels:
        return "NULL", []
    whens = " ".join("WHEN %s THEN %s" for _lv in levels)
    return f"CASE {column} {whens} ELSE NULL END", [v for lv in levels for v in (lv.rank, getattr(lv, attr))]


def _apply(
    cur: Any,
    shop: Shop,
    scope: grading.Scope,
    *,
    old: Sequence[Level],
    new: Sequence[Level],
    reason: str,
    stamp: datetime,
) -> RegradeResult:
    """Write what `_collect` found: history for the moves (names of `old` for the rank held, of `new` for the rank
    reached), then the memberships (drops, moves and grace clocks, joins). Returns the memberships the scope holds
    afterwards and the number of moves. Rows go in in customer order: the (customer, …) indexes then grow at
    their right edge instead of at random pages (a first grading inserts a million of each)."""
    mem, chg = Membership._meta.db_table, LevelChange._meta.db_table
    at = connection.ops.adapt_datetimefield_value(stamp)
    kept = {lv.rank for lv in new}
    old_ids = [lv for lv in old if lv.rank in kept and any(n.pk == lv.pk for n in new)]
    from_id, from_id_params = _by_rank("t.old_rank", old_ids, "pk")
    from_name, from_name_params = _by_rank("t.old_rank", old, "name")
    to_id, to_id_params = _by_rank("t.new_rank", new, "pk")
    to_name, to_name_params = _by_rank("t.new_rank", new, "name")
    cur.execute(
        f"""
        INSERT INTO {chg} (customer_id, shop_id, from_level_id, to_level_id, from_name, to_name,
                           from_rank, to_rank, reason, created_at)
        SELECT t.customer_id, %s, {from_id}, {to_id}, COALESCE({from_name}, ''), COALESCE({to_name}, ''),
               t.old_rank, t.new_rank, %s, %s
        FROM {_TMP} t
        WHERE COALESCE(t.old_rank, 0) <> COALESCE(t.new_rank, 0)
        ORDER BY t.customer_id
        """,
        [shop.pk, *from_id_params, *to_id_params, *from_name_params, *to_name_params, reason, at],
    )
    changes = cur.rowcount
    cur.execute(
        f"""
        DELETE FROM {mem} WHERE shop_id = %s
          AND customer_id IN (SELECT customer_id FROM {_TMP} WHERE new_rank IS NULL AND old_rank IS NOT NULL)
        """,
        [shop.pk],
    )
    level_id, level_params = _by_rank("t.new_rank", new, "pk")
    # moved members get their new level; members who qualify for the level they end up with restart the clock
    cur.execute(
        f"""
        UPDATE {mem} SET level_id = {level_id}, updated_at = %s,
            qualified_at = CASE WHEN COALESCE(t.q_rank, 0) >= t.new_rank THEN %s ELSE {mem}.qualified_at END
        FROM {_TMP} t
        WHERE {mem}.shop_id = %s AND {mem}.customer_id = t.customer_id
          AND t.old_rank IS NOT NULL AND t.new_rank IS NOT NULL
        """,
        [*level_params, at, at, shop.pk],
    )
    cur.execute(
        f"""
        INSERT INTO {mem} (customer_id, shop_id, level_id, created_at, updated_at, qualified_at)
        SELECT t.customer_id, %s, {level_id}, %s, %s,
               CASE WHEN COALESCE(t.q_rank, 0) >= t.new_rank THEN %s ELSE NULL END
        FROM {_TMP} t WHERE t.old_rank IS NULL AND t.new_rank IS NOT NULL
        ORDER BY t.customer_id
        """,
        [shop.pk, *level_params, at, at, at],
    )
    if connection.vendor == "postgresql" and cur.rowcount > 10_000:
        # many new members (a first grading): statistics now, not when autovacuum gets round to it, so the next
        # reads (the at-risk list, the simulation) are planned on the table as it is
        cur.execute(f"ANALYZE {mem}")
    if scope.ids is None:
        cur.execute(f"SELECT COUNT(*) FROM {mem} WHERE shop_id = %s", [shop.pk])
    else:
        ids = values_in(scope.ids, "bigint")
        cur.execute(
            f"SELECT COUNT(*) FROM {mem} WHERE shop_id = %s AND customer_id IN ({ids.sql})", [shop.pk, *ids.params]
        )
    return RegradeResult(int(cur.fetchone()[0]), changes)
