"""Set-based selectors, one per trigger: who a rule should message at an instant, and for which occasion.

Each `match_<trigger>` builds one SQL query over orders / customers / consents / level history (joined with the
rule's audience as a subquery) whose rows carry the exactly-once key (rule, customer, occasion) computed in SQL.
The selector counts the rows (`Scope.matched`: every customer the trigger calls for now), then streams as
`CareMessage`s only the rows whose key the outbox does not hold yet, or holds as failed or expired under an
earlier activation of the rule (a re-activation retries those; an anti-join on the outbox's unique key), so
re-running a tick costs two queries and no Python work per customer. Each message carries the shop, the
template variables the trigger fills in ({name} and {shop} always) and the deadline after which sending is
pointless.

Dates are the rule's shop-local days (care/triggers/clock.py) turned into UTC bounds before they reach the
database; the date maths is the pure modules' (birthday, festivals, receipt, replenish) and only put into SQL
here. Merged-away customers never match. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from huitouke.care.matching.customers import (
    match_birthday,
    match_dormant,
    match_holiday,
    match_level_up,
    match_new_product,
    match_no_contact,
    match_replenishment,
)
from huitouke.care.matching.orders import (
    match_delivered_followup,
    match_paid_today,
    match_shipped,
    match_unconfirmed_receipt,
    match_unpaid_reminder,
    transit_case,
    transit_overrides,
)
from huitouke.care.matching.scope import FETCH, CareMessage, Scope, audience_of, scope_for
from huitouke.care.models import CareRule

__all__ = [
    "FETCH",
    "MATCHERS",
    "CareMessage",
    "Scope",
    "audience_of",
    "rule_matches",
    "rule_selection",
    "scope_for",
    "transit_case",
    "transit_overrides",
]


MATCHERS: dict[str, Callable[[Scope, datetime], Iterator[CareMessage]]] = {
    "paid_today": match_paid_today,
    "unpaid_reminder": match_unpaid_reminder,
    "shipped": match_shipped,
    "delivered_followup": match_delivered_followup,
    "unconfirmed_receipt": match_unconfirmed_receipt,
    "birthday": match_birthday,
    "no_contact": match_no_contact,
    "dormant": match_dormant,
    "level_up": match_level_up,
    "holiday": match_holiday,
    "replenishment": match_replenishment,
    "new_product": match_new_product,
}


def rule_selection(
    rule: CareRule, at: datetime, customer_ids: Sequence[int] | None = None
) -> tuple[Scope, Iterator[CareMessage]]:
    """The rule's scope and the messages it calls for at `at` that were not enqueued before (for `customer_ids`
    only, when given); once the iterator is exhausted, `scope.matched` holds how many occasions matched in all
    (already cared for included)."""
    scope = scope_for(rule, at, customer_ids)
    return scope, MATCHERS[rule.trigger](scope, at)


def rule_matches(rule: CareRule, at: datetime) -> Iterator[CareMessage]:
    """The messages `rule` calls for at `at` that were not enqueued before."""
    return rule_selection(rule, at)[1]
