"""Member level pages: the settings of a shop's levels and policy (with a simulation before saving), the at-risk
list and the member export.

Thin: parse (forms) -> check with the level rules -> call one service/selector -> render. A large shop's save runs
as a background job with the progress page; small shops are saved in the request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huitouke.core.errors import ApplicationError
from huitouke.core.export_views import export_respond
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.selectors import job_list
from huitouke.core.services import audit_log, job_submit
from huitouke.loyalty import exports, selectors, services
from huitouke.loyalty.forms import (
    FIELD_LABELS,
    LevelFormSet,
    PolicyForm,
    attach_rule_errors,
    initial_rows,
    specs_of,
)
from huitouke.loyalty.grading import policy_of
from huitouke.loyalty.rules import LevelSpec
from huitouke.orders.models import Shop
from huitouke.orders.selectors import shop_list

VIEW, CHANGE = "loyalty.view_level", "loyalty.change_level"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREFIX = "levels"
AT_RISK_PAGE = 50

#: Shops with more orders than this are saved by a background job (override with HUITOUKE_LEVELS_INLINE_ORDERS).
INLINE_ORDERS = 200_000


def _shop(shop_id: int) -> Shop:
    shop = shop_list().filter(pk=shop_id).first()
    if shop is None:
        raise Http404(f"no shop {shop_id}")
    return shop


@login_required
@permission_required(VIEW, raise_exception=True)
def level_index(request: HttpRequest) -> HttpResponse:
    """The nav's "Member levels": the first shop's settings (owners and managers) or its at-risk list."""
    shop = shop_list().first()
    if shop is None:
        return render(request, "loyalty/level_settings.html", {"shop": None, "shops": []})
    if request.user.has_perm(CHANGE):
        return redirect("loyalty:settings", shop_id=shop.pk)
    return redirect("loyalty:at-risk", shop_id=shop.pk)


def _bind(request: HttpRequest) -> tuple[Any, PolicyForm, list[LevelSpec], list[str]]:
    """The posted level rows and policy, checked by the forms and then by the level rules. Returns the bound
    forms, the specs (lowest first) and one line per problem naming the row (or the policy) and the field."""
    formset = LevelFormSet(request.POST, prefix=PREFIX)
    policy_form = PolicyForm(request.POST)
    errors: list[str] = []
    if not formset.is_valid():
        errors += [str(e) for e in formset.non_form_errors()]
        for i, form in enumerate(formset.forms):
            for field, messages_ in form.errors.items():
                label = FIELD_LABELS.get(field, form.fields[field].label if field in form.fields else field)
                errors += [
                    _("Level %(row)d · %(field)s: %(message)s") % {"row": i + 1, "field": label, "message": m}
                    for m in messages_
                ]
    if not policy_form.is_valid():
        for field, messages_ in policy_form.errors.items():
            label = policy_form.fields[field].label if field in policy_form.fields else field
            errors += [_("Policy · %(field)s: %(message)s") % {"field": label, "message": m} for m in messages_]
    specs: list[LevelSpec] = []
    if not errors:
        specs, kept = specs_of(formset)
        errors += attach_rule_errors(specs, kept)
    return formset, policy_form, specs, errors


def _context(shop: Shop, formset: Any, policy_form: PolicyForm, **extra: Any) -> dict[str, Any]:
    return {
        "shop": shop,
        "shops": list(shop_list()),
        "formset": formset,
        "policy_form": policy_form,
        "jobs": [],
        **extra,
    }


def _inline_limit() -> int:
    return int(getattr(settings, "HUITOUKE_LEVELS_INLINE_ORDERS", INLINE_ORDERS))


@login_required
@permission_required(CHANGE, raise_exception=True)
def level_settings(request: HttpRequest, shop_id: int) -> HttpResponse:
    """Edit a shop's ordered levels and qualification policy. Save = levels_configure: in the request for a small
    shop, as a background job (progress page) for a large one."""
    shop = _shop(shop_id)
    if request.method == "POST":
        formset, policy_form, specs, errors = _bind(request)
        remove_all = request.POST.get("confirm_remove_all") == "1"
        status = 400
        if not errors and not specs and not remove_all and selectors.level_list().filter(shop=shop).exists():
            status = 409  # every row deleted: removing all levels drops every membership, so it is asked for
            errors.append(_remove_all_text(shop))
        if not errors:
            policy = {
                "window_months": policy_form.window,
                "downgrade": policy_form.cleaned_data["downgrade"],
                "grace_days": policy_form.cleaned_data["grace_days"],
            }
            if selectors.grading_size(shop=shop) > _inline_limit():
                return _submit(request, shop, specs, policy, remove_all=remove_all)
            try:
                saved = services.levels_configure(
                    shop=shop, specs=specs, **policy, actor=request.user, remove_all=remove_all
                )
            except services.LevelsRemoveAllError:
                status = 409
                errors.append(_remove_all_text(shop))
            except ApplicationError as exc:
                errors.append(exc.message)
            else:
                messages.success(request, _saved_text(saved.as_json()))
                return redirect("loyalty:settings", shop_id=shop.pk)
        context = _context(shop, formset, policy_form, errors=errors, confirm_remove_all=status == 409)
        return render(request, "loyalty/level_settings.html", context, status=status)
    levels = list(selectors.level_list().filter(shop=shop))
    formset = LevelFormSet(prefix=PREFIX, initial=initial_rows(levels) or None)
    if not levels:
        formset = LevelFormSet(prefix=PREFIX, initial=[{"discount": 100, "min_amount": "0.01", "min_orders": 1}])
    context = _context(shop, formset, PolicyForm.for_policy(policy_of(shop)))
    context["jobs"] = [
        j
        for j in job_list(kind=services.LEVELS_JOB_KIND, user=request.user, limit=20)  # type: ignore[arg-type]  # login_required
        if j.params.get("shop_id") == shop.pk
    ][:5]
    return render(request, "loyalty/level_settings.html", context)


def _remove_all_text(shop: Shop) -> str:
    members = sum(selectors.level_distribution(shop_ids=[shop.pk]).values())
    return _(
        "Every level was deleted: saving removes all levels of this shop and drops all %(members)d memberships. "
        "To do that, tick “Yes, remove all levels” and save again."
    ) % {"members": members}


def _saved_text(result: dict[str, Any]) -> str:
    if result.get("regraded") == "afresh":
        return _("Levels saved; every customer was graded again: %(changes)d level changes, %(members)d members.") % {
            "changes": result["changes"],
            "members": result["memberships"],
        }
    if result.get("regraded") == "upgrades":
        return _("Levels saved; %(changes)d members moved up under the new policy.") % {"changes": result["changes"]}
    return _("Levels saved; nobody changed level.")


def _submit(
    request: HttpRequest, shop: Shop, specs: list[LevelSpec], policy: dict[str, Any], *, remove_all: bool
) -> HttpResponse:
    job = job_submit(
        kind=services.LEVELS_JOB_KIND,
        params={
            "shop_id": shop.pk,
            "levels": [
                {
                    "name": s.name,
                    "min_amount": str(s.min_amount),
                    "min_orders": s.min_orders,
                    "discount": s.discount,
                    "benefits": s.benefits,
                }
                for s in specs
            ],
            **policy,
            "remove_all": remove_all,
            "title": _("Member levels of %(shop)s") % {"shop": shop.name},
            "back": reverse("loyalty:settings", kwargs={"shop_id": shop.pk}),
            "summary_template": "loyalty/_save_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def level_simulate(request: HttpRequest, shop_id: int) -> HttpResponse:
    """Before saving: how many customers would land in each edited level and how many would move up, down or
    stay (levels_simulate, one grading query, nothing written). htmx gets the `simulation` partial."""
    shop = _shop(shop_id)
    formset, policy_form, specs, errors = _bind(request)
    simulation = None
    if not errors:
        simulation = selectors.levels_simulate(shop=shop, specs=specs, window_months=policy_form.window)
    context = _context(shop, formset, policy_form, errors=errors, simulation=simulation, simulated=True)
    if getattr(request, "htmx", False):
        return render(request, "loyalty/level_settings.html#simulation", context)
    return render(request, "loyalty/level_settings.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def level_at_risk(request: HttpRequest, shop_id: int) -> HttpResponse:
    """Members who drop at the next review unless they spend ¥X or place N more orders by a date, soonest first,
    50 per page, contact data masked as in the customer list (an unmasked page is audited)."""
    shop = _shop(shop_id)
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    data = selectors.members_at_risk(shop=shop, offset=(number - 1) * AT_RISK_PAGE, limit=AT_RISK_PAGE)
    masker = Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))
    ids = [m.customer.pk for m in data.members]
    if masker.unmasked and ids:
        audit_log(
            actor=request.user, action=AuditEntry.Action.UNMASK, target_type="customer_list", ids=ids, page="at-risk"
        )
    pages = max(1, -(-data.count // AT_RISK_PAGE))
    context = {
        "shop": shop,
        "shops": list(shop_list()),
        "data": data,
        "masker": masker,
        "number": number,
        "pages": pages,
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if number < pages else None,
        "now": timezone.now(),
    }
    return render(request, "loyalty/level_at_risk.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def member_export(request: HttpRequest, shop_id: int) -> HttpResponseBase:
    """Download the shop's members with level and discount as XLSX (owners and managers: the export permission);
    phones masked unless the user may see them; audited. A shop with more members than
    HUITOUKE_LEVELS_INLINE_EXPORT (20,000) is exported by a background job: the progress page then offers the file
    (loyalty:export-file, core.export_views.export_file)."""
    shop = _shop(shop_id)
    if not exports.MEMBERS.may_export(request.user):
        raise PermissionDenied
    return export_respond(
        request,
        kind=exports.MEMBERS,
        filters=shop,
        query=f"shop={shop.pk}",
        fmt="xlsx",
        title=_("Members of %(shop)s to Excel") % {"shop": shop.name},
        back=reverse("loyalty:settings", kwargs={"shop_id": shop.pk}),
        filename=f"members-{shop.pk}",
    )
