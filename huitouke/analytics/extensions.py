"""What `analytics` adds to the rest: the scores panel of the 360 page, the segment and movers filters of the
customer list, and the dashboard as the landing page."""

from __future__ import annotations


def register() -> None:
    pass
