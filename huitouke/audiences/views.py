"""Segment pages: the list, the builder (htmx: every change re-renders the rows and the live count), delete.

Thin: the form is turned into a definition by `builder`, validated and counted by the selectors, saved by the
services. The members of a segment are shown by the customer list (`?segment=ID`, registered in extensions).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from huitouke.audiences import builder, selectors, services
from huitouke.audiences.conditions import DefinitionError, parse_definition
from huitouke.audiences.models import Segment
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.core.ratelimit import public_page_limited
from huitouke.customers import links
from huitouke.customers.models import Customer, Tag
from huitouke.customers.selectors import province_list
from huitouke.loyalty.models import Level
from huitouke.orders.selectors import shop_list


def _choices() -> dict[str, list[tuple[str, Any]]]:
    levels = list(dict.fromkeys(Level.objects.order_by("rank", "name").values_list("name", flat=True)))
    return {
        "levels": [(n, n) for n in levels],
        "tags": [(n, n) for n in Tag.objects.order_by("name").values_list("name", flat=True)],
        "shops": [(n, n) for n in shop_list().values_list("name", flat=True)],
        "provinces": [(p, p) for p in province_list()],
        "rfm_segments": _rfm_choices(),
    }


def _rfm_choices() -> list[tuple[str, Any]]:
    from huitouke.analytics.rfm import SEGMENTS

    chinese = (get_language() or "").startswith("zh")
    return [(s.key, s.name_zh if chinese else s.name) for s in SEGMENTS]


#: The schema's messages as the page shows them (the API keeps the English text, which names the parameter).
_UI_MESSAGES = {
    "min must not be greater than max": gettext_lazy("the lower bound is above the upper bound"),
    "give min, max or both": gettext_lazy("enter a lower bound, an upper bound or both"),
    "give at least one province or city": gettext_lazy("choose at least one province or enter a city"),
    "give after, before, within_days or not_within_days": gettext_lazy("enter a date or a number of days"),
    "after must not be later than before": gettext_lazy("the start date is after the end date"),
    "give at least one product or category": gettext_lazy("enter at least one product or category"),
    "List should have at least 1 item": gettext_lazy("choose at least one"),
    "Input should be a valid": gettext_lazy("not a valid value"),
    "Input should be greater than or equal to": gettext_lazy("must not be negative"),
}


def _ui_message(text: str) -> str:
    for english, local in _UI_MESSAGES.items():
        if text.startswith(english):
            return str(local)
    return text


def _builder_context(definition: dict[str, Any], stored: Segment | None = None) -> dict[str, Any]:
    """Rows, count and errors for a (possibly invalid) definition. `stored`: the saved segment whose definition
    this is: its count when saved is shown (counting reads every customer: 0.7 s at a million) and the page
    offers to count now."""
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    count: int | None = None
    try:
        group = parse_definition(definition)
        count = stored.last_count if stored is not None else selectors.segment_count(group)
    except DefinitionError as exc:
        for where, message in zip(exc.where, exc.messages, strict=True):
            short = message.split(": ", 1)[-1] if where else message
            param = message.split(": ", 1)[0].rsplit(".", 1)[-1] if where else ""
            short = _ui_message(short)
            text = f"{param}: {short}" if param and not param.startswith("conditions[") else short
            (errors.setdefault(where, []) if where else general).append(text)
    return {
        "rows": builder.rows(definition, _choices(), errors),
        "op": "or" if definition.get("op") == "or" else "and",
        "count": count,
        "counted_at": stored.updated_at if stored is not None else None,
        "general_errors": general,
        "field_labels": builder.FIELD_LABELS,
    }


@login_required
@permission_required("audiences.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "audiences/segment_list.html", {"segments": selectors.segment_list()})


@login_required
@permission_required("audiences.view_segment", raise_exception=True)
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: count one saved segment now (the list and the edit page show the count from when it was saved);
    `?words=1` (the edit page): the count with its caption, in place of the one when saved."""
    segment = get_object_or_404(Segment, pk=pk)
    try:
        count = selectors.segment_count(segment.definition)
    except DefinitionError as exc:
        return HttpResponse(str(exc))
    if request.GET.get("words"):
        return HttpResponse(
            format_html('<strong id="segment-count">{}</strong> {}', f"{count:,}", _("customers match"))
        )
    return HttpResponse(f"{count:,}")


