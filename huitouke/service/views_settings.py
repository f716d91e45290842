"""Service settings pages (managers and owners; service.configure_service): a shop's business calendar and
limits, the SLA policies (list, create, edit, delete, order) and the playbooks (steps per type).

Thin: a form checks the shape, the config services check the rules; their errors are shown next to the form."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.orders.models import Shop
from huitouke.service import forms, selectors, services
from huitouke.service.display import label
from huitouke.service.models import Playbook, Priority, SlaPolicy, TicketChannel, TicketType
from huitouke.service.views import CONFIGURE

STEP_ROWS_EMPTY = 3
STEP_ROWS_MAX = 50


def _shop(request: HttpRequest) -> Shop | None:
    raw = request.POST.get("shop") or request.GET.get("shop") or ""
    shops = Shop.objects.order_by("name")
    if raw:
        found = shops.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 10 else None
        if found is None:
            raise Http404(_("There is no such shop."))
        return found
    return shops.first()


def _base(request: HttpRequest, shop: Shop | None, section: str) -> dict[str, Any]:
    return {"shop": shop, "shops": list(Shop.objects.order_by("name")), "section": section}


def _back(name: str, shop: Shop) -> HttpResponse:
    return redirect(f"{reverse(name)}?shop={shop.pk}")


# --- calendar and limits -------------------------------------------------------------------------------------


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def calendar(request: HttpRequest) -> HttpResponse:
    """The shop's business calendar (what SLA clocks count) and its limits (compensation, follow-up, warning)."""
    shop = _shop(request)
    context = _base(request, shop, "calendar")
    if shop is None:
        return render(request, "service/settings_calendar.html", context)
    current = selectors.calendar_settings(shop=shop)
    row = selectors.settings_for_shop(shop=shop)
    context["self_service_on"] = row.self_service_enabled
    context["self_service_url"] = f"{settings.HUITOUKE_PUBLIC_URL}{reverse('help:shop', args=[shop.pk])}"
    cal_form = forms.CalendarForm(
        initial={
            "timezone": current.timezone,
            "periods": ", ".join(current.periods),
            "weekdays": current.weekdays,
            "public_holidays": current.public_holidays == "CN",
            "days_off": "\n".join(d.isoformat() for d in current.days_off),
            "workdays": "\n".join(d.isoformat() for d in current.workdays),
        }
    )
    limits_form = forms.LimitsForm(
        initial={
            "agent_compensation_limit": row.agent_compensation_limit,
            "follow_up_days": row.follow_up_days,
            "breaching_soon_percent": row.breaching_soon_percent,
        }
    )
    status = 200
    if request.method == "POST" and request.POST.get("form") == "calendar":
        cal_form = forms.CalendarForm(request.POST)
        if cal_form.is_valid():
            d = cal_form.cleaned_data
            try:
                services.calendar_set(
                    shop=shop,
                    timezone=d["timezone"].strip(),
                    periods=d["periods"],
                    weekdays=d["weekdays"],
                    public_holidays="CN" if d["public_holidays"] else None,
                    days_off=d["days_off"],
                    workdays=d["workdays"],
                )
            except ApplicationError as exc:
                named = exc.field or ""
                field = next((f for f in cal_form.fields if named.startswith(f)), None)
                cal_form.add_error(field, exc.message)
            else:
                messages.success(request, _("The calendar of %(shop)s was saved.") % {"shop": shop.name})
                return _back("service:settings", shop)
        status = 400
    elif request.method == "POST" and request.POST.get("form") == "limits":
        limits_form = forms.LimitsForm(request.POST)
        if limits_form.is_valid():
            try:
                services.service_settings_set(shop=shop, **limits_form.cleaned_data)
            except ApplicationError as exc:
                limits_form.add_error(exc.field if exc.field in limits_form.fields else None, exc.message)
            else:
                messages.success(request, _("The limits of %(shop)s were saved.") % {"shop": shop.name})
                return _back("service:settings", shop)
        status = 400
    elif request.method == "POST":
        return HttpResponse(_("Unknown form."), status=400)
    context.update({"cal_form": cal_form, "limits_form": limits_form, "weekdays": forms.WEEKDAYS})
    return render(request, "service/settings_calendar.html", context, status=status)


# --- SLA policies --------------------------------------------------------------------------------------------


