"""Follow-up pages: "my follow-ups" (the notes whose follow-up falls to the signed-in user) and marking one done.

A note with a follow-up day shows here from that day on (earlier, under "coming up") until it is marked done.
"Today" is the business date in the active time zone.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers import selectors, services
from huitouke.customers.views import VIEW, HtmxHttpRequest, _customer, _notes_context, _safe_next

#: At most this many follow-ups are listed per section (the count above says how many there are).
LIST_LIMIT = 200


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def follow_up_list(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user's open follow-ups: due (today and overdue) first, then the ones coming up."""
    today = timezone.localdate()
    open_ = selectors.follow_ups_open(owner=request.user)
    due = open_.filter(follow_up_on__lte=today)
    coming = open_.filter(follow_up_on__gt=today)
    context = {
        "today": today,
        "due": list(due[:LIST_LIMIT]),
        "due_count": due.count(),
        "coming": list(coming[:LIST_LIMIT]),
        "coming_count": coming.count(),
        "limit": LIST_LIMIT,
    }
    return render(request, "customers/follow_up_list.html", context)


@login_required
@permission_required("customers.add_note", raise_exception=True)
@require_POST
def follow_up_done(request: HtmxHttpRequest, pk: int, note_id: int) -> HttpResponse:
    """Mark a note's follow-up done; from the 360 page (htmx) the notes are redrawn, otherwise back to `next`."""
    customer = _customer(pk)
    try:
        note = selectors.note_get(customer_id=customer.pk, note_id=note_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    error = ""
    try:
        services.note_follow_up_done(note=note, actor=request.user)
    except ApplicationError as exc:
        error = exc.message
    if request.htmx:
        return render(request, "customers/customer_detail.html#customer-notes", _notes_context(customer))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Follow-up for %(name)s marked done.") % {"name": customer.name})
    return redirect(_safe_next(request, reverse("customers:detail", args=[customer.pk])))
