"""Email through SMTP (Django's SMTP backend), one connection per batch.

Marketing and care mail carry RFC 2369 `List-Unsubscribe` with the signed one-click link and RFC 8058
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so mail clients offer an unsubscribe button that works
without a login. The Message-ID is derived from the message's idempotency key, so a retried send has the same id.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huitouke.messaging.channels import outbound
from huitouke.messaging.channels.base import (
    Adapter,
    ChannelConfigError,
    Outcome,
    Outgoing,
    Result,
    Setting,
    rejected,
    retry,
)

UNSUBSCRIBE_PURPOSES = ("marketing", "care")


def message_id_for(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain or 'huitouke.local'}>"


def _permanent(code: int) -> bool:
    return 500 <= code < 600


class PinnedEmailBackend(EmailBackend):
    """Django's SMTP backend connecting to the address the outbound check approved (`pinned`), while TLS still
    checks the certificate against the server's name."""

    pinned: str | None = None

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        base: type[smtplib.SMTP] = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        address = self.pinned
        if address is None:
            return base

        class Pinned(base):  # type: ignore[misc,valid-type] # a subclass of whichever class the backend uses
            def _get_socket(self, host: str, port: int, timeout: float) -> Any:
                return super()._get_socket(address, port, timeout)

        return Pinned


class EmailAdapter(Adapter):
    provider = "smtp"
    max_batch = 50
    OPTIONS = (
        Setting("host", _("SMTP server"), destination="host"),
        Setting("port", _("Port"), default="587"),
        Setting("security", _("Security"), help=_("starttls, ssl or none"), default="starttls"),
        Setting("username", _("User name"), required=False),
        Setting("from_email", _("Sender"), help=_("e.g. 小店 <service@example.com>")),
        Setting("reply_to", _("Reply to"), required=False),
    )
    SECRETS = (Setting("password", _("Password"), required=False),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        security = self.options["security"].lower()
        if security not in ("starttls", "ssl", "none"):
            raise ChannelConfigError("smtp: security must be starttls, ssl or none", setting="security")
        self.backend = PinnedEmailBackend(
            host=self.options["host"],
            port=int(self.options["port"] or 587),
            username=self.options["username"] or None,
            password=self.secrets.get("password") or None,
            use_tls=security == "starttls",
            use_ssl=security == "ssl",
            timeout=15,
            fail_silently=False,
        )
        sender = self.options["from_email"]
        self.domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else ""

    def build(self, m: Outgoing) -> EmailMessage:
        headers = {"Message-ID": message_id_for(m.key, self.domain)}
        if m.purpose in UNSUBSCRIBE_PURPOSES and m.unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{m.unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        reply_to = [self.options["reply_to"]] if self.options["reply_to"] else None
        body = m.body
        # marketing mail carries its unsubscribe and preferences links in the text already (rendered at enqueue)
        if m.purpose in UNSUBSCRIBE_PURPOSES and m.unsubscribe_url and m.purpose != "marketing":
            with translation.override(m.language or settings.LANGUAGE_CODE):
                footer = gettext("Do not want these emails? Unsubscribe:")
            body = f"{body}\n\n--\n{footer} {m.unsubscribe_url}"
        return EmailMessage(
            subject=m.subject,
            body=body,
            from_email=self.options["from_email"],
            to=[m.to],
            headers=headers,
            reply_to=reply_to,
        )

    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        if self.backend.connection is None:
            try:
                self.backend.pinned = outbound.host_resolve_checked(
                    self.backend.host, int(self.backend.port), setting="host"
                )
            except outbound.OutboundAddressError as exc:
                return rejected(batch, exc.message)
            except OSError as exc:
                return retry(batch, f"cannot resolve the SMTP server: {exc}")
        try:
            self.backend.open()
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            return retry(batch, f"cannot reach the SMTP server: {exc}")
        results = []
        for m in batch:
            email = self.build(m)
            try:
                self.backend.send_messages([email])
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _msg in exc.recipients.values()]
                outcome = Outcome.REJECT if all(_permanent(c) for c in codes) else Outcome.RETRY
                results.append(Result(m.id, outcome, error=f"recipient refused: {codes}"))
            except smtplib.SMTPResponseException as exc:
                outcome = Outcome.REJECT if _permanent(exc.smtp_code) else Outcome.RETRY
                results.append(Result(m.id, outcome, error=f"{exc.smtp_code} {exc.smtp_error!r}"[:300]))
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                results.append(Result(m.id, Outcome.RETRY, error=str(exc)[:300]))
                self.backend.close()
                with contextlib.suppress(TimeoutError, OSError, smtplib.SMTPException):
                    self.backend.open()
            else:
                results.append(Result(m.id, Outcome.SENT, provider_id=email.extra_headers["Message-ID"]))
        return results

    def close(self) -> None:
        self.backend.close()
