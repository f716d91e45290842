"""Service desk pages: the ticket queue (views, filters, bulk assign), a new ticket (from the customer's 360 page
or by searching the customer) and the ticket page. The ticket's actions are in views_ticket, the settings in
views_settings.

Thin: parse (TicketFilter.from_params or a form) -> one selector/service -> render. Contact data goes through
one Masker per request; a page that shows it unmasked writes one audit entry."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from huitouke.core.counting import list_count
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.keyset import after_id, rows_after
from huitouke.core.models import AuditEntry
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.core.services import audit_log
from huitouke.customers import selectors as customer_selectors
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service import display, forms, selectors, services
from huitouke.service.models import (
    Compensation,
    Priority,
    SlaState,
    Ticket,
    TicketChannel,
    TicketStatus,
    TicketType,
)
from huitouke.service.services.conversation import reply_channel_default
from huitouke.service.services.tickets import TRANSITIONS

VIEW, ADD, CHANGE = "service.view_ticket", "service.add_ticket", "service.change_ticket"
CONFIGURE, APPROVE = "service.configure_service", "service.approve_compensation"
PAGE_SIZE = 30
ORDERS_ON_FORM = 30
CUSTOMER_MATCHES = 20
NOTICES_SHOWN = 10
COUNT_CAP = 10_000
#: a page number deeper than this shows this page (OFFSET reads every row in front; "Next" links read on by keyset)
MAX_OFFSET_PAGE = 200

QUEUE_LABELS = {
    "mine": lambda: _("Mine"),
    "follow_ups": lambda: _("My follow-ups"),
    "unassigned": lambda: _("Unassigned"),
    "breaching": lambda: _("Breaching soon"),
    "all": lambda: _("All"),
}
FILTER_LABELS = {
    "queue": lambda: _("View"),
    "type": lambda: _("Type"),
    "status": lambda: _("Status"),
    "priority": lambda: _("Priority"),
    "shop": lambda: _("Shop"),
    "tag": lambda: _("Tag"),
    "sla_state": lambda: _("SLA"),
    "channel": lambda: _("Channel"),
    "owner": lambda: _("Handled by"),
}
FILTER_PARAMS = ("queue", "type", "status", "priority", "shop", "tag", "sla_state")


def masker_for(request: HttpRequest) -> Masker:
    return Masker(unmasked=request.user.has_perm(UNMASK_PERMISSION))


def audit_unmasked(request: HttpRequest, masker: Masker, customer_ids: list[int], page: str) -> None:
    """One audit entry for a response that shows unmasked contact data."""
    ids = sorted(set(customer_ids))
    if not masker.unmasked or not ids:
        return
    audit_log(actor=request.user, action=AuditEntry.Action.UNMASK, target_type="customer_list", ids=ids, page=page)


def ticket_or_404(pk: int) -> Ticket:
    try:
        return selectors.ticket_get(ticket_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


def _query_without(params: QueryDict, *names: str) -> str:
    query = params.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# --- the queue -----------------------------------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def queue(request: HttpRequest) -> HttpResponse:
    """The ticket queue: a view (mine, my follow-ups, unassigned, breaching soon, all) narrowed by filters,
    PAGE_SIZE per page. htmx requests (the live filter) get only the `ticket-results` partial. A bad filter value
    is named above the results (the page still answers 200, with no rows)."""
    params = request.GET.copy()
    if "queue" not in params:
        params["queue"] = "mine"
    error: ApplicationError | None = None
    try:
        filters = selectors.TicketFilter.from_params(params)
    except ApplicationError as exc:
        error, filters = exc, selectors.TicketFilter(queue="mine")
    masker = masker_for(request)
    page: Any = None
    estimated = False
    if error is None:
        qs = selectors.ticket_queue(user=request.user, filters=filters)
        # exact up to COUNT_CAP (reading at most that many index entries), PostgreSQL's estimate ("about") beyond
        counted = list_count(qs, exact_up_to=COUNT_CAP)
        # the page's ids come from the view's own (narrow, indexed) order; only those rows are then loaded with
        # their shop, customer, owners and tags, so no wide join is sorted
        paginator = Paginator(qs.values_list("pk", flat=True), PAGE_SIZE)
        paginator.count = counted.value
        estimated = not counted.exact
        page = paginator.get_page(request.GET.get("page"))
        # "Next" carries the last row's id: a deep page reads on from it in the view's index (keyset)
        after = after_id(request.GET)
        following = rows_after(qs, after_id=after) if after is not None and page.number > 1 else None
        if following is None and page.number > MAX_OFFSET_PAGE:
            page = paginator.page(MAX_OFFSET_PAGE)  # a page by number skips its rows (OFFSET): bounded
        ids = list(following.values_list("pk", flat=True)[:PAGE_SIZE] if following is not None else page.object_list)
        rows = selectors.ticket_queue_rows(ids=ids)
        display.queue_rows(rows, masker)  # labels, links, masks and the SLA badge, once per page
        page.object_list = rows  # the page's ids replaced by their tickets
        audit_unmasked(request, masker, [t.customer_id for t in rows], "tickets")
    can_assign = request.user.has_perm(CONFIGURE)
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "error": error,
        "error_label": FILTER_LABELS[error.field]() if error and error.field in FILTER_LABELS else "",
        "masker": masker,
        "values": {name: params.get(name, "") for name in FILTER_PARAMS},
        "query_nopage": _query_without(request.GET, "page", "after"),
        "export_query": _query_without(params, "page", "after"),
        "list_url": request.get_full_path(),
        "can_assign": can_assign,
        "estimated": estimated,
        "shops": list(Shop.objects.order_by("name").values_list("name", flat=True)[:200]),
    }
    if request.htmx and not request.htmx.history_restore_request:  # type: ignore[attr-defined]
        return render(request, "service/queue.html#ticket-results", context)
    query_noview = _query_without(params, "queue", "page")
    context.update(
        {
            "tabs": [
                {"key": key, "label": text(), "url": f"?queue={key}{'&' + query_noview if query_noview else ''}"}
                for key, text in QUEUE_LABELS.items()
            ],
            "types": TicketType.choices,
            "statuses": [("unfinished", _("Unfinished")), *TicketStatus.choices],
            "priorities": Priority.choices,
            "sla_states": SlaState.choices,
            "staff": list(selectors.staff_for_tickets()) if can_assign else [],
            "notices": [
                display.notice_row(n)
                for n in selectors.notification_list(user=request.user, unread_only=True, limit=NOTICES_SHOWN)
            ],
        }
    )
    return render(request, "service/queue.html", context)


@login_required
@permission_required(CONFIGURE, raise_exception=True)
@require_POST
def assign(request: HttpRequest) -> HttpResponse:
    """Bulk assign the ticked tickets to one person (managers), then back to the queue as it was."""
    back = request.POST.get("next") or ""
    if not (back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
        back = reverse("service:queue")
    form = forms.AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errs in form.errors.values() for m in errs))
        return redirect(back)
    try:
        count = services.tickets_assign(
            ticket_ids=form.cleaned_data["ids"], to=form.cleaned_data["to"], actor=request.user
        )
    except ApplicationError as exc:
        messages.error(request, _("Not assigned: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(
            request,
            ngettext("%(count)d ticket assigned to %(user)s.", "%(count)d tickets assigned to %(user)s.", count)
            % {"count": count, "user": form.cleaned_data["to"]},
        )
    return redirect(back)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the viewer read."""
    count = services.notifications_mark_read(user=request.user)
    messages.success(
        request,
        ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
        % {"count": count},
    )
    return redirect("service:queue")


