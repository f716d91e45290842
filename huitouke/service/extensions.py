"""What `service` adds to the apps below it through their registries (filled in below)."""

from __future__ import annotations


def register() -> None:
    return None
