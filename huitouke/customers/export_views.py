"""The customer list's export: the list as it is filtered, to CSV or XLSX, in the request or in the background,
and the download of a finished background export."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from huitouke.core.counting import list_count
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION
from huitouke.core.selectors import job_get_for_user
from huitouke.core.services import job_submit
from huitouke.customers import exports, selectors, services
from huitouke.customers.views import VIEW, XLSX_TYPE, _query_without


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def customer_export(request: HttpRequest) -> HttpResponseBase:
    """Download the list as it is filtered, as CSV (UTF-8 with BOM) or XLSX. Owners and managers only. A list
    longer than HUITOUKE_INLINE_EXPORT (20,000) is exported by a background job: its progress page offers the
    file (customer_export_file) when done; the same masking and audit apply."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    fmt = request.GET.get("format", "csv")
    if fmt not in exports.FORMATS:
        fmt = "csv"
    try:
        filters = selectors.CustomerFilter.from_params(request.GET, unmasked=request.user.has_perm(UNMASK_PERMISSION))
        services.contact_search_record(actor=request.user, filters=filters)
    except ApplicationError:
        # The list shows the error next to the form.
        return redirect(f"{reverse('customers:list')}?{_query_without(request.GET, 'format')}")
    inline = int(getattr(settings, "HUITOUKE_INLINE_EXPORT", exports.INLINE_EXPORT))
    if list_count(selectors.customer_list(filters=filters), exact_up_to=inline).value > inline:
        job = job_submit(
            kind=exports.CUSTOMERS_EXPORT_JOB_KIND,
            params={
                "query": _query_without(request.GET, "format"),
                "fmt": fmt,
                "title": _("Customers to %(format)s") % {"format": fmt.upper()},
                "back": f"{reverse('customers:list')}?{_query_without(request.GET, 'format')}",
                "summary_template": "customers/_export_summary.html",
            },
            created_by=request.user,
        )
        return redirect("core:job", pk=job.pk)
    out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it once sent)
    exports.customers_export(filters=filters, user=request.user, fmt=fmt, out=out)
    out.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_TYPE
    return FileResponse(out, as_attachment=True, filename=f"customers-{stamp}.{fmt}", content_type=content_type)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def customer_export_file(request: HttpRequest, pk: int) -> FileResponse:
    """The file of a finished background customer export, for whoever may see that job (the requester; owners
    and managers see every job) and may export."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    try:
        job = job_get_for_user(job_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    fmt = str(job.params.get("fmt", "csv"))
    path = exports.export_file_path(job.pk, fmt)
    if job.kind != exports.CUSTOMERS_EXPORT_JOB_KIND or job.status != job.Status.DONE or not path.is_file():
        raise Http404("no such export")
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_TYPE
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type=content_type)
