"""The ticket list's export: the queue view and filters as the list shows them, to CSV or XLSX (core.export_views:
in the request, or in the background when long)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from huitouke.core.errors import ApplicationError
from huitouke.core.export_views import export_respond
from huitouke.service import exports
from huitouke.service.views import VIEW


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def ticket_export(request: HttpRequest) -> HttpResponseBase:
    """The tickets of the queue view as filtered (owners and managers: the export permission), as CSV (UTF-8 with
    BOM) or XLSX. More than HUITOUKE_INLINE_EXPORT rows go to a background job whose page offers the file; phones
    are masked unless the reader may see them; audited. A bad filter goes back to the list, which names it."""
    if not exports.TICKETS.may_export(request.user):
        raise PermissionDenied
    query = request.GET.copy()
    fmt = query.pop("format", ["csv"])[-1]
    fmt = fmt if fmt in exports.TICKETS.formats else "csv"
    query.pop("page", None)
    query.pop("after", None)
    back = f"{reverse('service:queue')}?{query.urlencode()}"
    try:
        asked = exports.ticket_export_parse(query, request.user)
    except ApplicationError:
        return redirect(back)
    return export_respond(
        request,
        kind=exports.TICKETS,
        filters=asked,
        query=query.urlencode(),
        fmt=fmt,
        title=_("Tickets to %(format)s") % {"format": fmt.upper()},
        back=back,
    )
