"""The staff's survey pages: the results (managers and owners: figures per agent, type, product and month with
charts, comments and XLSX), the survey settings and extra questions of a shop (managers), and two buttons on the
ticket page: send the survey now (agents) and mark a comment as praise (managers).

Thin: a form checks the shape, the survey services the rules; their errors are shown next to the form."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huitouke.analytics.tables import tables_to_xlsx
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.service.models import Survey, SurveyQuestion, Ticket, TicketType
from huitouke.service.surveys import reports, selectors, services
from huitouke.service.surveys.links import survey_url
from huitouke.service.views_settings import _base, _shop

CONFIGURE = "service.configure_service"
CHANGE = "service.change_ticket"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DAYS = 731


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("Sent from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("Sent until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    agent = forms.CharField(label=gettext_lazy("Agent (username)"), required=False, max_length=150)
    type = forms.ChoiceField(label=gettext_lazy("Type"), required=False, choices=[("", "—"), *TicketType.choices])


class SettingsForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Send a survey after each resolution"), required=False)
    types = forms.MultipleChoiceField(
        label=gettext_lazy("Only for these ticket types (none ticked: every type)"),
        required=False,
        choices=TicketType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    valid_days = forms.IntegerField(label=gettext_lazy("Link valid for (days)"), min_value=1, max_value=90)
    threshold = forms.IntegerField(
        label=gettext_lazy("A rating at or below this brings the case back (0: never)"), min_value=0, max_value=5
    )


class QuestionForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Question"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=SurveyQuestion.Kind.choices)
    choices = forms.CharField(
        label=gettext_lazy("Answers to choose from (single choice; one per line)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def results(request: HttpRequest) -> HttpResponseBase:
    """Figures of the surveys sent in a period (default: the last 30 days) of one shop, optionally of one agent or
    ticket type; `?export=KEY` (or `all`) downloads the tables as XLSX."""
    shop = _shop(request)
    today = timezone.localdate()
    form = PeriodForm(request.GET or None)
    start, end, agent, kind = today - timedelta(days=29), today, "", ""
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        start, end = d["start"] or start, d["end"] or end
        agent, kind = d["agent"].strip(), d["type"]
    if end < start:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS))
    found = selectors.survey_results(shop=shop, start=start, end=end, agent=agent, type=kind)
    panels = reports.results_panels(found)
    export = request.GET.get("export", "")
    if export:
        chosen = [p.table for p in panels if export in ("all", p.key)]
        if not chosen:
            raise Http404(_("No table %(key)s on this page.") % {"key": export})
        out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it once sent)
        tables_to_xlsx(chosen, out)
        out.seek(0)
        name = f"csat-{export}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
        return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)
    context = {
        **_base(request, shop, "surveys"),
        "form": form if form.is_bound else PeriodForm(initial={"start": start, "end": end}),
        "start": start,
        "end": end,
        "panels": panels,
        "total": found.total,
    }
    return render(request, "service/survey/results.html", context)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def settings_page(request: HttpRequest) -> HttpResponse:
    """A shop's survey settings and its extra questions (the survey template)."""
    shop = _shop(request)
    context: dict[str, Any] = _base(request, shop, "surveys")
    if shop is None:
        return render(request, "service/survey/settings.html", context)
    conf = selectors.survey_settings_for(shop=shop)
    settings_form = SettingsForm(
        initial={
            "enabled": conf.enabled,
            "types": conf.types,
            "valid_days": conf.valid_days,
            "threshold": conf.threshold,
        }
    )
    question_form = QuestionForm()
    status = 200
    if request.method == "POST":
        which = request.POST.get("form")
        try:
            if which == "settings":
                settings_form = SettingsForm(request.POST)
                if settings_form.is_valid():
                    d = settings_form.cleaned_data
                    services.survey_settings_set(
                        shop=shop,
                        enabled=d["enabled"],
                        types=d["types"],
                        valid_days=d["valid_days"],
                        threshold=d["threshold"],
                    )
                    messages.success(request, _("Survey settings saved."))
                    return redirect(f"{reverse('service:survey-settings')}?shop={shop.pk}")
            elif which == "question":
                question_form = QuestionForm(request.POST)
                if question_form.is_valid():
                    d = question_form.cleaned_data
                    services.survey_question_add(
                        shop=shop,
                        label=d["label"],
                        kind=d["kind"],
                        choices=[c for c in d["choices"].splitlines() if c.strip()],
                        required=d["required"],
                    )
                    messages.success(request, _("Question added; it is asked in the surveys sent from now on."))
                    return redirect(f"{reverse('service:survey-settings')}?shop={shop.pk}")
        except ApplicationError as exc:
            target = settings_form if which == "settings" else question_form
            field = exc.field if exc.field in target.fields else None
            target.add_error(field, exc.message)
        status = 400
    context.update(
        {
            "settings_form": settings_form,
            "question_form": question_form,
            "questions": list(selectors.survey_questions(shop=shop)),
            "example": survey_url(0).rsplit("/", 2)[0] + "/…",
        }
    )
    return render(request, "service/survey/settings.html", context, status=status)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
@require_POST
def question_delete(request: HttpRequest, pk: int) -> HttpResponse:
    question = get_object_or_404(SurveyQuestion, pk=pk)
    shop_id = question.shop_id
    services.survey_question_delete(question=question)
    record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="survey_question", target_id=pk)
    messages.success(request, _("Question removed from future surveys."))
    return redirect(f"{reverse('service:survey-settings')}?shop={shop_id}")


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticket page's button: send the survey of the current resolution now."""
    ticket = get_object_or_404(Ticket, pk=pk)
    try:
        services.survey_send(ticket=ticket, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The satisfaction survey is on its way."))
    return redirect(reverse("service:ticket", args=[pk]) + "#survey")


@login_required
@permission_required(CONFIGURE, raise_exception=True)
@require_POST
def praise(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager marks (or unmarks) the customer's comment as praise (表扬) for the agent."""
    survey = get_object_or_404(Survey, pk=pk)
    try:
        services.survey_praise_set(survey=survey, praise=request.POST.get("praise") == "yes", actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("service:ticket", args=[survey.ticket_id]) + "#survey")
