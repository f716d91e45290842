"""The REST API v1: one NinjaAPI, a router per app, bearer-token auth and JSON errors {code, message, field?}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer

from huitouke.analytics.api import router as analytics_router
from huitouke.audiences.api import router as audiences_router
from huitouke.care.api import router as care_router
from huitouke.connectors.api import router as connectors_router
from huitouke.core.api import OUT_OF_RANGE, ErrorOut
from huitouke.core.api import router as core_router
from huitouke.core.audit_api import router as audit_router
from huitouke.core.errors import INT64_MAX, ApplicationError
from huitouke.core.models import ApiToken
from huitouke.core.services import token_lookup
from huitouke.customers.api import router as customers_router
from huitouke.loyalty.api import router as loyalty_router
from huitouke.messaging.api import router as messaging_router
from huitouke.orders.api import router as orders_router
from huitouke.reviews.api import router as reviews_router
from huitouke.service.api import router as service_router
from huitouke.service.replies.api import router as replies_router
from huitouke.visits.api import router as visits_router

#: What a scoped token may call: (method, path) per ApiToken.Scope.
SCOPE_ALLOWS: dict[str, set[tuple[str, str]]] = {
    ApiToken.Scope.ORDERS_PUSH: {("POST", "/api/v1/orders")},
}


class BearerToken(HttpBearer):
    """Authorization: Bearer TOKEN, checked against the stored hashes."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_lookup(token)
        if found is None:
            return None
        if found.scope and (request.method, request.path_info) not in SCOPE_ALLOWS.get(found.scope, ()):
            raise PermissionDenied(f"this token is limited to the scope {found.scope}")
        request.user = found.user
        return found.user


#: What each error status means, as the OpenAPI document says it.
ERROR_RESPONSES = {
    400: "Bad input: `field` names the parameter or body field (code invalid, out_of_range …)",
    401: "No or an unknown bearer token (code unauthorized)",
    403: "The token's user lacks the permission (code forbidden)",
    404: "A record the path, a filter or a body field names does not exist (code not_found, `field` names it)",
    409: "The request clashes with the data: a record in use, a destructive change not confirmed (code conflict)",
    413: "The request carries more than the operation accepts (code too_large)",
    422: "A parameter or body field has the wrong type or is missing (code invalid, `field` names it)",
    429: "Too many requests: wait and retry (code rate_limited)",
}


class HuitoukeAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document declares, for every operation, the error answers it can give, all with
    the `Error` shape: 401/403 where a token is needed, 400/404/422 where there is input (a path id, a filter or
    a body field may name a record that does not exist), and what an operation adds itself
    (`openapi_extra=errors(409)`, see huitouke/core/api.py)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ErrorOut.model_json_schema()
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                codes = set(operation.pop("x-errors", ()))
                params = operation.get("parameters", [])
                if operation.get("security"):
                    codes |= {401, 403}
                if params or "requestBody" in operation:
                    # a path id, a query filter (shop, customer, assignee) or a body field may name a missing record
                    codes |= {400, 404, 422}
                responses = operation.setdefault("responses", {})
                for code in sorted(codes):
                    responses.setdefault(code, {"description": ERROR_RESPONSES[code], "content": ref})
        return schema


api = HuitoukeAPI(
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
api.add_router("/", audit_router)
api.add_router("/", customers_router)
api.add_router("/", orders_router)
api.add_router("/", reviews_router)
api.add_router("/", loyalty_router)
api.add_router("/", messaging_router)
api.add_router("/", analytics_router)
api.add_router("/", audiences_router)
api.add_router("/", care_router)
api.add_router("/", service_router)
api.add_router("/", visits_router)
api.add_router("/", replies_router)
api.add_router("/", connectors_router)


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return api.create_response(request, body, status=status)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.field)


def _field(loc: Any) -> str:
    """A validation error's location as the services name fields: levels[1].min_amount, product[0]."""
    field = ""
    for part in loc or ():
        if part in ("body", "query", "path", "payload", "filters", "params"):
            continue
        # list positions read as in the services' own messages: levels[1].min_amount, identities[0].handle
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    for error in exc.errors:  # an integer no database column can hold: no such record (path) or bad input (query)
        if error.get("type") == OUT_OF_RANGE:
            loc = error.get("loc") or ()
            name = _field(loc) or None
            if loc and loc[0] == "path":
                return _error(request, 404, "not_found", f"not found: {name} is beyond any stored id", name)
            return _error(
                request, 400, "out_of_range", f"{name}: the number is out of range (at most {INT64_MAX})", name
            )
    first = exc.errors[0] if exc.errors else {}
    field = _field(first.get("loc"))
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


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, 413, "too_large", f"the request body is larger than {limit} bytes: send fewer records")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or "permission denied")
