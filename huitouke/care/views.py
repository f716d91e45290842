"""Care pages: the rules, a rule's form (its trigger's own parameters, its template), its results and activation
history with the send records, "who gets what tomorrow", Run now (a background Job), the carrier transit days.

Thin: read the form -> call one care service or selector -> render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.care import forms, selectors, sending, services, ticks
from huitouke.care.library import template_key
from huitouke.care.models import CareRule, Trigger
from huitouke.care.reach import rule_reach_stored
from huitouke.care.registry import live_source_connected
from huitouke.care.triggers import DAILY, TRIGGERS
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.services import job_submit
from huitouke.orders.models import Shop

VIEW = "care.view_carerule"


def _rule(pk: int) -> CareRule:
    try:
        return selectors.rule_get(rule_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(selectors.rule_list())
    summaries = selectors.rule_summaries(rules)
    now = timezone.now()
    rows = [{"rule": r, "status": selectors.rule_status(r, now), "results": summaries[r.pk]} for r in rules]
    missing = [t for t in TRIGGERS if not any(r.key == t for r in rules)]
    return render(
        request,
        "care/rule_list.html",
        {
            "rows": rows,
            "suggestions_missing": len(missing),
            "labels": dict(Trigger.choices),
            "live": live_source_connected(),
            "reacting": ticks.ORDER_EVENT_TRIGGERS,
        },
    )


@login_required
@permission_required("care.add_carerule", raise_exception=True)
@require_POST
def rules_install(request: HttpRequest) -> HttpResponse:
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    added = services.care_rules_install(language=language, user=request.user)
    messages.success(
        request, _("%(n)s suggested rules added (switched off until you enable them).") % {"n": len(added)}
    )
    return redirect("care:list")


def _template_options(channel: str, trigger: str, language: str) -> list[dict[str, Any]]:
    own = template_key(trigger)
    ranked = sorted(
        sending.template_choices(channel=channel),
        key=lambda t: (t.key != own, t.language != language, not t.system, t.name),
    )
    return [{"t": t, "own": t.key == own, "lang_ok": t.language == language} for t in ranked]


def _form_context(
    *,
    form: forms.RuleForm,
    trigger: str,
    channel: str,
    template_id: int | None,
    params: dict[str, Any],
    param_errors: dict[str, str],
) -> dict[str, Any]:
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    options = _template_options(channel, trigger, language)
    ids = [o["t"].pk for o in options]
    if template_id not in ids:
        template_id = next((o["t"].pk for o in options if o["own"] and o["lang_ok"]), ids[0] if ids else None)
    chosen = next((o["t"] for o in options if o["t"].pk == template_id), None)
    return {
        "form": form,
        "trigger": trigger,
        "trigger_help": forms.TRIGGER_HELP.get(Trigger(trigger), "") if trigger in Trigger.values else "",
        "param_rows": forms.param_rows(trigger, params, param_errors),
        "templates": options,
        "template_id": template_id,
        "chosen": chosen,
        "rhythm_daily": TRIGGERS[trigger].rhythm == DAILY if trigger in TRIGGERS else True,
    }


def _edit(request: HttpRequest, rule: CareRule | None) -> HttpResponse:
    perm = "care.change_carerule" if rule else "care.add_carerule"
    can_save = request.user.has_perm(perm)
    if request.method == "POST" and not can_save:
        return HttpResponse(status=403)
    status = 200
    if request.method == "POST":
        form = forms.RuleForm(request.POST)
        trigger = request.POST.get("trigger", "birthday")
        trigger = trigger if trigger in TRIGGERS else "birthday"
        channel = request.POST.get("channel", "sms")
        params, param_errors = forms.params_from_post(trigger, request.POST)
        template_raw = request.POST.get("template", "")
        template_id = int(template_raw) if template_raw.isdigit() else None
        refresh = request.POST.get("refresh")
        if request.POST.get("shown_trigger", trigger) != trigger:
            # the trigger changed: its own parameters start from their defaults, its own template is offered
            params, param_errors, template_id = forms.defaults(trigger), {}, None
        elif request.POST.get("shown_channel", channel) != channel:
            template_id = None
        if not refresh and form.is_valid() and not param_errors and template_id is not None:
            d = form.cleaned_data
            data = services.RuleInput(
                name=d["name"],
                trigger=trigger,
                channel=d["channel"],
                template_id=template_id,
                params=params,
                send_time=d["send_time"],
                enabled=d["enabled"],
                shop_id=d["shop"].pk if d["shop"] else None,
                segment_id=d["segment"].pk if d["segment"] else None,
                levels=d["levels"],
                tags=d["tags"],
                valid_until=forms.aware(d["valid_until"]),
                auto_extend=d["auto_extend"],
            )
            try:
                if rule is None:
                    saved = services.care_rule_create(data=data, user=request.user)
                else:
                    saved = services.care_rule_update(rule=rule, data=data, user=request.user)
            except ApplicationError as exc:
                name, text = forms.param_errors(exc.message)
                if exc.field == "params" and name:
                    param_errors[name] = text
                elif exc.field in form.fields:
                    form.add_error(exc.field, exc.message)
                else:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                return redirect("care:detail", pk=saved.pk)
        if not refresh:
            status = 400
        elif request.htmx:  # type: ignore[attr-defined]
            context = _form_context(
                form=form, trigger=trigger, channel=channel, template_id=template_id, params=params, param_errors={}
            )
            return render(request, "care/rule_form.html#dynamic", context)
    else:
        trigger = request.GET.get("trigger", "")
        initial = forms.initial_for(rule, trigger if trigger in TRIGGERS else "birthday")
        form = forms.RuleForm(initial=initial)
        trigger, channel = initial["trigger"], initial["channel"]
        params = dict(rule.params) if rule else forms.defaults(trigger)
        param_errors = {}
        template_id = rule.template_id if rule else None
        if rule is None:
            form.initial["name"] = str(dict(Trigger.choices)[trigger])
            spec = TRIGGERS[trigger]
            form.initial["send_time"] = spec.default_send_time
    context = _form_context(
        form=form,
        trigger=trigger,
        channel=channel,
        template_id=template_id,
        params=params,
        param_errors=param_errors,
    )
    context.update({"rule": rule, "can_save": can_save})
    return render(request, "care/rule_form.html", context, status=status)


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, _rule(pk))


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule's results: each activation (the current one first) with what became of its messages, the send
    records of the chosen activation, and the day-by-day runs."""
    rule = _rule(pk)
    history = selectors.activation_results(rule=rule)
    current = history[0] if history else None
    wanted = request.GET.get("activation", "")
    for item in history:
        if wanted.isdigit() and item.activation.number == int(wanted):
            current = item
    chosen = current.activation if current else None
    status_filter = request.GET.get("status", "")
    reason_filter = request.GET.get("reason", "")
    page = None
    if current is not None:
        records = selectors.records_of(activation=current.activation, status=status_filter, reason=reason_filter)
        paginator = Paginator(records, 50)
        # the activation's messages are counted already (its results): no second count of them for the pages
        paginator.count = selectors.records_count(current.counts, status=status_filter, reason=reason_filter)
        page = paginator.get_page(request.GET.get("page"))
    stored_reach = rule_reach_stored(rule)
    return render(
        request,
        "care/rule_detail.html",
        {
            "rule": rule,
            "status": selectors.rule_status(rule),
            "history": history,
            "chosen": chosen,
            "page": page,
            "status_filter": status_filter,
            "reason_filter": reason_filter,
            "runs": selectors.run_list(rule=rule),
            "reach_stored": stored_reach,
            "reach": stored_reach.value.reach if stored_reach else None,
            "trigger_label": dict(Trigger.choices).get(rule.trigger, rule.trigger),
            "params": forms.params_summary(rule.trigger, rule.params or {}),
            "status_labels": sending.STATUS_LABELS,
            "reason_labels": sending.REASON_LABELS,
            "daily": TRIGGERS[rule.trigger].rhythm == DAILY,
            "reacts": rule.trigger in ticks.ORDER_EVENT_TRIGGERS and live_source_connected(),
        },
    )


