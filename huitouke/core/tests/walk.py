"""Walking every page and API operation as one principal, for the role matrix and the inline-script check.

A page is requested by GET (and by an empty POST when it only takes POST) with every id in its path set to an id
that names nothing: a page guarded by a permission answers 403 (or the login redirect) before it looks anything
up, so what a role may reach shows without building one record of every kind. An API operation gets a body built
from its schema's required fields, so it reaches the permission check instead of failing validation first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from huitouke.api import api

MISSING_ID = 987654321
#: outcomes of one request
REACHED, FORBIDDEN, LOGIN = "reached", "forbidden", "login"


@dataclass(frozen=True)
class Page:
    name: str  # namespace:name
    route: str
    url: str


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, route, ns)
        elif isinstance(entry, URLPattern):
            name = entry.name or route
            yield route, f"{namespace}:{name}" if namespace else name


def pages() -> list[Page]:
    """Every page route (not the API, which has its own walk), with a URL whose ids name nothing."""
    found = []
    for route, name in _walk(get_resolver()):
        if route.startswith("api/"):
            continue
        url = re.sub(r"<id:[^>]+>", str(MISSING_ID), route)
        url = re.sub(r"<str:[^>]+>", "no-such-token", url)
        found.append(Page(name=name, route=route, url="/" + url))
    return found


def page_outcome(client: Client, page: Page) -> tuple[str, Any]:
    """GET the page (an empty POST when it takes only POST) and classify the answer."""
    resp = client.get(page.url)
    if resp.status_code == 405:
        resp = client.post(page.url, {})
    return classify(resp), resp


def classify(resp: Any) -> str:
    if resp.status_code >= 500:
        raise AssertionError(f"server error {resp.status_code}")
    if resp.status_code in (401, 403):
        return LOGIN if resp.status_code == 401 else FORBIDDEN
    if resp.status_code == 302 and resp["Location"].split("?")[0].endswith("/login/"):
        return LOGIN
    return REACHED


# --- the API ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"


def openapi() -> dict[str, Any]:
    return api.get_openapi_schema(path_params={})


def operations() -> list[Operation]:
    schema = openapi()
    return [Operation(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["components"]["schemas"][name]
    return schema


def example(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> Any:
    """A small value valid for `schema` (required fields only)."""
    schema = _resolve(schema, root)
    if depth > 6:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, root).get("type") != "null"] or schema[key]
            return example(options[0], root, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema.get("default") is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example(props[name], root, depth + 1) for name in schema.get("required", []) if name in props}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [example(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1) if schema.get("maximum", 1) >= 1 else int(schema["minimum"])
    if kind == "number":
        return max(float(schema.get("minimum", 1)), 1.0)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return "2026-01-01"
        if fmt == "date-time":
            return "2026-01-01T00:00:00Z"
        if fmt == "time":
            return "09:00:00"
        if fmt == "email":
            return "a@example.com"
        return "x" * max(int(schema.get("minLength", 1)), 1)
    return None


def request_of(op: Operation, root: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    """(url, query, json body) that satisfy the operation's required parameters."""
    url = op.path
    query: dict[str, Any] = {}
    for p in op.operation.get("parameters", []):
        value = example(p.get("schema", {}), root)
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", str(MISSING_ID) if isinstance(value, int) else "x")
        elif p["in"] == "query" and p.get("required"):
            query[p["name"]] = value
    body = None
    content = op.operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = json.dumps(example(content["application/json"]["schema"], root))
    return url, query, body


def operation_outcome(client: Client, op: Operation, root: dict[str, Any]) -> tuple[str, Any]:
    url, query, body = request_of(op, root)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    if op.method == "get":
        resp = client.get(url)
    else:
        resp = client.generic(op.method.upper(), url, data=body or "", content_type="application/json")
    return classify(resp), resp


# --- inline script ---------------------------------------------------------------------------------------------

#: <script type=…> that browsers do not run (data for a static script to read)
DATA_SCRIPT_TYPES = ("application/json", "application/ld+json", "text/template")


class _InlineScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not values.get("src") and (values.get("type") or "") not in DATA_SCRIPT_TYPES:
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith(("on", "hx-on")):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f'{name}="javascript:…" on <{tag}> at line {self.getpos()[0]}')


def inline_scripts(html: str) -> list[str]:
    """Every inline script in a page: <script> without src (not a data block), on* and hx-on* handlers,
    javascript: URLs. A Content-Security-Policy without 'unsafe-inline' blocks each of them."""
    finder = _InlineScriptFinder()
    finder.feed(html)
    return finder.found
