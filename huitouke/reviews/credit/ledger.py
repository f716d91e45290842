"""The credit ledger: which ratings score for the shop, with how many points and, when not, why. Pure.

Processing, as of the instant ``at`` (ratings given later are not known yet):

1. **Defaults.** For an order line the shop (seller role) rated and the buyer never rated, a default 好评 from the
   buyer is generated when due: ``default_good_after_days`` after the shop's rating (``default_from='rating'``,
   course) or after 交易成功 (``'success'``, taobao). No default for a Tmall order (when Tmall has no credit), a
   trade not paid through Alipay or not successful, or — ``default_requires_good`` — after a 中评/差评. A default
   the platform already gave (an imported ``is_default`` buyer rating) is checked against the preset when the
   shop's rating of that line is known (``no_default`` / ``default_not_due``), else taken as given.
   A generated default is dated at its due instant and is not subject to the rating period.
2. **Eligibility** of every buyer rating, first failing check wins: ``tmall_no_credit``,
   ``not_paid_or_not_successful``, the default checks above, ``outside_rating_period`` (given before the period
   began or after ``rating_period_days`` exact days; the end instant is inside).
3. **Same item** (on eligible ratings, processed by trade creation time then id): per (buyer, seller, item), a
   window opens at the first trade's creation date in the shop's time zone and holds the trades created on that
   date and the following ``same_item_days - 1`` dates; the next trade outside it opens a new window. In a window
   the first 好评 scores +1, the first 差评 −1, the first 中评 0; every further rating with a result already seen
   there does not score (``same_item_14_days``). Mixed results therefore combine: 好评 + 差评 net 0.
4. **Monthly cap** (after the merge, same order): per (buyer, seller, calendar month of the trade's creation in the
   shop's time zone) a running net; a 好评 with the net already at +cap, or a 差评 with the net at −cap, does not
   score (``monthly_cap``). 中评 always scores 0. The net never leaves −cap…+cap.

Because ordering is by trade creation, a late rating of an earlier trade can take a slot from a later trade's
rating; the input order never matters.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from huitouke.reviews.credit.facts import (
    DEFAULT_NOT_DUE,
    GENERATED_PREFIX,
    MONTHLY_CAP,
    NO_DEFAULT,
    NOT_PAID_OR_NOT_SUCCESSFUL,
    OUTSIDE_RATING_PERIOD,
    POINTS,
    RATES_BUYER,
    SAME_ITEM_14_DAYS,
    TMALL_NO_CREDIT,
    ReviewFact,
)
from huitouke.reviews.credit.rules import CreditRules, Level, level_for

DefaultStatus = Literal[
    "generated", "pending", "other_side_rated", "no_default", "not_paid_or_not_successful", "tmall_no_credit"
]


class Entry(NamedTuple):
    """One rating in the ledger. ``points`` is what it adds to the shop's score (0 when it does not score);
    ``nominal_points`` what its result is worth. ``rated_at`` is when it was given (a generated default: its due
    instant); ``month`` the trade's creation month in the shop's time zone ('2026-01'). For the same-item rule,
    ``merged_into`` is the id of the rating that scored for this result; for the cap, ``pair_month_net`` is the
    pair's net for the month before this rating. On the shop's own ratings (role seller, reason ``rates_buyer``)
    ``default`` says what became of the buyer's missing rating and ``default_due_at`` when it is/was due.
    (A NamedTuple rather than a dataclass: a full recomputation builds millions of them.)"""

    id: str
    line_key: str
    role: str
    result: str
    scores: bool
    points: int
    nominal_points: int
    reason: str | None
    is_default: bool
    generated: bool
    anonymous: bool
    trade_created_at: dt.datetime
    rated_at: dt.datetime
    month: str
    buyer: str
    item: str
    merged_into: str | None = None
    pair_month_net: int | None = None
    default: DefaultStatus | None = None
    default_due_at: dt.datetime | None = None


@dataclass(frozen=True)
class HistoryPoint:
    """Points scored in one period (a day, or a month given by its first day) and the score at its end."""

    period: dt.date
    points: int
    score: int


@dataclass(frozen=True)
class Ledger:
    """The shop's credit as of ``at``. ``entries`` in processing order (trade creation time, then id), the shop's
    ratings of buyers included; ``reviews``/``scored``/``not_scored`` count the buyer ratings (generated defaults
    included). ``pending_defaults``: (line_key, due instant) of defaults not due yet."""

    rules: CreditRules
    at: dt.datetime
    tz: dt.tzinfo
    entries: tuple[Entry, ...]
    score: int
    level: Level
    reviews: int
    scored: int
    not_scored: dict[str, int]
    pending_defaults: tuple[tuple[str, dt.datetime], ...]

    @property
    def points_to_next(self) -> int | None:
        return self.level.points_to_next

    def entry(self, entry_id: str) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def history(self, by: Literal["day", "month"] = "month") -> tuple[HistoryPoint, ...]:
        """Score per day or month by the date the points were given (shop time zone), every period from the
        first scoring rating's to the one holding ``at``, gaps included (0 points)."""
        if by not in ("day", "month"):
            raise ValueError(f"by: must be day or month, got {by!r}")
        return history_of(self.points_by_period(by), self.at.astimezone(self.tz).date(), by)

    def points_by_period(self, by: Literal["day", "month"] = "month") -> Counter[dt.date]:
        """Points of the scoring buyer ratings per day or month (its first day) they were given, shop time."""
        per: Counter[dt.date] = Counter()
        for e in self.entries:
            if e.scores and e.role == "buyer":
                per[_period(e.rated_at.astimezone(self.tz).date(), by)] += e.points
        return per


