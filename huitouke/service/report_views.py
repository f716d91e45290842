"""Service report pages for managers and owners: staff performance (per agent, type and product) with the
compensation ledger, and the recovery effect. `?export=KEY` downloads a table as XLSX (`all`: every table of the
page); exports are audited. The figures hold staff names and counts, no customer's contact data."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huitouke.analytics.tables import Panel, tables_to_xlsx
from huitouke.core.services import audit_log
from huitouke.orders.models import Shop
from huitouke.service import performance as perf
from huitouke.service import performance_figures, report_figures, report_selectors, reports

PERMISSION = "service.configure_service"  # managers and owners
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _shop(request: HttpRequest, *, posted: bool = False) -> Shop | None:
    name = (request.POST if posted else request.GET).get("shop", "").strip()
    if not name:
        return None
    shop = Shop.objects.filter(name=name).first()
    if shop is None:
        raise Http404(_("No shop named %(name)s.") % {"name": name})
    return shop


def _render(
    request: HttpRequest, template: str, name: str, panels: list[Panel], context: dict[str, Any]
) -> HttpResponseBase:
    export = request.GET.get("export", "")
    if export:
        chosen = [p.table for p in panels if export in ("all", p.key)]
        if not chosen:
            raise Http404(_("No table %(key)s on this page.") % {"key": export})
        audit_log(
            actor=request.user,
            action="export",
            target_type="service_report",
            target_id=f"{name}:{export}",
            params=request.GET.urlencode()[:500],
        )
        out = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it once sent)
        tables_to_xlsx(chosen, out)
        out.seek(0)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return FileResponse(
            out, as_attachment=True, filename=f"service-{name}-{export}-{stamp}.xlsx", content_type=XLSX
        )
    context["shops"] = list(Shop.objects.order_by("name").values_list("name", flat=True)[:200])
    return render(request, template, {"panels": panels, **context})


@login_required
@require_GET
def performance(request: HttpRequest) -> HttpResponseBase:
    """Staff performance over a period (default the last 30 days): per agent, per ticket type and per product,
    and the compensation ledger by product, kind, reason and agent: the figures stored for the period and shop
    (performance_figures), computed here only when none are stored for today yet."""
    _allowed(request)
    shop = _shop(request)
    today = timezone.localdate()
    try:
        period = report_selectors.period_from(request.GET.get("start", ""), request.GET.get("end", ""), today=today)
    except ValueError as exc:
        period = report_selectors.period_from("", "", today=today)
        error = _("%(field)s: give a date like 2026-05-01 (and start no later than end).") % {"field": str(exc)}
    else:
        error = ""
    stored = performance_figures.performance_figures(period=period, shop=shop)
    fig = stored.value
    panels = [
        reports.staff_panel(fig.agents, fig.csat),
        reports.type_panel(fig.types),
        reports.product_panel(fig.products),
        *(reports.compensation_panel(by, fig.compensation[by]) for by in report_selectors.COMPENSATION_GROUPS),
    ]
    context = {
        "period": period,
        "shop": shop.name if shop else "",
        "error": error,
        "count": fig.count,
        "computed_at": stored.computed_at,
        "seconds": stored.seconds,
    }
    return _render(request, "service/reports/performance.html", "performance", panels, context)


@login_required
@require_POST
def performance_refresh(request: HttpRequest) -> HttpResponseBase:
    """Recompute the stored performance figures of the period and shop shown, in the background."""
    from huitouke.service.tasks import performance_figures_task

    _allowed(request)
    shop = _shop(request, posted=True)
    today = timezone.localdate()
    try:
        period = report_selectors.period_from(request.POST.get("start", ""), request.POST.get("end", ""), today=today)
    except ValueError:
        period = report_selectors.period_from("", "", today=today)
    performance_figures_task(period.start.isoformat(), period.end.isoformat(), shop.pk if shop else None)
    messages.info(request, _("The figures are being recomputed; reload the page in a minute to see them."))
    query = {"start": period.start.isoformat(), "end": period.end.isoformat(), **({"shop": shop.name} if shop else {})}
    return redirect(f"{reverse('service_reports:performance')}?{urlencode(query)}")


@login_required
@require_GET
def recovery(request: HttpRequest) -> HttpResponseBase:
    """Repurchase within 90 and 180 days after a resolved ticket, an unresolved one, and without any ticket: the
    figures stored for today (report_figures), computed here only when there are none for today yet."""
    _allowed(request)
    shop = _shop(request)
    stored = report_figures.recovery_figures(shop=shop)
    rates: list[perf.Rate] = []
    for days in report_selectors.RECOVERY_WINDOWS:
        rates += perf.rates(stored.value.counts[days], days)
    panels = [reports.recovery_panel(rates)]
    context = {"shop": shop.name if shop else "", "computed_at": stored.computed_at, "seconds": stored.seconds}
    return _render(request, "service/reports/recovery.html", "recovery", panels, context)


@login_required
@require_POST
def recovery_refresh(request: HttpRequest) -> HttpResponseBase:
    """Recompute the stored recovery figures (all shops and each shop viewed) in the background."""
    from huitouke.service.tasks import recovery_figures_task

    _allowed(request)
    recovery_figures_task()
    messages.info(request, _("The figures are being recomputed; reload the page in a minute to see them."))
    url = reverse("service_reports:recovery")
    shop = request.POST.get("shop", "").strip()[:200]
    return redirect(f"{url}?{urlencode({'shop': shop})}" if shop else url)
