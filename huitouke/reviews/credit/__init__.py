"""Pure credit (信用) rules for the reviews app: presets, levels, the explained ledger and "what if".

No Django, no ORM: the app's selectors turn Review rows into ``ReviewFact``s and call these functions.
"""

from huitouke.reviews.credit.facts import (
    DEFAULT_NOT_DUE,
    MONTHLY_CAP,
    NO_DEFAULT,
    NOT_PAID_OR_NOT_SUCCESSFUL,
    OUTSIDE_RATING_PERIOD,
    POINTS,
    RATES_BUYER,
    REASONS,
    SAME_ITEM_14_DAYS,
    TMALL_NO_CREDIT,
    ReviewFact,
)
from huitouke.reviews.credit.ledger import Entry, HistoryPoint, Ledger, credit_ledger, default_due_at, history_of
from huitouke.reviews.credit.rules import (
    COURSE_LEVELS,
    NUMBER_BOUNDS,
    PRESETS,
    TAOBAO_LEVELS,
    THRESHOLDS,
    CreditRules,
    Level,
    LevelSpec,
    level_for,
    rules_for,
    rules_with,
)
from huitouke.reviews.credit.whatif import SCORES, Change, Explanation, what_if

__all__ = [
    "COURSE_LEVELS",
    "DEFAULT_NOT_DUE",
    "MONTHLY_CAP",
    "NOT_PAID_OR_NOT_SUCCESSFUL",
    "NO_DEFAULT",
    "NUMBER_BOUNDS",
    "OUTSIDE_RATING_PERIOD",
    "POINTS",
    "PRESETS",
    "RATES_BUYER",
    "REASONS",
    "SAME_ITEM_14_DAYS",
    "SCORES",
    "TAOBAO_LEVELS",
    "THRESHOLDS",
    "TMALL_NO_CREDIT",
    "Change",
    "CreditRules",
    "Entry",
    "Explanation",
    "HistoryPoint",
    "Ledger",
    "Level",
    "LevelSpec",
    "ReviewFact",
    "credit_ledger",
    "default_due_at",
    "history_of",
    "level_for",
    "rules_for",
    "rules_with",
    "what_if",
]
