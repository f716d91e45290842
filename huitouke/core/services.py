"""Core services: users with a role, the audit log and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import ApiToken, AuditEntry, Job
from huitouke.core.roles import ROLE_PERMISSIONS, roles_sync

TOKEN_PREFIX = "htk_"


def user_create(*, username: str, role: str, password: str, email: str = "", validate: bool = True) -> User:
    """Create a user holding one role (owner, manager, agent, marketer).

    Raises ApplicationError naming `role`, `username` or `password` when one is unacceptable.
    """
    if role not in ROLE_PERMISSIONS:
        raise ApplicationError(f"unknown role {role!r}; choose one of {', '.join(ROLE_PERMISSIONS)}", field="role")
    username = username.strip()
    if not username:
        raise ApplicationError("the user name is empty", field="username")
    if User.objects.filter(username=username).exists():
        raise ApplicationError(f"user {username!r} already exists", field="username")
    if validate:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages), field="password") from exc
    with transaction.atomic():
        if not Group.objects.filter(name=role).exists():
            roles_sync()
        user = User(username=username, email=email, is_staff=False)
        user.set_password(password)
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            raise ApplicationError(" ".join(messages), field=name) from exc
        user.save()
        user.groups.add(Group.objects.get(name=role))
    return user


def audit_log(*, actor: Any, action: str, target_type: str = "", target_id: Any = "", **detail: Any) -> AuditEntry:
    """Write one audit entry (who, what, when). `actor` may be None for system actions."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail,
    )


def audit_unmasked(*, actor: Any, unmasked: bool, target_type: str, ids: list[Any], **detail: Any) -> None:
    """One audit entry (action unmask) for a response that shows contact data unmasked: `ids` are the records
    shown with it (one id is written as the target, several as a list). Nothing is written for a masked response
    or one that shows no contact data (`ids` empty)."""
    if not unmasked or not ids:
        return
    if len(ids) == 1:
        audit_log(actor=actor, action=AuditEntry.Action.UNMASK, target_type=target_type, target_id=ids[0], **detail)
    else:
        audit_log(actor=actor, action=AuditEntry.Action.UNMASK, target_type=target_type, ids=ids, **detail)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, user: User, name: str = "", scope: str = "") -> tuple[ApiToken, str]:
    """Create an API token for `user`, optionally limited to `scope` (ApiToken.Scope); returns the row and the
    clear-text key, which is never stored. Raises ApplicationError for an unknown scope."""
    if scope not in ApiToken.Scope.values:
        raise ApplicationError(
            f"unknown scope {scope!r} (known: {', '.join(filter(None, ApiToken.Scope.values))})", field="scope"
        )
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:64], prefix=key[:12], key_hash=_hash(key), scope=scope)
        audit_log(
            actor=user,
            action=AuditEntry.Action.TOKEN,
            target_type="token",
            target_id=token.pk,
            op="create",
            **({"scope": scope} if scope else {}),
        )
    return token, key


