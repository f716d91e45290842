"""Calls to the stores' APIs (standard library HTTP): a JSON POST or GET with a time limit and a size cap."""

from __future__ import annotations

import json
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


def address_check(address: str, *, field: str) -> None:
    """A store address or robot URL typed by staff, checked when it is saved: no loopback, private or link-local
    destination unless the operator allows it (messaging.channels.outbound). Raises ApplicationError naming
    `field`."""
    from huitouke.messaging.channels import outbound

    try:
        outbound.host_check_saved(outbound.url_host(address), setting=field)
    except outbound.OutboundAddressError as exc:
        raise ApplicationError(exc.message, field=field) from exc


def call(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: Any = None, field: str = "address"
) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or None, headers) of one request, through the same outbound check as the message
    channels (the host is resolved, every address checked and the connection pinned to it; no redirect is
    followed); a network failure or a refused address raises RemoteError naming `field`."""
    from huitouke.messaging.channels.base import ChannelConfigError, HttpClient, HttpTransientError

    data = b"" if body is None else json.dumps(body).encode()
    all_headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if body is not None else {})}
    all_headers.update(headers or {})
    client = HttpClient(timeout=TIMEOUT)
    netloc = urlsplit(url).netloc
    try:
        answer = client.request(method, url, body=data, headers=all_headers, setting=field, max_bytes=MAX_ANSWER)
    except HttpTransientError as exc:
        raise RemoteError(f"{netloc}: cannot connect ({exc})", field=field) from exc
    except ChannelConfigError as exc:
        raise RemoteError(f"{netloc}: {exc.message}", field=field) from exc
    finally:
        client.close()
    if len(answer.body) > MAX_ANSWER:
        raise RemoteError(f"{netloc}: the answer is larger than {MAX_ANSWER} bytes")
    try:
        parsed = json.loads(answer.body) if answer.body else None
    except ValueError:
        parsed = None
    return answer.status, parsed, dict(answer.headers)
