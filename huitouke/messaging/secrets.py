"""Channel secrets (API keys, SMTP passwords, robot signing secrets): encrypted at rest, never shown back.

Encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`). The keys are settings.HUITOUKE_FERNET_KEYS
(the first encrypts, every one decrypts, so keys can be rotated) followed by one derived from the Django secret
key. A value written as `env:HUITOUKE_SECRET_NAME` is not stored at all: it is read from that environment
variable (settings.HUITOUKE_CHANNEL_SECRETS) when the channel is used.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from huitouke.core.errors import ApplicationError

ENV_PREFIX = "env:"
ENV_NAME_PREFIX = "HUITOUKE_SECRET_"


class ChannelSecretError(ApplicationError):
    """A stored secret cannot be read (the keys changed) or an env: secret is not set."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"huitouke channel secrets\x00" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    keys = [k.encode() if isinstance(k, str) else k for k in settings.HUITOUKE_FERNET_KEYS]
    return MultiFernet([Fernet(k) for k in [*keys, _derived_key()]])


def secrets_encrypt(values: dict[str, str]) -> str:
    """Encrypt a channel's secrets (name → value) into one token; an empty dict gives ''."""
    clean = {k: v for k, v in values.items() if v}
    if not clean:
        return ""
    return _fernet().encrypt(json.dumps(clean, sort_keys=True).encode()).decode()


def secrets_decrypt(token: str) -> dict[str, str]:
    """The secrets stored in `token` (still `env:` references where they were given so)."""
    if not token:
        return {}
    try:
        data = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ChannelSecretError(
            "the stored channel secrets cannot be decrypted: the secret key or HUITOUKE_FERNET_KEYS changed;"
            " enter the secrets again",
            field="secrets",
        ) from exc
    return {str(k): str(v) for k, v in data.items()}


def secret_resolve(name: str, value: str) -> str:
    """A secret's clear value: itself, or the environment variable an `env:` reference names."""
    if not value.startswith(ENV_PREFIX):
        return value
    var = value[len(ENV_PREFIX) :].strip()
    if not var.startswith(ENV_NAME_PREFIX):
        raise ChannelSecretError(f"{name}: only variables named {ENV_NAME_PREFIX}… can be referenced", field=name)
    if var not in settings.HUITOUKE_CHANNEL_SECRETS:
        raise ChannelSecretError(f"{name}: environment variable {var} is not set", field=name)
    return str(settings.HUITOUKE_CHANNEL_SECRETS[var])


def secrets_resolved(token: str) -> dict[str, str]:
    """Every stored secret with env: references replaced by their values (for the channel adapters only)."""
    return {name: secret_resolve(name, value) for name, value in secrets_decrypt(token).items()}
