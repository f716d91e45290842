"""Orchestration across apps: what runs after an import, and the background tasks the worker executes.

Only this module calls across the app table upward; the apps themselves never call an app above them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from huey import crontab

from huitouke.analytics.rollups import rollups_rebuild, rollups_update
from huitouke.analytics.selectors import score_run_since
from huitouke.analytics.services import REFRESH_JOB_KIND, REFRESH_STAGES, scores_refresh
from huitouke.care.follow_ups import follow_ups_refresh
from huitouke.care.services import product_cycles_refresh
from huitouke.care.ticks import CARE_RUN_JOB_KIND, care_run
from huitouke.connectors.folders import folders_scan_registered
from huitouke.core.audit import audit_prune, record
from huitouke.core.errors import ApplicationError
from huitouke.core.exports import export_job_run, export_kinds
from huitouke.core.fleet import fleet_periodic_task, queue_task
from huitouke.core.models import AuditEntry
from huitouke.core.services import (
    JobTimeLimitExceeded,
    job_fail,
    job_finish,
    job_progress,
    job_register,
    job_start,
    jobs_expire,
    jobs_recover,
    periodic_runs_prune,
)
from huitouke.core.signin import signin_sessions_prune
from huitouke.customers import exports as customer_exports
from huitouke.customers.models import Platform
from huitouke.customers.pipl import customers_retention_erase
from huitouke.loyalty import exports as member_exports
from huitouke.loyalty.floors import level_floors_import
from huitouke.loyalty.services import LEVELS_JOB_KIND, LevelSpec, levels_configure, levels_regrade, levels_review
from huitouke.messaging import exports as message_exports
from huitouke.orders.feed import FeedRequest
from huitouke.orders.importers import ImportFileError, RowError, parse_orders
from huitouke.orders.importing import IMPORT_JOB_KIND, ErrorReport, ImportResult, orders_import_rows
from huitouke.orders.indexes import order_indexes_restore
from huitouke.orders.models import Shop
from huitouke.orders.services import customer_stats_refresh, member_levels_resolve, shop_get_or_create
from huitouke.reviews import exports as review_exports
from huitouke.service import exports as ticket_exports
from huitouke.service.services import sla_tick
from huitouke.visits.services import visits_plan_run

log = logging.getLogger(__name__)


def refresh_after_orders_changed(*, customer_ids: Iterable[int] | None, stats: bool = True) -> dict[str, int]:
    """The follow-ups of new or changed orders, for the touched customers only (None = everyone):
    customer stats (unless the writer refreshed them already: `stats` false), the analytics rollups of their days
    and months, then member levels.

    This is the hook every order writer calls after its transaction (the file import, the live order feed and
    push API, merges): `refresh_after_orders_changed(customer_ids=[…])`. Rescoring follows in the background."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    if ids == []:
        return {"customers_refreshed": 0, "memberships": 0, "rollup_days": 0}
    refreshed = customer_stats_refresh(customer_ids=ids) if stats else 0
    rollups = rollups_update(customer_ids=ids)
    memberships = levels_regrade(customer_ids=ids)
    return {"customers_refreshed": refreshed, "memberships": memberships, "rollup_days": rollups.shop_days}


@dataclass(frozen=True)
class ImportRequest:
    """What to import: the order file, the optional item file (Taobao 宝贝报表), format, shop and mapping."""

    path: str
    items_path: str | None = None
    fmt: str = "auto"
    shop: str = ""
    mapping: dict[str, str] | None = None
    #: keep the member levels the file names (会员级别) as floors (loyalty.floors)
    keep_levels: bool = False

    def as_params(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "items_path": self.items_path,
            "fmt": self.fmt,
            "shop": self.shop,
            "mapping": self.mapping,
            "keep_levels": self.keep_levels,
        }


def _line_count(path: Path) -> int:
    """Newlines in the file: the progress bar's total (cheap: 1 MB reads, no decoding)."""
    count = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count - 1, 1)


