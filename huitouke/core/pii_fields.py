"""Model fields for personal data at rest: `EncryptedTextField` (stored sealed, read clear), `DigestField` and the
cipher built from settings (`pii_cipher`). The rules themselves are in the pure `core.pii_crypto`."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django import forms
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError
from django.core.validators import MaxLengthValidator, validate_email
from django.db import models
from django.db.models.lookups import Exact, IsNull

from huitouke.core.pii_crypto import DIGEST_LENGTH, PiiCipher


def _derived(label: bytes) -> bytes:
    return hashlib.sha256(label + b"\x00" + settings.SECRET_KEY.encode()).digest()


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...], hash_key: str, secret: str) -> PiiCipher:
    derived = base64.urlsafe_b64encode(_derived(b"huitouke personal data"))
    hashing = hash_key.encode() if hash_key else _derived(b"huitouke personal data digests")
    return PiiCipher([*(k.encode() for k in keys), derived], hashing)


def pii_cipher() -> PiiCipher:
    """The cipher of the configured keys: HUITOUKE_PII_KEYS (first encrypts) then one derived from the secret key;
    digests under HUITOUKE_PII_HASH_KEY (or a key derived from the secret key)."""
    return _cipher(
        tuple(str(k) for k in settings.HUITOUKE_PII_KEYS),
        str(settings.HUITOUKE_PII_HASH_KEY or ""),
        str(settings.SECRET_KEY),
    )


@checks.register(checks.Tags.security)
def pii_keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A key in HUITOUKE_PII_KEYS that is not 32 bytes of url-safe base64 stops the start (`check`, `runserver`,
    `migrate`) instead of failing the first page that shows a customer."""
    try:
        pii_cipher()
    except ValueError as exc:
        return [checks.Error(f"HUITOUKE_PII_KEYS: {exc}", id="huitouke.E020")]
    return []


class EncryptedTextField(models.TextField):
    """Text stored as a token (core.pii_crypto) and read back clear (`''` stays `''`). `fixed`: the same token for
    the same value (AES-SIV), for columns that SQL compares with freshly sealed values (an order's delivery
    details, which the import compares); otherwise every write gets a fresh nonce (AES-GCM).

    Only "is it empty?" can be asked of the column in SQL (`field=""`, `field__isnull`): an encrypted value equals
    no clear one. Search by the digest columns instead (`customers.pii`)."""

    description = "Text encrypted at rest"

    def __init__(self, *args: Any, email: bool = False, fixed: bool = False, **kwargs: Any) -> None:
        self.email = email
        self.fixed = fixed
        super().__init__(*args, **kwargs)
        if self.max_length:
            # the clear value's length: the column holds the longer token
            self.validators.append(MaxLengthValidator(self.max_length))
        if email:
            self.validators.append(validate_email)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.email:
            kwargs["email"] = True
        if self.fixed:
            kwargs["fixed"] = True
        return name, path, args, kwargs

    def formfield(self, **kwargs: Any) -> Any:
        if self.email:
            kwargs.setdefault("form_class", forms.EmailField)
        kwargs.setdefault("widget", forms.TextInput)
        return super().formfield(**kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not value:
            return value
        return pii_cipher().open(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return pii_cipher().seal_fixed(value) if self.fixed else pii_cipher().seal(value)

    def sealer(self) -> Callable[[Any], Any]:
        """`get_prep_value` for the many values of one bulk write (`core.bulk.TableWriter`): the cipher is looked
        up once (from settings: a few microseconds per value otherwise) and text goes straight to it."""
        cipher = pii_cipher()
        seal = cipher.seal_fixed if self.fixed else cipher.seal
        prep = self.get_prep_value

        def sealed(value: Any) -> Any:
            if type(value) is not str:
                return prep(value)  # a lazy string, a number …: the field's own way
            return seal(value) if value else value

        return sealed

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        raise FieldError(
            f"{self.name} is encrypted at rest: it cannot be searched with '{lookup_name}'; use its digest column"
        )


class EmptyOnlyExact(Exact):
    """`field=""` on an encrypted field; comparing with any other value would silently match nothing."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None) and not hasattr(self.rhs, "resolve_expression"):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted at rest: compare it with '' only; use its digest column"
            )
        return super().get_prep_lookup()


class DigestField(models.CharField):
    """The keyed digest of another field of the row (`source`), of one `kind` of `PiiCipher.digest_of`: set from
    the source whenever the row is saved or bulk-created. A `save(update_fields=...)` naming the source must name
    this field too (`Customer.save` does it); `bulk_update` and raw SQL compute it themselves."""

    def __init__(self, *args: Any, source: str = "", kind: str = "", **kwargs: Any) -> None:
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", DIGEST_LENGTH)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, kind=self.kind)
        for key, value in (("max_length", DIGEST_LENGTH), ("blank", True), ("default", ""), ("editable", False)):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = pii_cipher().digest_of(self.kind, getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value
