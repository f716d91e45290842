"""The send records pages: the filtered list, one message, and resending the failed and expired of a source.

Thin: parse -> one selector/service -> render. Addresses go through the viewer's Masker."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from huitouke.core.counting import list_count
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.export_views import export_list
from huitouke.core.keyset import after_id, rows_after
from huitouke.core.rows import choice_labels, excerpter, link_for
from huitouke.messaging import exports, selectors, services
from huitouke.messaging.models import Channel, Message, Purpose, SourceKind
from huitouke.messaging.views import (
    FILTER_PARAMS,
    PAGE_SIZE,
    RESEND,
    VIEW,
    HtmxHttpRequest,
    _audit,
    _masker,
    _partial,
)

#: a page number deeper than this shows this page (OFFSET reads every row in front; "Next" links read on by keyset)
MAX_OFFSET_PAGE = 200

# --- send records --------------------------------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def message_list(request: HtmxHttpRequest) -> HttpResponse:
    """Send records, newest first, 50 per page, filtered by source, channel, status, reason, purpose and date,
    with their number (exact up to 10,000, "about" beyond); "Next" reads on from the last row shown (keyset), so a
    deep page costs what the first does. A bad filter is shown next to the form. With a source selected, the
    failed/expired of it can be resent."""
    params = request.GET
    error: ApplicationError | None = None
    try:
        filters = selectors.MessageFilter.from_params(params)
    except ApplicationError as exc:
        error, filters = exc, selectors.MessageFilter()
    page_no = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
    rows: list[Message] = []
    has_next = False
    counted = None
    if error is None:
        qs = selectors.message_list(filters=filters)
        counted = list_count(qs)  # exact when cheap, PostgreSQL's estimate ("about") beyond
        # "Next" carries the last row's id: a deep page reads on from it in the index instead of skipping (keyset)
        after = after_id(params)
        following = rows_after(qs, after_id=after) if after is not None and page_no > 1 else None
        if following is not None:
            rows = list(following[: PAGE_SIZE + 1])
        else:
            # a page by number: OFFSET over the ids alone (an index-only scan of the created_at, id index when
            # unfiltered), then only that page's rows, in the same order; at most MAX_OFFSET_PAGE pages deep
            page_no = min(page_no, MAX_OFFSET_PAGE)
            start = (page_no - 1) * PAGE_SIZE
            if start == 0:
                rows = list(qs[: PAGE_SIZE + 1])  # nothing to skip
            else:
                ids = list(qs.prefetch_related(None).values_list("pk", flat=True)[start : start + PAGE_SIZE + 1])
                rows = list(qs.filter(pk__in=ids)) if ids else []
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        _row_display(rows)
    summary = None
    if error is None and filters.source_kind and (filters.source_ids or filters.source_kind == SourceKind.MANUAL):
        type_id, object_id = filters.source_ids or (None, None)
        summary = selectors.source_summary(kind=filters.source_kind, type_id=type_id, object_id=object_id)
    query = params.copy()
    query.pop("page", None)
    query.pop("after", None)
    context: dict[str, Any] = {
        "rows": rows,
        "counted": counted,
        "page_no": page_no,
        "has_next": has_next,
        "query": query.urlencode(),
        "filters": filters,
        "error": error,
        "values": {name: params.get(name, "") for name in FILTER_PARAMS},
        "masker": _masker(request),
        "summary": summary,
        "choices": {
            "source_kind": SourceKind.choices,
            "channel": Channel.choices,
            "status": Message.Status.choices,
            "reason": [c for c in Message.Reason.choices if c[0]],
            "purpose": Purpose.choices,
        },
    }
    template = "messaging/message_list.html#message-table" if _partial(request) else "messaging/message_list.html"
    return render(request, template, context)


def _row_display(rows: list[Message]) -> None:
    """What each row of the list shows, worked out once per page rather than per row in the template
    (core.rows): the two links, the labels and the text's excerpt."""
    channels, purposes = choice_labels(Channel.choices), choice_labels(Purpose.choices)
    kinds, statuses = choice_labels(SourceKind.choices), choice_labels(Message.Status.choices)
    reasons = choice_labels(Message.Reason.choices)
    detail, customer = link_for("messaging:detail"), link_for("customers:detail")
    excerpt = excerpter(60)
    for m in rows:
        m.detail_url = detail(m.pk)  # type: ignore[attr-defined]
        m.customer_url = customer(m.customer_id) if m.customer_id else ""  # type: ignore[attr-defined]
        m.channel_label, m.purpose_label = channels.get(m.channel, m.channel), purposes.get(m.purpose, m.purpose)  # type: ignore[attr-defined]
        m.kind_label = kinds.get(m.source_kind, m.source_kind)  # type: ignore[attr-defined]
        m.status_label, m.reason_label = statuses.get(m.status, m.status), reasons.get(m.reason, m.reason)  # type: ignore[attr-defined]
        m.excerpt = excerpt(m.body)  # type: ignore[attr-defined]


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One send record: to whom, through what, why, the text as sent, and what happened."""
    try:
        message = selectors.message_get(message_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    masker = _masker(request)
    _audit(request, masker, [message], "detail")
    return render(request, "messaging/message_detail.html", {"m": message, "masker": masker})


@login_required
@permission_required(RESEND, raise_exception=True)
@require_POST
def message_resend(request: HttpRequest) -> HttpResponse:
    """Queue again the failed and expired messages of one source (or one message); sent ones are never touched."""
    kind = request.POST.get("source_kind", "")
    source = request.POST.get("source", "")
    message_id = request.POST.get("message", "")
    back = reverse("messaging:list") + "?" + urlencode({"source_kind": kind, "source": source})
    try:
        type_id = object_id = None
        if source:
            t, _sep, o = source.partition(":")
            if not (t.isdigit() and o.isdigit()):
                raise ApplicationError("source: expected <type id>:<id>", field="source")
            type_id, object_id = int(t), int(o)
        ids = [int(message_id)] if message_id.isdigit() else None
        count = services.messages_resend(source_kind=kind, source_type_id=type_id, source_id=object_id, message_ids=ids)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count) % {"count": count},
    )
    if ids:
        return redirect("messaging:detail", pk=ids[0])
    return redirect(back)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def message_export(request: HttpRequest) -> HttpResponseBase:
    """The send records as the list filters them, as CSV (UTF-8 with BOM) or XLSX (owners and managers: the export
    permission). More than HUITOUKE_INLINE_EXPORT rows go to a background job whose page offers the file; addresses
    are masked unless the reader may see them; audited. A bad filter goes back to the list, which names it."""
    return export_list(
        request,
        kind=exports.MESSAGES,
        list_url=reverse("messaging:list"),
        parse=selectors.MessageFilter.from_params,
        title=lambda fmt: _("Messages to %(format)s") % {"format": fmt},
    )
