""" "What if" for one rating: what it would change in the shop's credit and why. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from huitouke.reviews.credit.facts import ReviewFact
from huitouke.reviews.credit.ledger import Entry, credit_ledger
from huitouke.reviews.credit.rules import CreditRules, Level

SCORES = "scores"


@dataclass(frozen=True)
class Change:
    """Another rating whose points change when the new one is added (a default 好评 it replaces, a same-item or
    monthly-cap slot it takes). ``points_after``/``reason_after`` are None when the entry disappears (a generated
    default the buyer's own rating replaces)."""

    id: str
    points_before: int
    points_after: int | None
    reason_before: str | None
    reason_after: str | None


@dataclass(frozen=True)
class Explanation:
    """The effect of adding ``fact_id``: ``code`` is ``"scores"`` or the reason it does not score (a reason code of
    ``facts.REASONS``); ``points`` what the rating itself scores, ``nominal_points`` what its result is worth;
    ``delta`` the change of the shop's score (its own points plus ``changes`` to other ratings). Numbers for the
    sentence: ``monthly_cap`` and ``pair_month_net`` (the pair's net for ``month`` before it), ``merged_into`` (the
    same-item rating that already scored), the rules' ``same_item_days`` and ``rating_period_days``.
    Example: a 差评 with code ``monthly_cap``, pair_month_net −6: "costs nothing: this buyer's ratings this month
    already took 6 points off"."""

    fact_id: str
    code: str
    result: str
    points: int
    nominal_points: int
    delta: int
    score_before: int
    score_after: int
    level_before: Level
    level_after: Level
    month: str
    monthly_cap: int
    pair_month_net: int | None
    merged_into: str | None
    same_item_days: int
    rating_period_days: int
    changes: tuple[Change, ...]


def what_if(
    rules: CreditRules, facts: Iterable[ReviewFact], new_fact: ReviewFact, *, tz: dt.tzinfo, at: dt.datetime
) -> Explanation:
    """Explain the rating ``new_fact`` against the shop's other ratings ``facts`` as of ``at``. ValueError when
    ``new_fact`` was given after ``at`` or its id/line+role is already among ``facts``."""
    existing = list(facts)
    if new_fact.created_at > at:
        raise ValueError(f"review {new_fact.id!r}: created_at is after at ({at.isoformat()})")
    before = credit_ledger(rules, existing, tz=tz, at=at)
    after = credit_ledger(rules, [*existing, new_fact], tz=tz, at=at)
    entry = after.entry(new_fact.id)
    old = {e.id: e for e in before.entries}
    new = {e.id: e for e in after.entries}
    changes = []
    for entry_id in sorted(set(old) | set(new)):
        if entry_id == new_fact.id:
            continue
        was: Entry | None = old.get(entry_id)
        now: Entry | None = new.get(entry_id)
        if was is not None and now is not None and (was.points, was.reason) == (now.points, now.reason):
            continue
        changes.append(
            Change(
                id=entry_id,
                points_before=was.points if was is not None else 0,
                points_after=now.points if now is not None else None,
                reason_before=was.reason if was is not None else None,
                reason_after=now.reason if now is not None else None,
            )
        )
    return Explanation(
        fact_id=new_fact.id,
        code=entry.reason or SCORES,
        result=entry.result,
        points=entry.points,
        nominal_points=entry.nominal_points,
        delta=after.score - before.score,
        score_before=before.score,
        score_after=after.score,
        level_before=before.level,
        level_after=after.level,
        month=entry.month,
        monthly_cap=rules.monthly_cap,
        pair_month_net=entry.pair_month_net,
        merged_into=entry.merged_into,
        same_item_days=rules.same_item_days,
        rating_period_days=rules.rating_period_days,
        changes=tuple(changes),
    )
