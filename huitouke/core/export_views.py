"""The two ends of every list export (core.exports): the answer to a list's "Export" button and the download of a
finished background export."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.exports import CSV_TYPE, XLSX_TYPE, ExportKind, export_file_path, export_kinds, export_write
from huitouke.core.pii import EXPORT_PERMISSION
from huitouke.core.selectors import job_get_for_user
from huitouke.core.services import job_submit


def export_list(
    request: HttpRequest,
    *,
    kind: ExportKind,
    list_url: str,
    parse: Callable[[QueryDict], Any],
    title: Callable[[str], str],
) -> HttpResponseBase:
    """A list's "Export" button (GET `?format=csv|xlsx` plus the list's own query string): the list's filters
    without its paging keys, parsed as the list parses them by `parse` (a bad filter goes back to the list at
    `list_url`, which names it), exported by export_respond under the title `title("CSV"|"XLSX")`."""
    if not kind.may_export(request.user):
        raise PermissionDenied
    query = request.GET.copy()
    fmt = query.pop("format", ["csv"])[-1]
    fmt = fmt if fmt in kind.formats else "csv"
    query.pop("page", None)
    query.pop("after", None)
    back = f"{list_url}?{query.urlencode()}"
    try:
        filters = parse(query)
    except ApplicationError:
        return redirect(back)
    return export_respond(
        request, kind=kind, filters=filters, query=query.urlencode(), fmt=fmt, title=title(fmt.upper()), back=back
    )


def export_respond(
    request: HttpRequest,
    *,
    kind: ExportKind,
    filters: Any,
    query: str,
    fmt: str,
    title: str,
    back: str,
    filename: str = "",
) -> HttpResponseBase:
    """Answer a list's export button: a list of at most the kind's inline limit (HUITOUKE_INLINE_EXPORT, 20,000)
    is written in the request and sent as a file; a longer one becomes a background job (the list's `query`
    string, read again by the worker) and the reader goes to its progress page, which offers the file when done.
    The caller has checked the permissions (`kind.may_export`) and parsed `filters` from `query`."""
    if not kind.may_export(request.user):
        raise PermissionDenied
    limit = kind.inline_limit()
    if kind.count(filters, limit) > limit:
        job = job_submit(
            kind=kind.name,
            params={
                "query": query,
                "fmt": fmt,
                "title": title,
                "back": back,
                "summary_template": kind.summary_template,
            },
            created_by=request.user,
        )
        return redirect("core:job", pk=job.pk)
    out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it once sent)
    export_write(kind=kind, filters=filters, user=request.user, fmt=fmt, out=out)
    out.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{filename or kind.file_stem}-{stamp}.{fmt}"
    return FileResponse(out, as_attachment=True, filename=name, content_type=CSV_TYPE if fmt == "csv" else XLSX_TYPE)


@login_required
@require_GET
def export_file(request: HttpRequest, pk: int, kind: str = "") -> FileResponse:
    """The file of a finished background export, for whoever may see that job (the requester; owners and
    managers see every job) and may export its list. `kind` (given by an app's own download URL) limits it to
    exports of that kind."""
    expected = export_kinds.get(kind) if kind else None
    if not request.user.has_perm(EXPORT_PERMISSION) or (expected and not expected.may_export(request.user)):
        raise PermissionDenied
    try:
        job = job_get_for_user(job_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    found = export_kinds.get(job.kind)
    if found is None or (kind and job.kind != kind) or job.status != job.Status.DONE:
        raise Http404("no such export")
    if not found.may_export(request.user):
        raise PermissionDenied
    fmt = str(job.params.get("fmt", found.formats[0]))
    path = export_file_path(found, job.pk, fmt)
    if not path.is_file():
        raise Http404("no such export")
    content_type = CSV_TYPE if fmt == "csv" else XLSX_TYPE
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type=content_type)
