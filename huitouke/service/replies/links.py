"""Where `{self_service_link}` comes from: a provider registered with `self_service_link_register` (the
self-service help page's signed links, wired in replies.extensions); without one, the public help page,
HUITOUKE_PUBLIC_URL + /help/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

#: provider(ticket=…, customer=…, order=…, shop=…) -> the link, or "" when it has none for that context.
LinkProvider = Callable[..., str]

_PROVIDER: list[LinkProvider] = []


def self_service_link_register(provider: LinkProvider | None) -> LinkProvider | None:
    """Use `provider` for `{self_service_link}` (None: back to the default); returns the one it replaces."""
    previous = _PROVIDER[0] if _PROVIDER else None
    _PROVIDER[:] = [provider] if provider is not None else []
    return previous


def self_service_link(*, ticket: Any = None, customer: Any = None, order: Any = None, shop: Any = None) -> str:
    if _PROVIDER:
        return _PROVIDER[0](ticket=ticket, customer=customer, order=order, shop=shop) or ""
    return str(settings.HUITOUKE_PUBLIC_URL).rstrip("/") + "/help/"