def _policy_rows(shop: Shop | None) -> list[dict[str, Any]]:
    rows = []
    for p in selectors.sla_policy_list(shop=shop):
        rows.append(
            {
                "p": p,
                "name": _(p.name),
                "types": [label(TicketType, v) for v in p.types],
                "priorities": [label(Priority, v) for v in p.priorities],
                "channels": [label(TicketChannel, v) for v in p.channels],
            }
        )
    return rows


def _policy_save(request: HttpRequest, shop: Shop | None, policy: SlaPolicy | None) -> HttpResponse:
    if policy is not None:
        initial = {
            "name": policy.name,
            "scope": "shop" if policy.shop_id else "all",
            "position": policy.position,
            "types": policy.types,
            "priorities": policy.priorities,
            "channels": policy.channels,
            "levels": ", ".join(policy.levels),
            "first_response_minutes": policy.first_response_minutes,
            "next_response_minutes": policy.next_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
        }
    else:
        initial = {"scope": "shop", "position": 10, "first_response_minutes": 60}
        initial |= {"next_response_minutes": 240, "resolution_minutes": 2880}
    form = forms.PolicyForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            spec = services.PolicySpec(
                name=d["name"],
                position=d["position"],
                types=d["types"],
                priorities=d["priorities"],
                channels=d["channels"],
                levels=form.level_list(),
                first_response_minutes=d["first_response_minutes"],
                next_response_minutes=d["next_response_minutes"],
                resolution_minutes=d["resolution_minutes"],
            )
            target = shop if d["scope"] == "shop" else None
            try:
                if policy is None:
                    saved = services.sla_policy_create(spec=spec, shop=target)
                else:
                    saved = services.sla_policy_update(policy_id=policy.pk, spec=spec)
                    if saved.shop_id != (target.pk if target else None):
                        SlaPolicy.objects.filter(pk=saved.pk).update(shop=target)
                record(
                    actor=request.user, action=AuditEntry.Action.POLICY, target_type="sla_policy", target_id=saved.pk
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("The SLA policy %(name)s was saved.") % {"name": saved.name})
                return redirect(
                    f"{reverse('service:policies')}?shop={shop.pk}" if shop else reverse("service:policies")
                )
    context = {**_base(request, shop, "policies"), "form": form, "policy": policy}
    return render(request, "service/settings_policy_form.html", context, status=status)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def policies(request: HttpRequest) -> HttpResponse:
    """The policies in the order they are tried for the shop: its own first, then those for every shop."""
    shop = _shop(request)
    context = {**_base(request, shop, "policies"), "rows": _policy_rows(shop)}
    return render(request, "service/settings_policies.html", context)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def policy_new(request: HttpRequest) -> HttpResponse:
    return _policy_save(request, _shop(request), None)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy = SlaPolicy.objects.filter(pk=pk).select_related("shop").first()
    if policy is None:
        raise Http404(_("There is no such SLA policy."))
    shop = policy.shop or _shop(request)
    return _policy_save(request, shop, policy)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    shop = _shop(request)
    try:
        services.sla_policy_delete(policy_id=pk)
        record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="sla_policy", target_id=pk)
    except NotFoundError:
        raise Http404(_("There is no such SLA policy.")) from None
    messages.success(request, _("The SLA policy was deleted; its tickets keep their due times."))
    return redirect(f"{reverse('service:policies')}?shop={shop.pk}" if shop else reverse("service:policies"))


# --- playbooks -----------------------------------------------------------------------------------------------


def _playbook_rows(playbooks: Any) -> list[dict[str, Any]]:
    return [
        {
            "p": p,
            "name": _(p.name),
            "types": [label(TicketType, v) for v in p.types],
            "steps": [{"label": _(s.label), "required": s.required} for s in p.steps.all()],
        }
        for p in playbooks
    ]


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def playbooks(request: HttpRequest) -> HttpResponse:
    """The shop's own playbooks and the shipped ones (a shop's playbook for a type replaces the shipped one)."""
    shop = _shop(request)
    context = _base(request, shop, "playbooks")
    context["own"] = _playbook_rows(selectors.playbook_list(shop=shop)) if shop else []
    context["shipped"] = _playbook_rows(selectors.playbook_list(shop=None))
    return render(request, "service/settings_playbooks.html", context)


