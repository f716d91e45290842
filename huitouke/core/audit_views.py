"""The owners' audit page: filter the trail by person, action, object, outcome and date, page through it and
download what matches as XLSX. Contact data inside entries is always shown masked (`core.audit.detail_masked`)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from huitouke.core.audit import detail_masked, record
from huitouke.core.models import AuditEntry
from huitouke.core.selectors import AuditFilter, audit_count, audit_entries, audit_target_types
from huitouke.core.text import sheet_cells

AUDIT_PERMISSION = "core.view_audit_trail"
#: the most rows one XLSX download holds (narrow the filters for more)
EXPORT_MAX_ROWS = 100_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=gettext_lazy("Person"), max_length=150, required=False)
    action = forms.ChoiceField(
        label=gettext_lazy("Action"), required=False, choices=[("", "—"), *AuditEntry.Action.choices]
    )
    target_type = forms.CharField(label=gettext_lazy("Object type"), max_length=64, required=False)
    target_id = forms.CharField(label=gettext_lazy("Object id"), max_length=64, required=False)
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), required=False, choices=[("", "—"), *AuditEntry.Outcome.choices]
    )
    date_from = forms.DateField(label=gettext_lazy("Date from"), required=False)
    date_to = forms.DateField(label=gettext_lazy("Date to"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            actor=data.get("actor", "").strip(),
            action=data.get("action", ""),
            target_type=data.get("target_type", "").strip(),
            target_id=data.get("target_id", "").strip(),
            outcome=data.get("outcome", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class CappedPaginator(Paginator):
    """Pages over at most AUDIT_COUNT_CAP entries (narrow the filters to reach older ones): counting a trail of
    millions on every page view would cost a scan of it."""

    capped = False

    @cached_property
    def count(self) -> int:
        total, self.capped = audit_count(self.object_list)  # type: ignore[arg-type]  # built over a QuerySet
        return total


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def audit_export_rows(entries: Iterable[AuditEntry]) -> Iterable[list[Any]]:
    labels = dict(AuditEntry.Action.choices)
    outcomes = dict(AuditEntry.Outcome.choices)
    tz = timezone.get_current_timezone()
    for e in entries:
        yield [
            e.pk,
            timezone.localtime(e.created_at, tz).replace(tzinfo=None),
            _cell(e.actor_name),
            str(labels.get(e.action, e.action)),
            e.action,
            _cell(e.target_type),
            _cell(e.target_id),
            str(outcomes.get(e.outcome, e.outcome)),
            e.ip,
            _cell(json.dumps(detail_masked(e.detail), ensure_ascii=False, sort_keys=True)),
        ]


def audit_export_xlsx(*, filters: AuditFilter, actor: Any) -> tuple[bytes, int]:
    """The matching entries (at most EXPORT_MAX_ROWS, newest first) as an XLSX workbook; the download itself is
    audited (action export, object audit). Returns the file and its row count."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_("Audit trail")[:31])
    sheet.append(
        [_("ID"), _("When"), _("Person"), _("Action"), _("Code"), _("Object type"), _("Object id"), _("Outcome"),
         _("Address"), _("Detail")]
    )  # fmt: skip
    count = 0
    qs = audit_entries(filters=filters)[:EXPORT_MAX_ROWS]
    for row in audit_export_rows(qs.iterator(chunk_size=2000)):
        sheet.append(sheet_cells(row))
        count += 1
    out = io.BytesIO()
    book.save(out)
    record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        target_type="audit",
        rows=count,
        filters={k: str(v) for k, v in filters.__dict__.items() if v},
    )
    return out.getvalue(), count


@login_required
@permission_required(AUDIT_PERMISSION, raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    """Owners: the audit trail, filtered and paginated; `?format=xlsx` downloads what matches."""
    form = AuditFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    filters = form.to_filter() if form.is_bound and not invalid else AuditFilter()
    entries = AuditEntry.objects.none() if invalid else audit_entries(filters=filters)
    if request.GET.get("format") == "xlsx" and not form.errors:
        data, _count = audit_export_xlsx(filters=filters, actor=request.user)
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        stamp = datetime.now(tz=timezone.get_current_timezone()).strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.xlsx"'
        return response
    paginator = CappedPaginator(entries, settings.HUITOUKE_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(e, detail_masked(e.detail)) for e in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "core/audit_list.html",
        {
            "form": form,
            "page": page,
            "capped": paginator.capped,
            "rows": rows,
            "target_types": audit_target_types(),
            "query": query.urlencode(),
        },
    )
