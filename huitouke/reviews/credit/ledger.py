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
from typing import Literal

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


@dataclass(frozen=True)
class Entry:
    """One rating in the ledger. ``points`` is what it adds to the shop's score (0 when it does not score);
    ``nominal_points`` what its result is worth. ``rated_at`` is when it was given (a generated default: its due
    instant); ``month`` the trade's creation month in the shop's time zone ('2026-01'). For the same-item rule,
    ``merged_into`` is the id of the rating that scored for this result; for the cap, ``pair_month_net`` is the
    pair's net for the month before this rating. On the shop's own ratings (role seller, reason ``rates_buyer``)
    ``default`` says what became of the buyer's missing rating and ``default_due_at`` when it is/was due."""

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
        per: Counter[dt.date] = Counter()
        for e in self.entries:
            if e.scores and e.role == "buyer":
                per[_period(e.rated_at.astimezone(self.tz).date(), by)] += e.points
        if not per:
            return ()
        last = _period(self.at.astimezone(self.tz).date(), by)
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

    rows: list[tuple[ReviewFact, bool]] = [(f, False) for f in known if f.role == "buyer"]
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
            rows.append((default, True))

    def order(item: tuple[ReviewFact, bool]) -> tuple[dt.datetime, str]:
        return item[0].trade_created_at, item[0].id

    rows.sort(key=order)
    reasons: dict[str, str | None] = {}
    merged: dict[str, str] = {}
    net_before: dict[str, int] = {}
    windows: dict[tuple[str, str, str], tuple[dt.date, dict[str, str]]] = {}
    nets: Counter[tuple[str, str, str]] = Counter()
    for f, generated in rows:
        reason = _eligibility(rules, f, shop_by_line.get(f.line_key), generated, at)
        if reason is None:
            reason = _same_item(rules, f, windows, merged, tz)
        if reason is None:
            pair_month = (f.buyer, f.seller, _month(f.trade_created_at, tz))
            net_before[f.id] = net = nets[pair_month]
            if (f.points > 0 and net + f.points > rules.monthly_cap) or (
                f.points < 0 and net + f.points < -rules.monthly_cap
            ):
                reason = MONTHLY_CAP
            else:
                nets[pair_month] = net + f.points
        reasons[f.id] = reason

    entries: list[tuple[ReviewFact, Entry]] = []
    for f, generated in rows:
        reason = reasons[f.id]
        entries.append((f, _entry(f, tz, reason, generated, merged.get(f.id), net_before.get(f.id))))
    for f in known:
        if f.role == "seller":
            outcome, due_at = shop_outcomes[f.id]
            entry = _entry(f, tz, RATES_BUYER, False, None, None)
            entries.append((f, replace(entry, default=outcome, default_due_at=due_at)))
    entries.sort(key=lambda pair: (pair[0].trade_created_at, pair[0].id))

    buyer_entries = [e for _, e in entries if e.role == "buyer"]
    score = sum(e.points for e in buyer_entries)
    not_scored = Counter(e.reason for e in buyer_entries if e.reason is not None)
    return Ledger(
        rules=rules,
        at=at,
        tz=tz,
        entries=tuple(e for _, e in entries),
        score=score,
        level=level_for(rules, score),
        reviews=len(buyer_entries),
        scored=sum(1 for e in buyer_entries if e.scores),
        not_scored={reason: not_scored[reason] for reason in sorted(not_scored) if reason},
        pending_defaults=tuple(sorted(pending)),
    )


def _month(instant: dt.datetime, tz: dt.tzinfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m")


def _same_item(
    rules: CreditRules,
    f: ReviewFact,
    windows: dict[tuple[str, str, str], tuple[dt.date, dict[str, str]]],
    merged: dict[str, str],
    tz: dt.tzinfo,
) -> str | None:
    key = (f.buyer, f.seller, f.item)
    day = f.trade_created_at.astimezone(tz).date()
    window = windows.get(key)
    if window is None or (day - window[0]).days >= rules.same_item_days:
        window = (day, {})
        windows[key] = window
    first = window[1].get(f.result)
    if first is not None:
        merged[f.id] = first
        return SAME_ITEM_14_DAYS
    window[1][f.result] = f.id
    return None


def _entry(
    f: ReviewFact, tz: dt.tzinfo, reason: str | None, generated: bool, merged_into: str | None, net: int | None
) -> Entry:
    scores = reason is None
    return Entry(
        id=f.id,
        line_key=f.line_key,
        role=f.role,
        result=f.result,
        scores=scores,
        points=POINTS[f.result] if scores else 0,
        nominal_points=POINTS[f.result],
        reason=reason,
        is_default=f.is_default,
        generated=generated,
        anonymous=f.anonymous,
        trade_created_at=f.trade_created_at,
        rated_at=f.created_at,
        month=_month(f.trade_created_at, tz),
        buyer=f.buyer,
        item=f.item,
        merged_into=merged_into,
        pair_month_net=net,
    )
