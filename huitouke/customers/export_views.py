"""The customer list's export: the list as it is filtered, to CSV or XLSX, in the request or in the background
(core.export_views), and the download of a finished background export."""

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
from huitouke.core.pii import UNMASK_PERMISSION
from huitouke.customers import exports, selectors, services
from huitouke.customers.views import VIEW, _query_without


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def customer_export(request: HttpRequest) -> HttpResponseBase:
    """Download the list as it is filtered, as CSV (UTF-8 with BOM) or XLSX. Owners and managers only. A list
    longer than HUITOUKE_INLINE_EXPORT (20,000) is exported by a background job: its progress page offers the
    file (customers:export-file, core.export_views.export_file) when done; the same masking and audit apply."""
    if not exports.CUSTOMERS.may_export(request.user):
        raise PermissionDenied
    fmt = request.GET.get("format", "csv")
    if fmt not in exports.FORMATS:
        fmt = "csv"
    query = _query_without(request.GET, "format")
    try:
        filters = selectors.CustomerFilter.from_params(request.GET, unmasked=request.user.has_perm(UNMASK_PERMISSION))
        services.contact_search_record(actor=request.user, filters=filters)
    except ApplicationError:
        # The list shows the error next to the form.
        return redirect(f"{reverse('customers:list')}?{query}")
    return export_respond(
        request,
        kind=exports.CUSTOMERS,
        filters=filters,
        query=query,
        fmt=fmt,
        title=_("Customers to %(format)s") % {"format": fmt.upper()},
        back=f"{reverse('customers:list')}?{query}",
    )
