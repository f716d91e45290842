"""No integer beyond 64 bits reaches the database: every API operation and every page with an integer in its path
answers 404/400 with the usual error shape (never a 500), and the OpenAPI document declares the error answers of
every operation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from huitouke.api import api
from huitouke.core.converters import IdConverter
from huitouke.core.errors import INT64_MAX

pytestmark = pytest.mark.django_db

BIG = 2**64
TOO_BIG = [BIG, INT64_MAX + 1, -(2**63) - 1]


def _is_int(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "integer":
        return True
    if schema.get("type") == "array":
        return _is_int(schema.get("items", {}))
    return any(_is_int(s) for s in schema.get("anyOf", []))


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    schema = api.get_openapi_schema(path_params={})
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def _int_params() -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer parameter of the API."""
    return [
        (method, path, p["in"], p["name"])
        for method, path, op in _operations()
        for p in op.get("parameters", [])
        if _is_int(p["schema"])
    ]


INT_PARAMS = _int_params()


def _bounds(schema: dict[str, Any]) -> list[tuple[Any, Any]]:
    if schema.get("type") == "integer":
        return [(schema.get("minimum"), schema.get("maximum"))]
    if schema.get("type") == "array":
        return _bounds(schema.get("items", {}))
    return [b for s in schema.get("anyOf", []) for b in _bounds(s)]


def test_every_int_parameter_is_bounded() -> None:
    """Each integer parameter declares bounds within 64 bits (the shared Int64 type, or tighter ones)."""
    unbounded = [
        (method, path, p["name"])
        for method, path, op in _operations()
        for p in op.get("parameters", [])
        for low, high in _bounds(p["schema"])
        if high is None or high > INT64_MAX or low is None or low < -(2**63)
    ]
    assert unbounded == []


def test_the_walk_covers_the_reported_parameters() -> None:
    names = {(path, name) for _m, path, _w, name in INT_PARAMS}
    assert ("/api/v1/customers/{customer_id}/score", "customer_id") in names
    assert ("/api/v1/analytics/repurchase-cycles", "product") in names
    assert ("/api/v1/messages", "customer") in names
    assert ("/api/v1/levels", "shop") in names
    assert len(INT_PARAMS) >= 30


def _url(path: str, where: str, name: str, value: int, op: dict[str, Any]) -> str:
    url = path
    for p in op.get("parameters", []):
        if p["in"] != "path":
            continue
        filler = str(value) if (where, p["name"]) == ("path", name) else ("1" if _is_int(p["schema"]) else "x")
        url = url.replace("{" + p["name"] + "}", filler)
    if where == "query":
        url += f"?{name}={value}"
    return url


@pytest.mark.parametrize(
    ("method", "path", "where", "name"), INT_PARAMS, ids=[f"{m} {p} {n}" for m, p, _w, n in INT_PARAMS]
)
def test_api_int_beyond_64_bits(
    api_client_as: Callable[[str], Client], method: str, path: str, where: str, name: str
) -> None:
    client = api_client_as("owner")
    client.raise_request_exception = False
    op = dict(_operations_by_key()[(method, path)])
    for value in TOO_BIG:
        url = _url(path, where, name, value, op)
        resp = client.generic(method.upper(), url, data=json.dumps({}), content_type="application/json")
        body = resp.json()
        if where == "path":
            assert (resp.status_code, body["code"], body.get("field")) == (404, "not_found", name), url
        else:  # a parameter with a tighter bound of its own (page ≤ 1,000,000) says so with 422
            param = next(p for p in op["parameters"] if p["name"] == name)
            field = f"{name}[0]" if "array" in json.dumps(param["schema"]) else name
            assert (resp.status_code, body["code"], body.get("field")) in (
                (400, "out_of_range", field),
                (422, "invalid", field),
            ), url


def _operations_by_key() -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for m, p, op in _operations()}


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/customers/{BIG}/score",
        f"/api/v1/analytics/repurchase-cycles?product={BIG}",
        f"/api/v1/analytics/repurchase-cycles?product=1&product={BIG}",
        f"/api/v1/customers?shop={BIG}",
        f"/api/v1/customers?level={BIG}",
        f"/api/v1/messages?customer={BIG}",
        f"/api/v1/levels?shop={BIG}",
    ],
)
def test_reported_api_urls(api_client_as: Callable[[str], Client], url: str) -> None:
    client = api_client_as("owner")
    client.raise_request_exception = False
    resp = client.get(url)
    assert resp.status_code in (400, 404), (url, resp.status_code)
    body = resp.json()
    assert set(body) >= {"code", "message"}
    assert body["code"] in ("out_of_range", "not_found")