def _steps_from_post(post: Any) -> tuple[list[services.StepSpec], list[dict[str, Any]], str]:
    """The step rows of the form, in order (blank rows and removed ones left out), the rows to show again and
    the first problem found."""
    specs: list[services.StepSpec] = []
    rows: list[dict[str, Any]] = []
    problem = ""
    for i in range(STEP_ROWS_MAX + STEP_ROWS_EMPTY):
        key = str(post.get(f"step-{i}-key", "")).strip()
        text = str(post.get(f"step-{i}-label", "")).strip()
        help_text = str(post.get(f"step-{i}-help", "")).strip()
        required = post.get(f"step-{i}-required") == "on"
        if post.get(f"step-{i}-remove") == "on" or not (key or text):
            continue
        rows.append({"key": key, "label": text, "help": help_text, "required": required})
        if not problem and (not key or not text):
            problem = _("Step %(n)s: give both a key and a name.") % {"n": len(rows)}
        specs.append(services.StepSpec(key=key, label=text, help=help_text, required=required))
    return specs, rows, problem


@login_required
@permission_required(CONFIGURE, raise_exception=True)
def playbook_edit(request: HttpRequest) -> HttpResponse:
    """Create or edit one of the shop's own playbooks (?key=…), or start from a shipped one (?from=KEY)."""
    shop = _shop(request)
    if shop is None:
        raise Http404(_("Add a shop first."))
    key = (request.POST.get("original") or request.GET.get("key") or "").strip()
    source_key = request.GET.get("from", "").strip()
    existing = Playbook.objects.filter(shop=shop, key=key).prefetch_related("steps").first() if key else None
    if key and existing is None:
        raise Http404(_("This shop has no such playbook."))
    source = existing or (
        Playbook.objects.filter(shop__isnull=True, key=source_key).prefetch_related("steps").first()
        if source_key
        else None
    )
    status = 200
    problem = ""
    if request.method == "POST":
        form = forms.PlaybookForm(request.POST)
        specs, rows, problem = _steps_from_post(request.POST)
        for k in request.POST.getlist("suggested"):
            if k in forms.SUGGESTED_STEPS and all(s.key != k for s in specs):
                text, help_text = forms.SUGGESTED_STEPS[k]
                specs.append(services.StepSpec(key=k, label=str(text), help=str(help_text), required=False))
                rows.append({"key": k, "label": str(text), "help": str(help_text), "required": False})
        if form.is_valid() and not problem:
            d = form.cleaned_data
            try:
                if existing is not None and d["key"] != existing.key:
                    raise ApplicationError(_("The key of a saved playbook cannot change."), field="key")
                services.playbook_save(
                    shop=shop, key=d["key"], name=d["name"], types=d["types"], steps=specs, position=d["position"]
                )
            except ApplicationError as exc:
                problem = exc.message
            else:
                messages.success(request, _("The playbook %(name)s was saved.") % {"name": d["name"]})
                return _back("service:playbooks", shop)
        status = 400
    else:
        initial: dict[str, Any] = {"position": 100}
        rows = []
        if source is not None:
            initial = {"key": source.key, "name": _(source.name), "types": source.types, "position": source.position}
            rows = [
                {"key": s.key, "label": _(s.label), "help": _(s.help) if s.help else "", "required": s.required}
                for s in source.steps.all()
            ]
        form = forms.PlaybookForm(initial=initial)
    rows = rows + [{"key": "", "label": "", "help": "", "required": True}] * STEP_ROWS_EMPTY
    context = {
        **_base(request, shop, "playbooks"),
        "form": form,
        "rows": rows[: STEP_ROWS_MAX + STEP_ROWS_EMPTY],
        "existing": existing,
        "problem": problem,
    }
    return render(request, "service/settings_playbook_form.html", context, status=status)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
@require_POST
def playbook_delete(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    if shop is None:
        raise Http404(_("Add a shop first."))
    try:
        services.playbook_delete(shop=shop, key=request.POST.get("key", ""))
        record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="playbook", target_id=shop.pk)
    except NotFoundError:
        raise Http404(_("This shop has no such playbook.")) from None
    messages.success(request, _("The playbook was deleted; the shipped one applies again to its types."))
    return _back("service:playbooks", shop)
