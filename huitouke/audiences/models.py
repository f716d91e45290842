"""Segment: a saved, validated filter over customers (audiences.conditions is its language)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import TimeStampedModel


class Segment(TimeStampedModel):
    """A named definition (a conditions.Group as JSON). Its members are computed when asked, never stored, so a
    segment is always up to date; `last_count` is only what the builder showed when it was saved."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    definition = models.JSONField(_("conditions"), default=dict)
    last_count = models.PositiveIntegerField(_("customers when saved"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
