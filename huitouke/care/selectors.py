"""Reads of customer care for pages and the API: the rules, one rule, its activations with their send records and
results (sent, delivered, failed, held, suppressed by reason: messaging's kept counts; unsubscribes and orders within
7 days: care.follow_ups' stored figures), its day-by-day
runs, the carrier transit days. The per-trigger selectors of the tick are in the care/matching package."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from huitouke.care import follow_ups, sending
from huitouke.care.models import CareActivation, CareRule, CareRun, CarrierTransit, ProductCycle
from huitouke.core.errors import NotFoundError
from huitouke.messaging.models import Message


def rule_list(*, trigger: str = "") -> QuerySet[CareRule]:
    """Rules not deleted, by name, with what the list shows."""
    qs = CareRule.objects.filter(archived_at__isnull=True).select_related("template", "shop", "segment")
    if trigger:
        qs = qs.filter(trigger=trigger)
    return qs.order_by("name", "pk")


def rule_get(*, rule_id: int) -> CareRule:
    """One rule that is not deleted; raises NotFoundError."""
    rule = rule_list().filter(pk=rule_id).first()
    if rule is None:
        raise NotFoundError(f"care rule {rule_id} not found", field="id")
    return rule


def rule_status(rule: CareRule, at: datetime | None = None) -> str:
    """ "on" (enabled and valid), "expired" (enabled, validity over) or "off"."""
    at = at or timezone.now()
    if not rule.enabled or rule.activation == 0:
        return "off"
    return "on" if rule.is_valid_at(at) else "expired"


def rule_reach(rule: CareRule, at: datetime | None = None) -> sending.MarketingReach | None:
    """For a rule that sends marketing: how many customers of its audience (everyone when it has none) the shop's
    marketing consent model leaves out on its channel; None for other rules."""
    from huitouke.care.matching import audience_of
    from huitouke.customers.models import Customer

    if rule.message_purpose != "marketing":
        return None
    audience = audience_of(rule, at or timezone.now())
    if audience is None:
        audience = Customer.objects.filter(merged_into__isnull=True)
    return sending.reach(customers=audience, channel=rule.channel, shop_id=rule.shop_id)


def activation_list(*, rule: CareRule) -> list[CareActivation]:
    """A rule's activations, the current one first."""
    return list(CareActivation.objects.filter(rule=rule).select_related("started_by").order_by("-number"))


def run_list(*, rule: CareRule, limit: int = 30) -> list[CareRun]:
    return list(CareRun.objects.filter(rule=rule).select_related("activation").order_by("-day", "-pk")[:limit])


@dataclass
class Results:
    """What became of an activation's messages (or a rule's, over all its activations).

    `sent` counts sent and delivered; `pending` queued and sending; `suppressed` and `failed` hold their reasons.
    `unsubscribed`: customers who said no to this purpose on this channel after a message reached them.
    `ordered_within_7_days`: customers who placed an order in the 7 days after a message reached them (not
    proof that the message caused it)."""

    total: int = 0
    sent: int = 0
    delivered: int = 0
    pending: int = 0
    held: int = 0
    failed: int = 0
    expired: int = 0
    suppressed: int = 0
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    #: None: messages reached someone but the follow-ups are not counted yet (care.follow_ups)
    unsubscribed: int | None = 0
    ordered_within_7_days: int | None = 0
    #: when the follow-ups were counted (stored figures); None when there is nothing to count
    follow_ups_at: datetime | None = None

    def add(self, status: str, reason: str, n: int) -> None:
        self.total += n
        if status in (Message.Status.SENT, Message.Status.DELIVERED):
            self.sent += n
        if status == Message.Status.DELIVERED:
            self.delivered += n
        elif status in (Message.Status.QUEUED, Message.Status.SENDING):
            self.pending += n
        elif status == Message.Status.HELD:
            self.held += n
        elif status == Message.Status.FAILED:
            self.failed += n
        elif status == Message.Status.EXPIRED:
            self.expired += n
        elif status == Message.Status.SUPPRESSED:
            self.suppressed += n
        if reason:
            bucket = self.reasons.setdefault(status, {})
            bucket[reason] = bucket.get(reason, 0) + n


@dataclass(frozen=True)
class ActivationResults:
    """An activation, its results, and its messages counted by (status, reason) (what its records list counts)."""

    activation: CareActivation
    results: Results
    counts: dict[tuple[str, str], int] = field(default_factory=dict)


