"""Analytics pages: the dashboard (the landing page), products, customer groups and cohorts.

Thin: read the selectors, lay them out as panels (reports.py), render; `?export=KEY` downloads that panel's
table as XLSX (`?export=all` every table of the page). The refresh button queues a background Job.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huitouke.analytics import reports, selectors
from huitouke.analytics.level_figures import level_distribution_stored
from huitouke.analytics.registry import TileValue, page_panels, tiles
from huitouke.analytics.services import REFRESH_JOB_KIND
from huitouke.analytics.snapshots import snapshot_read
from huitouke.analytics.tables import Panel, tables_to_xlsx
from huitouke.core.services import job_submit

VIEW = "analytics.view_customerscore"
REFRESH = "analytics.add_scorerun"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name, "")
    if raw.isdigit():
        return max(low, min(high, int(raw)))
    return default


def _page(
    request: HttpRequest, template: str, name: str, panels: list[Panel], context: dict[str, Any]
) -> HttpResponseBase:
    """Render the page, or its tables as XLSX when ?export= names one of them (or `all`)."""
    export = request.GET.get("export", "")
    if export:
        chosen = [p.table for p in panels if export in ("all", p.key)]
        if not chosen:
            raise Http404(_("No table %(key)s on this page.") % {"key": export})
        out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it once sent)
        tables_to_xlsx(chosen, out)
        out.seek(0)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        filename = f"{name}-{export}-{stamp}.xlsx"
        return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX)
    return render(request, template, {"panels": panels, **context})


def _analytics_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(VIEW):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__doc__ = view.__doc__
    wrapped.__name__ = view.__name__
    return login_required(require_GET(wrapped))


@login_required
def dashboard(request: HttpRequest) -> HttpResponseBase:
    """The landing page: customers, repeat rate, revenue and AOV by month, levels, RFM segments and this week's
    movements, plus the tiles other apps register. Users without analytics access land on the customers."""
    if not request.user.has_perm(VIEW):
        return redirect("customers:list")
    if request.method != "GET":
        return HttpResponse(status=405)
    today = timezone.localdate()
    figures = selectors.customer_figures(today=today)
    months = selectors.sales_by_month(months=12, today=today)
    run = selectors.score_run_latest()
    levels, levels_at = level_distribution_stored()
    panels = [
        reports.sales_panel(months),
        reports.segments_panel(run.distribution if run else {}),
        reports.movements_panel(selectors.movements_latest(limit=10)),
        reports.levels_panel(levels, counted_at=levels_at),
    ]
    extra = []
    for tile in tiles():
        if tile.permission and not request.user.has_perm(tile.permission):
            continue
        value: TileValue = tile.value(today, request.user) if tile.per_user else tile.value(today)
        extra.append({"key": tile.key, "title": tile.title, "value": value})
    context = {
        "figures": figures,
        "this_month": months[-1] if months else None,
        "run": run,
        "tiles": extra,
        "can_refresh": request.user.has_perm(REFRESH),
    }
    return _page(request, "analytics/dashboard.html", "dashboard", panels, context)


@_analytics_view
def products(request: HttpRequest) -> HttpResponseBase:
    """Hot, growing, slow and unsold products over the chosen window, and each product's repurchase rate,
    replenishment cycle and refund share."""
    days = _int_param(request, "days", 30, 1, 365)
    stale_days = _int_param(request, "stale_days", 60, 1, 730)
    board = selectors.product_board(days=days, stale_days=stale_days)
    quality = snapshot_read("quality")
    panels = [*reports.product_panels(board), reports.quality_panel(quality)]
    for provider in page_panels("products"):  # figures of apps above analytics (service: complaint share)
        if not provider.permission or request.user.has_perm(provider.permission):
            panels += provider.panels(days, timezone.localdate())
    return _page(
        request,
        "analytics/products.html",
        "products",
        panels,
        {"days": days, "stale_days": stale_days, "windows": (7, 30, 90, 365)},
    )


@_analytics_view
def groups(request: HttpRequest) -> HttpResponseBase:
    """The top 20% of buyers by spend against the other buyers, side by side."""
    comparison = snapshot_read("groups")
    return _page(
        request, "analytics/groups.html", "groups", reports.group_panels(comparison), {"comparison": comparison}
    )


@_analytics_view
def cohorts(request: HttpRequest) -> HttpResponseBase:
    """Monthly first-purchase cohorts: retention heatmap and revenue."""
    months = _int_param(request, "months", 12, 2, 36)
    items = selectors.cohorts(months=months)
    return _page(
        request,
        "analytics/cohorts.html",
        "cohorts",
        reports.cohort_panels(items),
        {"months": months, "choices": (6, 12, 24)},
    )


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Queue a refresh of every score now; the job page shows its progress and links back to the dashboard."""
    if not request.user.has_perm(REFRESH):
        raise PermissionDenied
    job = job_submit(
        kind=REFRESH_JOB_KIND,
        params={
            "title": _("Refresh of the customer scores"),
            "back": reverse("core:home"),
            "summary_template": "analytics/_refresh_summary.html",
        },
        created_by=request.user,
    )
    return redirect("core:job", pk=job.pk)
