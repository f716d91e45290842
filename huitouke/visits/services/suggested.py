"""Suggested plans a shop can add with one click and then adjust: the visits the seeds describe (after delivery,
the best members every 90 days, before the big festivals, after a solved after-sales case, a questionnaire after
the first order). They are added switched off, so nobody is visited before a manager has read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from huitouke.loyalty.models import Level
from huitouke.visits import schedule
from huitouke.visits.models import VisitPlan
from huitouke.visits.services.plans import visit_plan_create

QUIET = (time(21, 0), time(9, 0))


@dataclass(frozen=True)
class Suggestion:
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    top_level: bool = False  # narrowed to the shop's highest member level (skipped when it has none)


def _suggestions() -> list[Suggestion]:
    rating = {"text": _("How do you like what you bought?"), "kind": "rating"}
    remarks = {"text": _("Anything we should do better?"), "kind": "text"}
    return [
        Suggestion(
            "delivery",
            {
                "name": _("Visit 7 days after delivery"),
                "trigger": schedule.AFTER_DELIVERY,
                "days": 7,
                "channel": VisitPlan.Channel.PHONE,
                "script": _(
                    "Hello $name, this is $shop. Your parcel arrived a week ago: is everything as you hoped, and "
                    "is there anything we can help with?"
                ),
                "questions": [rating, remarks],
            },
        ),
        Suggestion(
            "members",
            {
                "name": _("Best members every 90 days"),
                "trigger": schedule.EVERY_N_DAYS,
                "days": 90,
                "channel": VisitPlan.Channel.PHONE,
                "script": _(
                    "Hello $name, this is $shop. As one of our $level members we would like to hear how you are."
                ),
                "questions": [rating, remarks],
            },
            top_level=True,
        ),
        Suggestion(
            "festivals",
            {
                "name": _("Greeting 3 days before the festivals"),
                "trigger": schedule.BEFORE_HOLIDAY,
                "days": 3,
                "holidays": ["spring_festival", "mid_autumn"],
                "channel": VisitPlan.Channel.QIANNIU,
                "script": _("Hello $name, $shop wishes you and your family a happy festival!"),
            },
            top_level=True,
        ),
        Suggestion(
            "after_ticket",
            {
                "name": _("Follow-up 3 days after a solved case"),
                "trigger": schedule.AFTER_TICKET,
                "days": 3,
                "channel": VisitPlan.Channel.PHONE,
                "assignment": VisitPlan.Assignment.TICKET_OWNER,
                "script": _("Hello $name, this is $shop. We solved your request a few days ago: is all well now?"),
                "questions": [
                    {"text": _("Is the problem fully solved?"), "kind": "choice", "choices": [_("Yes"), _("No")]}
                ],
            },
        ),
        Suggestion(
            "first_order",
            {
                "name": _("Questionnaire 3 days after the first order"),
                "trigger": schedule.AFTER_FIRST_ORDER,
                "days": 3,
                "channel": VisitPlan.Channel.SMS_QUESTIONNAIRE,
                "questions": [rating, remarks],
            },
        ),
    ]


def visit_plans_suggested_install(*, shop: Any, actor: Any = None) -> list[VisitPlan]:
    """Add the suggested plans the shop does not have yet (by name), switched off, shared through the pool (or
    the ticket owner), with quiet hours 21:00–09:00; returns the plans added. A suggestion for the best members is
    skipped when the shop has no member levels."""
    top = Level.objects.filter(shop=shop).order_by("-rank").first()
    have = set(VisitPlan.objects.filter(shop=shop).values_list("name", flat=True))
    added = []
    with transaction.atomic():
        for s in _suggestions():
            if s.values["name"] in have or (s.top_level and top is None):
                continue
            values = {
                "assignment": VisitPlan.Assignment.POOL,
                "quiet_start": QUIET[0],
                "quiet_end": QUIET[1],
                "enabled": False,
                **s.values,
            }
            if s.top_level and top is not None:
                values["level_ids"] = [top.pk]
            added.append(visit_plan_create(shop=shop, actor=actor, **values))
    return added
