"""Core services: users with a role, the audit log and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import ApiToken, AuditEntry, Job, PeriodicRun, WorkerBeat
from huitouke.core.roles import ROLE_PERMISSIONS, roles_sync

TOKEN_PREFIX = "htk_"


def user_create(
    *, username: str, role: str, password: str, email: str = "", validate: bool = True, actor: Any = None
) -> User:
    """Create a user holding one role (owner, manager, agent, marketer); audited (action user, op create).
    The password passes Django's validators (AUTH_PASSWORD_VALIDATORS) unless `validate` is off (the demo).

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
            validate_password(password, user=User(username=username, email=email))
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
        record(
            actor=actor, action=AuditEntry.Action.USER, target_type="user", target_id=user.pk, op="create", role=role
        )
    return user


def user_role_set(*, username: str, role: str, actor: Any = None) -> User:
    """Give an existing user exactly one role (replacing the one they had); audited (action user, op role, with
    the roles before and after). Raises ApplicationError naming `role` or NotFoundError naming `username`."""
    if role not in ROLE_PERMISSIONS:
        raise ApplicationError(f"unknown role {role!r}; choose one of {', '.join(ROLE_PERMISSIONS)}", field="role")
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise NotFoundError(f"user {username!r} not found", field="username")
    with transaction.atomic():
        if not Group.objects.filter(name=role).exists():
            roles_sync()
        before = sorted(user.groups.filter(name__in=list(ROLE_PERMISSIONS)).values_list("name", flat=True))
        user.groups.remove(*Group.objects.filter(name__in=list(ROLE_PERMISSIONS)))
        user.groups.add(Group.objects.get(name=role))
        record(actor=actor, action=AuditEntry.Action.USER, target_type="user", target_id=user.pk, op="role",
               before=before, after=role)  # fmt: skip
    return user


def audit_log(*, actor: Any, action: str, target_type: str = "", target_id: Any = "", **detail: Any) -> AuditEntry:
    """Write one audit entry (who, what, when, from where): `core.audit.record` under its older name."""
    return record(actor=actor, action=action, target_type=target_type, target_id=target_id, **detail)


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
    from huitouke.core.fleet import worker_name

    now = timezone.now()
    jobs_expire(now=now)
    Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        updated_at=now,
        deadline=now + timedelta(seconds=settings.HUITOUKE_JOB_TIME_LIMIT),
        worker=worker_name(),
        attempts=F("attempts") + 1,
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
    from huitouke.core.fleet import JobHandedBack, stopping

    if stopping.is_set():
        raise JobHandedBack(job_id)
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


def periodic_run_claim(*, task: str, period: datetime, worker: str) -> int | None:
    """Claim the run of a periodic `task` for `period` for this worker: the id of the new PeriodicRun, or None when
    another worker of the fleet claimed it first (UNIQUE task + period; the loser does nothing)."""
    if timezone.is_naive(period):
        period = period.replace(tzinfo=UTC)
    try:
        with transaction.atomic():
            run = PeriodicRun.objects.create(task=task[:100], period=period, worker=worker, started_at=timezone.now())
    except IntegrityError:
        return None
    return run.pk


def periodic_run_finish(*, run_id: int) -> None:
    """Record that a claimed periodic run ended (whatever its outcome: the task's own log says how)."""
    PeriodicRun.objects.filter(pk=run_id).update(finished_at=timezone.now())


def periodic_runs_prune(*, older_than_days: int = 30) -> int:
    """Delete claims older than `older_than_days` (one row per task and period adds up: ~3,000 a day)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = PeriodicRun.objects.filter(period__lt=cutoff).delete()
    return deleted


def job_hand_back(*, job_id: int) -> None:
    """Put a running job back in the queue (its worker is stopping): status queued again, its task queued again
    for another worker once this transaction commits. The work it did stays: every job kind is idempotent (imports
    match orders by number, campaign and care enqueues by their natural keys)."""
    updated = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        status=Job.Status.QUEUED, started_at=None, deadline=None, worker="", updated_at=timezone.now()
    )
    job = Job.objects.filter(pk=job_id).first()
    if updated and job is not None and job.kind in JOB_RUNNERS:
        transaction.on_commit(functools.partial(JOB_RUNNERS[job.kind], job_id))


#: starts of one job before a lost worker's job is failed instead of queued again (a job that kills its worker)
JOB_MAX_ATTEMPTS = 3
LOST_WORKER_REASON = gettext_noop(
    "Stopped: the worker running this job was lost three times (killed or out of memory). Anything it wrote is "
    "complete; you can run it again."
)


def worker_beat(*, name: str, queues: str) -> None:
    """Record that the worker process `name` is alive (every few seconds from `huitouke worker`)."""
    now = timezone.now()
    WorkerBeat.objects.update_or_create(
        name=name,
        defaults={"queues": queues[:100], "beat_at": now},
        create_defaults={"queues": queues[:100], "beat_at": now, "started_at": now},
    )


def worker_gone(*, name: str) -> None:
    """A worker stopped on purpose: forget its beat (its jobs were finished or handed back)."""
    WorkerBeat.objects.filter(name=name).delete()


def jobs_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again the running jobs of workers that stopped beating (killed: SIGKILL, out of memory, a lost
    machine), so their work is picked up by another worker; a job started JOB_MAX_ATTEMPTS times is failed
    instead. The lost workers' beats are removed. Returns {"requeued": n, "failed": n, "workers": n}."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HUITOUKE_WORKER_BEAT_TIMEOUT)
    lost = list(WorkerBeat.objects.filter(beat_at__lt=cutoff).values_list("name", flat=True))
    if not lost:
        return {"requeued": 0, "failed": 0, "workers": 0}
    running = Job.objects.filter(status=Job.Status.RUNNING, worker__in=lost)
    failed = running.filter(attempts__gte=JOB_MAX_ATTEMPTS).update(
        status=Job.Status.FAILED, error=LOST_WORKER_REASON[:1000], finished_at=now, updated_at=now
    )
    requeued = 0
    for job in running.filter(attempts__lt=JOB_MAX_ATTEMPTS).only("pk", "kind"):
        updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, started_at=None, deadline=None, worker="", updated_at=now
        )
        runner = JOB_RUNNERS.get(job.kind)
        if updated and runner is not None:
            transaction.on_commit(functools.partial(runner, job.pk))
            requeued += 1
    WorkerBeat.objects.filter(name__in=lost, beat_at__lt=cutoff).delete()
    return {"requeued": requeued, "failed": failed, "workers": len(lost)}
