"""The contact policy: may this message go out now, and if not, why and until when. Pure: no ORM.

`decide` takes the facts the dispatcher gathered from the database (consent, erasure, address, suppression
hooks, the customer's recent contacts) and the shop's settings, and returns one Decision. The rules, in order:

1. a message whose deadline has passed expires (`deadline_passed`);
2. nothing goes to an erased customer (`erased`), whatever the purpose;
3. care and marketing respect the customer's no on that channel (`opted_out`). Marketing (campaigns, care rules
   with a marketing purpose, bulk sends: every message whose purpose is marketing) also needs the customer's yes
   under the shop's consent model "opt-in", the default (`no_opt_in`); only a shop switched to "opt-out" (markets
   where that is the rule) sends marketing to customers who never answered. Service and transactional messages
   are always allowed. This is the one place the consent model is enforced;
4. marketing is suppressed while a hook reports a reason (an open ticket, a recent negative review);
5. a message needs an address to go to (`no_address`);
6. care and marketing wait out quiet hours in shop time (`quiet_hours`: held until the minute they end);
7. care and marketing stay within the contact budget (`contact_budget`: held until the oldest counted contact
   leaves the window).
A hold whose release would come after the deadline expires at once with the hold's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Action = Literal["send", "hold", "suppress", "expire"]
SEND: Action = "send"
HOLD: Action = "hold"
SUPPRESS: Action = "suppress"
EXPIRE: Action = "expire"

SERVICE, TRANSACTIONAL, CARE, MARKETING = "service", "transactional", "care", "marketing"
#: The marketing consent models: only customers who agreed (the default), or everyone who did not say no.
OPT_IN, OPT_OUT = "opt_in", "opt_out"
BUDGETED = (CARE, MARKETING)
QUIET = (CARE, MARKETING)


@dataclass(frozen=True)
class PolicySettings:
    """A shop's contact rules (ContactPolicy) with the shop's time zone."""

    tz: str = "Asia/Shanghai"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    budget_days: int = 7
    budget_marketing: int = 1
    budget_care: int = 2
    marketing_consent: str = OPT_IN

    def budget_for(self, purpose: str) -> int | None:
        if purpose == MARKETING:
            return self.budget_marketing
        if purpose == CARE:
            return self.budget_care
        return None


@dataclass(frozen=True)
class Facts:
    """What the database says about one message's customer at the moment of the decision.

    `consent` is the customer's answer for this channel and purpose (None: never asked). `contacts` are the
    times (ascending) of the customer's other messages of the same purpose that used up a contact within the
    budget window. `blocked_by` is the first reason a suppression hook gave ("" when none).
    """

    purpose: str
    address: str
    has_customer: bool = True
    erased: bool = False
    consent: bool | None = None
    blocked_by: str = ""
    contacts: Sequence[datetime] = field(default_factory=tuple)
    deadline: datetime | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""
    until: datetime | None = None


def marketing_answer(answers: Sequence[tuple[datetime, bool]]) -> bool | None:
    """The customer's answer to marketing on one channel from their answers (when given, yes/no) to marketing
    and to the new-products and promotions group: the latest one counts (joining the group again after an
    unsubscribe is a yes; leaving it, or unsubscribing, is a no; of two answers given at once the no); None
    when they never answered."""
    if not answers:
        return None
    return max(answers, key=lambda a: (a[0], not a[1]))[1]


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a shop-time clock reading falls in [start, end); the span may wrap midnight; start == end: never."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(now: datetime, settings: PolicySettings) -> datetime | None:
    """When the quiet hours `now` falls in end (the next allowed minute, as an aware datetime), or None when
    `now` is not in quiet hours."""
    tz = ZoneInfo(settings.tz)
    local = now.astimezone(tz)
    if not in_quiet_hours(local.time(), settings.quiet_start, settings.quiet_end):
        return None
    end = datetime.combine(local.date(), settings.quiet_end, tzinfo=tz)
    if end <= local:
        end += timedelta(days=1)
    return end


def budget_frees_at(contacts: Sequence[datetime], limit: int, days: int) -> datetime | None:
    """When one more contact fits: None when it fits now; else the moment enough counted contacts have left
    the `days` window that fewer than `limit` remain."""
    if len(contacts) < limit:
        return None
    ordered = sorted(contacts)
    # the contact whose leaving brings the count down to limit - 1
    return ordered[len(ordered) - limit] + timedelta(days=days)


def _hold_or_expire(reason: str, until: datetime, deadline: datetime | None) -> Decision:
    if deadline is not None and until > deadline:
        return Decision(EXPIRE, reason)
    return Decision(HOLD, reason, until)


def decide(facts: Facts, settings: PolicySettings, now: datetime) -> Decision:
    """The one decision for one message now (see the module docstring for the rules and their order)."""
    purpose = facts.purpose
    if facts.deadline is not None and now > facts.deadline:
        return Decision(EXPIRE, "deadline_passed")
    if facts.has_customer and facts.erased:
        return Decision(SUPPRESS, "erased")
    if facts.has_customer and purpose in (CARE, MARKETING):
        if facts.consent is False:
            return Decision(SUPPRESS, "opted_out")
        if purpose == MARKETING and settings.marketing_consent != OPT_OUT and facts.consent is not True:
            return Decision(SUPPRESS, "no_opt_in")
    if purpose == MARKETING and facts.blocked_by:
        return Decision(SUPPRESS, facts.blocked_by)
    if not facts.address:
        return Decision(SUPPRESS, "no_address")
    if purpose in QUIET:
        quiet_end = quiet_hours_end(now, settings)
        if quiet_end is not None:
            return _hold_or_expire("quiet_hours", quiet_end, facts.deadline)
    limit = settings.budget_for(purpose)
    if facts.has_customer and limit == 0:
        return Decision(SUPPRESS, "contact_budget")  # a budget of 0 never frees
    if facts.has_customer and limit is not None:
        window_start = now - timedelta(days=settings.budget_days)
        recent = [t for t in facts.contacts if t > window_start]
        frees = budget_frees_at(recent, limit, settings.budget_days)
        if frees is not None:
            return _hold_or_expire("contact_budget", max(frees, now + timedelta(minutes=1)), facts.deadline)
    return Decision(SEND)
