"""Core reads."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from huitouke.core.models import ApiToken, AuditEntry


def token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def audit_list(*, target_type: str = "", target_id: str = "") -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("actor")
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    return qs
