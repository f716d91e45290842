"""Core reads."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

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