def _preview_context(rule: CareRule, when: str) -> dict[str, Any]:
    now = timezone.now()
    at = now if when == "now" else ticks.preview_instant(rule, day=ticks.tomorrow_for(rule, now))
    preview = ticks.care_preview(rule=rule, at=at, limit=10)
    return {"rule": rule, "preview": preview, "when": when, "at": at, "daily": TRIGGERS[rule.trigger].rhythm == DAILY}


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Who gets what tomorrow" for one rule (or, with ?when=now, if it ran now): counts and rendered samples."""
    rule = _rule(pk)
    default = "tomorrow" if TRIGGERS[rule.trigger].rhythm == DAILY else "now"
    when = request.GET.get("when", default)
    when = when if when in ("now", "tomorrow") else default
    template = "care/rule_preview.html#preview-box" if request.htmx else "care/rule_preview.html"  # type: ignore[attr-defined]
    return render(request, template, _preview_context(rule, when))


@login_required
@permission_required(VIEW, raise_exception=True)
def tomorrow(request: HttpRequest) -> HttpResponse:
    """Every enabled rule's messages for tomorrow; each rule's box loads on its own (htmx) so the page is there
    at once even when a rule has a large selection."""
    rules = [r for r in selectors.rule_list() if selectors.rule_status(r) == "on"]
    return render(request, "care/tomorrow.html", {"rules": rules})


