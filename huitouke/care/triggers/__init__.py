"""The trigger catalogue of customer care (客户关怀): what each trigger waits for, how often it is looked at, what
one occasion is (the third part of the exactly-once key), and its defaults. Pure: no ORM, no settings.

Each trigger is a pure date/condition part (clock, birthday, festivals, receipt, replenish, params) and a
set-based selector (care/selectors.py) built on it.

Two rhythms:
- "event" triggers (paid today, unpaid reminder, shipped, level up) look at a moving window on every tick, from
  the rule's send time on (none = as soon as it happens);
- "daily" triggers (the others) select a day's occasions once per shop-local day, at the send time.

Occasions (what is sent once): the day (paid today, not contacted), the order (unpaid, shipped, delivered
follow-up, unconfirmed receipt), the year (birthdays: solar "2026" or lunar "L2026"; holidays
"spring_festival:2026"), the level change, the dormant spell (its last purchase day), the purchase to replenish
(product + order), and the new product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

EVENT, DAILY = "event", "daily"


@dataclass(frozen=True)
class TriggerSpec:
    key: str
    rhythm: str
    occasion: str
    default_send_time: time | None
    #: how long a message may wait (quiet hours, contact budget) before it is pointless: hours after it was
    #: scheduled; 0 = until the end of the occasion's day (birthdays, holidays); None = decided per message
    deadline_hours: int | None
    #: the purpose of the system template (the message's purpose comes from the chosen template)
    purpose: str = "care"


TRIGGERS: dict[str, TriggerSpec] = {
    s.key: s
    for s in (
        TriggerSpec("paid_today", EVENT, "day", None, 48),
        TriggerSpec("unpaid_reminder", EVENT, "order", None, None, "transactional"),
        TriggerSpec("shipped", EVENT, "order", None, 48, "transactional"),
        TriggerSpec("delivered_followup", DAILY, "order", time(10, 0), 72),
        TriggerSpec("unconfirmed_receipt", DAILY, "order", time(10, 0), 72),
        TriggerSpec("birthday", DAILY, "year", time(9, 30), 0),
        TriggerSpec("no_contact", DAILY, "day", time(10, 30), 72),
        TriggerSpec("dormant", DAILY, "spell", time(11, 0), 168, "marketing"),
        TriggerSpec("level_up", EVENT, "level change", None, 72),
        TriggerSpec("holiday", DAILY, "year", time(9, 0), 0),
        TriggerSpec("replenishment", DAILY, "purchase", time(10, 0), 72),
        TriggerSpec("new_product", DAILY, "product", time(10, 0), 168, "marketing"),
    )
}

TRIGGER_KEYS = tuple(TRIGGERS)


def idempotency_key(rule_id: int, customer_id: int, occasion: str) -> str:
    """The exactly-once key of one care message: (rule, customer, occasion)."""
    return f"care:{rule_id}:{customer_id}:{occasion}"
