"""The audit trail: one entry per security-relevant action (who, what, which object, when, from which address,
with what outcome).

Every app writes through `record` (one line at the place the action happens); the requesting address comes from
`AuditAddressMiddleware`, which keeps it for the length of the request, so callers never pass it. Work without a
request (commands, the worker) records an empty address. Entries are append-only (`AuditEntry.save` and its
queryset refuse changes); `audit_prune` removes entries older than HUITOUKE_AUDIT_RETENTION_DAYS and records that
it did — the nightly job and `huitouke audit-prune` call it.

For other apps (e.g. the PIPL data requests): `record(actor=request.user, action=AuditEntry.Action.DATA_EXPORT,
target_type="customer", target_id=customer.pk, outcome=AuditEntry.Outcome.SUCCESS, fmt="xlsx")` — keyword
arguments beyond the named ones go into the entry's `detail` (JSON; no contact data in clear text).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from huitouke.core.models import AuditEntry
from huitouke.core.pii import mask_address, mask_email, mask_identifier, mask_phone

#: The address of the request being served (set by AuditAddressMiddleware); empty outside a request.
_address: ContextVar[str] = ContextVar("huitouke_audit_address", default="")


def client_ip(request: HttpRequest) -> str:
    """The requesting address as the server sees it (REMOTE_ADDR; behind a proxy the proxy must set it). Also the
    address django-axes counts failed sign-ins by (AXES_CLIENT_IP_CALLABLE)."""
    return str(request.META.get("REMOTE_ADDR") or "")[:64]


class AuditAddressMiddleware:
    """Keep the request's address for `record` while the request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _address.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _address.reset(token)


def current_address() -> str:
    return _address.get()


def record(
    *,
    actor: Any,
    action: str,
    target_type: str = "",
    target_id: Any = "",
    outcome: str = AuditEntry.Outcome.SUCCESS,
    ip: str | None = None,
    actor_name: str = "",
    **detail: Any,
) -> AuditEntry:
    """Write one audit entry. `actor` is the user who acted (None or an anonymous user for the system or a
    stranger; `actor_name` then names them, e.g. the user name typed at a failed sign-in). `ip` defaults to the
    current request's address. Extra keyword arguments are stored as the entry's detail."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    name = user.get_username() if user else (actor_name or "system")
    return AuditEntry.objects.create(
        actor=user,
        actor_name=name[:150],
        action=action,
        target_type=target_type[:64],
        target_id=str(target_id)[:64],
        detail=detail,
        ip=(current_address() if ip is None else ip)[:64],
        outcome=outcome,
    )


def audit_prune(*, now: datetime | None = None, days: int | None = None) -> int:
    """Remove the audit entries older than the retention period (`days`, default HUITOUKE_AUDIT_RETENTION_DAYS;
    0 keeps everything) and record one `prune` entry saying how many went and up to when. Returns the count."""
    days = settings.HUITOUKE_AUDIT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    with transaction.atomic():
        removed = AuditEntry.objects.filter(created_at__lt=cutoff)._prune()
        record(
            actor=None,
            action=AuditEntry.Action.PRUNE,
            target_type="audit",
            removed=removed,
            before=cutoff.isoformat(),
            retention_days=days,
        )
    return removed


#: detail keys whose values are contact data, and how each is masked for display
_PHONE_KEYS = {"phone", "mobile", "tel", "receiver_phone"}
_EMAIL_KEYS = {"email"}
_ADDRESS_KEYS = {"address", "street", "receiver_address"}
_NAME_KEYS = {"real_name", "receiver", "receiver_name"}


def detail_masked(value: Any, key: str = "") -> Any:
    """An entry's detail as the audit page, API and export show it: contact data masked by what the key means
    (phone, email, address, real name) and any phone or email inside other text masked as well. The trail says
    who saw or changed whose data, never the data itself."""
    if isinstance(value, dict):
        return {k: detail_masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [detail_masked(v, key) for v in value]
    if not isinstance(value, str):
        return value
    if key in _PHONE_KEYS:
        return mask_phone(value)
    if key in _EMAIL_KEYS:
        return mask_email(value)
    if key in _ADDRESS_KEYS:
        return mask_address(value)
    if key in _NAME_KEYS:
        return value[:1] + "*" * max(len(value) - 1, 1) if value else ""
    return mask_identifier(value)
