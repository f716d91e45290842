"""Creating and changing visit plans, with every value checked and a bad one named by its field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from huitouke.care.triggers import clock, festivals
from huitouke.core.errors import ApplicationError, ConflictError
from huitouke.core.models import AuditEntry
from huitouke.core.services import audit_log
from huitouke.visits import schedule
from huitouke.visits.models import VisitPlan
from huitouke.visits.run import MAX_ONE_OFF

PLAN_FIELDS = (
    "name", "trigger", "days", "holidays", "segment_id", "level_ids", "customer_ids", "channel", "script",
    "questions", "attempts", "retry_hours", "assignment", "daily_capacity", "quiet_start", "quiet_end",
    "holdout_share", "seed", "enabled",
)  # fmt: skip
QUESTION_KINDS = ("rating", "choice", "text")
MAX_QUESTIONS = 20


def _questions(raw: Any) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > MAX_QUESTIONS:
        raise ApplicationError(_("Give at most %(n)d questions as a list.") % {"n": MAX_QUESTIONS}, field="questions")
    out = []
    for i, q in enumerate(raw):
        where = f"questions[{i}]"
        if not isinstance(q, dict) or not str(q.get("text", "")).strip():
            raise ApplicationError(_("Each question needs a text."), field=where)
        kind = q.get("kind", "text")
        if kind not in QUESTION_KINDS:
            raise ApplicationError(_("A question is a rating, a choice or a text."), field=f"{where}.kind")
        item: dict[str, Any] = {
            "key": str(q.get("key") or f"q{i + 1}")[:32],
            "text": str(q["text"])[:300],
            "kind": kind,
        }
        if kind == "choice":
            choices = q.get("choices")
            if not isinstance(choices, list) or not 2 <= len(choices) <= 10:
                raise ApplicationError(_("A choice question needs 2 to 10 choices."), field=f"{where}.choices")
            item["choices"] = [str(c)[:100] for c in choices]
        out.append(item)
    if len({q["key"] for q in out}) != len(out):
        raise ApplicationError(_("Two questions have the same key."), field="questions")
    return out


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(PLAN_FIELDS) - {"agent_ids"}
    if unknown:
        name = sorted(unknown)[0]
        raise ApplicationError(f"{name} cannot be set", field=name)
    out = dict(values)
    if "questions" in out:
        out["questions"] = _questions(out["questions"])
    if "holidays" in out:
        out["holidays"] = list(dict.fromkeys(out["holidays"] or []))
        bad = [h for h in out["holidays"] if h not in festivals.HOLIDAYS]
        if bad:
            raise ApplicationError(f"unknown holiday {bad[0]!r}; use {', '.join(festivals.HOLIDAYS)}", field="holidays")
    for key in ("customer_ids", "level_ids"):
        if key in out:
            ids = out[key] or []
            if not isinstance(ids, list) or not all(isinstance(i, int) and 0 < i < 2**63 for i in ids):
                raise ApplicationError(_("Give a list of ids."), field=key)
            if len(ids) > MAX_ONE_OFF:
                raise ApplicationError(_("At most %(n)d ids.") % {"n": MAX_ONE_OFF}, field=key)
    for key in ("quiet_start", "quiet_end"):
        if isinstance(out.get(key), str):
            try:
                out[key] = clock.parse_hhmm(out[key]) if out[key] else None
            except ValueError as exc:
                raise ApplicationError(str(exc), field=key) from exc
    if "holdout_share" in out:
        try:
            out["holdout_share"] = Decimal(str(out["holdout_share"]))
        except InvalidOperation as exc:
            raise ApplicationError(_("The holdout share is a number from 0 to 0.5."), field="holdout_share") from exc
        if not Decimal("0") <= out["holdout_share"] <= Decimal("0.5"):
            raise ApplicationError(_("The holdout share is a number from 0 to 0.5."), field="holdout_share")
    return out


def _check(plan: VisitPlan, agent_ids: list[int] | None) -> None:
    try:
        plan.full_clean(exclude=["shop", "segment"])
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        field = "name" if name == "__all__" else name
        raise ApplicationError(f"{field}: {' '.join(messages)}", field=field) from exc
    _references(plan)
    if plan.trigger == schedule.EVERY_N_DAYS and plan.days < 1:
        raise ApplicationError(_("Visits every N days need N of at least 1."), field="days")
    if plan.trigger == schedule.BEFORE_HOLIDAY and not plan.holidays:
        raise ApplicationError(_("Choose at least one holiday."), field="holidays")
    if plan.trigger == schedule.ONE_OFF and not (plan.customer_ids or plan.segment_id or plan.level_ids):
        message = _("A one-off plan needs its list of customers, a segment or member levels.")
        raise ApplicationError(message, field="customer_ids")
    if plan.retry_hours < 1:
        raise ApplicationError(_("Retry after at least one hour."), field="retry_hours")
    if (plan.quiet_start is None) != (plan.quiet_end is None):
        raise ApplicationError(_("Give both ends of the quiet hours or neither."), field="quiet_end")
    if plan.assignment == VisitPlan.Assignment.ROUND_ROBIN and agent_ids is not None and not agent_ids:
        raise ApplicationError(_("Choose the agents who take turns."), field="agent_ids")


def _first_missing(model: Any, ids: Any) -> int | None:
    """The smallest of `ids` that names no row of `model`, or None."""
    wanted = set(ids or [])
    missing = wanted - set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True)) if wanted else set()
    return min(missing) if missing else None


def _references(plan: VisitPlan) -> None:
    """The segment, levels and one-off customers a plan names exist (else the field is named)."""
    from huitouke.audiences.models import Segment
    from huitouke.customers.models import Customer
    from huitouke.loyalty.models import Level

    if plan.segment_id is not None and _first_missing(Segment, [plan.segment_id]) is not None:
        raise ApplicationError(_("There is no segment with this id."), field="segment_id")
    if (level := _first_missing(Level, plan.level_ids)) is not None:
        raise ApplicationError(_("There is no member level %(id)d.") % {"id": level}, field="level_ids")
    if (customer := _first_missing(Customer, plan.customer_ids)) is not None:
        raise ApplicationError(_("There is no customer %(id)d.") % {"id": customer}, field="customer_ids")


def visit_plan_create(*, shop: Any, actor: Any = None, agent_ids: list[int] | None = None, **values: Any) -> VisitPlan:
    """Create a visit plan. Raises ApplicationError naming the field for a bad value; ConflictError for a name the
    shop already uses."""
    from django.contrib.auth import get_user_model

    values = _clean(values)
    plan = VisitPlan(shop=shop, **values)
    _check(plan, agent_ids if plan.assignment == VisitPlan.Assignment.ROUND_ROBIN else None)
    agents = list(get_user_model().objects.filter(pk__in=agent_ids or [], is_active=True))
    if len(agents) != len(set(agent_ids or [])):
        raise ApplicationError(_("One of the agents does not exist."), field="agent_ids")
    try:
        with transaction.atomic():
            plan.save()
            plan.agents.set(agents)
    except IntegrityError as exc:
        raise ConflictError(_("The shop already has a plan with this name."), field="name") from exc
    audit_log(actor=actor, action=AuditEntry.Action.SETTINGS, target_type="visit_plan", target_id=plan.pk)
    return plan


def visit_plan_update(
    *, plan: VisitPlan, actor: Any = None, agent_ids: list[int] | None = None, **values: Any
) -> VisitPlan:
    """Change a plan's settings; tasks already created keep their assignee and due time."""
    from django.contrib.auth import get_user_model

    values = _clean(values)
    for key, value in values.items():
        setattr(plan, key, value)
    current = agent_ids if agent_ids is not None else list(plan.agents.values_list("id", flat=True))
    _check(plan, current if plan.assignment == VisitPlan.Assignment.ROUND_ROBIN else None)
    try:
        with transaction.atomic():
            plan.save()
            if agent_ids is not None:
                plan.agents.set(get_user_model().objects.filter(pk__in=agent_ids, is_active=True))
    except IntegrityError as exc:
        raise ConflictError(_("The shop already has a plan with this name."), field="name") from exc
    audit_log(actor=actor, action=AuditEntry.Action.SETTINGS, target_type="visit_plan", target_id=plan.pk)
    return plan
