"""The customer's questionnaire page, /visits/q/<token>/: no login, the signed token is the only key, CSRF on the
form, a rate limit per address, one page for every link that names no task (no enumeration), a closed page once
the link ran out or the visit was finished another way, and a thank-you once answered (never overwritten)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from huitouke.core.errors import ApplicationError
from huitouke.core.ratelimit import allowed, client_address
from huitouke.visits import questionnaire, services
from huitouke.visits.models import VisitTask

TEMPLATE = "visits/questionnaire.html"
#: per address: (burst, per minute) for reading the page and for sending an answer
LIMITS = {"GET": (30.0, 20.0), "POST": (10.0, 2.0)}
#: per questionnaire, whatever the address: (burst, per minute) of answers sent
PER_TASK = (10.0, 1.0)
STARS = [1, 2, 3, 4, 5]


def _limited(request: HttpRequest) -> bool:
    method = "POST" if request.method == "POST" else "GET"
    burst, per_minute = LIMITS[method]
    return not allowed(f"page:visit-q-{method.lower()}:{client_address(request)}", per_minute=per_minute, burst=burst)


def _questions(task: VisitTask, posted: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for q in task.plan.questions or []:
        value = posted.get(f"answer_{q['key']}", str((task.answers or {}).get(q["key"], "")))
        out.append({**q, "name": f"answer_{q['key']}", "value": value})
    return out


@require_http_methods(["GET", "POST"])
def questionnaire_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the plan's questions, a 1–5 satisfaction scale, a comment and the new-products box; POST: record them
    as the visit's outcome, once."""
    if _limited(request):
        response = render(request, TEMPLATE, {"state": "limited"}, status=429)
        response["Retry-After"] = "60"
        return response
    task_id = questionnaire.task_id_from(token)
    task = (
        VisitTask.objects.select_related("plan", "plan__shop", "customer").filter(pk=task_id, held_out=False).first()
        if task_id
        else None
    )
    if task is None or task.plan.channel != task.plan.Channel.SMS_QUESTIONNAIRE:
        return render(request, TEMPLATE, {"state": "invalid"}, status=404)
    if request.method == "POST" and not allowed(
        f"page:visit-q-task:{task.pk}", per_minute=PER_TASK[1], burst=PER_TASK[0]
    ):
        response = render(request, TEMPLATE, {"state": "limited"}, status=429)
        response["Retry-After"] = "60"
        return response
    context: dict[str, Any] = {"shop": task.plan.shop, "task": task, "stars": STARS}
    posted: dict[str, str] = {}
    error = ""
    now = timezone.now()
    if request.method == "POST" and questionnaire.is_open(task, now):
        posted = {k: str(v)[:2000] for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        try:
            task = services.visit_questionnaire_answer(
                task=task,
                satisfaction=posted.get("satisfaction", ""),
                answers={q["key"]: posted.get(f"answer_{q['key']}", "") for q in task.plan.questions or []},
                feedback=posted.get("feedback", ""),
                new_products_opt_in=bool(posted.get("new_products_opt_in")),
                at=now,
            )
        except ApplicationError as exc:
            error = exc.message
    if task.status == VisitTask.Status.DONE and task.done_by_id is None and task.outcome == task.Outcome.REACHED:
        state = "answered"
        posted = {}
    elif not questionnaire.is_open(task, now):
        return render(request, TEMPLATE, {**context, "state": "closed"}, status=410)
    else:
        state = "form"
    context.update(
        {
            "task": task,
            "state": state,
            "just_answered": request.method == "POST" and not error,
            "error": error,
            "satisfaction": posted.get("satisfaction", ""),
            "feedback": posted.get("feedback", ""),
            "opt_in": bool(posted.get("new_products_opt_in")),
            "questions": _questions(task, posted),
        }
    )
    return render(request, TEMPLATE, context, status=400 if error else 200)


questionnaire_page.public_rate_limit = "visit-q"  # type: ignore[attr-defined] # limited in the view (_limited)
