"""Webhooks: a signed JSON POST to the shop's own system, and the WeCom / DingTalk / Feishu group robots that
post staff alerts into a work chat.

The JSON webhook signs every request: `X-Huitouke-Signature: sha256=HEX` where HEX is the HMAC-SHA256 of
`"{timestamp}.{body}"` under the shared secret and `X-Huitouke-Timestamp` the Unix time, so the receiver can
check both the sender and the age. `Idempotency-Key` carries the message's key: a receiver that remembers keys
processes a retried request once.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from django.utils.translation import gettext_lazy as _

from huitouke.messaging.channels.base import (
    URL_SETTING_HELP,
    Adapter,
    HttpClient,
    HttpResponse,
    HttpTransientError,
    Outcome,
    Outgoing,
    Result,
    Setting,
)

SIGNATURE_HEADER = "X-Huitouke-Signature"
TIMESTAMP_HEADER = "X-Huitouke-Timestamp"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of "{timestamp}." + body under `secret` (what receivers recompute)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot 加签: base64 HMAC-SHA256 of "{timestamp}\\n{secret}" keyed by the secret, URL-encoded."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(mac).decode(), safe="")


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu robot 签名校验: base64 HMAC-SHA256 keyed by "{timestamp}\\n{secret}" over an empty message."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def url_label(url: str) -> str:
    """What the send record shows as the address of a webhook: the host only (robot URLs carry their key)."""
    return urlsplit(url).netloc or "webhook"


class _HttpAdapter(Adapter):
    timeout: ClassVar[float] = 10.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http = HttpClient(timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def _post_json(self, url: str, payload: Any, headers: dict[str, str] | None = None) -> HttpResponse:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return self.http.request(
            "POST", url, body=body, headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        )


class WebhookAdapter(_HttpAdapter):
    """A JSON POST per message to the configured URL (2xx = accepted; 429/5xx/no answer = retry). A batch is
    posted one by one on a kept-alive connection; the dispatcher records the batch's results together."""

    provider = "webhook"
    max_batch = 50
    OPTIONS = (Setting("url", _("URL"), help=URL_SETTING_HELP, destination="url"),)
    SECRETS = (Setting("signing_secret", _("Signing secret"), help=_("Shared with the receiver to check requests.")),)

    def payload(self, m: Outgoing) -> dict[str, Any]:
        return {
            "id": m.id,
            "idempotency_key": m.key,
            "purpose": m.purpose,
            "source": m.source_kind,
            "customer_id": m.customer_id,
            "to": m.to,
            "subject": m.subject,
            "text": m.body,
            "variables": dict(m.params),
            "language": m.language,
        }

    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        results = []
        for m in batch:
            body = json.dumps(self.payload(m), ensure_ascii=False, separators=(",", ":")).encode()
            now = int(time.time())
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": m.key,
                TIMESTAMP_HEADER: str(now),
                SIGNATURE_HEADER: webhook_signature(self.secrets["signing_secret"], now, body),
            }
            try:
                resp = self.http.request("POST", self.options["url"], body=body, headers=headers)
            except HttpTransientError as exc:
                results.append(Result(m.id, Outcome.RETRY, error=str(exc)))
                continue
            if 200 <= resp.status < 300:
                provider_id = resp.headers.get("x-message-id", "")
                results.append(Result(m.id, Outcome.SENT, provider_id=provider_id[:128]))
            else:
                outcome = Outcome.RETRY if resp.transient else Outcome.REJECT
                results.append(Result(m.id, outcome, error=f"HTTP {resp.status}: {resp.body[:200]!r}"))
        return results


class _RobotAdapter(_HttpAdapter):
    """Group robots take a text message; an `errcode`/`code` of 0 means accepted."""

    max_batch = 20

    RATE_LIMIT_CODES: ClassVar[frozenset[int]] = frozenset()

    @abc.abstractmethod
    def request(self, m: Outgoing) -> HttpResponse:
        """Post one message in the robot's own format."""

    @staticmethod
    def text(m: Outgoing) -> str:
        return f"{m.subject}\n{m.body}" if m.subject else m.body

    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        results = []
        for m in batch:
            try:
                resp = self.request(m)
            except HttpTransientError as exc:
                results.append(Result(m.id, Outcome.RETRY, error=str(exc)))
                continue
            if resp.status != 200:
                outcome = Outcome.RETRY if resp.transient else Outcome.REJECT
                results.append(Result(m.id, outcome, error=f"HTTP {resp.status}"))
                continue
            try:
                data = resp.json() or {}
            except ValueError:
                results.append(Result(m.id, Outcome.RETRY, error="the answer is not JSON"))
                continue
            code = int(data.get("errcode", data.get("code", data.get("StatusCode", 0))) or 0)
            if code == 0:
                results.append(Result(m.id, Outcome.SENT))
            else:
                message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
                outcome = Outcome.RETRY if code in self.RATE_LIMIT_CODES else Outcome.REJECT
                results.append(Result(m.id, outcome, error=f"{code}: {message}"[:300]))
        return results


class WecomAdapter(_RobotAdapter):
    """WeCom (企业微信) group robot: POST {"msgtype": "text", "text": {"content": …}} to the robot's URL."""

    provider = "wecom"
    OPTIONS = ()
    SECRETS = (Setting("url", _("Robot URL (with its key)"), destination="url"),)
    RATE_LIMIT_CODES = frozenset({45009})

    def request(self, m: Outgoing) -> HttpResponse:
        return self._post_json(self.secrets["url"], {"msgtype": "text", "text": {"content": self.text(m)}})


class DingtalkAdapter(_RobotAdapter):
    """DingTalk (钉钉) group robot; with a signing secret (加签) the URL carries timestamp and sign."""

    provider = "dingtalk"
    OPTIONS = ()
    SECRETS = (
        Setting("url", _("Robot URL (with its access token)"), destination="url"),
        Setting("signing_secret", _("Signing secret (SEC…)"), required=False),
    )
    RATE_LIMIT_CODES = frozenset({130101, 410100})

    def request(self, m: Outgoing) -> HttpResponse:
        url = self.secrets["url"]
        secret = self.secrets.get("signing_secret", "")
        if secret:
            ts = int(time.time() * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
        return self._post_json(url, {"msgtype": "text", "text": {"content": self.text(m)}})


class FeishuAdapter(_RobotAdapter):
    """Feishu / Lark (飞书) group robot; with a signing secret the body carries timestamp and sign."""

    provider = "feishu"
    OPTIONS = ()
    SECRETS = (
        Setting("url", _("Robot URL"), destination="url"),
        Setting("signing_secret", _("Signing secret"), required=False),
    )
    RATE_LIMIT_CODES = frozenset({9499, 11232})

    def request(self, m: Outgoing) -> HttpResponse:
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": self.text(m)}}
        secret = self.secrets.get("signing_secret", "")
        if secret:
            ts = int(time.time())
            payload = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **payload}
        return self._post_json(self.secrets["url"], payload)
