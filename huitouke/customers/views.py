"""Customer archive pages: the list (filters, sorting, bulk tags), the export, the 360 page and merging.

Thin: parse (CustomerFilter.from_params or a form) -> call one selector/service -> render. Contact data goes
through one Masker per request; every response that shows it unmasked writes one audit entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.services import audit_log
from huitouke.customers import selectors, services
from huitouke.customers.forms import PII_FIELDS, BulkTagForm, MergeForm, NoteForm, ProfileForm, TagForm
from huitouke.customers.models import Customer
from huitouke.customers.registry import registry

if TYPE_CHECKING:
    from django.db.models import QuerySet

VIEW = "customers.view_customer"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TAG_ADD, TAG_REMOVE, TAG_CREATE = "customers.add_customertag", "customers.delete_customertag", "customers.add_tag"

#: The list's filter inputs, in the order of the form (registered filters such as shop and level come first).
FILTER_PARAMS = (
    "search",
    "tag",
    "province",
    "last_order_from",
    "last_order_to",
    "spent_min",
    "spent_max",
    "orders_min",
    "orders_max",
    "sort",
)

SORT_LABELS = {
    "last_order": gettext_lazy("Last order, newest first"),
    "-last_order": gettext_lazy("Last order, oldest first"),
    "spent": gettext_lazy("Spent, most first"),
    "-spent": gettext_lazy("Spent, least first"),
    "orders": gettext_lazy("Orders, most first"),
    "-orders": gettext_lazy("Orders, fewest first"),
    "created": gettext_lazy("Newest in the archive"),
    "name": gettext_lazy("Name"),
}

FILTER_LABELS = {
    "search": gettext_lazy("Search"),
    "tag": gettext_lazy("Tag"),
    "province": gettext_lazy("Province"),
    "last_order_from": gettext_lazy("Last order from"),
    "last_order_to": gettext_lazy("Last order to"),
    "spent_min": gettext_lazy("Spent from"),
    "spent_max": gettext_lazy("Spent to"),
    "orders_min": gettext_lazy("Orders from"),
    "orders_max": gettext_lazy("Orders to"),
    "sort": gettext_lazy("Sort"),
}

MERGE_CANDIDATES = 20


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


def _masker(request: HttpRequest) -> Masker:
    return Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))


def _audit_unmasked(request: HttpRequest, masker: Masker, customer_ids: list[int], page: str) -> None:
    """One audit entry for a response that shows unmasked contact data: per customer for one customer's page,
    per page (with the ids shown) for lists."""
    if not masker.unmasked or not customer_ids:
        return
    if len(customer_ids) == 1 and page == "detail":
        audit_log(
            actor=request.user, action=AuditEntry.Action.UNMASK, target_type="customer", target_id=customer_ids[0]
        )
    else:
        audit_log(
            actor=request.user,
            action=AuditEntry.Action.UNMASK,
            target_type="customer_list",
            ids=customer_ids,
            page=page,
        )


def _wants_partial(request: HtmxHttpRequest) -> bool:
    """An htmx swap gets only the fragment; a history restore (back button, cache miss) needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _customer(pk: int) -> Customer:
    try:
        return selectors.customer_get(customer_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _errors_text(form: forms.Form, field: str | None = None) -> str:
    """A form's error messages (all fields, or one) as one line for a flash message."""
    names = [field] if field else list(form.errors)
    return " ".join(str(message) for name in names for message in form.errors.get(name) or ())


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _query_without(params: QueryDict, *names: str) -> str:
    """The current query string minus `names` (for sort and page links that keep the filters)."""
    query = params.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _sort_columns(params: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the link that sorts by it (a second click reverses) and the arrow to show."""
    base = _query_without(params, "sort", "page", "after")
    prefix = f"?{base}&" if base else "?"
    columns = {}
    for column in ("name", "orders", "spent", "last_order"):
        reverse_key = f"-{column}"
        if current == column and reverse_key in selectors.SORTS:
            link, arrow = reverse_key, "↓"
        else:
            link, arrow = column, "↑" if current == reverse_key else ""
        if column == "name" and current == "name":
            arrow = "↑"
        columns[column] = {"url": f"{prefix}sort={link}", "arrow": arrow}
    return columns


# --- the list ------------------------------------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    """The archive: search, filters, sorting, 50 per page. htmx requests get only the `customer-table` partial.

    A bad filter value is shown next to the form (the page still answers 200, with no rows)."""
    params = request.GET
    error: ApplicationError | None = None
    masker = _masker(request)
    try:
        filters = selectors.CustomerFilter.from_params(params, unmasked=masker.unmasked)
        services.contact_search_record(actor=request.user, filters=filters)
    except ApplicationError as exc:
        error, filters = exc, selectors.CustomerFilter()
    page, total, capped, estimated = None, 0, False, False
    if error is None:
        qs = selectors.customer_list(filters=filters)
        counted = selectors.customer_list_count(filters=filters)  # exact when cheap, else "about"
        total, estimated = counted.value, not counted.exact
        # A search lists at most SEARCH_CAP matches (when the selector caps it); the page says so.
        cap = getattr(selectors, "SEARCH_CAP", None)
        capped = bool(filters.search and cap and total > cap)
        paginator = Paginator(qs, settings.HUITOUKE_PAGE_SIZE)
        paginator.count = cap if capped and cap else total
        page = paginator.get_page(params.get("page"))
        # "Next" links carry the last row's id: the next page reads on from it instead of skipping (keyset)
        after = params.get("after", "")
        following = (
            selectors.customer_list_after(qs, sort=filters.sort, after_id=int(after))
            if after.isdigit() and len(after) <= 18 and page.number > 1
            else None
        )
        rows = following[: settings.HUITOUKE_PAGE_SIZE] if following is not None else page.object_list
        page.object_list = selectors.customer_page_rows(cast("QuerySet[Customer]", rows))
        _audit_unmasked(request, masker, [c.pk for c in page.object_list], "list")
    context: dict[str, Any] = {
        "page": page,
        "total": total,
        "estimated": estimated,
        "capped": capped,
        "filters": filters,
        "error": error,
        "error_label": FILTER_LABELS.get(error.field or "", error.field) if error else "",
        "masker": masker,
        "values": {name: params.get(name, "") for name in (*FILTER_PARAMS, *registry.filters)},
        "sort_columns": _sort_columns(params, filters.sort),
        "query_nopage": _query_without(params, "page", "after"),
        "query_filters": _query_without(params, "page", "sort", "after"),
        "list_url": request.get_full_path(),
    }
    if _wants_partial(request):
        return render(request, "customers/customer_list.html#customer-table", context)
    choices = selectors.filter_choices()
    context.update(
        {
            "bulk_actions": [
                {"label": a.label, "url": reverse(a.url_name), "key": a.key}
                for a in sorted(registry.bulk_actions.values(), key=lambda a: (a.order, a.key))
                if request.user.has_perm(a.permission)
            ],
            "tags": choices["tags"],
            "provinces": choices["provinces"],
            "extra_filters": [
                {"key": key, "label": label, "options": options, "value": params.get(key, "")}
                for key, label, options in choices["extra"]
            ],
            "sorts": [(key, SORT_LABELS.get(key, key)) for key in choices["sorts"]],
        }
    )
    return render(request, "customers/customer_list.html", context)


@login_required
@permission_required(TAG_ADD, raise_exception=True)
@require_POST
def customers_bulk_tag(request: HttpRequest) -> HttpResponse:
    """Put a tag on (or take it off) every ticked customer, then go back to the list as it was."""
    back = _safe_next(request, reverse("customers:list"))
    form = BulkTagForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors_text(form))
        return redirect(back)
    ids, name = form.cleaned_data["ids"], form.cleaned_data["tag"].strip()
    try:
        if form.cleaned_data["op"] == BulkTagForm.REMOVE:
            if not request.user.has_perm(TAG_REMOVE):
                raise PermissionDenied
            count = services.customers_untag(customer_ids=ids, tag_name=name)
            messages.success(
                request,
                ngettext(
                    "Tag %(tag)s removed from %(count)d customer.",
                    "Tag %(tag)s removed from %(count)d customers.",
                    count,
                )
                % {"tag": name, "count": count},
            )
        else:
            if not request.user.has_perm(TAG_CREATE) and not selectors.tag_list().filter(name=name).exists():
                raise PermissionDenied
            count = services.customers_tag(customer_ids=ids, tag_name=name)
            messages.success(
                request,
                ngettext("Tag %(tag)s added to %(count)d customer.", "Tag %(tag)s added to %(count)d customers.", count)
                % {"tag": name, "count": count},
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(back)


# --- the 360 page --------------------------------------------------------------------------------------------


def _panels(customer: Customer, request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"key": p.key, "title": p.title, "template": p.template, "context": p.context(customer, request)}
        for p in sorted(registry.panels.values(), key=lambda p: (p.order, p.key))
    ]


def _tags_context(customer: Customer) -> dict[str, Any]:
    return {
        "customer": customer,
        "all_tags": list(selectors.tag_list().values_list("name", flat=True)),
        "tag_form": TagForm(),
    }


def _notes_context(customer: Customer, note_form: NoteForm | None = None) -> dict[str, Any]:
    return {
        "customer": customer,
        "notes": list(selectors.note_list_for_customer(customer=customer)),
        "note_form": note_form or NoteForm(),
        "today": timezone.localdate(),
    }


def _render_detail(request: HttpRequest, customer: Customer, *, form: ProfileForm | None = None) -> HttpResponse:
    masker = _masker(request)
    _audit_unmasked(request, masker, [customer.pk], "detail")
    orders = customer.order_count
    context: dict[str, Any] = {
        "customer": customer,
        "masker": masker,
        "form": form or ProfileForm(customer=customer, masked=not masker.unmasked),
        "pii_fields": PII_FIELDS,
        "average_order": (customer.total_spent / orders) if orders else None,
        "panels": _panels(customer, request),
        "timeline": selectors.customer_timeline(customer=customer),
        **_tags_context(customer),
        **_notes_context(customer),
    }
    return render(request, "customers/customer_detail.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer 360 page: profile, tags, notes, every registered panel (orders …) and the timeline."""
    return _render_detail(request, _customer(pk))


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def customer_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the profile form. Viewers who see contact data masked cannot change it (those fields are ignored)."""
    customer = _customer(pk)
    if customer.merged_into_id:
        messages.error(request, _("This customer was merged; edit the customer it was merged into."))
        return redirect("customers:detail", pk=customer.pk)
    form = ProfileForm(request.POST, customer=customer, masked=not _masker(request).unmasked)
    if form.is_valid():
        try:
            services.customer_update(customer=customer, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The profile was saved."))
            return redirect("customers:detail", pk=customer.pk)
    # The failed save may have changed the object in memory: show the stored profile with the bound form.
    return _render_detail(request, _customer(pk), form=form)


@login_required
@permission_required("customers.add_note", raise_exception=True)
@require_POST
def note_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add a sticky note (记事贴), optionally with a follow-up; htmx gets the refreshed `customer-notes` partial."""
    customer = _customer(pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.note_add(
                customer=customer,
                author=request.user,
                body=form.cleaned_data["body"],
                pinned=form.cleaned_data["pinned"],
                follow_up_on=form.cleaned_data["follow_up_on"],
                follow_up_owner=form.cleaned_data["follow_up_owner"],
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            form = NoteForm()
            if not request.htmx:
                messages.success(request, _("The note was added."))
    if request.htmx:
        return render(request, "customers/customer_detail.html#customer-notes", _notes_context(customer, form))
    if form.errors:
        messages.error(request, _errors_text(form))
    return redirect("customers:detail", pk=customer.pk)


def _tags_response(request: HtmxHttpRequest, customer_id: int, error: str = "") -> HttpResponse:
    if request.htmx:
        context = {**_tags_context(_customer(customer_id)), "tag_error": error}
        return render(request, "customers/customer_detail.html#customer-tags", context)
    if error:
        messages.error(request, error)
    return redirect("customers:detail", pk=customer_id)


@login_required
@permission_required(TAG_ADD, raise_exception=True)
@require_POST
def tag_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Put one tag on the customer (a new name creates the tag, for those allowed to)."""
    customer = _customer(pk)
    form = TagForm(request.POST)
    if not form.is_valid():
        return _tags_response(request, customer.pk, _errors_text(form, "name"))
    name = form.cleaned_data["name"].strip()
    if not request.user.has_perm(TAG_CREATE) and not selectors.tag_list().filter(name=name).exists():
        raise PermissionDenied
    try:
        services.customers_tag(customer_ids=[customer.pk], tag_name=name)
    except ApplicationError as exc:
        return _tags_response(request, customer.pk, exc.message)
    return _tags_response(request, customer.pk)


@login_required
@permission_required(TAG_REMOVE, raise_exception=True)
@require_POST
def tag_remove(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Take one tag off the customer."""
    customer = _customer(pk)
    form = TagForm(request.POST)
    if form.is_valid():
        services.customers_untag(customer_ids=[customer.pk], tag_name=form.cleaned_data["name"])
    return _tags_response(request, customer.pk)


# --- merge ---------------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.merge_customers", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_merge(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Merge this customer into another: pick the other one (id or search), confirm side by side, then POST.

    The customer at `pk` is the one that goes away; its history moves to the one picked. Cannot be undone."""
    source = _customer(pk)
    if source.merged_into_id:
        messages.error(request, _("This customer was already merged."))
        return redirect("customers:detail", pk=source.pk)
    masker = _masker(request)
    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Pick the customer to merge into."))
            return redirect("customers:merge", pk=source.pk)
        try:
            target = services.customer_merge(
                source_id=source.pk, target_id=form.cleaned_data["target"], actor=request.user
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("customers:merge", pk=source.pk)
        messages.success(
            request, _("%(source)s was merged into this customer.") % {"source": source.name or f"#{source.pk}"}
        )
        return redirect("customers:detail", pk=target.pk)

    other = request.GET.get("other", "").strip()
    if other:
        picked = _merge_target(other, source)
        if isinstance(picked, Customer):
            _audit_unmasked(request, masker, [source.pk, picked.pk], "merge")
            return render(
                request, "customers/customer_merge.html", {"source": source, "target": picked, "masker": masker}
            )
        messages.error(request, picked)

    query = request.GET.get("q", "")
    candidates = selectors.customer_merge_candidates(
        source=source, query=query, limit=MERGE_CANDIDATES, unmasked=masker.unmasked
    )
    _audit_unmasked(request, masker, [c.pk for c in candidates], "merge")
    context = {"source": source, "candidates": candidates, "query": query, "masker": masker}
    if _wants_partial(request):
        return render(request, "customers/customer_merge.html#merge-candidates", context)
    return render(request, "customers/customer_merge.html", context)


def _merge_target(other: str, source: Customer) -> Customer | str:
    """The customer picked to merge into, or why it cannot be."""
    if not other.isdigit() or len(other) > 18:
        return _("Pick the customer to merge into.")
    try:
        target = selectors.customer_get(customer_id=int(other))
    except NotFoundError:
        return _("Customer %(id)s does not exist.") % {"id": other}
    if target.pk == source.pk:
        return _("A customer cannot be merged into itself.")
    if target.merged_into_id:
        return _("That customer was already merged into another one.")
    return target