def token_revoke(*, token_id: int, user: User) -> ApiToken:
    """Revoke one of `user`'s tokens (owners may revoke anyone's). Revoking twice is harmless."""
    qs = ApiToken.objects.all() if user.has_perm("auth.change_user") else ApiToken.objects.filter(user=user)
    token = qs.filter(pk=token_id).first()
    if token is None:
        raise NotFoundError(f"token {token_id} not found", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_log(actor=user, action=AuditEntry.Action.TOKEN, target_type="token", target_id=token.pk, op="revoke")
    return token


def token_authenticate(key: str) -> User | None:
    """The active user behind a clear-text key, or None. Records when the token was last used."""
    token = token_lookup(key)
    return None if token is None else token.user


def token_lookup(key: str) -> ApiToken | None:
    """The active token (with its user) behind a clear-text key, or None. Records when it was last used."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(key), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def job_create(*, kind: str, params: dict[str, Any] | None = None, created_by: Any = None) -> Job:
    """Record a queued background job; the caller enqueues the work on commit."""
    user = created_by if getattr(created_by, "is_authenticated", False) else None
    return Job.objects.create(kind=kind, params=params or {}, created_by=user)


def job_start(*, job_id: int) -> Job:
    """Mark a job running, with its deadline (HUITOUKE_JOB_TIME_LIMIT from now). A job that already finished is
    left alone (a re-delivered task does nothing). Jobs of others past their deadline are failed on the way
    (`jobs_expire`): a worker that picks up work also clears what a crashed one left "running"."""
    now = timezone.now()
    jobs_expire(now=now)
    Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        updated_at=now,
        deadline=now + timedelta(seconds=settings.HUITOUKE_JOB_TIME_LIMIT),
    )
    return Job.objects.get(pk=job_id)


class JobTimeLimitExceeded(Exception):
    """Raised by `job_progress` into the work of a job past its deadline (or already failed as such): the work
    stops there and the job ends failed with the reason."""

    def __init__(self, job_id: int) -> None:
        super().__init__(time_limit_reason())
        self.job_id = job_id


#: stored as written (the job page translates it for its reader: the worker has no reader's language)
TIME_LIMIT_REASON = gettext_noop(
    "Stopped: the job took longer than its time limit (HUITOUKE_JOB_TIME_LIMIT), or its worker stopped. "
    "Anything it wrote is complete; you can run it again."
)


def time_limit_reason() -> str:
    return TIME_LIMIT_REASON


def job_progress(*, job_id: int, done: int, total: int | None = None, stage: str = "") -> None:
    """Record progress; written outside any import transaction so that pages see it at once. Raises
    JobTimeLimitExceeded when the job is past its deadline or was failed meanwhile (the work stops there)."""
    now = timezone.now()
    values: dict[str, Any] = {"done": done, "updated_at": now}
    if total is not None:
        values["total"] = total
    if stage:
        values["stage"] = stage[:64]
    updated = (
        Job.objects.filter(pk=job_id)
        .exclude(status=Job.Status.FAILED)
        .filter(Q(deadline__isnull=True) | Q(deadline__gte=now))
        .update(**values)
    )
    if not updated and Job.objects.filter(pk=job_id).exists():
        raise JobTimeLimitExceeded(job_id)


def jobs_expire(*, now: datetime | None = None) -> int:
    """Fail every running job past its deadline with the reason (the worker ran out of time, or is gone: a job
    whose worker died mid-way would otherwise show "running" forever). Returns how many were failed."""
    now = now or timezone.now()
    return Job.objects.filter(status=Job.Status.RUNNING, deadline__lt=now).update(
        status=Job.Status.FAILED, error=time_limit_reason()[:1000], finished_at=now, updated_at=now
    )


def job_finish(*, job_id: int, result: dict[str, Any]) -> Job:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.DONE, result=result, finished_at=timezone.now(), updated_at=timezone.now()
    )
    return Job.objects.get(pk=job_id)


def job_fail(*, job_id: int, error: str) -> Job:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED,
        error=error.splitlines()[0][:1000] if error else "failed",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return Job.objects.get(pk=job_id)


#: kind → function that queues the job's work (registered by huitouke/jobs.py at start-up).
JOB_RUNNERS: dict[str, Any] = {}


def job_register(kind: str, enqueue: Any) -> None:
    """Make `kind` submittable: `enqueue(job_id)` queues the background task for a committed Job row."""
    JOB_RUNNERS[kind] = enqueue


def job_submit(*, kind: str, params: dict[str, Any], created_by: Any = None) -> Job:
    """Record a job and queue it for the worker once the surrounding transaction commits (never run in the
    request). Raises ApplicationError for a kind nobody registered."""
    if kind not in JOB_RUNNERS:
        raise ApplicationError(f"unknown job kind {kind!r}", field="kind")
    job = job_create(kind=kind, params=params, created_by=created_by)
    runner = JOB_RUNNERS[kind]
    transaction.on_commit(lambda: runner(job.pk))
    return job