def orders_import(
    *, request: ImportRequest, progress: Callable[[int, int], None] | None = None, report_name: str = ""
) -> ImportResult:
    """Import one export (pair) and refresh the touched customers' stats and levels.

    Raises ImportFileError when the file cannot be read at all (nothing is written then). Rows that fail are
    written to an error report CSV under HUITOUKE_HOME/reports; valid rows still land.
    """
    path = Path(request.path)
    items = Path(request.items_path) if request.items_path else None
    tz = settings.TIME_ZONE
    shop: Shop | None = None
    fmt, stream = parse_orders(path, items_path=items, fmt=request.fmt, mapping=request.mapping, tz=tz)
    if request.shop:
        platform = fmt if fmt in Platform.values else Platform.OTHER  # "generic" files belong to no platform
        shop = shop_get_or_create(name=request.shop, platform=platform)
    total = _line_count(path) if progress else 0
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    report = ErrorReport(Path(settings.HUITOUKE_HOME) / "reports" / f"import-errors-{report_name or stamp}.csv")
    result = ImportResult(format=fmt)
    try:
        orders_import_rows(
            stream=stream,
            result=result,
            report=report,
            shop=shop,
            progress=(lambda done: progress(done, total)) if progress else None,
            feed=FeedRequest(
                path=str(path),
                items_path=str(items) if items else None,
                fmt=fmt,
                mapping=request.mapping,
                tz=tz,
            ),
            keep_levels=request.keep_levels,
        )
    except JobTimeLimitExceeded:
        # the batches written so far are complete: their customers' stats and levels follow them
        refresh_after_orders_changed(customer_ids=result.customer_ids)
        raise
    # a large first import refreshed the stats itself, before it built its deferred indexes
    refresh_after_orders_changed(customer_ids=result.customer_ids, stats=not result.stats_refreshed)
    if request.keep_levels:
        _keep_levels(result, report)
    if result.customer_ids:
        analytics_refresh_after_import(timezone.now().isoformat())
    return result


def _keep_levels(result: ImportResult, report: ErrorReport) -> None:
    """Store the imported member levels as floors, after the regrade (which only moves members up, so the order
    does not matter for the levels, and a first import keeps the regrade's fast path); names a shop has no level
    for go to the error report, by row."""
    report.reopen()
    shops = {s.pk: s for s in Shop.objects.filter(pk__in={k[0] for k in result.member_levels})}
    for shop_id, levels in member_levels_resolve(levels=result.member_levels).items():
        floors = level_floors_import(shop=shops[shop_id], levels=levels)
        result.levels_kept += floors.kept
        result.levels_already += floors.already
        result.level_errors += len(floors.unknown)
        for row_no, name, reason in floors.unknown:
            report.add(RowError(row_no, "member_level", name, reason))
    if result.level_errors:
        result.error_report = report.close()


class JobRefused(Exception):
    """Raised by a job's work when it ends without a result for a reason the user should read as it is."""


def _run_job(
    job_id: int,
    label: str,
    work: Callable[[Any], dict[str, Any]],
    expected: tuple[type[Exception], ...] = (),
) -> None:
    """Start the Job, run `work(job)` and record its result. It never ends silently: an `expected` error (or
    JobRefused) fails the Job with its message, anything else with "unexpected error" and the traceback in the
    worker's log. A Job that is not running after `job_start` (cancelled, already done) is left alone. Its work
    stops at the first progress report past the Job's deadline (JobTimeLimitExceeded), failing it with that
    reason."""
    refused: tuple[type[Exception], ...] = (JobRefused, JobTimeLimitExceeded, *expected)
    job = job_start(job_id=job_id)
    if job.status != job.Status.RUNNING:
        return
    try:
        result = work(job)
    except refused as exc:
        job_fail(job_id=job_id, error=getattr(exc, "message", str(exc)))
        return
    except Exception as exc:  # the job must end visibly; the traceback goes to the worker's log
        log.exception("%s job %s failed", label, job_id)
        job_fail(job_id=job_id, error=f"unexpected error: {exc}")
        return
    job_finish(job_id=job_id, result=result)


@fleet_periodic_task(crontab(minute="*"))
def jobs_expire_periodic() -> int:
    """Every minute: queue again the jobs of killed workers (`jobs_recover`), then fail the jobs past their time
    limit (a worker that died mid-job leaves one "running")."""
    recovered = jobs_recover()
    if recovered["workers"]:
        log.warning("lost workers: %s", recovered)
    return jobs_expire()


@fleet_periodic_task(crontab(hour="5", minute="15"))
def periodic_runs_prune_nightly() -> int:
    """Every night: forget the periodic-run claims older than 30 days."""
    return periodic_runs_prune()


@fleet_periodic_task(crontab(hour="2", minute="15"))
def audit_prune_nightly() -> dict[str, int]:
    """Every night at 02:15: remove audit entries past HUITOUKE_AUDIT_RETENTION_DAYS (the removal writes its own
    audit entry) and forget remembered sign-in sessions older than a session can live."""
    return {"removed": audit_prune(), "sessions": signin_sessions_prune()}


