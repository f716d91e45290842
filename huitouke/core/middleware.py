"""Language choice: the site speaks LANGUAGE_CODE (zh-hans by default) until the user picks another language
with the switch in the top bar (a cookie). The browser's Accept-Language is only followed when
HUITOUKE_FOLLOW_BROWSER_LANGUAGE is on, so a shop's staff see the same default whatever browser they use."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class DefaultLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.HUITOUKE_FOLLOW_BROWSER_LANGUAGE:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
