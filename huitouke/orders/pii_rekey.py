"""Re-encryption of the delivery details orders keep (`orders_reseal`), for `huitouke pii-rekey` and migration
`orders` that encrypted them: receiver name, phone and address as equal-for-equal (SIV) tokens under the first key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from huitouke.core.pii_crypto import PiiCipher
from huitouke.core.pii_rekey import BATCH, ResealResult, table_reseal

SEALED = ("receiver_name", "receiver_phone", "receiver_address")


def orders_reseal(
    *,
    model: type[models.Model],
    cipher: PiiCipher,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> ResealResult:
    """Bring every order row of `model` (the current or a migration's historical Order) under the first key."""

    def target(stored: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(cipher.reseal_fixed(v) for v in stored)

    return table_reseal(model=model, columns=SEALED, target=target, batch=batch, progress=progress)
