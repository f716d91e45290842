"""What a new installation starts with: the two shipped playbooks (the seeds' dispute steps and service-recovery
steps, in our own words) and a catch-all SLA policy. Labels are English message ids stored as they are and
shown through gettext, so a shop's own steps (typed in any language) pass through unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop as N_


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
    name=N_("Handling a complaint or dispute"),
    types=("dispute", "complaint"),
    position=10,
    steps=(
        StepDefault(
            "respond",
            N_("Answer without delay"),
            N_("Write back at once, note what went wrong and say that you are on it, even if the fix takes longer."),
        ),
        StepDefault(
            "welcome",
            N_("Be warmer than before the sale"),
            N_("Treat the customer at least as kindly as when they were buying; coldness now loses them for good."),
        ),
        StepDefault(
            "listen",
            N_("Hear the whole story"),
            N_("Let the customer explain before answering; record the order, the product and what happened."),
        ),
        StepDefault(
            "reassure",
            N_("Calm and explain"),
            N_("Look at it from the customer's side, say you understand, and explain what caused the problem."),
        ),
        StepDefault(
            "apologise",
            N_("Apologise sincerely"),
            N_("Say sorry for the trouble and the loss, whatever the cause turns out to be."),
        ),
        StepDefault(
            "remedy",
            N_("Offer a concrete fix"),
            N_("Propose a clear remedy quickly and tell the customer exactly what you will do."),
        ),
        StepDefault(
            "inform",
            N_("Keep the customer posted"),
            N_("Tell the customer how far the fix has come at each stage until it is done."),
        ),
    ),
)

RECOVERY = PlaybookDefault(
    key="recovery",
    name=N_("Putting a failure right"),
    types=("quality", "wrong_item", "not_as_described", "logistics", "negative_review", "repair"),
    position=20,
    steps=(
        StepDefault(
            "apologise",
            N_("Own the problem and apologise"),
            N_("Admit the inconvenience in your own words; a personal apology works better than a stock phrase."),
        ),
        StepDefault(
            "empathise",
            N_("Listen and show you care"),
            N_("Ask open questions and let the customer feel that someone is really listening."),
        ),
        StepDefault(
            "fix",
            N_("Agree a fair fix"),
            N_("Solve the actual problem with a fair solution; the customer wants action, not words."),
        ),
        StepDefault(
            "compensate",
            N_("Add something for the trouble"),
            N_("Give a small extra (a coupon, a gift, free shipping) for the inconvenience caused."),
            required=False,
        ),
        StepDefault(
            "deliver",
            N_("Do what you promised"),
            N_("Make sure every promise is kept; promise nothing you cannot deliver."),
        ),
        StepDefault(
            "follow_up",
            N_("Check back later"),
            N_("Some days after the fix, ask whether it held and whether the customer is happy now."),
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
    PolicyDefault(N_("Urgent"), 10, ("urgent",), 15, 30, 450),
    PolicyDefault(N_("Standard"), 1000, (), 60, 120, 1350),
)

#: The default business calendar of a shop that has not set its own.
DEFAULT_PERIODS = ("09:00-12:00", "13:30-18:00")
DEFAULT_WEEKDAYS = (1, 2, 3, 4, 5)
DEFAULT_HOLIDAYS = "CN"
