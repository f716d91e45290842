"""Core pages: the landing redirect and personal API tokens."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import ApiToken
from huitouke.core.selectors import job_get_for_user, token_list_for_user
from huitouke.core.services import jobs_expire, token_create
from huitouke.core.services import token_revoke as token_revoke_service

#: The landing page's view, installed at start-up by a higher app (analytics: the dashboard) so that core does not
#: import it; until one is installed the landing page is the customer archive.
_landing: list[Callable[[HttpRequest], HttpResponseBase]] = []


def landing_register(view: Callable[[HttpRequest], HttpResponseBase]) -> None:
    """Make `view` the landing page ("/"). The view decides itself who may see it."""
    _landing[:] = [view]


@login_required
def home(request: HttpRequest) -> HttpResponseBase:
    """The landing page: the registered view (the dashboard), else the customer archive."""
    if _landing:
        return _landing[0](request)
    return redirect("customers:list")


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens; POST creates one and shows its key once."""
    new_key = None
    if request.method == "POST":
        _token, new_key = token_create(
            user=request.user,  # type: ignore[arg-type]  # login_required
            name=request.POST.get("name", ""),
            scope=request.POST.get("scope", ""),
        )
    tokens = token_list_for_user(user=request.user)  # type: ignore[arg-type]  # login_required
    context = {"tokens": tokens, "new_key": new_key, "scopes": ApiToken.Scope.choices}
    return render(request, "core/token_list.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token_revoke_service(token_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
        messages.success(request, _("The token was revoked."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("core:tokens")


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A background job's progress. htmx polls the `job-progress` partial every second until it finishes;
    the page then shows the summary, and `next` (when the job names one) links onwards. A job past its time limit
    is failed first (also when no worker is left to notice)."""
    jobs_expire()
    try:
        job = job_get_for_user(job_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
    except NotFoundError as exc:  # someone else's job or none: the same answer, so ids reveal nothing
        raise NotFoundError(_("There is no such job, or it is not yours to see.")) from exc
    template = "core/job_detail.html#job-progress" if request.htmx else "core/job_detail.html"  # type: ignore[attr-defined]
    return render(request, template, {"job": job})
