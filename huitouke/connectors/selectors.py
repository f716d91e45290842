"""Reads of the live order feed."""

from __future__ import annotations

from huitouke.connectors.models import Source


def live_source_connected() -> bool:
    """Whether a live source delivers orders: an enabled store connection or watched folder, or a push source
    (which exists once a shop has pushed)."""
    return Source.objects.filter(enabled=True).exists()