def test_the_database_guard_catches_a_string_parameter(api_client_as: Callable[[str], Client]) -> None:
    """`shop` of the customer list is a string the shop filter turns into a number: the guard stops it."""
    client = api_client_as("owner")
    client.raise_request_exception = False
    resp = client.get(f"/api/v1/customers?shop={BIG}")
    assert resp.status_code == 400
    assert resp.json()["code"] == "out_of_range"


# --- pages ------------------------------------------------------------------------------------------------------


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        else:
            yield route, entry


def _converters(route_pattern: Any) -> dict[str, Any]:
    return dict(getattr(route_pattern, "converters", {}) or {})


def _page_routes() -> list[tuple[str, URLPattern]]:
    return [(r, p) for r, p in _patterns(get_resolver()) if not r.startswith("api/")]


def test_no_page_takes_an_unbounded_int() -> None:
    unbounded = [
        route
        for route, p in _page_routes()
        if any(isinstance(c, IntConverter) for c in _converters(p.pattern).values())
    ]
    assert unbounded == []


def _id_routes() -> list[str]:
    routes = []
    for route, p in _page_routes():
        convs = _converters(p.pattern)
        if any(isinstance(c, IdConverter) for c in convs.values()):
            routes.append(route)
    return routes


ID_ROUTES = _id_routes()


def test_the_page_walk_covers_the_reported_pages() -> None:
    assert "jobs/<id:pk>/" in ID_ROUTES
    assert "campaigns/<id:pk>/" in ID_ROUTES
    assert len(ID_ROUTES) >= 35


def _fill(route: str, value: int) -> str:
    import re

    url = re.sub(r"<id:[a-z_]+>", str(value), route)
    return "/" + re.sub(r"<str:[a-z_]+>", "sms", url)


@pytest.mark.parametrize("route", ID_ROUTES)
def test_page_int_beyond_64_bits(client_as: Callable[[str], Client], route: str) -> None:
    client = client_as("owner")
    client.raise_request_exception = False
    for value in (BIG, INT64_MAX + 1, 10**30):
        for method in ("get", "post"):
            resp = getattr(client, method)(_fill(route, value))
            assert resp.status_code == 404, (method, route, value, resp.status_code)


@pytest.mark.parametrize("url", [f"/messages/?customer={BIG}", f"/customers/?shop={BIG}", f"/customers/?level={BIG}"])
def test_page_query_beyond_64_bits(client_as: Callable[[str], Client], url: str) -> None:
    """A query-string number a page turns into an int (the message list's customer, the customer list's shop
    and level filters) is stopped by the guard before the query: 400 with the reason, not a 500."""
    client = client_as("owner")
    client.raise_request_exception = False
    resp = client.get(url)
    assert resp.status_code == 400
    assert "请求中的数字过大（最大为 9223372036854775807）。" in resp.content.decode()


# --- /jobs/<id>/ ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager", "agent", "marketer"])
def test_job_page_of_a_missing_or_foreign_job_is_404(
    client_as: Callable[[str], Client], make_user: Any, role: str
) -> None:
    from huitouke.core.models import Job

    other = make_user("agent", username="someone-else")
    foreign = Job.objects.create(kind="import", created_by=other)
    client = client_as(role)
    client.raise_request_exception = False
    assert client.get("/jobs/987654/").status_code == 404
    resp = client.get(f"/jobs/{foreign.pk}/")
    assert resp.status_code == (200 if role in ("owner", "manager") else 404)
    if resp.status_code == 404:
        assert "没有这个任务，或者您无权查看它。" in resp.content.decode()


# --- the OpenAPI document ---------------------------------------------------------------------------------------


def test_every_operation_declares_its_errors(api_client_as: Callable[[str], Client]) -> None:
    doc = api_client_as("owner").get("/api/v1/openapi.json").json()
    assert doc["components"]["schemas"]["Error"]["required"] == ["code", "message"]
    missing = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = {int(c) for c in op["responses"] if str(c).startswith(("4", "5"))}
            need = set()
            if op.get("security"):
                need |= {401, 403}
            params = op.get("parameters", [])
            if any(p["in"] == "path" for p in params):
                need.add(404)
            if params or "requestBody" in op:
                need |= {400, 422}
            if not codes or not need <= codes:
                missing.append((method, path, sorted(need - codes)))
            for code in codes:
                ref = op["responses"][str(code)]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, code)
    assert missing == []
    assert "409" in doc["paths"]["/api/v1/segments/{pk}"]["delete"]["responses"]
    assert "409" in doc["paths"]["/api/v1/levels"]["put"]["responses"]