@queue_task("imports")
def orders_import_task(job_id: int) -> None:
    """The background import behind the upload page: runs `orders_import` and records progress on the Job."""

    def work(job: Any) -> dict[str, Any]:
        params = job.params
        result = orders_import(
            request=ImportRequest(
                path=params["path"],
                items_path=params.get("items_path"),
                fmt=params.get("fmt", "auto"),
                shop=params.get("shop", ""),
                mapping=params.get("mapping"),
                keep_levels=bool(params.get("keep_levels")),
            ),
            progress=lambda done, total: job_progress(job_id=job_id, done=done, total=total, stage="orders"),
            report_name=f"job{job_id}",
        )
        record(
            actor=job.created_by,
            action=AuditEntry.Action.IMPORT,
            target_type="orders",
            target_id=job_id,
            result=result.as_json(),
        )
        return result.as_json()

    _run_job(job_id, "import", work, (ImportFileError,))


@fleet_periodic_task(crontab(hour="3", minute="30"))
def levels_nightly() -> dict[str, int]:
    """Every night at 03:30: the periodic review of the shops that downgrade at review (drops after the grace
    period, upgrades too), then a regrade of every customer of every shop with levels (catches windows that
    moved and levels changed since the last import). Returns the counts, logged for the worker."""
    review = levels_review()
    memberships = levels_regrade()
    counts = {"reviewed": review.memberships, "review_changes": review.changes, "memberships": memberships}
    log.info("nightly levels: %s", counts)
    return counts


@queue_task("default")
def analytics_refresh_after_import(requested_at: str) -> None:
    """The rescoring that follows an import, in the background: skipped when a refresh has started since the
    import asked for one (several imports in a row cost one refresh, not one each)."""
    if score_run_since(datetime.fromisoformat(requested_at)):
        return
    scores_refresh()


@queue_task("default")
def analytics_refresh_task(job_id: int) -> None:
    """The refresh behind the dashboard's "Refresh now" button, with its stages as the Job's progress."""
    total = len(REFRESH_STAGES)

    def progress(stage: str) -> None:
        job_progress(job_id=job_id, done=REFRESH_STAGES.index(stage), total=total, stage=stage)

    _run_job(job_id, "analytics refresh", lambda job: scores_refresh(progress=progress).as_json())


@fleet_periodic_task(crontab(hour="4", minute="0"))
def analytics_nightly() -> dict[str, Any]:
    """Every night at 04:00 (after the levels at 03:30): rescore every buyer, so recency, P(alive) and the
    weekly RFM snapshot move on even on days without imports."""
    result = scores_refresh()
    log.info("nightly analytics: %s customers in %.1f s", result.customers, result.seconds)
    return {"customers": result.customers, "fit_error": result.fit_error}


@fleet_periodic_task(crontab(hour="3", minute="45"))
def analytics_rollups_nightly() -> dict[str, Any]:
    """Every night at 03:45 (before the rescoring at 04:00): rebuild the analytics rollups from every order, so
    a change no writer reported (an order moved to another day, a bulk load) is mended within a day. First any
    order index an interrupted large import left unbuilt is built (orders.indexes)."""
    order_indexes_restore()
    result = rollups_rebuild()
    log.info("nightly rollups: %s", result.as_json())
    return result.as_json()


@queue_task("default")
def levels_save_task(job_id: int) -> None:
    """The background save behind the levels page for a large shop: `levels_configure` with the edited levels and
    policy (the grading is a few set-based statements in one transaction, so the page shows an open progress bar
    with the stage, then the counts)."""

    def work(job: Any) -> dict[str, Any]:
        params = job.params
        shop = Shop.objects.get(pk=params["shop_id"])
        specs = [
            LevelSpec(
                name=lv["name"],
                min_amount=Decimal(lv["min_amount"]),
                min_orders=int(lv["min_orders"]),
                discount=int(lv["discount"]),
                benefits=lv.get("benefits", ""),
            )
            for lv in params["levels"]
        ]
        job_progress(job_id=job_id, done=0, stage="levels")
        saved = levels_configure(
            shop=shop,
            specs=specs,
            window_months=params.get("window_months"),
            downgrade=params.get("downgrade", "never"),
            grace_days=int(params.get("grace_days", 30)),
            actor=job.created_by,
            remove_all=bool(params.get("remove_all", False)),
        )
        return saved.as_json()

    _run_job(job_id, "levels", work, (ApplicationError, Shop.DoesNotExist))


