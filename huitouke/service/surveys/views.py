"""The customer's survey page, /s/<token>/: no login, a signed token as the only key, CSRF on the form, a rate
limit per IP address, the same page for every link that names no survey (no enumeration), a clear page for an
expired link, and the recorded answer (never overwritten) once the survey is answered."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.ratelimit import allowed, client_address
from huitouke.service.models import Survey
from huitouke.service.surveys import selectors, services
from huitouke.service.surveys.links import survey_id_from

TEMPLATE = "service/survey/page.html"
#: per address: reading the page (burst, then per minute), and sending an answer
LIMITS = {"GET": (30.0, 20.0), "POST": (10.0, 2.0)}


def rate_limited(request: HttpRequest) -> bool:
    """Count this request against its address in the shared token buckets (core.ratelimit); True when over."""
    method = "POST" if request.method == "POST" else "GET"
    burst, per_minute = LIMITS[method]
    key = f"page:survey-{method.lower()}:{client_address(request)}"
    return not allowed(key, per_minute=per_minute, burst=burst)


def _questions(survey: Survey, posted: dict[str, str]) -> list[dict[str, Any]]:
    """The extra questions with what the customer chose or wrote (posted, or recorded)."""
    out = []
    for q in survey.questions:
        key = str(q["key"])
        value = posted.get(key, survey.answers.get(key, ""))
        scale: list[int] = []
        if q["kind"] == "rating":
            scale = [1, 2, 3, 4, 5]
        elif q["kind"] == "nps":
            scale = list(range(11))
        out.append({**q, "value": str(value), "scale": scale})
    return out


def _customer_error(survey: Survey, exc: ApplicationError) -> str:
    """The error in the customer's words: the question it is about by its text, not by its key."""
    if exc.field == "rating":
        return _("Please choose a rating from 1 to 5.")
    for q in survey.questions:
        if exc.field == q["key"]:
            return _("Please check your answer to: %(question)s") % {"question": q["label"]}
    return exc.message


@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the survey (or the recorded answer, or the expired page); POST: record the answer once."""
    if rate_limited(request):
        response = render(request, TEMPLATE, {"state": "limited"}, status=429)
        response["Retry-After"] = "60"
        return response
    try:
        survey = selectors.survey_for_token(survey_id_from(token[:64]))
    except NotFoundError:
        return render(request, TEMPLATE, {"state": "invalid"}, status=404)
    shop = survey.ticket.shop
    context: dict[str, Any] = {"survey": survey, "shop": shop, "ticket_number": survey.ticket.number}
    posted: dict[str, str] = {}
    error: ApplicationError | None = None
    error_text = ""
    if request.method == "POST" and survey.answered_at is None:
        posted = {k: str(v)[:3000] for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        answers = {str(q["key"]): posted.get(str(q["key"]), "") for q in survey.questions}
        try:
            survey, _recorded = services.survey_answer(
                survey=survey, rating=posted.get("rating", ""), comment=posted.get("comment", ""), answers=answers
            )
        except services.SurveyExpiredError:
            return render(request, TEMPLATE, {**context, "state": "expired"}, status=410)
        except ApplicationError as exc:
            error = exc
            error_text = _customer_error(survey, exc)
    if survey.answered_at is not None:
        state = "answered"
        posted = {}
    elif survey.expires_at <= timezone.now():
        return render(request, TEMPLATE, {**context, "state": "expired"}, status=410)
    else:
        state = "form"
    context.update(
        {
            "survey": survey,
            "state": state,
            "just_answered": request.method == "POST" and error is None,
            "error": error_text,
            "rating": posted.get("rating", str(survey.rating or "")),
            "comment": posted.get("comment", survey.comment),
            "questions": _questions(survey, posted),
            "stars": [1, 2, 3, 4, 5],
        }
    )
    return render(request, TEMPLATE, context, status=400 if error else 200)


survey_page.public_rate_limit = "survey"  # type: ignore[attr-defined] # limited in the view (rate_limited)
