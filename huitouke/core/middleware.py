"""Language choice: the site speaks LANGUAGE_CODE (zh-hans by default) until the user picks another language
with the switch in the top bar (a cookie). The browser's Accept-Language is only followed when
HUITOUKE_FOLLOW_BROWSER_LANGUAGE is on, so a shop's staff see the same default whatever browser they use."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from huitouke.core.text import has_controls, strip_controls


class DefaultLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.HUITOUKE_FOLLOW_BROWSER_LANGUAGE:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class ControlCharacterMiddleware:
    """Every form post arrives without control characters (`core.text`): a name or tag typed or pasted with a
    `\\x0b` is stored without it, so no page, export or message breaks on it later. The API refuses them instead,
    naming the field (`core.schemas.TextInput`); its bodies are left alone here."""

    FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type in self.FORMS and not request.path.startswith("/api/"):
            post = request.POST
            if any(has_controls(v) for _key, values in post.lists() for v in values if isinstance(v, str)):
                cleaned = post.copy()
                for key, values in post.lists():
                    cleaned.setlist(key, [strip_controls(v) if isinstance(v, str) else v for v in values])
                cleaned._mutable = False
                request.POST = cleaned  # type: ignore[assignment]  # immutable again, as Django made it
        return self.get_response(request)