def _edit(request: HttpRequest, segment: Segment | None, refused: ApplicationError | None = None) -> HttpResponse:
    """The builder page; `refused`: a delete that was refused (the page again, with its message and status)."""
    perm = "audiences.change_segment" if segment else "audiences.add_segment"
    if request.method == "POST" and not request.user.has_perm(perm):
        return HttpResponse(status=403)
    name = segment.name if segment else ""
    description = segment.description if segment else ""
    definition: dict[str, Any] = dict(segment.definition) if segment else {"op": "and", "conditions": []}
    form_error = refused.message if refused else ""
    if request.method == "POST" and refused is None:
        name = request.POST.get("name", "")
        description = request.POST.get("description", "")
        definition = builder.definition_from_form(request.POST, request.POST.get("action", ""))
        if getattr(request, "htmx", False) and request.POST.get("save") is None:
            return render(request, "audiences/segment_form.html#builder", _builder_context(definition))
        try:
            if segment is None:
                segment = services.segment_create(
                    name=name, description=description, definition=definition, user=request.user
                )
            else:
                services.segment_update(segment=segment, name=name, description=description, definition=definition)
        except ApplicationError as exc:
            form_error = exc.message
        except DefinitionError:
            form_error = _("Some conditions are not complete: see the messages below.")
        else:
            messages.success(
                request,
                _("Segment “%(name)s” saved: %(count)s customers.")
                % {
                    "name": segment.name,
                    "count": f"{segment.last_count:,}",
                },
            )
            return redirect("audiences:edit", pk=segment.pk)
    as_saved = segment is not None and (request.method != "POST" or refused is not None)
    context = {
        "segment": segment,
        "name": name,
        "description": description,
        "form_error": form_error,
        "can_edit": request.user.has_perm(perm),
        "members_url": f"{reverse('customers:list')}?segment={segment.pk}" if segment else "",
        # a saved segment as saved (not a form sent back with an error): its count when saved
        **_builder_context(definition, stored=segment if as_saved else None),
    }
    status = refused.status if refused else 400 if form_error else 200
    return render(request, "audiences/segment_form.html", context, status=status)


@login_required
@permission_required("audiences.view_segment", raise_exception=True)
def segment_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
@permission_required("audiences.view_segment", raise_exception=True)
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Segment, pk=pk))


@login_required
@permission_required("audiences.delete_segment", raise_exception=True)
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    try:
        services.segment_delete(segment=segment)
    except ApplicationError as exc:  # still used by a campaign: 409, the builder again with the campaigns named
        return _edit(request, segment, refused=exc)
    record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="segment", target_id=pk, name=segment.name)
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
    return redirect("audiences:list")


# --- the consent group (新品通知): staff on the 360 page, the customer on their own preferences page -----------

#: the salt of the first, longer links (/preferences/<token>/): they keep working
PREFERENCES_SALT = "huitouke.audiences.preferences"


def preferences_token(customer_id: int) -> str:
    """The signed part of a customer's preferences link (/p/<token>/, short enough for an SMS)."""
    return links.preferences_token(customer_id)


def _preferences_customer(token: str) -> Customer | None:
    customer_id = links.preferences_customer_id(token)
    if customer_id is None:
        try:
            customer_id = int(signing.loads(token, salt=PREFERENCES_SALT))
        except (signing.BadSignature, ValueError, TypeError):
            return None
    # a link in an old message keeps working after a merge: it opens the page of the customer merged into
    customer = Customer.objects.filter(pk=customer_id).first()
    for _hop in range(10):
        if customer is None or customer.merged_into_id is None:
            return customer
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    return None


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def consent_group(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    member = request.POST.get("member") == "yes"
    services.consent_group_set(customer=customer, member=member, source="staff")
    if member:
        messages.success(request, _("Added to the new products and promotions group."))
    else:
        messages.success(request, _("Removed from the new products and promotions group."))
    return redirect("customers:detail", pk=pk)


@public_page_limited("preferences")
@csrf_exempt  # the signed link is the authority; the customer has no session here
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's own page: join or leave the new-products and promotions group in one click."""
    customer = _preferences_customer(token)
    if customer is None:
        return render(request, "audiences/preferences.html", {"invalid": True}, status=404)
    changed = False
    if request.method == "POST":
        services.consent_group_set(customer=customer, member=request.POST.get("member") == "yes", source="customer")
        changed = True
    member = any(selectors.consent_group_status(customer=customer).values())
    return render(request, "audiences/preferences.html", {"member": member, "changed": changed})
