"""Satisfaction surveys (CSAT) after each resolution of a ticket: the shop's survey settings, its extra questions
(the survey template) and one Survey row per (ticket, resolution).

Imported by `service.models`, so the models belong to the `service` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel
from huitouke.messaging.models import Message
from huitouke.orders.models import Shop


class SurveySettings(TimeStampedModel):
    """A shop's survey settings (one row per shop, made on first change; `survey_settings_for` gives defaults).

    `types`: the ticket types surveyed after a resolution (empty: every type). `valid_days`: how long a link
    works. `threshold`: a rating at or below it brings the case back (0: never)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="survey_settings")
    enabled = models.BooleanField(_("send a survey after each resolution"), default=True)
    types = models.JSONField(_("ticket types surveyed"), default=list, blank=True)
    valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=7)
    threshold = models.PositiveSmallIntegerField(_("a rating at or below this reopens the case"), default=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(valid_days__gte=1) & Q(valid_days__lte=90), name="survey_days_range"),
            models.CheckConstraint(condition=Q(threshold__lte=5), name="survey_threshold_lte_5"),
        ]

    def __str__(self) -> str:
        return f"survey settings {self.shop_id}"


class SurveyQuestion(models.Model):
    """An extra question the shop adds to its surveys, after the 1–5 rating and the comment every survey has.
    A survey copies the questions when it is sent, so later edits never change what a customer was asked."""

    class Kind(models.TextChoices):
        RATING = "rating", _("Rating 1–5")
        CHOICE = "choice", _("Single choice")
        TEXT = "text", _("Text")
        NPS = "nps", _("Recommend 0–10 (NPS)")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="survey_questions")
    label = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["shop", "position", "id"]

    def __str__(self) -> str:
        return self.label


class Survey(models.Model):
    """The satisfaction survey of one resolution of a ticket (`round` = the ticket's reopen count when it was
    resolved: a reopen and a new resolution make a new survey). `agent` is who owned the ticket then; `questions`
    the shop's extra questions as sent. Answered once: the rating (1–5), the comment, the extra answers
    ({question key: value}) and the first NPS answer. A low rating reopens the ticket or opens `recovery_ticket`.
    """

    class Outcome(models.TextChoices):
        NONE = "", _("Nothing")
        REOPENED = "reopened", _("Ticket reopened")
        RECOVERY = "recovery", _("Recovery ticket opened")
        ALERTED = "alerted", _("Managers alerted")

    ticket = models.ForeignKey("service.Ticket", on_delete=models.CASCADE, related_name="surveys", db_index=False)
    round = models.PositiveSmallIntegerField(_("resolution"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    type = models.CharField(_("type"), max_length=20)
    questions = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("valid until"))
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answers = models.JSONField(default=dict, blank=True)
    nps = models.PositiveSmallIntegerField(_("recommend (0–10)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, blank=True, default="")
    recovery_ticket = models.ForeignKey(
        "service.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    praise = models.BooleanField(_("praise (表扬)"), default=False)
    praise_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    praise_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "round"], name="survey_once_per_resolution"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=5)), name="survey_rating_1_5"
            ),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_0_10"),
        ]
        indexes = [models.Index(fields=["sent_at"], name="survey_sent_idx")]

    def __str__(self) -> str:
        return f"survey {self.ticket_id}/{self.round}"

    @property
    def expired(self) -> bool:
        """Past its validity without an answer."""
        return self.answered_at is None and self.expires_at <= timezone.now()