# --- a new ticket --------------------------------------------------------------------------------------------


def _customer_matches(query: str) -> list[Customer]:
    filters = customer_selectors.CustomerFilter.from_params({"search": query[:128]})
    qs = customer_selectors.customer_list(filters=filters)
    return list(qs[:CUSTOMER_MATCHES])


def _orders_for(customer: Customer) -> list[Order]:
    return list(
        Order.objects.filter(customer=customer)
        .select_related("shop")
        .prefetch_related("lines")
        .order_by("-ordered_at", "-id")[:ORDERS_ON_FORM]
    )


def _new_context(request: HttpRequest, customer: Customer, form: forms.TicketForm) -> dict[str, Any]:
    masker = masker_for(request)
    audit_unmasked(request, masker, [customer.pk], "ticket_new")
    return {
        "customer": customer,
        "masker": masker,
        "form": form,
        "orders": _orders_for(customer),
        "shops": list(Shop.objects.order_by("name")),
        "picked_lines": [str(v) for v in (form.data.getlist("lines") if form.is_bound else [])],  # type: ignore[attr-defined]
    }


@login_required
@permission_required(ADD, raise_exception=True)
@vary_on_headers("HX-Request")
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Open a ticket. Without ?customer=ID: search the customer first (htmx swaps the matches). With it: the
    form, with that customer's orders and their lines to choose from."""
    raw = (request.POST.get("customer") or request.GET.get("customer") or "").strip()
    if not raw:
        query = request.GET.get("q", "").strip()
        masker = masker_for(request)
        matches = _customer_matches(query) if query else []
        audit_unmasked(request, masker, [c.pk for c in matches], "ticket_new")
        context = {"query": query, "matches": matches, "masker": masker}
        if request.htmx and not request.htmx.history_restore_request:  # type: ignore[attr-defined]
            return render(request, "service/ticket_new.html#customer-matches", context)
        return render(request, "service/ticket_new.html", context)
    customer = Customer.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    if customer is None:
        raise Http404(_("Customer %(id)s does not exist.") % {"id": raw[:20]})
    line_ids = list(OrderLine.objects.filter(order__customer=customer).values_list("pk", flat=True)[:5000])
    if request.method != "POST":
        initial = {"channel": TicketChannel.WANGWANG, "priority": Priority.NORMAL}
        return render(
            request, "service/ticket_new.html", _new_context(request, customer, forms.TicketForm(initial=initial))
        )
    form = forms.TicketForm(request.POST, line_ids=line_ids)
    if form.is_valid():
        data = form.cleaned_data
        order = shop = None
        if data["order"]:
            order = Order.objects.filter(pk=data["order"], customer=customer).select_related("shop").first()
            if order is None:
                form.add_error("order", _("Pick one of this customer's orders."))
        if data["shop"]:
            shop = Shop.objects.filter(pk=data["shop"]).first()
            if shop is None:
                form.add_error("shop", _("Pick a shop from the list."))
        lines = list(OrderLine.objects.filter(pk__in=data["lines"]).order_by("line_no")) if data["lines"] else []
        if lines and (order is None or any(line.order_id != order.pk for line in lines)):
            form.add_error("lines", _("The ticked lines must belong to the order you picked."))
        if not form.errors:
            try:
                ticket = services.ticket_create(
                    customer=customer,
                    type=data["type"],
                    channel=data["channel"],
                    priority=data["priority"],
                    subject=data["subject"],
                    description=data["description"],
                    shop=shop,
                    order=order,
                    order_lines=lines,
                    tags=form.tag_list(),
                    actor=request.user,
                )
            except ApplicationError as exc:
                field = {"order_no": "order", "order_lines": "lines"}.get(exc.field or "", exc.field)
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Ticket #%(number)s was opened.") % {"number": ticket.number})
                return redirect("service:ticket", pk=ticket.pk)
    return render(request, "service/ticket_new.html", _new_context(request, customer, form), status=400)