@fleet_periodic_task(crontab(minute="*/5"))
def care_tick() -> dict[str, int]:
    """Every five minutes: the care tick. Each rule fires from its send time in its shop's time; daily rules
    (birthdays, holidays, follow-ups …) once per shop day, order events on every tick; nothing is ever sent
    twice for one (rule, customer, occasion). Then the stored follow-ups (unsubscribed, ordered within 7 days) of
    the activations whose reached messages changed are counted again."""
    report = care_run(periodic=True)
    enqueued = sum(r.enqueued for r in report.rules)
    if enqueued or report.failed:
        log.info("care tick: %s messages from %s rules, %s failed", enqueued, len(report.rules), len(report.failed))
    counted = follow_ups_refresh(changed_only=True)
    return {"rules": len(report.rules), "enqueued": enqueued, "failed": len(report.failed), "follow_ups": counted}


@fleet_periodic_task(crontab(minute="*"))
def service_sla_tick() -> dict[str, Any]:
    """Every minute: the SLA tick marks breaching-soon and breached tickets, records each breach once, notifies
    owners, first owners and managers, and escalates unassigned tickets past their first response."""
    result = sla_tick()
    if any(result.breached.values()) or result.escalated:
        log.info("SLA tick: %s breached, %s escalated", sum(result.breached.values()), result.escalated)
    return result.as_json()


@fleet_periodic_task(crontab(minute="7"))
def visits_plan_hourly() -> dict[str, int]:
    """Every hour: each enabled visit plan creates the return-visit tasks that are due (exactly one per plan,
    customer and occasion), assigned and spread over the agents' daily capacity."""
    results = visits_plan_run()
    created = sum(r.created for r in results)
    if created:
        log.info("visit plans: %s tasks from %s plans", created, len(results))
    return {"plans": len(results), "created": created}


@fleet_periodic_task(crontab(hour="2", minute="45"))
def pii_retention_nightly() -> dict[str, int]:
    """Every night at 02:45: customers with no order for HUITOUKE_PII_RETENTION_YEARS years (0: off) are
    anonymised as a PIPL erasure would (each one audited as an erasure by "system")."""
    erased = customers_retention_erase()
    if erased:
        log.info("retention: %s customers anonymised", erased)
    return {"erased": erased}


@fleet_periodic_task(crontab(hour="4", minute="30"))
def care_cycles_nightly() -> dict[str, int]:
    """Every night at 04:30 (after the analytics refresh): relearn the products' repurchase cycles that
    replenishment reminders read, so the day's ticks do not scan two years of order lines."""
    return {"products": product_cycles_refresh()}


@queue_task("default")
def care_run_task(job_id: int) -> None:
    """The "Run now" button of a care rule: the tick for that rule at once, its progress and result on the Job."""

    def work(job: Any) -> dict[str, Any]:
        report = care_run(
            rule_ids=[int(job.params["rule_id"])],
            progress=lambda name, done: job_progress(job_id=job_id, done=done, stage=name),
        )
        if not report.rules:
            raise JobRefused("the rule is not enabled or its validity has ended")
        result = report.rules[0]
        if result.error:
            raise JobRefused(result.error)
        return result.as_json()

    _run_job(job_id, "care run", work)


job_register(IMPORT_JOB_KIND, orders_import_task)


def watched_file_import(path: str, items_path: str | None, shop: str) -> ImportResult:
    """How a watched folder imports a file (connectors.folders): the same import as an upload."""
    return orders_import(request=ImportRequest(path=path, items_path=items_path, shop=shop))


@fleet_periodic_task(crontab(minute="*"))
def folders_watch_periodic() -> dict[str, int]:
    """Every minute: each watched folder (`huitouke import-watch DIR --shop NAME --register`) is looked at once;
    complete files are imported and moved to done/ or failed/."""
    counts = folders_scan_registered(importer=watched_file_import)
    if counts["imported"] or counts["failed"]:
        log.info("watched folders: %s", counts)
    return counts


@queue_task("default")
def export_task(job_id: int) -> None:
    """The background export of a long list (customers, members, messages, tickets, reviews: every kind in
    core.exports.export_kinds): the list's filters as they were asked, masked for the person who asked unless they
    may see contact data, audited as theirs, the file under HUITOUKE_HOME/reports, progress by rows."""
    _run_job(job_id, "export", export_job_run, (ApplicationError, ObjectDoesNotExist))


#: the apps' export kinds (their modules register them on import)
EXPORT_MODULES = (customer_exports, member_exports, message_exports, ticket_exports, review_exports)
for _kind in export_kinds.all():
    job_register(_kind.name, export_task)
job_register(LEVELS_JOB_KIND, levels_save_task)
job_register(REFRESH_JOB_KIND, analytics_refresh_task)
job_register(CARE_RUN_JOB_KIND, care_run_task)
