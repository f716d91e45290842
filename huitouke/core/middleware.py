"""Request middleware: the language choice, the 64-bit guard on query parameters, and service errors as pages.

Language choice: the site speaks LANGUAGE_CODE (zh-hans by default) until the user picks another language
with the switch in the top bar (a cookie). The browser's Accept-Language is only followed when
HUITOUKE_FOLLOW_BROWSER_LANGUAGE is on, so a shop's staff see the same default whatever browser they use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from huitouke.core.errors import INT64_MAX, INT64_MIN, ApplicationError, OutOfRangeError
from huitouke.core.roles import user_access_load
from huitouke.core.text import has_controls, strip_controls


class DefaultLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.HUITOUKE_FOLLOW_BROWSER_LANGUAGE:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


def _int64_guard(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Refuse a query whose parameters hold an integer beyond 64 bits (SQLite raises OverflowError, PostgreSQL
    a data error — both a 500) or a text with a NUL character (PostgreSQL cannot store one: a 500 there, found by
    the API fuzz): the request gets a 400 naming the problem instead, on both databases."""
    if not many and params:
        values = params.values() if isinstance(params, Mapping) else params
        for value in values:
            if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
                raise OutOfRangeError(
                    _("A number in the request is too large (at most %(limit)d).") % {"limit": INT64_MAX},
                    field="number",
                )
            if type(value) is str and "\x00" in value:
                raise ApplicationError(_("A text in the request contains a NUL character."), field="text")
    return execute(sql, params, many, context)


class Int64GuardMiddleware:
    """While a request (page or API) runs, every query it makes goes through `_int64_guard`: the last line of
    defence behind the bounded URL converters (huitouke/core/converters.py) and the API's Int64 parameters, so an
    out-of-range integer from a form or query string can never reach the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with connection.execute_wrapper(_int64_guard):
            return self.get_response(request)


class AccessMiddleware:
    """After the user is known: the signed-in user's permissions and role in one query for the whole request
    (core.roles.user_access_load) instead of three (ModelBackend's two and the role's group names)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_access_load(user)
        return self.get_response(request)


class ApplicationErrorMiddleware:
    """A service's ApplicationError that a page view let through becomes a page with its message and status
    (404 for NotFoundError, 403, 409, 400 …) instead of a server error; the API maps them itself (huitouke/api.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        if getattr(request, "htmx", False):
            return HttpResponse(exception.message, status=exception.status, content_type="text/plain; charset=utf-8")
        context = {"status": exception.status, "message": exception.message, "code": exception.code}
        return render(request, "core/error.html", context, status=exception.status)


class ControlCharacterMiddleware:
    """Every form post arrives without control characters (`core.text`): a name or tag typed or pasted with a
    `\\x0b` is stored without it, so no page, export or message breaks on it later. The API refuses them instead,
    naming the field (`core.schemas.TextInput`); its bodies are left alone here."""

    FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type in self.FORMS and not request.path.startswith("/api/"):
            if request.content_type == self.FORMS[0]:
                # read (and keep) the raw body first, so a view that reads request.body later (a webhook's
                # signature covers the raw bytes) still can; a multipart body stays streamed
                request.body  # noqa: B018
            post = request.POST
            if any(has_controls(v) for _key, values in post.lists() for v in values if isinstance(v, str)):
                cleaned = post.copy()
                for key, values in post.lists():
                    cleaned.setlist(key, [strip_controls(v) if isinstance(v, str) else v for v in values])
                cleaned._mutable = False
                request.POST = cleaned  # type: ignore[assignment]  # immutable again, as Django made it
        return self.get_response(request)
