"""Level reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Min, QuerySet, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone

from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer
from huitouke.loyalty import grading, rules
from huitouke.loyalty.models import Level, LevelChange, LevelPolicy, Membership
from huitouke.orders.models import Order, Shop


def level_list() -> QuerySet[Level]:
    """Every shop's levels, by shop then rank."""
    return Level.objects.select_related("shop").order_by("shop__name", "rank")


def level_distribution(*, shop_ids: list[int] | None = None) -> dict[str, int]:
    """Members per level name, lowest rank first, summed over shops (levels without members count 0)."""
    levels = Level.objects.all() if shop_ids is None else Level.objects.filter(shop_id__in=shop_ids)
    rows = levels.values("name").annotate(members=Count("memberships"), rank=Min("rank")).order_by("rank", "name")
    return {row["name"]: row["members"] for row in rows}


@dataclass(frozen=True)
class LevelStatus:
    """A customer's standing in one shop's levels: the level held, what counts towards it, what the next needs."""

    shop: Shop
    level: Level | None
    amount: Decimal
    orders: int
    window_months: int | None
    next: rules.Progress | None


def customer_level_status(*, customer: Customer, now: datetime | None = None) -> list[LevelStatus]:
    """For every shop with levels where the customer bought or is a member: the level held, the counted amount
    and orders (paid, not closed, not fully refunded; within the shop's rolling window when it has one) and what
    it takes to reach the next level — "再消费 ¥320 或 再下 2 单 升至 VIP". Four queries whatever the shop count."""
    levels = list(Level.objects.select_related("shop").order_by("shop_id", "rank"))
    if not levels:
        return []
    by_shop: dict[int, list[Level]] = defaultdict(list)
    for lv in levels:
        by_shop[lv.shop_id].append(lv)
    policies = {p.shop_id: p for p in LevelPolicy.objects.filter(shop_id__in=list(by_shop))}
    held = dict(Membership.objects.filter(customer=customer).values_list("shop_id", "level_id"))
    counted = Order.objects.filter(customer=customer, shop_id__in=list(by_shop), status__in=Order.COUNTED).values_list(
        "shop_id", "ordered_at", "paid_amount", "refund_amount"
    )
    moment = now or timezone.now()
    totals: dict[int, tuple[Decimal, int]] = {}
    for shop_id, ordered_at, paid, refund in counted:
        if not rules.counts_towards_level(paid, refund):
            continue
        policy = policies.get(shop_id)
        if policy and policy.window_months:
            start = rules.months_before(
                moment.astimezone(ZoneInfo(by_shop[shop_id][0].shop.timezone)), policy.window_months
            )
            if ordered_at < start:
                continue
        amount, n = totals.get(shop_id, (Decimal(0), 0))
        totals[shop_id] = (amount + paid - refund, n + 1)
    out = []
    for shop_id, shop_levels in by_shop.items():
        if shop_id not in totals and shop_id not in held:
            continue
        amount, n = totals.get(shop_id, (Decimal(0), 0))
        level = next((lv for lv in shop_levels if lv.pk == held.get(shop_id)), None)
        index = shop_levels.index(level) if level else None
        policy = policies.get(shop_id)
        out.append(
            LevelStatus(
                shop=shop_levels[0].shop,
                level=level,
                amount=amount,
                orders=n,
                window_months=policy.window_months if policy else None,
                next=rules.progress(shop_levels, amount, n, held=index),
            )
        )
    return out


# --- simulation -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedLevel:
    """One rank of the simulation: the level there today and its members, the edited level and its members."""

    rank: int
    name_today: str
    today: int
    name_after: str
    after: int

    @property
    def diff(self) -> int:
        return self.after - self.today


