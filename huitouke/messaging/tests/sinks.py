"""Real local servers the channel tests send to: an HTTP sink standing in for SMS gateways, webhooks and robots
(http.server in a thread), and an SMTP server (aiosmtpd). They record what arrived; nothing is mocked."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode())

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


#: answer(hit) -> (status, body dict or bytes, extra headers)
Responder = Callable[[Hit], tuple[int, Any, dict[str, str]]]


def ok_json(_hit: Hit) -> tuple[int, Any, dict[str, str]]:
    return 200, {"ok": True}, {}


@dataclass
class HttpSink:
    """Records every request; answers with `responder` (default 200 {"ok": true})."""

    responder: Responder = ok_json
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HttpSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one write per response (headers and body together) and no Nagle delay on keep-alive connections
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                hit = Hit(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                with sink.lock:
                    sink.hits.append(hit)
                status, payload, headers = sink.responder(hit)
                data = (
                    payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class SmtpSink:
    """aiosmtpd on a free local port; `messages` are the parsed emails received, `envelopes` the raw ones."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    controller: Any = None
    port: int = 0

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
                if address in sink.refuse:
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append(message_from_bytes(envelope.original_content))
                sink.recipients.append(list(envelope.rcpt_tos))
                return "250 Message accepted"

        with socket.socket() as probe:  # a free port (the controller checks it can connect to what it opened)
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
