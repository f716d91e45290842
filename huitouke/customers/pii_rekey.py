"""Re-encryption of customers' personal data (`customers_reseal`), for `huitouke pii-rekey` and migration
`customers.0008_encrypt_existing_rows`: phone, email, real name and street address under the first key, the
search digests under the current hash key, clear text from before encryption encrypted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from huitouke.core.pii_crypto import PiiCipher
from huitouke.core.pii_rekey import BATCH, ResealResult, table_reseal

SEALED = ("real_name", "phone", "email", "address")
DIGESTS = ("phone_digest", "phone_last4_digest", "email_digest", "real_name_digest")


def customers_reseal(
    *,
    model: type[models.Model],
    cipher: PiiCipher,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> ResealResult:
    """Bring every customer row of `model` (the current or a migration's historical Customer) under `cipher`'s
    first key and hash key."""

    def target(stored: tuple[Any, ...]) -> tuple[Any, ...]:
        real_name, phone, email, _address = (cipher.open(v) for v in stored[:4])
        sealed = tuple(cipher.reseal(v) for v in stored[:4])
        return (*sealed, *cipher.digests(phone=phone, email=email, real_name=real_name))

    return table_reseal(model=model, columns=(*SEALED, *DIGESTS), target=target, batch=batch, progress=progress)