# --- the ticket page -----------------------------------------------------------------------------------------


def detail_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """Everything the ticket page shows; `extra` carries bound forms with their errors."""
    masker = masker_for(request)
    audit_unmasked(request, masker, [ticket.customer_id], "ticket")
    steps = sorted(ticket.steps.all(), key=lambda s: (s.position, s.pk))
    step_labels = {s.key: _(s.label) for s in steps}
    events = [display.event_row(e, step_labels) for e in ticket.events.all()]
    events.reverse()
    limit = selectors.settings_for_shop(shop=ticket.shop).agent_compensation_limit
    comps = list(ticket.compensations.all())
    order_lines = list(ticket.order.lines.all()) if ticket.order_id and ticket.order else []
    user = request.user
    staff = [u for u in selectors.staff_for_tickets() if u.pk != ticket.owner_id]
    context = {
        "ticket": ticket,
        "masker": masker,
        "steps": steps,
        "open_required": [s for s in steps if s.required and s.done_at is None],
        "events": events,
        "clocks": display.clock_rows(ticket),
        "replies": list(ticket.replies.all()),
        "compensations": comps,
        "compensation_total": sum((c.amount for c in comps), start=0),
        "pending_compensations": [c for c in comps if c.status == Compensation.Status.PENDING_APPROVAL],
        "limit": limit,
        "attachments": list(ticket.attachments.all()),
        "ticket_lines": list(ticket.order_lines.all()),
        "order_lines": order_lines,
        "staff": staff,
        "transitions": [
            (s, display.label(TicketStatus, s)) for s in TicketStatus.values if s in TRANSITIONS[ticket.status]
        ],
        "reply_channels": forms.REPLY_CHANNELS,
        "reply_default": reply_channel_default(ticket),
        "compensation_kinds": Compensation.Kind.choices,
        "can_change": user.has_perm(CHANGE),
        "can_approve": user.has_perm(APPROVE),
        "is_owner": ticket.owner_id == user.pk,
        "reply_form": extra.pop("reply_form", None) or forms.ReplyForm(),
        "edit_form": extra.pop("edit_form", None)
        or forms.TicketEditForm(
            initial={
                "subject": ticket.subject,
                "type": ticket.type,
                "priority": ticket.priority,
                "channel": ticket.channel,
                "description": ticket.description,
                "tags": ", ".join(t.name for t in ticket.tags.all()),
            }
        ),
        "transfer_form": extra.pop("transfer_form", None) or forms.TransferForm(),
        "status_form": extra.pop("status_form", None) or forms.StatusForm(),
        "compensation_form": extra.pop("compensation_form", None) or forms.CompensationForm(),
        **extra,
    }
    return context


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticket: header, SLA clocks, checklist, replies and notes, compensation, attachments, history."""
    return render(request, "service/ticket_detail.html", detail_context(request, ticket_or_404(pk)))


def require_change(request: HttpRequest) -> None:
    if not request.user.has_perm(CHANGE):
        raise PermissionDenied
