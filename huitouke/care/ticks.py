"""The care tick: for every enabled, valid rule whose send time has come, select the customers its trigger
calls for, render its template and enqueue the messages through messaging — exactly once per (rule, customer,
occasion), however often the tick runs, on however many workers. Also the dry run behind `care-run --dry-run`
and the "who gets what tomorrow" preview.

Each rule's selection streams in batches: the keys of a batch that were enqueued before are skipped (counted as
suppressed `already_sent`), the rest go to `message_enqueue_many`, whose UNIQUE idempotency key makes a race
between two workers harmless. A key whose message failed or expired under an earlier activation is not skipped:
the new activation queues that message again in place (seed 004: an edit re-opens the rule); one that was sent
never is. Messages of a rule whose trigger markets (win-back, new products) go out as marketing. A message
whose template needs a value the occasion cannot give is still written,
as suppressed `missing_variable` (messaging never sends a blank); the counts say how many. Messages are
scheduled at the tick's instant; quiet hours, consent and the contact budget are the messaging policy's to apply
(a customer matching two rules on one day gets both only if the budget allows; messaging records the decision).

Rhythm (care/triggers): event triggers are looked at on every tick from their send time on; daily triggers once
per shop-local day (the periodic tick skips a day already done; an explicit `care-run` always looks).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from huitouke.care import matching, sending
from huitouke.care.models import CareActivation, CareRule, CareRun
from huitouke.care.triggers import DAILY, TRIGGERS, clock
from huitouke.customers.models import Customer
from huitouke.orders.models import Shop

log = logging.getLogger(__name__)

#: messages per enqueue batch (one COPY on PostgreSQL)
BATCH = 10_000
#: the Job kind of "Run now" on a rule's page (the task is in huitouke/jobs.py)
CARE_RUN_JOB_KIND = "care_run"
ALREADY_SENT = "already_sent"
MISSING_VARIABLE = "missing_variable"


@dataclass
class RuleResult:
    """What one rule did (or would do) in one tick."""

    id: int
    name: str
    trigger: str
    matched: int = 0
    enqueued: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    due: bool = True
    skipped: str = ""
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "trigger": self.trigger,
            "matched": self.matched,
            "enqueued": self.enqueued,
            "suppressed": dict(sorted(self.suppressed.items())),
        }
        if self.skipped:
            out["skipped"] = self.skipped
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class CareRunReport:
    at: datetime
    dry_run: bool
    rules: list[RuleResult]

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "dry_run": self.dry_run, "rules": [r.as_json() for r in self.rules]}

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if r.error]


@contextmanager
def _full_result_plans() -> Iterator[None]:
    """PostgreSQL plans the streamed (server-side cursor) selections for their whole result, not for their first
    rows: the default cursor_tuple_fraction of 0.1 picks index walks that are fast to start and slow to finish
    (a day's payments in customer order took a minute on 3M orders instead of a second)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SET cursor_tuple_fraction = 1.0")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET cursor_tuple_fraction")


def _batches(items: Iterable[sending.CareMessage], size: int) -> Iterator[list[sending.CareMessage]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def active_rules(*, at: datetime, rule_ids: Sequence[int] | None = None) -> list[CareRule]:
    """Enabled, not deleted, activated rules valid at `at`, with what the tick reads of them."""
    qs = CareRule.objects.filter(enabled=True, archived_at__isnull=True, activation__gt=0).select_related(
        "template", "shop", "segment"
    )
    if rule_ids is not None:
        qs = qs.filter(pk__in=list(rule_ids))
    return [r for r in qs.order_by("pk") if r.is_valid_at(at)]


def _record(
    rule: CareRule, activation: CareActivation, day: date, result: RuleResult, *, done: bool, partial: bool = False
) -> None:
    """Add the run to the rule's day. A `partial` run (a reaction for a few customers) adds what it enqueued and
    suppressed, but leaves the day's matched count and its "done" mark to the full ticks."""
    now = timezone.now()
    own = {k: v for k, v in result.suppressed.items() if k != ALREADY_SENT}
    with transaction.atomic():
        run, _created = CareRun.objects.select_for_update().get_or_create(
            activation=activation, day=day, defaults={"rule": rule, "first_at": now, "last_at": now}
        )
        merged = Counter(run.suppressed) + Counter(own)
        CareRun.objects.filter(pk=run.pk).update(
            ticks=F("ticks") + 1,
            matched=run.matched if partial else result.matched,
            enqueued=F("enqueued") + result.enqueued,
            suppressed=dict(merged),
            done=run.done or (done and not partial),
            last_at=now,
        )


def run_rule(
    rule: CareRule,
    *,
    at: datetime,
    dry_run: bool,
    periodic: bool = False,
    progress: Callable[[int], None] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> RuleResult:
    """One rule at one instant (see the module docstring). Raises nothing for a rule that is merely not due.
    `progress(matched so far)` is called after each batch. With `customer_ids` only those customers are looked
    at (a reaction to their orders' events); the same exactly-once keys hold."""
    result = RuleResult(rule.pk, rule.name, rule.trigger)
    tz = rule.time_zone
    if not clock.send_time_reached(at, tz, rule.send_time):
        result.due, result.skipped = False, "before_send_time"
        return result
    day = clock.local_today(at, tz)
    daily = TRIGGERS[rule.trigger].rhythm == DAILY
    activation = CareActivation.objects.filter(rule=rule, number=rule.activation).first()
    if activation is None:
        result.due, result.skipped = False, "not_activated"
        return result
    if periodic and daily and CareRun.objects.filter(activation=activation, day=day, done=True).exists():
        result.due, result.skipped = False, "done_today"
        return result
    template = rule.template
    started = timezone.now()
    suppressed: Counter[str] = Counter()
    scope, messages = matching.rule_selection(rule, at, customer_ids)
    seen = 0
    with _full_result_plans():
        for batch in _batches(messages, BATCH):
            seen += len(batch)
            fresh = sending.prefill(template, batch)
            # messaging writes a message whose template lacks a value as suppressed (missing_variable)
            suppressed[MISSING_VARIABLE] += sum(1 for m in fresh if sending.missing_variables(template, m))
            if dry_run:
                result.enqueued += len(fresh)
            else:
                result.enqueued += sending.enqueue(
                    activation_id=activation.pk,
                    template=template,
                    messages=fresh,
                    scheduled_at=at,
                    now=started,
                    purpose=rule.message_purpose,
                )
            if progress is not None:
                progress(seen)
    result.matched = scope.matched
    # the selection left out what was enqueued before (and a worker racing this one may have taken a few)
    suppressed[ALREADY_SENT] += max(result.matched - result.enqueued, 0)
    result.suppressed = {k: v for k, v in suppressed.items() if v}
    if not dry_run:
        _record(rule, activation, day, result, done=daily, partial=customer_ids is not None)
    return result


def care_run(
    *,
    at: datetime | None = None,
    dry_run: bool = False,
    rule_ids: Sequence[int] | None = None,
    periodic: bool = False,
    progress: Callable[[str, int], None] | None = None,
    customer_ids: Sequence[int] | None = None,
    triggers: Sequence[str] | None = None,
) -> CareRunReport:
    """Run the care tick at `at` (default now) over every active rule (or those in `rule_ids`).

    With `dry_run` nothing is written: the counts say what a real run would match, add and suppress. With
    `periodic` (the worker's tick) a daily rule's day is looked at once. A rule that fails is reported with
    its error and the others still run. `progress(rule name, matched so far)` follows long runs. `customer_ids`
    and `triggers` narrow the run to those customers and the rules of those triggers (`care_react`)."""
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("the tick's instant needs a time zone")
    results = []
    for rule in active_rules(at=at, rule_ids=rule_ids):
        if triggers is not None and rule.trigger not in triggers:
            continue
        try:
            step = (lambda done, name=rule.name: progress(name, done)) if progress else None
            results.append(
                run_rule(rule, at=at, dry_run=dry_run, periodic=periodic, progress=step, customer_ids=customer_ids)
            )
        except Exception as exc:  # one broken rule must not stop the others; the worker's log has the trace
            log.exception("care rule %s failed", rule.pk)
            results.append(RuleResult(rule.pk, rule.name, rule.trigger, due=True, error=str(exc)[:500]))
    return CareRunReport(at=at, dry_run=dry_run, rules=results)


#: The triggers that answer an order's events (payment, shipping, delivery, a level reached): `care_react` runs
#: them for the customers whose orders just arrived or changed, instead of waiting for the next tick.
ORDER_EVENT_TRIGGERS = ("paid_today", "unpaid_reminder", "shipped", "delivered_followup", "level_up")


def care_react(*, customer_ids: Sequence[int], at: datetime | None = None) -> CareRunReport:
    """Care's answer to order events: the order-event rules (ORDER_EVENT_TRIGGERS) for these customers only, at
    once. Exactly once per (rule, customer, occasion) as in the tick, so the next tick finds nothing left to do
    for them; quiet hours, consent and budgets stay messaging's. Nothing to do for no customers."""
    if not customer_ids:
        return CareRunReport(at=at or timezone.now(), dry_run=False, rules=[])
    return care_run(at=at, customer_ids=customer_ids, triggers=ORDER_EVENT_TRIGGERS)


# --- preview -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    customer: Customer
    subject: str
    body: str
    missing: tuple[str, ...]
    sms_parts: int | None


@dataclass(frozen=True)
class RulePreview:
    """Who a rule would message at `at`, and a few of those messages rendered."""

    rule: CareRule
    at: datetime
    due: bool
    matched: int
    new: int
    already_sent: int
    missing_variable: int
    samples: list[Sample]


def preview_instant(rule: CareRule, *, day: date) -> datetime:
    """When a rule would look on `day`: its send time, or (no send time) the end of that day."""
    tz = rule.time_zone
    if rule.send_time is not None:
        return clock.at_local(day, rule.send_time, tz)
    return clock.at_local(day, time(23, 59, 59), tz)


def tomorrow_for(rule: CareRule, now: datetime | None = None) -> date:
    return clock.local_today(now or timezone.now(), rule.time_zone) + timedelta(days=1)


def care_preview(*, rule: CareRule, at: datetime, limit: int = 10) -> RulePreview:
    """A dry run of one rule (enabled or not) at `at`: counts, and the first `limit` new messages rendered
    with the rule's template for their customers. Writes nothing."""
    template = rule.template
    matched = new = already = missing = 0
    samples: list[sending.CareMessage] = []
    due = clock.send_time_reached(at, rule.time_zone, rule.send_time)
    if due:
        scope, messages = matching.rule_selection(rule, at)
        with _full_result_plans():
            for batch in _batches(messages, BATCH):
                fresh = sending.prefill(template, batch)
                new += len(fresh)
                missing += sum(1 for m in fresh if sending.missing_variables(template, m))
                if len(samples) < limit:
                    samples.extend(fresh[: limit - len(samples)])
        matched = scope.matched
        already = max(matched - new, 0)
    customers = Customer.objects.in_bulk([m.customer_id for m in samples])
    shops = Shop.objects.in_bulk([m.shop_id for m in samples if m.shop_id])
    rendered = []
    for m in samples:
        preview = sending.preview(
            template=template,
            customer=customers.get(m.customer_id),
            shop=shops.get(m.shop_id) if m.shop_id else None,
            context=m.context,
        )
        rendered.append(
            Sample(
                customers[m.customer_id],
                preview.subject,
                preview.body,
                preview.missing,
                preview.sms.parts if preview.sms else None,
            )
        )
    return RulePreview(rule, at, due, matched, new, already, missing, rendered)
