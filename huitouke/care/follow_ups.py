"""What followed a rule's messages — customers who said no after a message reached them, customers who ordered
within 7 days of one — as stored figures.

Counting them runs two EXISTS over every reached message of an activation (consent answers, orders), which grows
with the messages (issue 22: ten million). The rule page reads them from analytics' FigureSnapshot instead (one
row per rule, `care.follow_ups:<rule id>`) and says when each activation's were counted:

- the care tick (every five minutes) counts again the activations whose reached messages changed since they were
  counted (read from messaging's kept counts, so finding them scans nothing), each at most every
  `RECOUNT_EVERY`;
- the refresh after imports and the nightly job count every activation again (orders and answers that came
  later, with no new message);
- the page counts them itself only for a rule with nothing stored yet (a new rule: few messages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from huitouke.analytics.snapshots import (
    StoredFigure,
    figure_keys,
    figure_read,
    figure_store,
    figures_forget,
    figures_read,
)
from huitouke.care import sending
from huitouke.care.models import CareActivation, CareRule
from huitouke.customers.models import Consent
from huitouke.messaging.models import Message
from huitouke.orders.models import Order

KEY = "care.follow_ups"

#: the tick counts a changed activation again at most this often (a rule sending all day is not recounted
#: every five minutes)
RECOUNT_EVERY = timedelta(minutes=30)


@dataclass(frozen=True)
class FollowUps:
    """One activation's follow-ups as counted at `computed_at`, when `reached` of its messages had reached
    their customer (sent or delivered)."""

    reached: int
    unsubscribed: int
    ordered_within_7_days: int
    computed_at: datetime


@dataclass(frozen=True)
class RuleFollowUps:
    """{activation id: its follow-ups} of one rule (activations nothing reached yet are left out)."""

    activations: dict[int, FollowUps]


def _key(rule_id: int) -> str:
    return f"{KEY}:{rule_id}"


def reached_of(counts: dict[tuple[str, str], int]) -> int:
    """How many messages reached their customer, from an activation's (status, reason) counts."""
    return sum(n for (status, _reason), n in counts.items() if status in sending.SENT_STATUSES)


def _reached(activation_ids: list[int]) -> QuerySet[Message]:
    return sending.messages_of(activation_ids).filter(status__in=sending.SENT_STATUSES, sent_at__isnull=False)


def follow_ups_count(activation_ids: list[int]) -> tuple[int, int]:
    """(customers who said no after a message of these activations reached them, customers who ordered within 7
    days of one): two EXISTS counts over the reached messages — what is stored, never what a page runs."""
    reached = _reached(activation_ids)
    opted_out = Consent.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose__in=["care", "marketing", "new_products"],
        granted=False,
        updated_at__gte=OuterRef("sent_at"),
    )
    unsubscribed = reached.filter(Exists(opted_out)).values("customer_id").distinct().count()
    bought = Order.objects.filter(
        customer_id=OuterRef("customer_id"),
        ordered_at__gt=OuterRef("sent_at"),
        ordered_at__lte=OuterRef("sent_at") + timedelta(days=7),
    ).exclude(status=Order.Status.CLOSED)
    ordered = reached.filter(Exists(bought)).values("customer_id").distinct().count()
    return unsubscribed, ordered


def _count(
    activation_ids: Iterable[int], counts: dict[int, dict[tuple[str, str], int]], now: datetime | None = None
) -> dict[int, FollowUps]:
    now = now or timezone.now()
    out = {}
    for activation_id in activation_ids:
        reached = reached_of(counts.get(activation_id, {}))
        if reached:
            unsubscribed, ordered = follow_ups_count([activation_id])
            out[activation_id] = FollowUps(reached, unsubscribed, ordered, now)
    return out


def rule_follow_ups(rule: CareRule, counts: dict[int, dict[tuple[str, str], int]]) -> StoredFigure:
    """The stored follow-ups of a rule (`.value` a RuleFollowUps), counted now for the activations in `counts`
    (their status counts) only when nothing is stored for the rule yet."""
    return figure_read(
        key=_key(rule.pk),
        compute=lambda: RuleFollowUps(_count(counts, counts)),
        current=lambda value: isinstance(value, RuleFollowUps),
    )


def follow_ups_refresh(*, changed_only: bool = False, now: datetime | None = None) -> int:
    """Count the follow-ups again: of every activation that reached someone (the nightly job, after imports), or
    (`changed_only`, the care tick) of those whose reached messages changed since they were last counted and
    that were not counted in the last `RECOUNT_EVERY`. Figures of deleted rules are dropped. Returns how many
    activations were counted."""
    now = now or timezone.now()
    by_rule: dict[int, list[int]] = {}
    for activation_id, rule_id in CareActivation.objects.filter(rule__archived_at__isnull=True).values_list(
        "pk", "rule_id"
    ):
        by_rule.setdefault(rule_id, []).append(activation_id)
    counts = sending.status_counts([a for ids in by_rule.values() for a in ids])
    stored = {int(key.rsplit(":", 1)[1]): figure for key, figure in figures_read(prefix=f"{KEY}:").items()}
    counted = 0
    for rule_id, activation_ids in sorted(by_rule.items()):
        old = stored.get(rule_id)
        previous = old.value.activations if old is not None and isinstance(old.value, RuleFollowUps) else {}
        if changed_only:
            due = [
                a
                for a in activation_ids
                if reached_of(counts.get(a, {})) != (previous[a].reached if a in previous else 0)
                and (a not in previous or previous[a].computed_at <= now - RECOUNT_EVERY)
            ]
        else:
            due = [a for a in activation_ids if reached_of(counts.get(a, {}))]
        if not due and (old is not None or changed_only):
            continue
        fresh = _count(due, counts, now)
        kept = {a: f for a, f in previous.items() if a in activation_ids and a not in due}
        figure_store(key=_key(rule_id), compute=_constant(RuleFollowUps({**kept, **fresh})))
        counted += len(fresh)
    gone = [k for k in figure_keys(prefix=f"{KEY}:") if int(k.rsplit(":", 1)[1]) not in by_rule]
    if gone:
        figures_forget(keys=gone)
    return counted


def _constant(value: RuleFollowUps) -> Callable[[], RuleFollowUps]:
    return lambda: value


def follow_ups_nightly() -> int:
    """The refresher registered with analytics' stored figures: every activation counted again."""
    return follow_ups_refresh()
