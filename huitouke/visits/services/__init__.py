"""Every write of return visits: plans (plans.py), the run that creates due tasks (runs.py), and the outcome of
a visit with its effects, the questionnaire answer, the opt-out and the audited phone reveal (outcomes.py);
suggested plans added with one click (suggested.py)."""

from huitouke.visits.services.outcomes import (
    FOLLOW_UP_TICKET,
    QuestionnaireClosedError,
    visit_opt_out,
    visit_outcome_record,
    visit_phone_reveal,
    visit_questionnaire_answer,
)
from huitouke.visits.services.plans import PLAN_FIELDS, visit_plan_create, visit_plan_update
from huitouke.visits.services.runs import visits_plan_run
from huitouke.visits.services.suggested import visit_plans_suggested_install

__all__ = [
    "FOLLOW_UP_TICKET",
    "PLAN_FIELDS",
    "QuestionnaireClosedError",
    "visit_opt_out",
    "visit_outcome_record",
    "visit_phone_reveal",
    "visit_plan_create",
    "visit_plan_update",
    "visit_plans_suggested_install",
    "visit_questionnaire_answer",
    "visits_plan_run",
]
