"""Request ids, one-line (JSON) logs and the per-request Prometheus metrics.

- Every request gets an id: the caller's `X-Request-ID` when it is a short token (a proxy's), otherwise a new one.
  It is answered in the `X-Request-ID` header, put on every log line of the request and carried inside every
  background task the request queues (`RequestIdSerializer`), so the worker's lines for that task carry it too.
- `LOG_FORMAT=json` prints one JSON object per line: time, level, logger, message, request_id (+ exception).
- `RequestMetricsMiddleware` counts requests by view name, method and status, with a latency histogram.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from huey.serializer import Serializer

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The caller's id when it looks like one (8–64 letters, digits, `.`, `_`, `-`), otherwise a fresh one: an id
    goes into every log line, so it must not carry line breaks or quotes."""
    if value and _VALID_ID.match(value):
        return value
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or the id of the request that queued the running task) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC ISO), level, logger, message, request_id and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id_var.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format: one line per event with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s%(rid)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "") or request_id_var.get()
        record.rid = f" rid={rid}" if rid else ""
        return super().format(record)


class RequestIdSerializer(Serializer):
    """Huey's serializer that also carries the request id of whoever queued the task: the worker thread that
    deserializes a task (right before running it) takes that id, so the task's log lines share it."""

    def serialize(self, data: Any) -> bytes:
        return bytes(super().serialize({"rid": request_id_var.get(), "message": data}))

    def deserialize(self, data: bytes) -> Any:
        obj = super().deserialize(data)
        if isinstance(obj, dict) and "message" in obj:
            request_id_var.set(obj.get("rid") or "")
            return obj["message"]
        request_id_var.set("")
        return obj  # queued before this serializer existed


class RequestIdMiddleware:
    """First in the chain: sets the request's id (header or new), answers it in X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = rid
        return response


class RequestMetricsMiddleware:
    """Counts each request by view name (the URL name, `unmatched` for 404s outside the URL map), method and
    status, and observes its latency. Outside `huitouke serve` the counters live in this process."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from huitouke.core import metrics

        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match and match.view_name else "unmatched") or "unmatched"
        metrics.observe_request(
            view=view, method=request.method or "", status=response.status_code, seconds=time.perf_counter() - started
        )
        return response
