"""Hooks of the service reports and the after-sales import into apps below service: the complaint share per
product on analytics' products page, the stored recovery figures refreshed with analytics' stored figures (after
order imports and nightly), and the import's background job kind."""

from __future__ import annotations

from datetime import date
from typing import Any


def _complaint_panels(days: int, today: date) -> list[Any]:
    from huitouke.service import report_selectors, reports

    return [reports.complaint_panel(report_selectors.complaint_share(days=days, today=today))]


def register() -> None:
    from huitouke.analytics.registry import PagePanels, register_page_panels
    from huitouke.analytics.snapshots import register_refresher
    from huitouke.service import performance_figures, report_figures, tasks

    tasks.register()
    register_refresher(report_figures.KEY, report_figures.recovery_figures_refresh)
    register_refresher(performance_figures.KEY, performance_figures.performance_figures_refresh)

    register_page_panels(
        PagePanels(
            key="service-complaints", page="products", panels=_complaint_panels, permission="service.view_ticket"
        )
    )
