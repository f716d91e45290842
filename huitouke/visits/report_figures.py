"""The return-visit report as a stored figure: counting it reads every visit task of the window, each with an
EXISTS over the customer's orders (3 s at a million tasks), while a day's visits move its 30–365-day figures only a
little. So each report asked for (a period of days, all plans or one) is computed once per business day and kept
in analytics' FigureSnapshot, read by every web process: the refresh after an order import and the nightly job
(analytics' refresher registry, `visit_report_refresh`) and the page's "Recompute" recompute the reports stored
before; the page computes one itself only when it is not stored yet or was computed on an earlier day, and says
when it was computed. The window of a stored report ends when it was computed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from huitouke.analytics.snapshots import StoredFigure, figure_keys, figure_read, figure_store, figures_forget
from huitouke.visits.models import VisitPlan
from huitouke.visits.selectors import VisitReport, visit_report

KEY = "visits.report"


@dataclass(frozen=True)
class ReportFigures:
    """The report over the `days` days up to `at` (and the day after: tasks due by tomorrow), of every plan or of
    plan `plan_id`."""

    at: dt.datetime
    days: int
    plan_id: int | None
    report: VisitReport


def _key(days: int, plan_id: int | None) -> str:
    return f"{KEY}:days={days}:plan={plan_id or 'all'}"


def visit_report_compute(*, days: int, plan_id: int | None, now: dt.datetime | None = None) -> ReportFigures:
    """The report computed from the tasks now (what the stored figure must equal)."""
    now = now or timezone.now()
    report = visit_report(start=now - timedelta(days=days), end=now + timedelta(days=1), plan_id=plan_id)
    return ReportFigures(at=now, days=days, plan_id=plan_id, report=report)


def visit_report_figures(*, days: int, plan_id: int | None) -> StoredFigure:
    """The stored report (`.value` a ReportFigures), computed now when it is not stored or of an earlier day."""
    today = timezone.localdate()
    return figure_read(
        key=_key(days, plan_id),
        compute=lambda: visit_report_compute(days=days, plan_id=plan_id),
        current=lambda v: (
            isinstance(v, ReportFigures)
            and (v.days, v.plan_id) == (days, plan_id)
            and timezone.localdate(v.at) == today
        ),
    )


def visit_report_store(*, days: int, plan_id: int | None) -> StoredFigure:
    """Compute the report now and store it (the page's "Recompute")."""
    return figure_store(key=_key(days, plan_id), compute=lambda: visit_report_compute(days=days, plan_id=plan_id))


def visit_report_refresh() -> list[str]:
    """Recompute every report stored before (one of a plan since deleted is dropped); the keys written."""
    keys = figure_keys(prefix=f"{KEY}:")
    plans = set(VisitPlan.objects.values_list("pk", flat=True))
    written, gone = [], []
    for key in keys:
        days_part, plan_part = key[len(KEY) + 1 :].split(":")
        days = int(days_part.split("=")[1])
        plan = plan_part.split("=")[1]
        plan_id = None if plan == "all" else int(plan)
        if plan_id is not None and plan_id not in plans:
            gone.append(key)
            continue
        visit_report_store(days=days, plan_id=plan_id)
        written.append(key)
    if gone:
        figures_forget(keys=gone)
    return written
