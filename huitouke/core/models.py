"""Cross-cutting models: the timestamped base, the audit log and API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Base for every domain model: when it was created and last changed (UTC)."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class AuditEntryImmutableError(Exception):
    """Raised when code tries to change or delete an audit entry: the trail is append-only; only the retention
    job (`core.audit.audit_prune`) removes entries, and it records that it did."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Audit entries can be read and added, never changed or deleted in bulk through the ORM."""

    def update(self, **kwargs: Any) -> int:
        raise AuditEntryImmutableError("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEntryImmutableError("audit entries cannot be deleted; the retention job prunes old ones")

    def _prune(self) -> int:
        """Remove these entries for good: for `core.audit.audit_prune` only."""
        return int(self._raw_delete(using=self.db))


class AuditEntry(models.Model):
    """Who did what to which record, when, from which address and with what outcome.

    Written for every security-relevant action: sign-in (and its failures), sign-out, lockouts, user, password
    and two-factor changes, API tokens, every unmask, exports, imports, merges, deletes, level and policy changes,
    channel and secret changes, campaign launches, care rule switches and customer data requests (PIPL). Entries
    are append-only (see AuditQuerySet and `save`); `core.audit.audit_prune` removes those past the retention
    period and records that it did.
    """

    class Action(models.TextChoices):
        UNMASK = "unmask", _("Viewed unmasked contact data")
        EXPORT = "export", _("Exported customers")
        MERGE = "merge", _("Merged customers")
        TOKEN = "token", _("API token changed")
        SEARCH = "search", _("Searched by phone or email")
        LEVELS = "levels", _("Replaced member levels")
        SETTINGS = "settings", _("Changed settings")
        MESSAGE = "message", _("Sent a message by hand")
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Sign-in failed")
        LOGOUT = "logout", _("Signed out")
        UNLOCK = "unlock", _("Lifted a sign-in lockout")
        USER = "user", _("Changed a user or role")
        PASSWORD = "password", _("Changed a password")
        TWO_FACTOR = "two_factor", _("Changed two-factor sign-in")
        SESSIONS = "sessions", _("Signed out everywhere")
        IMPORT = "import", _("Imported data")
        DELETE = "delete", _("Deleted a record")
        POLICY = "policy", _("Changed a policy")
        CHANNEL = "channel", _("Changed a channel or its secret")
        CAMPAIGN = "campaign", _("Launched a campaign")
        CARE_RULE = "care_rule", _("Switched a care rule")
        DATA_EXPORT = "data_export", _("Customer data export request")
        DATA_ERASE = "data_erase", _("Customer data erasure request")
        PRUNE = "prune", _("Pruned old audit entries")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Succeeded")
        FAILURE = "failure", _("Failed")
        DENIED = "denied", _("Refused")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    #: the requesting address (REMOTE_ADDR); empty for work without a request (commands, the worker)
    ip = models.CharField(max_length=64, blank=True, default="")
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_idx"),
            models.Index(fields=["actor_name", "-created_at"], name="audit_actor_idx"),
        ]
        permissions = [
            ("unmask_pii", "Can see unmasked phone, email and address"),
            ("export_customers", "Can export customer lists"),
            ("view_audit", "Can read the audit log"),
            ("view_audit_trail", "Can read the audit trail page and API (owners)"),
            ("manage_signin", "Can see and lift sign-in lockouts (owners)"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditEntryImmutableError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEntryImmutableError("audit entries cannot be deleted; the retention job prunes old ones")


class ApiToken(TimeStampedModel):
    """A personal API token. Only its SHA-256 is stored; the clear text is shown once, at creation. A token with
    a `scope` may only call what the scope allows (orders_push: `POST /api/v1/orders`, for an ERP or RPA tool)."""

    class Scope(models.TextChoices):
        ALL = "", _("Everything its user may do")
        ORDERS_PUSH = "orders_push", _("Only pushing orders")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=64, blank=True)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


#: What the stages background jobs report are called on the job's page (a stage not listed is a name already,
#: e.g. the care rule a run is at).
JOB_STAGE_LABELS = {
    "orders": _("Importing orders"),
    "levels": _("Grading members"),
    "members": _("Exporting members"),
    "messages": _("Queueing messages"),
    "rfm": _("Scoring customers (RFM)"),
    "models": _("Fitting the purchase models"),
    "write": _("Saving the scores"),
}


class Job(TimeStampedModel):
    """A piece of background work (an import, a regrade …) with progress that pages poll.

    `result` holds the machine-readable summary once done; `error` a one-line reason when it failed. A running job
    has a `deadline`: past it the job is failed with the reason (`services.jobs_expire`), also when the worker
    that ran it is gone, and its work stops at its next progress report.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=32)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=64, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(_("error"), max_length=1000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: when a running job is given up (`services.jobs_expire`): set when it starts, HUITOUKE_JOB_TIME_LIMIT later
    deadline = models.DateTimeField(_("time limit"), null=True, blank=True)
    #: the worker process running it (host:pid) and how many times a worker started it: a job whose worker stopped
    #: beating (`WorkerBeat`, killed) is queued again, up to 3 starts
    worker = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="job_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk} {self.status}"

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(self.done * 100 / self.total))

    @property
    def stage_label(self) -> str:
        """The stage in the page's language."""
        return str(JOB_STAGE_LABELS.get(self.stage, self.stage))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class SignInSession(models.Model):
    """One signed-in browser session of a user (written at sign-in), so that "sign out everywhere" can end all
    of them and the account page can list them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signin_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class PeriodicRun(models.Model):
    """One run of a periodic task for one period, claimed by the first worker of the fleet that reaches it.

    The UNIQUE (task, period) makes "exactly once per period" a database fact: every worker's scheduler may queue
    the tick, but only the run that inserts this row does the work; the others see the row and skip.
    """

    task = models.CharField(max_length=100)
    period = models.DateTimeField()
    worker = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period", "task"]
        constraints = [models.UniqueConstraint(fields=["task", "period"], name="periodicrun_once_uniq")]

    def __str__(self) -> str:
        return f"{self.task} @ {self.period:%Y-%m-%d %H:%M}"


class WorkerBeat(models.Model):
    """A running `huitouke worker` process: it writes `beat_at` every few seconds and deletes its row when it stops.
    A row whose beat is old belongs to a worker that was killed; its running jobs are queued again."""

    name = models.CharField(max_length=100, unique=True)
    queues = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.queues})"