@dataclass(frozen=True)
class Simulation:
    """What saving edited levels and policy would do to the shop's customers, compared with today.

    `afresh`: thresholds changed, so every customer lands where they qualify (members may move down); otherwise
    members keep their level and move up where they now qualify. Up counts customers joining a first level, down
    counts members dropping out of every level; `stay` counts members whose rank does not change."""

    afresh: bool
    levels: list[SimulatedLevel]
    up: int
    down: int
    stay: int
    members_today: int
    members_after: int
    buyers_without_level: int


def levels_simulate(
    *,
    shop: Shop,
    specs: Sequence[rules.Thresholds],
    window_months: int | None,
    now: datetime | None = None,
) -> Simulation:
    """Grade the shop's customers against `specs` and the counting window without writing anything: one query,
    the same grading SQL as the save (levels_set / levels_regrade), grouped by (rank held, rank after). Raises
    nothing for a list that fails validation; validate first (the page does)."""
    current = list(Level.objects.filter(shop=shop).order_by("rank"))
    afresh = not rules.same_thresholds(current, specs)
    scope = grading.scope_for(shop, window_months, as_of=now or timezone.now())
    graded, params = grading.graded_sql(scope, grading.bars(specs), mode="fresh" if afresh else "regrade")
    with transaction.atomic(), connection.cursor() as cur, grading.whole_shop_plan(cur, scope):
        cur.execute(f"SELECT old_rank, new_rank, COUNT(*) FROM ({graded}) g GROUP BY old_rank, new_rank", params)
        pairs = [(old, new, int(count)) for old, new, count in cur.fetchall()]
    today: dict[int, int] = defaultdict(int)
    after: dict[int, int] = defaultdict(int)
    moves = {"up": 0, "down": 0, "stay": 0}
    none_after = 0
    for old, new, count in pairs:
        if old is not None:
            today[old] += count
        if new is not None:
            after[new] += count
        if old is None and new is None:
            none_after += count
        else:
            moves[rules.move(old, new)] += count
    rows = [
        SimulatedLevel(
            rank=rank,
            name_today=current[rank - 1].name if rank <= len(current) else "",
            today=today.get(rank, 0),
            name_after=specs[rank - 1].name.strip() if rank <= len(specs) else "",
            after=after.get(rank, 0),
        )
        for rank in range(1, max(len(current), len(specs)) + 1)
    ]
    return Simulation(
        afresh=afresh,
        levels=rows,
        up=moves["up"],
        down=moves["down"],
        stay=moves["stay"],
        members_today=sum(today.values()),
        members_after=sum(after.values()),
        buyers_without_level=none_after,
    )


# --- at risk --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtRiskMember:
    """A member who no longer qualifies for the level held and drops at the first review after `deadline`, unless
    they spend `amount_needed` more OR place `orders_needed` more orders before then (either is enough)."""

    customer: Customer
    level: Level
    amount: Decimal
    orders: int
    amount_needed: Decimal
    orders_needed: int
    deadline: datetime


@dataclass(frozen=True)
class AtRiskPage:
    """One page of a shop's at-risk members (soonest deadline first) and how many there are in all.
    `reviewing` is False when the shop never drops members: then nobody is at risk."""

    reviewing: bool
    grace_days: int
    window_months: int | None
    count: int
    members: list[AtRiskMember]


