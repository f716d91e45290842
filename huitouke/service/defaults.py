"""What a new installation starts with: the two shipped playbooks (the seeds' dispute steps and service-recovery
steps, in our own words) and a catch-all SLA policy. Labels are English message ids stored as they are and
shown through gettext, so a shop's own steps (typed in any language) pass through unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class StepDefault:
    key: str
    label: str
    help: str
    required: bool = True


@dataclass(frozen=True)
class PlaybookDefault:
    key: str
    name: str
    types: tuple[str, ...]
    steps: tuple[StepDefault, ...]
    position: int


DISPUTE = PlaybookDefault(
    key="dispute",
    name=gettext_noop("Handling a complaint or dispute"),
    types=("dispute", "complaint"),
    position=10,
    steps=(
        StepDefault(
            "respond",
            gettext_noop("Answer without delay"),
            gettext_noop(
                "Write back at once, note what went wrong and say that you are on it, even if the fix takes longer."
            ),
        ),
        StepDefault(
            "welcome",
            gettext_noop("Be warmer than before the sale"),
            gettext_noop(
                "Treat the customer at least as kindly as when they were buying; coldness now loses them for good."
            ),
        ),
        StepDefault(
            "listen",
            gettext_noop("Hear the whole story"),
            gettext_noop("Let the customer explain before answering; record the order, the product and what happened."),
        ),
        StepDefault(
            "reassure",
            gettext_noop("Calm and explain"),
            gettext_noop(
                "Look at it from the customer's side, say you understand, and explain what caused the problem."
            ),
        ),
        StepDefault(
            "apologise",
            gettext_noop("Apologise sincerely"),
            gettext_noop("Say sorry for the trouble and the loss, whatever the cause turns out to be."),
        ),
        StepDefault(
            "remedy",
            gettext_noop("Offer a concrete fix"),
            gettext_noop("Propose a clear remedy quickly and tell the customer exactly what you will do."),
        ),
        StepDefault(
            "inform",
            gettext_noop("Keep the customer posted"),
            gettext_noop("Tell the customer how far the fix has come at each stage until it is done."),
        ),
    ),
)

RECOVERY = PlaybookDefault(
    key="recovery",
    name=gettext_noop("Putting a failure right"),
    types=("quality", "wrong_item", "not_as_described", "logistics", "negative_review", "repair"),
    position=20,
    steps=(
        StepDefault(
            "apologise",
            gettext_noop("Own the problem and apologise"),
            gettext_noop(
                "Admit the inconvenience in your own words; a personal apology works better than a stock phrase."
            ),
        ),
        StepDefault(
            "empathise",
            gettext_noop("Listen and show you care"),
            gettext_noop("Ask open questions and let the customer feel that someone is really listening."),
        ),
        StepDefault(
            "fix",
            gettext_noop("Agree a fair fix"),
            gettext_noop("Solve the actual problem with a fair solution; the customer wants action, not words."),
        ),
        StepDefault(
            "compensate",
            gettext_noop("Add something for the trouble"),
            gettext_noop("Give a small extra (a coupon, a gift, free shipping) for the inconvenience caused."),
            required=False,
        ),
        StepDefault(
            "deliver",
            gettext_noop("Do what you promised"),
            gettext_noop("Make sure every promise is kept; promise nothing you cannot deliver."),
        ),
        StepDefault(
            "follow_up",
            gettext_noop("Check back later"),
            gettext_noop("Some days after the fix, ask whether it held and whether the customer is happy now."),
            required=False,
        ),
    ),
)

PLAYBOOKS = (DISPUTE, RECOVERY)


@dataclass(frozen=True)
class PolicyDefault:
    name: str
    position: int
    priorities: tuple[str, ...]
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int


#: Business minutes on the default calendar (7.5 working hours a day): urgent cases first, then everything else.
POLICIES = (
    PolicyDefault(gettext_noop("Urgent"), 10, ("urgent",), 15, 30, 450),
    PolicyDefault(gettext_noop("Standard"), 1000, (), 60, 120, 1350),
)

#: The default business calendar of a shop that has not set its own.
DEFAULT_PERIODS = ("09:00-12:00", "13:30-18:00")
DEFAULT_WEEKDAYS = (1, 2, 3, 4, 5)
DEFAULT_HOLIDAYS = "CN"
