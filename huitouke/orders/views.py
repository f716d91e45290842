"""Import pages: upload → detected format (or column mapping) → background job with progress → summary."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.selectors import job_get_for_user, job_list
from huitouke.core.services import job_submit, jobs_expire
from huitouke.orders.forms import FIELD_LABELS, FORMAT_CHOICES, MappingForm, UploadForm
from huitouke.orders.importers import ImportFileError, detect_format, read_headers, suggest_mapping
from huitouke.orders.importing import IMPORT_JOB_KIND
from huitouke.orders.models import ImportMapping
from huitouke.orders.services import import_mapping_save
from huitouke.orders.uploads import PendingUpload, report_path_checked, upload_get, upload_store

PERMISSION = "orders.add_order"
FORMAT_LABELS = dict(FORMAT_CHOICES)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_start(request: HttpRequest) -> HttpResponse:
    """Upload one or two files; the recent imports are listed below the form."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        pending = upload_store(
            orders_file=data["orders_file"],
            items_file=data.get("items_file"),
            fmt=data["fmt"],
            shop=data.get("shop") or "",
            mapping_id=data["saved_mapping"].pk if data.get("saved_mapping") else None,
            keep_levels=bool(data.get("keep_levels")),
        )
        return redirect("orders:import-confirm", token=pending.token)
    jobs_expire()  # none of the listed imports shows "running" past its time limit
    jobs = job_list(kind=IMPORT_JOB_KIND, user=request.user)  # type: ignore[arg-type]  # login_required
    return render(request, "orders/import_start.html", {"form": form, "jobs": jobs})


def _submit(request: HttpRequest, pending: PendingUpload, fmt: str, mapping: dict[str, str] | None) -> HttpResponse:
    job = job_submit(
        kind=IMPORT_JOB_KIND,
        params={
            "path": pending.orders_path,
            "items_path": pending.items_path,
            "fmt": fmt,
            "shop": pending.shop,
            "mapping": mapping,
            "keep_levels": pending.keep_levels,
            "title": _("Import of %(name)s") % {"name": pending.orders_name},
            "back": reverse("orders:import"),
            "summary_template": "orders/_import_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Show the recognised format and start the import, or ask for the column mapping of a generic file."""
    try:
        pending = upload_get(token=token)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    context = {"pending": pending, "back": reverse("orders:import")}
    try:
        headers = read_headers(Path(pending.orders_path))
    except ImportFileError as exc:
        context["error"] = str(exc)
        return render(request, "orders/import_confirm.html", context, status=422)
    detected, detect_error = pending.fmt, ""
    if pending.fmt == "auto":
        try:
            detected = detect_format(headers)
        except ImportFileError as exc:
            detected, detect_error = "generic", str(exc)
    if detected != "generic":
        if request.method == "POST":
            return _submit(request, pending, detected, None)
        context.update({"detected": detected, "detected_label": FORMAT_LABELS.get(detected, detected)})
        return render(request, "orders/import_confirm.html", context)
    saved = ImportMapping.objects.filter(pk=pending.mapping_id).first() if pending.mapping_id else None
    initial = saved.mapping if saved else suggest_mapping(headers)
    form = MappingForm(request.POST or None, headers=headers, initial_mapping=initial)
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        if form.cleaned_data.get("save_as"):
            try:
                import_mapping_save(name=form.cleaned_data["save_as"], mapping=mapping)
                messages.success(request, _("The column mapping was saved."))
            except ApplicationError as exc:
                form.add_error("save_as", exc.message)
        if form.is_valid():
            return _submit(request, pending, "generic", mapping)
    samples = {k: FIELD_LABELS.get(k, k) for k in FIELD_LABELS}
    context.update({"form": form, "detect_error": detect_error, "saved": saved, "labels": samples})
    return render(request, "orders/import_mapping.html", context)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    """Download the CSV of rejected rows of one import job."""
    try:
        job = job_get_for_user(job_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
        path = report_path_checked((job.result or {}).get("error_report") or "")
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"import-{pk}-errors.csv")
