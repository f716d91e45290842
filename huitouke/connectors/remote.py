"""Calls to the stores' APIs (standard library HTTP): a JSON POST or GET with a time limit and a size cap."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from huitouke.core.errors import ApplicationError

#: the most one answer may carry
MAX_ANSWER = 20 * 1024 * 1024
TIMEOUT = 30


class RemoteError(ApplicationError):
    """The store's API could not be reached or answered something unreadable."""

    code = "remote"
    status = 502


def base_url(address: str) -> str:
    """The store's origin: an address written without a scheme is https://address."""
    address = address.strip().rstrip("/")
    if "://" not in address:
        address = "https://" + address
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApplicationError(f"{address!r} is not a store address", field="address")
    return address


def call(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or None, headers) of one request; a network failure raises RemoteError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, raw, got = response.status, response.read(MAX_ANSWER + 1), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(MAX_ANSWER + 1), dict(exc.headers or {})
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RemoteError(f"{urlsplit(url).netloc}: cannot connect ({exc})", field="address") from exc
    if len(raw) > MAX_ANSWER:
        raise RemoteError(f"{urlsplit(url).netloc}: the answer is larger than {MAX_ANSWER} bytes")
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, parsed, got
