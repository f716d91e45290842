"""The one interface every channel adapter implements, and the small HTTP client the HTTP adapters share.

An adapter is built from a ChannelConfig's options and decrypted secrets, gets batches of `Outgoing` messages
(at most `max_batch` at a time) and answers one `Result` per message:

- SENT: the provider accepted it (with its message id when it gives one);
- RETRY: a temporary problem (network, timeout, rate limit, 5xx): the dispatcher tries again later;
- REJECT: the provider refused it for good (bad number, unapproved template, 4xx): the message fails;
- TASK: handed to a person (the manual channel): it waits in the agents' queue until marked sent.
"""

from __future__ import annotations

import abc
import http.client
import json
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    REJECT = "reject"
    TASK = "task"


@dataclass(frozen=True)
class Outgoing:
    """What an adapter needs to know about one message."""

    id: int
    key: str
    to: str
    body: str
    purpose: str
    subject: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    param_order: tuple[str, ...] = ()
    provider_code: str = ""
    unsubscribe_url: str = ""
    customer_id: int | None = None
    source_kind: str = ""
    language: str = ""


@dataclass(frozen=True)
class Result:
    id: int
    outcome: Outcome
    provider_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class Setting:
    """One field of a provider's settings form: an option (shown again) or a secret (never shown back)."""

    name: str
    label: Any
    required: bool = True
    help: Any = ""
    default: str = ""
    #: "url" or "host" when the value names where the adapter connects (checked by channels.outbound)
    destination: str = ""


class ChannelConfigError(ValueError):
    """The channel's settings are incomplete or wrong (names the setting)."""

    def __init__(self, message: str, *, setting: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.setting = setting


class Adapter(abc.ABC):
    """Base class: subclasses declare OPTIONS/SECRETS and implement `send`."""

    provider: ClassVar[str] = ""
    max_batch: ClassVar[int] = 1
    OPTIONS: ClassVar[tuple[Setting, ...]] = ()
    SECRETS: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, *, options: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.options = {s.name: str(options.get(s.name) or s.default).strip() for s in self.OPTIONS}
        self.secrets = {s.name: str(secrets.get(s.name) or "") for s in self.SECRETS}
        for s in (*self.OPTIONS, *self.SECRETS):
            value = self.options.get(s.name) if s in self.OPTIONS else self.secrets.get(s.name)
            if s.required and not value:
                raise ChannelConfigError(f"{self.provider}: {s.name} is not set", setting=s.name)
        from huitouke.messaging.channels import outbound  # late: outbound imports this module

        for name, host in self.destinations():
            outbound.host_check_saved(host, setting=name)

    def destinations(self) -> list[tuple[str, str]]:
        """(setting name, host) of every place this adapter connects to, from its settings."""
        from huitouke.messaging.channels import outbound  # late: outbound imports this module

        found = []
        for s in (*self.OPTIONS, *self.SECRETS):
            value = self.options.get(s.name) if s in self.OPTIONS else self.secrets.get(s.name)
            if s.destination and value:
                found.append((s.name, outbound.url_host(value) if s.destination == "url" else value.strip()))
        return found

    @abc.abstractmethod
    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        """Hand `batch` (at most `max_batch` messages) to the provider; one Result per message."""

    def close(self) -> None:  # noqa: B027 - optional hook: adapters without connections keep it empty
        """Release connections (called once the dispatcher is done with the adapter)."""


def rejected(batch: Sequence[Outgoing], error: str) -> list[Result]:
    return [Result(m.id, Outcome.REJECT, error=error) for m in batch]


def retry(batch: Sequence[Outgoing], error: str) -> list[Result]:
    return [Result(m.id, Outcome.RETRY, error=error) for m in batch]


# --- HTTP ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")

    @property
    def transient(self) -> bool:
        """A status worth retrying: rate limited, timeout, or a server error."""
        return self.status in (408, 425, 429) or self.status >= 500


class HttpTransientError(Exception):
    """The request did not get an answer (connection refused or reset, timeout): safe to retry."""


def _pinned(address: str) -> Any:
    """A socket factory for http.client that connects to `address` whatever host name the connection carries (the
    name still goes into the Host header and TLS's server name check)."""

    def create_connection(addr: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection((address, addr[1]), timeout, source_address)

    return create_connection


URL_SETTING_HELP = _("Full URL, e.g. https://…; http:// only for a gateway on this machine or network.")


class HttpClient:
    """Keeps one HTTP/1.1 connection per origin open between requests (the gateways are called many times per
    batch run). Not shared between threads: each dispatch pass builds its own adapters."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def _conn(self, scheme: str, host: str, port: int, setting: str) -> http.client.HTTPConnection:
        key = (scheme, host, port)
        conn = self._conns.get(key)
        if conn is None:
            from huitouke.messaging.channels import outbound  # late: outbound imports this module

            # resolved and checked once per connection; the connection then goes to that very address
            address = outbound.host_resolve_checked(host, port, setting=setting)
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            if address is not None:
                conn._create_connection = _pinned(address)  # type: ignore[attr-defined] # http.client's own hook
            self._conns[key] = conn
        return conn

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        setting: str = "url",
        max_bytes: int = 0,
    ) -> HttpResponse:
        """Send one request; raises HttpTransientError when no answer came (after one reconnect), and
        OutboundAddressError (a ChannelConfigError naming `setting`) when the host is on a refused address.
        With `max_bytes`, at most max_bytes + 1 bytes of the answer are read (the caller sees it is too long)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelConfigError(f"not an http(s) URL: {url!r}", setting="url")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        all_headers = {"Content-Length": str(len(body)), **(headers or {})}
        for attempt in (1, 2):
            reused = (parts.scheme, parts.hostname, port) in self._conns
            try:
                conn = self._conn(parts.scheme, parts.hostname, port, setting)
            except OSError as exc:  # the name does not resolve (now): worth another try later
                raise HttpTransientError(f"{type(exc).__name__}: {exc}") from exc
            try:
                conn.request(method, target, body=body, headers=all_headers)
                resp = conn.getresponse()
                data = resp.read(max_bytes + 1) if max_bytes else resp.read()
            except (TimeoutError, http.client.HTTPException, OSError) as exc:
                conn.close()
                self._conns.pop((parts.scheme, parts.hostname, port), None)
                # a kept-alive connection the server had already closed fails at once: try a fresh one, once
                stale = isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError)
                if attempt == 1 and reused and stale:
                    continue
                raise HttpTransientError(f"{type(exc).__name__}: {exc}") from exc
            if resp.getheader("Connection", "").lower() == "close" or (max_bytes and len(data) > max_bytes):
                conn.close()
                self._conns.pop((parts.scheme, parts.hostname, port), None)
            return HttpResponse(resp.status, data, {k.lower(): v for k, v in resp.getheaders()})
        raise HttpTransientError("no answer")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
