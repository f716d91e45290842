"""`GET /api/v1/audit`: the audit trail for owners, with the audit page's filters as query parameters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from huitouke.core.api import errors, require_perms
from huitouke.core.audit import detail_masked
from huitouke.core.audit_views import AUDIT_PERMISSION
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.core.selectors import AuditFilter, audit_count, audit_entries

router = Router(tags=["audit"])

API_PAGE_SIZE_MAX = 500


class AuditQuery(Schema):
    actor: str = Field("", max_length=150, description="user name of the person who acted (exact)")
    action: AuditEntry.Action | None = Field(None, description="what was done")
    target_type: str = Field("", max_length=64, description="object type, e.g. customer, user, token, channel")
    target_id: str = Field("", max_length=64, description="object id (with target_type)")
    outcome: AuditEntry.Outcome | None = None
    date_from: date | None = Field(None, description="first day, inclusive (shop time zone)")
    date_to: date | None = Field(None, description="last day, inclusive (shop time zone)")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.HUITOUKE_PAGE_SIZE, ge=1, le=API_PAGE_SIZE_MAX)


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    actor: str = Field(..., description="user name (the typed name for a failed sign-in; system for jobs)")
    action: str
    target_type: str
    target_id: str
    outcome: str
    ip: str = Field(..., description="the requesting address; empty for commands and background jobs")
    detail: dict[str, Any] = Field(..., description="what else was recorded; contact data masked")


class AuditPage(Schema):
    items: list[AuditEntryOut]
    count: int = Field(..., description="entries matching, counted up to 10,000 (see count_capped)")
    count_capped: bool = Field(..., description="true when more than 10,000 entries match: narrow the filters")


@router.get("/audit", response=AuditPage, summary="Read the audit trail (owners)", openapi_extra=errors())
def audit_list(request: HttpRequest, query: Query[AuditQuery]) -> dict[str, Any]:
    """Audit entries matching the filters, newest first, one page at a time. Only owners (core.view_audit_trail)
    may read it; everyone else gets 403."""
    require_perms(request, AUDIT_PERMISSION)
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise ApplicationError("date_to is before date_from", field="date_to")
    filters = AuditFilter(
        actor=query.actor.strip(),
        action=query.action.value if query.action else "",
        target_type=query.target_type.strip(),
        target_id=query.target_id.strip(),
        outcome=query.outcome.value if query.outcome else "",
        date_from=query.date_from,
        date_to=query.date_to,
    )
    qs = audit_entries(filters=filters)
    count, capped = audit_count(qs)
    start = (query.page - 1) * query.page_size
    rows = list(qs[start : start + query.page_size])
    return {
        "items": [
            AuditEntryOut(
                id=e.pk,
                created_at=e.created_at,
                actor=e.actor_name,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                outcome=e.outcome,
                ip=e.ip,
                detail=detail_masked(e.detail),
            )
            for e in rows
        ],
        "count": count,
        "count_capped": capped,
    }