def history_of(
    per: Counter[dt.date], today: dt.date, by: Literal["day", "month"] = "month"
) -> tuple[HistoryPoint, ...]:
    """The score history from points per period (keys: days, or first days of months): every period from the
    first with points to the one holding ``today`` (gaps included, 0 points), with the running score."""
    if not per:
        return ()
    last = _period(today, by)
    period, score, points = min(per), 0, []
    while period <= max(last, max(per)):
        score += per[period]
        points.append(HistoryPoint(period=period, points=per[period], score=score))
        period = _next_period(period, by)
    return tuple(points)


def _period(day: dt.date, by: str) -> dt.date:
    return day.replace(day=1) if by == "month" else day


def _next_period(period: dt.date, by: str) -> dt.date:
    if by == "day":
        return period + dt.timedelta(days=1)
    return dt.date(period.year + period.month // 12, period.month % 12 + 1, 1)


def default_due_at(rules: CreditRules, shop_rating: ReviewFact) -> dt.datetime:
    """When the buyer's default 好评 is due for a line the shop rated (the buyer not)."""
    start = shop_rating.created_at if rules.default_from == "rating" else shop_rating.trade_success_at
    assert start is not None  # a successful trade has trade_success_at (checked by ReviewFact)
    return start + dt.timedelta(days=rules.default_good_after_days)


def _check_inputs(facts: list[ReviewFact], tz: dt.tzinfo, at: dt.datetime) -> None:
    if not isinstance(tz, dt.tzinfo):
        raise ValueError(f"tz: must be a time zone (tzinfo), got {tz!r}")
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at: must be a time-zone aware datetime, got {at!r}")
    ids: set[str] = set()
    lines: set[tuple[str, str]] = set()
    for f in facts:
        if not isinstance(f, ReviewFact):
            raise ValueError(f"facts: expected ReviewFact, got {type(f).__name__}")
        if f.id.startswith(GENERATED_PREFIX):
            raise ValueError(f"review {f.id!r}: ids starting with {GENERATED_PREFIX!r} are reserved for defaults")
        if f.id in ids:
            raise ValueError(f"review {f.id!r}: duplicate id")
        if (f.line_key, f.role) in lines:
            raise ValueError(f"review {f.id!r}: a second {f.role} rating of order line {f.line_key!r}")
        ids.add(f.id)
        lines.add((f.line_key, f.role))


def _shop_rating_outcome(
    rules: CreditRules, shop: ReviewFact, buyer_rated: bool, at: dt.datetime
) -> tuple[DefaultStatus, dt.datetime | None]:
    if buyer_rated:
        return "other_side_rated", None
    if shop.tmall and rules.tmall_no_credit:
        return "tmall_no_credit", None
    if not (shop.paid and shop.successful):
        return "not_paid_or_not_successful", None
    if rules.default_requires_good and shop.result != "good":
        return "no_default", None
    due = default_due_at(rules, shop)
    return ("generated" if due <= at else "pending"), due


def _eligibility(
    rules: CreditRules, f: ReviewFact, shop: ReviewFact | None, generated: bool, at: dt.datetime
) -> str | None:
    if f.tmall and rules.tmall_no_credit:
        return TMALL_NO_CREDIT
    if not (f.paid and f.successful):
        return NOT_PAID_OR_NOT_SUCCESSFUL
    if generated:
        return None
    if f.is_default:
        if shop is not None and not shop.is_default:
            if rules.default_requires_good and shop.result != "good":
                return NO_DEFAULT
            if default_due_at(rules, shop) > at:
                return DEFAULT_NOT_DUE
        return None
    start = f.trade_created_at if rules.rating_period_from == "created" else f.trade_success_at
    assert start is not None
    if not start <= f.created_at <= start + dt.timedelta(days=rules.rating_period_days):
        return OUTSIDE_RATING_PERIOD
    return None


def credit_ledger(rules: CreditRules, facts: Iterable[ReviewFact], *, tz: dt.tzinfo, at: dt.datetime) -> Ledger:
    """The shop's credit ledger as of ``at`` (see the module's docstring for the rules and their order).
    Raises ValueError for duplicate ids, two ratings of one line by one role, a naive ``at`` or a bad ``tz``."""
    all_facts = list(facts)
    _check_inputs(all_facts, tz, at)
    buyer_lines = {f.line_key for f in all_facts if f.role == "buyer"}
    shop_by_line = {f.line_key: f for f in all_facts if f.role == "seller" and not f.is_default}
    known = [f for f in all_facts if f.created_at <= at]

    rows: list[tuple[ReviewFact, int]] = [(f, _BUYER) for f in known if f.role == "buyer"]
    shop_outcomes: dict[str, tuple[DefaultStatus | None, dt.datetime | None]] = {}
    pending: list[tuple[str, dt.datetime]] = []
    for f in known:
        if f.role != "seller":
            continue
        if f.is_default:
            shop_outcomes[f.id] = (None, None)
            continue
        status, due = _shop_rating_outcome(rules, f, f.line_key in buyer_lines, at)
        shop_outcomes[f.id] = (status, due)
        if status == "pending" and due is not None:
            pending.append((f.line_key, due))
        elif status == "generated" and due is not None:
            default = replace(
                f, id=GENERATED_PREFIX + f.id, role="buyer", result="good", created_at=due, is_default=True
            )
            rows.append((default, _GENERATED))

    # One order for everything: trade creation, then id (the shop's own ratings interleave; they never score).
    rows.extend((f, _SHOP) for f in known if f.role == "seller")
    rows.sort(key=_order)
    cap, span = rules.monthly_cap, rules.same_item_days
    months: dict[int, str] = {}
    windows: dict[tuple[str, str, str], tuple[int, dict[str, str]]] = {}
    nets: dict[tuple[str, str, str], int] = {}
    entries: list[Entry] = []
    score = scored = 0
    not_scored: Counter[str] = Counter()
    for f, kind in rows:
        local = f.trade_created_at.astimezone(tz)
        month = months.get(local.year * 12 + local.month)
        if month is None:
            month = months[local.year * 12 + local.month] = f"{local.year:04d}-{local.month:02d}"
        if kind == _SHOP:
            outcome, due_at = shop_outcomes[f.id]
            entries.append(_entry(f, month, RATES_BUYER, False, None, None, outcome, due_at))
            continue
        points = POINTS[f.result]
        merged_into: str | None = None
        net: int | None = None
        reason = _eligibility(rules, f, shop_by_line.get(f.line_key), kind == _GENERATED, at)
        if reason is None:  # same item: one scoring rating per result per window
            key = (f.buyer, f.seller, f.item)
            day = local.toordinal()
            window = windows.get(key)
            if window is None or day - window[0] >= span:
                window = windows[key] = (day, {})
            merged_into = window[1].get(f.result)
            if merged_into is None:
                window[1][f.result] = f.id
            else:
                reason = SAME_ITEM_14_DAYS
        if reason is None:  # monthly cap on the pair's running net
            pair_month = (f.buyer, f.seller, month)
            net = nets.get(pair_month, 0)
            if -cap <= net + points <= cap:
                nets[pair_month] = net + points
            else:
                reason = MONTHLY_CAP
        if reason is None:
            score += points
            scored += 1
        else:
            not_scored[reason] += 1
        entries.append(_entry(f, month, reason, kind == _GENERATED, merged_into, net, None, None))

    reviews = scored + sum(not_scored.values())
    return Ledger(
        rules=rules,
        at=at,
        tz=tz,
        entries=tuple(entries),
        score=score,
        level=level_for(rules, score),
        reviews=reviews,
        scored=scored,
        not_scored={reason: not_scored[reason] for reason in sorted(not_scored)},
        pending_defaults=tuple(sorted(pending)),
    )


_BUYER, _GENERATED, _SHOP = 0, 1, 2


def _order(row: tuple[ReviewFact, int]) -> tuple[dt.datetime, str]:
    return row[0].trade_created_at, row[0].id


def _entry(
    f: ReviewFact,
    month: str,
    reason: str | None,
    generated: bool,
    merged_into: str | None,
    net: int | None,
    default: DefaultStatus | None,
    default_due_at: dt.datetime | None,
) -> Entry:
    scores = reason is None
    nominal = POINTS[f.result]
    return Entry(
        f.id,
        f.line_key,
        f.role,
        f.result,
        scores,
        nominal if scores else 0,
        nominal,
        reason,
        f.is_default,
        generated,
        f.anonymous,
        f.trade_created_at,
        f.created_at,
        month,
        f.buyer,
        f.item,
        merged_into,
        net,
        default,
        default_due_at,
    )
