"""The survey's pure rules (no ORM): checking an answer against the questions a survey was sent with, checking a
question a manager adds, and the figures of a set of answers (response rate, average, distribution, NPS)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError

COMMENT_MAX = 2000
TEXT_MAX = 1000
LABEL_MAX = 200
KINDS = ("rating", "choice", "text", "nps")


@dataclass(frozen=True)
class Answer:
    rating: int
    comment: str
    answers: dict[str, Any]
    nps: int | None


def _int_in(value: object, low: int, high: int, name: str) -> int:
    text = str(value).strip() if value is not None else ""
    # isascii: '²' and other Unicode digits pass isdigit() but are no number int() reads
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ApplicationError(
            _("%(field)s: choose a number from %(low)s to %(high)s.") % {"field": name, "low": low, "high": high},
            field=name,
        )
    return int(text)


def _text(value: object, limit: int, name: str) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise ApplicationError(
            _("%(field)s: at most %(limit)s characters.") % {"field": name, "limit": limit}, field=name
        )
    return text


def answer_clean(
    *, rating: object, comment: object, answers: Mapping[str, object], questions: Sequence[Mapping[str, Any]]
) -> Answer:
    """The answer as stored, or ApplicationError naming the field: the rating 1–5 (required), the comment (at
    most COMMENT_MAX characters), and for each extra question its value (rating 1–5, NPS 0–10, one of the
    choices, text); a required question left empty is refused, an empty optional one left out. Keys that are no
    question of the survey are ignored. The first NPS answer is also returned on its own."""
    cleaned: dict[str, Any] = {}
    nps: int | None = None
    the_rating = _int_in(rating, 1, 5, "rating")
    the_comment = _text(comment, COMMENT_MAX, "comment")
    for q in questions:
        key, kind = str(q["key"]), str(q["kind"])
        raw = answers.get(key)
        if raw is None or str(raw).strip() == "":
            if q.get("required"):
                raise ApplicationError(_("%(field)s: please answer this question.") % {"field": key}, field=key)
            continue
        if kind == "rating":
            cleaned[key] = _int_in(raw, 1, 5, key)
        elif kind == "nps":
            cleaned[key] = _int_in(raw, 0, 10, key)
            nps = cleaned[key] if nps is None else nps
        elif kind == "choice":
            value = str(raw).strip()
            if value not in [str(c) for c in q.get("choices", [])]:
                raise ApplicationError(_("%(field)s: choose one of the answers shown.") % {"field": key}, field=key)
            cleaned[key] = value
        else:
            cleaned[key] = _text(raw, TEXT_MAX, key)
    return Answer(rating=the_rating, comment=the_comment, answers=cleaned, nps=nps)


@dataclass(frozen=True)
class QuestionSpec:
    label: str
    kind: str
    choices: list[str]


def question_clean(*, label: object, kind: str, choices: Sequence[object]) -> QuestionSpec:
    """A question as stored: a label (1–200 characters), a known kind, and for a single choice 2–10 distinct
    choices of at most 100 characters (other kinds keep none)."""
    text = _text(label, LABEL_MAX, "label")
    if not text:
        raise ApplicationError(_("Write the question."), field="label")
    if kind not in KINDS:
        raise ApplicationError(f"kind: unknown value {kind!r}; use one of {', '.join(KINDS)}", field="kind")
    options: list[str] = []
    if kind == "choice":
        for raw in choices:
            option = _text(raw, 100, "choices")
            if option and option not in options:
                options.append(option)
        if not 2 <= len(options) <= 10:
            raise ApplicationError(_("A single choice needs 2 to 10 different answers."), field="choices")
    return QuestionSpec(label=text, kind=kind, choices=options)


@dataclass
class Figures:
    """The figures of one group of surveys (an agent, a type, a product, a month, or all)."""

    key: str
    sent: int = 0
    answered: int = 0
    distribution: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def average(self) -> float | None:
        total = sum(self.distribution)
        return sum((i + 1) * n for i, n in enumerate(self.distribution)) / total if total else None

    @property
    def satisfied_share(self) -> float | None:
        """The share of ratings of 4 or 5 (the usual CSAT score)."""
        total = sum(self.distribution)
        return (self.distribution[3] + self.distribution[4]) / total if total else None

    @property
    def nps(self) -> float | None:
        """Net promoter score: % promoters (9–10) minus % detractors (0–6), from -100 to 100."""
        if not self.nps_answers:
            return None
        return 100 * (self.promoters - self.detractors) / self.nps_answers


@dataclass(frozen=True)
class SurveyFact:
    """What the figures need of one survey."""

    keys: tuple[str, ...]
    rating: int | None
    nps: int | None


def figures(facts: Iterable[SurveyFact]) -> list[Figures]:
    """Figures per key (a survey may count under several keys: one per product of its order), sorted by the
    number sent (most first), then key."""
    groups: dict[str, Figures] = {}
    for fact in facts:
        for key in fact.keys:
            f = groups.setdefault(key, Figures(key))
            f.sent += 1
            if fact.rating is not None:
                f.answered += 1
                f.distribution[fact.rating - 1] += 1
            if fact.nps is not None:
                f.nps_answers += 1
                f.promoters += fact.nps >= 9
                f.detractors += fact.nps <= 6
    return sorted(groups.values(), key=lambda f: (-f.sent, f.key))


#: The CSAT bands other reports split by (the recovery effect): 4–5 satisfied, 3 neutral, 1–2 dissatisfied.
CSAT_BANDS = ("satisfied", "neutral", "dissatisfied", "no_answer")


def csat_band(rating: int | None) -> str:
    """The band of a rating (`no_answer` for a ticket without an answered survey)."""
    if rating is None:
        return "no_answer"
    if rating >= 4:
        return "satisfied"
    return "neutral" if rating == 3 else "dissatisfied"