def members_at_risk(*, shop: Shop, offset: int = 0, limit: int = 50, now: datetime | None = None) -> AtRiskPage:
    """Members of a shop that drops members at a review who no longer qualify for the level they hold (counted
    over the shop's window as of `now`): they keep it through the grace period that started when they last
    qualified and drop at the first review after it. Soonest deadline first, `limit` from `offset`.

    One grading query (the same SQL as the regrade) for the page and the total, then the page's customers and
    identities. The amounts needed are counted as of now; orders leaving a rolling window before the deadline
    are not foreseen (the member then shows up again with a fresh grace period when they next qualify)."""
    policy = grading.policy_of(shop)
    if policy.downgrade != LevelPolicy.Downgrade.REVIEW:
        return AtRiskPage(False, policy.grace_days, policy.window_months, 0, [])
    moment = now or timezone.now()
    levels = list(Level.objects.filter(shop=shop).order_by("rank"))
    scope = grading.scope_for(shop, policy.window_months, as_of=moment)
    graded, params = grading.graded_sql(scope, grading.bars(levels), mode="regrade")
    sql = f"""
        SELECT customer_id, spent, n, old_rank, qualified_at, COUNT(*) OVER () FROM ({graded}) g
        WHERE old_rank IS NOT NULL AND COALESCE(q_rank, 0) < old_rank
        ORDER BY qualified_at IS NOT NULL, qualified_at, customer_id
        LIMIT %s OFFSET %s"""
    with transaction.atomic(), connection.cursor() as cur, grading.whole_shop_plan(cur, scope):
        cur.execute(sql, [*params, limit, offset])
        rows = cur.fetchall()
    if not rows:
        total = 0 if offset == 0 else _at_risk_count(shop, levels, scope)
        return AtRiskPage(True, policy.grace_days, policy.window_months, total, [])
    customers = Customer.objects.prefetch_related("identities").in_bulk([r[0] for r in rows])
    by_rank = {lv.rank: lv for lv in levels}
    members = []
    for customer_id, spent, n, rank, qualified_at, _total in rows:
        level = by_rank[rank]
        amount = Decimal(spent).quantize(Decimal("0.01"))
        when = _aware(qualified_at)
        members.append(
            AtRiskMember(
                customer=customers[customer_id],
                level=level,
                amount=amount,
                orders=int(n),
                amount_needed=max(Decimal(0), level.min_amount - amount),
                orders_needed=max(0, level.min_orders - int(n)),
                deadline=rules.grace_ends(when, policy.grace_days, moment),
            )
        )
    return AtRiskPage(True, policy.grace_days, policy.window_months, int(rows[0][5]), members)


def _at_risk_count(shop: Shop, levels: list[Level], scope: grading.Scope) -> int:
    """The number of at-risk members, for a page past the end."""
    graded, params = grading.graded_sql(scope, grading.bars(levels), mode="regrade")
    with transaction.atomic(), connection.cursor() as cur, grading.whole_shop_plan(cur, scope):
        cur.execute(
            f"SELECT COUNT(*) FROM ({graded}) g WHERE old_rank IS NOT NULL AND COALESCE(q_rank, 0) < old_rank",
            params,
        )
        return int(cur.fetchone()[0])


def _aware(value: datetime | str | None) -> datetime | None:
    """A datetime read by a raw query: SQLite gives naive UTC (a datetime, or text through a subquery)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- level changes (the care app's trigger) -----------------------------------------------------------------

Direction = Literal["up", "down", "any"]


def level_changes_since(*, shop: Shop, since: datetime, direction: Direction = "up") -> QuerySet[LevelChange]:
    """The shop's level changes recorded at or after `since`, oldest first, with their customers: each row says
    who (customer), from and to which level (from_name/to_name, ranks; empty = no level) and when (created_at).
    `direction` "up" (the care app's level-up trigger; joining a first level counts), "down" or "any".
    Every reason counts (regrade, review, a redefinition of the levels, a merge); filter on `reason` to narrow."""
    qs = LevelChange.objects.filter(shop=shop, created_at__gte=since).select_related("customer")
    to_rank, from_rank = Coalesce("to_rank", Value(0)), Coalesce("from_rank", Value(0))
    if direction == "up":
        qs = qs.filter(GreaterThan(to_rank, from_rank))
    elif direction == "down":
        qs = qs.filter(LessThan(to_rank, from_rank))
    elif direction != "any":
        raise ApplicationError("direction must be up, down or any", field="direction")
    return qs.order_by("created_at", "id")


def grading_size(*, shop: Shop) -> int:
    """How much a grading of the shop reads: its orders (the levels page saves a large shop in the background)."""
    return Order.objects.filter(shop=shop).count()