def activation_results(*, rule: CareRule) -> list[ActivationResults]:
    """Each activation of a rule with its results, the current one first (the seed: the records of the current
    activation come first, older ones stay viewable). The counts are messaging's kept ones and the follow-ups
    the stored ones (care.follow_ups): nothing here reads the messages themselves."""
    activations = activation_list(rule=rule)
    counts = sending.status_counts([a.pk for a in activations])
    stored = None
    if any(follow_ups.reached_of(c) for c in counts.values()):
        stored = follow_ups.rule_follow_ups(rule, counts).value.activations
    out = []
    for a in activations:
        results = Results()
        for (status, reason), n in counts.get(a.pk, {}).items():
            results.add(status, reason, n)
        if results.sent:
            found = (stored or {}).get(a.pk)
            if found is None:
                results.unsubscribed = results.ordered_within_7_days = None
            else:
                results.unsubscribed, results.ordered_within_7_days = found.unsubscribed, found.ordered_within_7_days
                results.follow_ups_at = found.computed_at
        out.append(ActivationResults(a, results, counts.get(a.pk, {})))
    return out


def records_count(counts: dict[tuple[str, str], int], *, status: str = "", reason: str = "") -> int:
    """How many records `records_of` lists for this status / reason, from the activation's grouped counts
    (ActivationResults.counts) instead of counting its messages again."""
    return sum(n for (s, r), n in counts.items() if (not status or s == status) and (not reason or r == reason))


def records_of(*, activation: CareActivation, status: str = "", reason: str = "") -> QuerySet[Message]:
    """One activation's send records, newest first, optionally one status / reason."""
    qs = sending.messages_of([activation.pk])
    if status:
        qs = qs.filter(status=status)
    if reason:
        qs = qs.filter(reason=reason)
    return qs


def rule_summaries(rules: list[CareRule]) -> dict[int, Results]:
    """{rule id: results of its current activation} for a list page, in one grouped query (no follow-ups)."""
    current = dict(
        CareActivation.objects.filter(
            Q(*[Q(rule_id=r.pk, number=r.activation) for r in rules if r.activation], _connector=Q.OR)
        ).values_list("pk", "rule_id")
        if any(r.activation for r in rules)
        else []
    )
    counts = sending.status_counts(list(current))
    out: dict[int, Results] = {r.pk: Results() for r in rules}
    for activation_id, rule_id in current.items():
        for (status, reason), n in counts.get(activation_id, {}).items():
            out[rule_id].add(status, reason, n)
    return out


#: learned cycles older than this are relearned before use (the nightly refresh normally keeps them fresh)
CYCLES_STALE_AFTER = timedelta(hours=36)


def product_cycles(
    *, products: list[int] | None, overrides: dict[int, int], min_samples: int, now: datetime | None = None
) -> dict[int, int]:
    """{product id: repurchase cycle in days} for replenishment: the shop's own figure (`overrides`), else the
    learned median when it rests on at least `min_samples` intervals (care.triggers.replenish.cycle_from_median).
    Learned cycles come from ProductCycle; when they are missing or stale they are relearned first."""
    from huitouke.care.services import product_cycles_refresh
    from huitouke.care.triggers.replenish import cycle_from_median

    now = now or timezone.now()
    newest = ProductCycle.objects.order_by("-computed_at").values_list("computed_at", flat=True).first()
    if newest is None or newest < now - CYCLES_STALE_AFTER:
        product_cycles_refresh(now=now)
    learned = ProductCycle.objects.all()
    if products is not None:
        learned = learned.filter(product_id__in=products)
    found = {pid: (median, n) for pid, median, n in learned.values_list("product_id", "median_days", "intervals")}
    cycles: dict[int, int] = {}
    for product_id in set(found) | set(overrides):
        if products is not None and product_id not in products:
            continue
        median, n = found.get(product_id, (None, 0))
        cycle = cycle_from_median(median, n, min_samples=min_samples, override=overrides.get(product_id))
        if cycle is not None:
            cycles[product_id] = cycle
    return cycles


def carrier_transit_list() -> QuerySet[CarrierTransit]:
    return CarrierTransit.objects.select_related("shop").order_by("shop__name", "carrier")
