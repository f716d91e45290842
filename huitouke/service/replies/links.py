"""Where `{self_service_link}` comes from. The self-service help page registers its own provider (a signed link
for the ticket or the order) with `self_service_link_register`; until one is registered the link is the public
help page, HUITOUKE_PUBLIC_URL + /help/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

#: provider(ticket=…, customer=…, order=…, shop=…) -> the link, or "" when it has none for that context.
LinkProvider = Callable[..., str]

_PROVIDER: list[LinkProvider] = []


def self_service_link_register(provider: LinkProvider | None) -> None:
    """Use `provider` for `{self_service_link}` (None: back to the default)."""
    _PROVIDER[:] = [provider] if provider is not None else []


def self_service_link(*, ticket: Any = None, customer: Any = None, order: Any = None, shop: Any = None) -> str:
    if _PROVIDER:
        return _PROVIDER[0](ticket=ticket, customer=customer, order=order, shop=shop) or ""
    return str(settings.HUITOUKE_PUBLIC_URL).rstrip("/") + "/help/"
