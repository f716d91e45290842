"""Analytics reads: the latest refresh, scores, and the figures of the dashboard and the analysis pages."""

from __future__ import annotations

from datetime import datetime

from huitouke.analytics.models import ScoreRun


def score_run_latest() -> ScoreRun | None:
    """The newest refresh, or None before the first one."""
    return ScoreRun.objects.order_by("-started_at", "-id").first()


def score_run_since(moment: datetime) -> bool:
    """Whether a refresh has started at or after `moment`."""
    return ScoreRun.objects.filter(started_at__gte=moment).exists()
