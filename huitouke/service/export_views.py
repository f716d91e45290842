"""The ticket list's export: the queue view and filters as the list shows them, to CSV or XLSX (core.export_views:
in the request, or in the background when long)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from huitouke.core.export_views import export_list
from huitouke.service import exports
from huitouke.service.views import VIEW


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def ticket_export(request: HttpRequest) -> HttpResponseBase:
    """The tickets of the queue view as filtered (owners and managers: the export permission), as CSV (UTF-8 with
    BOM) or XLSX. More than HUITOUKE_INLINE_EXPORT rows go to a background job whose page offers the file; phones
    are masked unless the reader may see them; audited. A bad filter goes back to the list, which names it."""
    return export_list(
        request,
        kind=exports.TICKETS,
        list_url=reverse("service:queue"),
        parse=lambda query: exports.ticket_export_parse(query, request.user),
        title=lambda fmt: _("Tickets to %(format)s") % {"format": fmt},
    )
