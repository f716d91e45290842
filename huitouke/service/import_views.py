"""The after-sales import pages: upload a refund export → the recognised layout (or the column mapping, which can
be saved for next time) → a background job with progress → its summary and the rejected rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.selectors import job_get_for_user, job_list
from huitouke.core.services import job_submit
from huitouke.orders.forms import MAX_UPLOAD_MB
from huitouke.orders.uploads import PendingUpload, report_path_checked, upload_get, upload_store
from huitouke.service.importers import ImportFileError, read_headers, refunds, suggest_mapping
from huitouke.service.models import AftersalesMapping
from huitouke.service.services.aftersales_import import aftersales_mapping_save
from huitouke.service.tasks import IMPORT_JOB_KIND

PERMISSION = "service.add_ticket"
FIELD_LABELS: dict[str, Any] = {
    "refund_id": gettext_lazy("Refund / after-sales number"),
    "order_no": gettext_lazy("Order number"),
    "sub_order_no": gettext_lazy("Sub-order (line) number"),
    "status": gettext_lazy("Refund status"),
    "reason": gettext_lazy("Refund reason"),
    "description": gettext_lazy("Buyer's description"),
    "refund_fee": gettext_lazy("Refund amount"),
    "created_at": gettext_lazy("Requested at"),
    "modified_at": gettext_lazy("Last changed at"),
    "goods_status": gettext_lazy("Goods status"),
    "goods_return": gettext_lazy("Goods to be returned"),
    "return_company": gettext_lazy("Return carrier"),
    "return_tracking": gettext_lazy("Return tracking number"),
    "title": gettext_lazy("Product title"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Refund export (CSV or XLSX)"))
    shop = forms.CharField(
        label=gettext_lazy("Shop"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Leave empty to use the shop each order belongs to."),
    )
    saved_mapping = forms.ModelChoiceField(
        label=gettext_lazy("Saved column mapping"), queryset=AftersalesMapping.objects.all(), required=False
    )

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if f is not None and f.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_MB})
        return f


class MappingForm(forms.Form):
    """One select per field of the generic layout, offering the file's headers."""

    save_as = forms.CharField(label=gettext_lazy("Save this mapping as"), required=False, max_length=64)

    def __init__(self, *args: Any, headers: list[str], initial_mapping: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *[(h, h) for h in headers]]
        for key in refunds.GENERIC_FIELDS:
            self.fields[f"map_{key}"] = forms.ChoiceField(
                label=FIELD_LABELS[key],
                choices=choices,
                required=key in refunds.GENERIC_REQUIRED,
                initial=initial_mapping.get(key, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {k[4:]: v for k, v in self.cleaned_data.items() if k.startswith("map_") and v}


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_start(request: HttpRequest) -> HttpResponse:
    """Upload a refund export; the recent after-sales imports are listed below the form."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        pending = upload_store(
            orders_file=data["file"],
            items_file=None,
            fmt="auto",
            shop=data.get("shop") or "",
            mapping_id=data["saved_mapping"].pk if data.get("saved_mapping") else None,
        )
        return redirect("service_import:confirm", token=pending.token)
    jobs = job_list(kind=IMPORT_JOB_KIND, user=request.user)  # type: ignore[arg-type]  # login_required
    return render(request, "service/import/start.html", {"form": form, "jobs": jobs})


def _submit(request: HttpRequest, pending: PendingUpload, layout: str, mapping: dict[str, str] | None) -> HttpResponse:
    job = job_submit(
        kind=IMPORT_JOB_KIND,
        params={
            "path": pending.orders_path,
            "layout": layout,
            "shop": pending.shop,
            "mapping": mapping,
            "title": _("After-sales import of %(name)s") % {"name": pending.orders_name},
            "back": reverse("service_import:start"),
            "summary_template": "service/import/_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Show the recognised layout and start the import, or ask for (and maybe save) the column mapping."""
    try:
        pending = upload_get(token=token)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {"pending": pending, "back": reverse("service_import:start")}
    try:
        headers = read_headers(Path(pending.orders_path))
    except ImportFileError as exc:
        context["error"] = str(exc)
        return render(request, "service/import/confirm.html", context, status=422)
    saved = AftersalesMapping.objects.filter(pk=pending.mapping_id).first() if pending.mapping_id else None
    if saved is None and refunds.is_taobao(headers):
        if request.method == "POST":
            return _submit(request, pending, "taobao", None)
        return render(request, "service/import/confirm.html", {**context, "detected": True})
    initial = saved.mapping if saved else suggest_mapping(headers)
    form = MappingForm(request.POST or None, headers=headers, initial_mapping=initial)
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        if form.cleaned_data.get("save_as"):
            try:
                aftersales_mapping_save(name=form.cleaned_data["save_as"], mapping=mapping)
                messages.success(request, _("The column mapping was saved."))
            except ApplicationError as exc:
                form.add_error("save_as", exc.message)
        if form.is_valid():
            return _submit(request, pending, "generic", mapping)
    context.update({"form": form, "saved": saved})
    return render(request, "service/import/mapping.html", context)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    """Download the CSV of rejected rows of one after-sales import job."""
    try:
        job = job_get_for_user(job_id=pk, user=request.user)  # type: ignore[arg-type]  # login_required
        if job.kind != IMPORT_JOB_KIND:
            raise NotFoundError("no such import", field="pk")
        path = report_path_checked((job.result or {}).get("errors_file") or "")
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"aftersales-{pk}-errors.csv")
