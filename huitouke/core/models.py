"""Cross-cutting models: the timestamped base, the audit log and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Base for every domain model: when it was created and last changed (UTC)."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """Who did what to which record, and when: written for every PII unmask, export, merge, token change and
    replacement of a shop's member levels, and for every search by phone or email of a role that may not see them."""

    class Action(models.TextChoices):
        UNMASK = "unmask", _("Viewed unmasked contact data")
        EXPORT = "export", _("Exported customers")
        MERGE = "merge", _("Merged customers")
        TOKEN = "token", _("API token changed")
        SEARCH = "search", _("Searched by phone or email")
        LEVELS = "levels", _("Replaced member levels")
        SETTINGS = "settings", _("Changed settings")
        MESSAGE = "message", _("Sent a message by hand")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]
        permissions = [
            ("unmask_pii", "Can see unmasked phone, email and address"),
            ("export_customers", "Can export customer lists"),
            ("view_audit", "Can read the audit log"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target_type}:{self.target_id}"


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