@login_required
@permission_required("care.change_carerule", raise_exception=True)
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(pk)
    turn_on = request.POST.get("enabled") == "1"
    services.care_rule_set_enabled(rule=rule, enabled=turn_on, user=request.user)
    if turn_on:
        messages.success(request, _("Rule “%(name)s” is on: a new activation started.") % {"name": rule.name})
    else:
        messages.success(request, _("Rule “%(name)s” is off.") % {"name": rule.name})
    return redirect("care:detail", pk=rule.pk)


@login_required
@permission_required("care.delete_carerule", raise_exception=True)
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(pk)
    services.care_rule_delete(rule=rule)
    record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="care_rule", target_id=rule.pk)
    messages.success(request, _("Rule “%(name)s” deleted; its send records are kept.") % {"name": rule.name})
    return redirect("care:list")


@login_required
@permission_required("care.change_carerule", raise_exception=True)
@require_POST
def rule_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the rule now in the background; the job page shows progress and the counts."""
    rule = _rule(pk)
    if selectors.rule_status(rule) != "on":
        messages.error(request, _("Only a rule that is on and valid can run."))
        return redirect("care:detail", pk=rule.pk)
    job = job_submit(
        kind=ticks.CARE_RUN_JOB_KIND,
        params={
            "rule_id": rule.pk,
            "title": _("Running care rule “%(name)s”") % {"name": rule.name},
            "back": reverse("care:detail", args=[rule.pk]),
            "summary_template": "care/_run_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def carriers(request: HttpRequest) -> HttpResponse:
    """The shops' own carrier transit days (used by "received but not confirmed"), next to the built-in table."""
    from huitouke.care.triggers.receipt import CARRIER_TRANSIT_DAYS, DEFAULT_TRANSIT_DAYS

    error = ""
    if request.method == "POST":
        if not request.user.has_perm("care.change_carerule"):
            return HttpResponse(status=403)
        try:
            if request.POST.get("delete"):
                services.carrier_transit_delete(transit_id=int(request.POST["delete"]))
            else:
                shop_raw = request.POST.get("shop", "")
                days_raw = request.POST.get("days", "").strip()
                if not days_raw.isdigit():
                    raise ApplicationError(_("Transit days are 1 to 60."), field="days")
                services.carrier_transit_save(
                    shop_id=int(shop_raw) if shop_raw.isdigit() else None,
                    carrier=request.POST.get("carrier", ""),
                    days=int(days_raw),
                )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, _("Carrier transit days saved."))
            return redirect("care:carriers")
    return render(
        request,
        "care/carriers.html",
        {
            "rows": selectors.carrier_transit_list(),
            "builtin": CARRIER_TRANSIT_DAYS,
            "default_days": DEFAULT_TRANSIT_DAYS,
            "shops": Shop.objects.order_by("name"),
            "error": error,
        },
        status=400 if error else 200,
    )
