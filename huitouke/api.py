"""The REST API v1: one NinjaAPI, a router per app, bearer-token auth and JSON errors {code, message, field?}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from huitouke.analytics.api import router as analytics_router
from huitouke.audiences.api import router as audiences_router
from huitouke.care.api import router as care_router
from huitouke.core.api import router as core_router
from huitouke.core.errors import ApplicationError
from huitouke.core.services import token_authenticate
from huitouke.customers.api import router as customers_router
from huitouke.loyalty.api import router as loyalty_router
from huitouke.messaging.api import router as messaging_router
from huitouke.orders.api import router as orders_router
from huitouke.service.api import router as service_router


class BearerToken(HttpBearer):
    """Authorization: Bearer TOKEN, checked against the stored hashes."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        return user


api = NinjaAPI(
    title="Huitouke API",
    version="1",
    urls_namespace="api-v1",
    auth=BearerToken(),
    docs_url="/docs",
    description=(
        "The customer archive of Huitouke (回头客). Send `Authorization: Bearer TOKEN` with a personal token "
        "(`huitouke token create USER` or the Tokens page). Errors are JSON `{code, message, field?}`. Phone, "
        "email and addresses are masked unless the token's user may see contact data; unmasked reads are audited."
    ),
)
api.add_router("/", core_router)
api.add_router("/", customers_router)
api.add_router("/", orders_router)
api.add_router("/", loyalty_router)
api.add_router("/", messaging_router)
api.add_router("/", analytics_router)
api.add_router("/", audiences_router)
api.add_router("/", care_router)
api.add_router("/", service_router)


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return api.create_response(request, body, status=status)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.field)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    field = ""
    for part in first.get("loc", []):
        if part in ("body", "query", "path", "payload", "filters"):
            continue
        # list positions read as in the services' own messages: levels[1].min_amount, identities[0].handle
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return _error(request, 422, "invalid", str(first.get("msg", "invalid input")), field or None)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", "missing or invalid token: send Authorization: Bearer TOKEN")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "not found")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or "permission denied")
