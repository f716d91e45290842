"""Core reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from huitouke.core.errors import NotFoundError
from huitouke.core.models import ApiToken, AuditEntry, Job


def token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def audit_list(*, target_type: str = "", target_id: str = "") -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("actor")
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    return qs


def _jobs_visible_to(user: User) -> QuerySet[Job]:
    """Owners and managers see every job; everyone else their own."""
    return Job.objects.all() if user.has_perm("core.view_audit") else Job.objects.filter(created_by=user)


def job_get_for_user(*, job_id: int, user: User) -> Job:
    """A job the user may watch: their own, or any job for owners and managers. Raises NotFoundError."""
    job = _jobs_visible_to(user).filter(pk=job_id).first()
    if job is None:
        raise NotFoundError(f"job {job_id} not found", field="id")
    return job


def job_list(*, kind: str, user: User, limit: int = 10) -> list[Job]:
    """The newest jobs of one kind the user may see (their own; all for owners and managers)."""
    qs = _jobs_visible_to(user).filter(kind=kind).select_related("created_by")
    return list(qs.order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page and `GET /api/v1/audit` filter by: the person (user name, exact), the action, the
    object (type, and id within it), the outcome and a date range (inclusive, in the shop's time zone)."""

    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    outcome: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(*, filters: AuditFilter) -> QuerySet[AuditEntry]:
    """Audit entries matching `filters`, newest first (each filter is an indexed column)."""
    qs = AuditEntry.objects.all()
    if filters.actor:
        qs = qs.filter(actor_name=filters.actor)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if filters.target_id:
        qs = qs.filter(target_id=filters.target_id)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return qs.order_by("-created_at", "-id")


#: Counting a whole large trail costs a scan of it; counts stop here (pages and the API say "at least").
AUDIT_COUNT_CAP = 10_000


def audit_count(qs: QuerySet[AuditEntry], *, cap: int = AUDIT_COUNT_CAP) -> tuple[int, bool]:
    """How many entries `qs` holds, counted up to `cap` (one COUNT over a LIMIT subquery), and whether it stopped
    there."""
    counted = qs.order_by()[: cap + 1].count()
    return min(counted, cap), counted > cap


#: The object types the product writes (suggestions for the audit page's filter; reading the distinct values of a
#: large trail would cost a scan of it on every page view).
AUDIT_TARGET_TYPES = (
    "aftersales", "audit", "campaign", "canned_reply", "care_rule", "channel", "credit_settings", "customer",
    "customer_list", "customer_search", "lockout", "message", "orders", "playbook", "reply_image", "reviews",
    "segment", "shop", "sla_policy", "survey_question", "token", "user", "visit_plan",
)  # fmt: skip


def audit_target_types() -> list[str]:
    """The object types to suggest in the audit page's filter."""
    return list(AUDIT_TARGET_TYPES)
