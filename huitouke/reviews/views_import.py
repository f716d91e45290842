"""Review upload: file → recognised layout (or a column mapping) → background Job with progress → summary."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from huitouke.core.errors import NotFoundError
from huitouke.core.selectors import job_get_for_user, job_list
from huitouke.core.services import job_submit
from huitouke.orders.importers import ImportFileError, read_headers
from huitouke.orders.uploads import PendingUpload, report_path_checked, upload_get, upload_store
from huitouke.reviews.forms import ReviewMappingForm, ReviewUploadForm
from huitouke.reviews.importer import detect
from huitouke.reviews.tasks import IMPORT_JOB_KIND

PERMISSION = "reviews.add_review"


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_start(request: HttpRequest) -> HttpResponse:
    """Upload a review export; the recent review imports are listed below."""
    form = ReviewUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        pending = upload_store(
            orders_file=form.cleaned_data["file"],
            items_file=None,
            fmt="auto",
            shop=form.cleaned_data["shop"].name,
            mapping_id=None,
        )
        return redirect("reviews:import-confirm", token=pending.token)
    jobs = job_list(kind=IMPORT_JOB_KIND, user=request.user)  # type: ignore[arg-type]  # login_required
    return render(request, "reviews/import_start.html", {"form": form, "jobs": jobs})


def _submit(request: HttpRequest, pending: PendingUpload, mapping: dict[str, str] | None) -> HttpResponse:
    job = job_submit(
        kind=IMPORT_JOB_KIND,
        params={
            "path": pending.orders_path,
            "shop": pending.shop,
            "mapping": mapping,
            "title": _("Review import of %(name)s") % {"name": pending.orders_name},
            "back": reverse("reviews:import"),
            "summary_template": "reviews/_import_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Show the recognised layout and start the import, or ask which column holds which field."""
    try:
        pending = upload_get(token=token)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    context: dict[str, object] = {"pending": pending}
    try:
        headers = read_headers(Path(pending.orders_path))
    except ImportFileError as exc:
        context["error"] = str(exc)
        return render(request, "reviews/import_confirm.html", context, status=422)
    try:
        detect(headers)
    except ImportFileError as exc:
        form = ReviewMappingForm(request.POST or None, headers=headers)
        if request.method == "POST" and form.is_valid():
            return _submit(request, pending, form.mapping())
        context.update({"form": form, "detect_error": str(exc)})
        return render(request, "reviews/import_confirm.html", context)
    if request.method == "POST":
        return _submit(request, pending, None)
    context["detected"] = True
    return render(request, "reviews/import_confirm.html", context)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    """Download the CSV of rejected rows of one review import."""
    try:
        job = job_get_for_user(job_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
        path = report_path_checked((job.result or {}).get("errors_file") or "")
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"reviews-{pk}-errors.csv")
