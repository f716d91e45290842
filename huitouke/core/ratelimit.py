"""Per-address limits for the public pages (unsubscribe, preferences, surveys, self-service): a customer's link
needs no login, so each address may open such pages only so often.

The counting needs a table shared by every web process; core owns no such table, so the app that has one
(messaging's token buckets, `messaging_ratebucket`) registers its `take` at start-up. Without a registered
backend (never the case once the project has started) nothing is limited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

Take = Callable[[str, float, float], bool]
View = TypeVar("View", bound=Callable[..., HttpResponseBase])

_BACKEND: list[Take] = []


def backend_register(take: Take) -> None:
    """`take(key, rate_per_second, burst) -> bool`: take one token from the shared bucket `key`."""
    _BACKEND[:] = [take]


def allowed(key: str, *, per_minute: float, burst: float) -> bool:
    """Whether one more request under `key` fits (and count it)."""
    if not _BACKEND:
        return True
    return _BACKEND[0](key, per_minute / 60.0, burst)


def client_address(request: HttpRequest) -> str:
    """The requesting address: REMOTE_ADDR, or behind HUITOUKE_PROXY_HOPS proxies the address the outermost
    trusted proxy saw (counted from the right of X-Forwarded-For, which a client can only prepend to)."""
    hops = int(settings.HUITOUKE_PROXY_HOPS)
    if hops > 0:
        chain = [p.strip() for p in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if p.strip()]
        if len(chain) >= hops:
            return chain[-hops][:64]
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]


def public_page_limited(scope: str, *, per_minute: float = 20, burst: float = 30) -> Callable[[View], View]:
    """Decorate a public page: beyond `burst` requests at once, then `per_minute`, from one address, answer 429
    with a page that says to wait."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allowed(f"page:{scope}:{client_address(request)}", per_minute=per_minute, burst=burst):
                message = _("Too many requests from your address. Please wait a minute and try again.")
                response = render(request, "core/error.html", {"status": 429, "message": message}, status=429)
                response["Retry-After"] = "60"
                return response
            return view(request, *args, **kwargs)

        wrapped.public_rate_limit = scope  # type: ignore[attr-defined] # read by the role matrix test
        return wrapped  # type: ignore[return-value]

    return decorate
