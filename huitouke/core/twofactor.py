"""Two-factor sign-in (TOTP, django-otp) with recovery codes.

A user enrols by scanning a QR code (rendered here as SVG by segno, no network call) into an authenticator app
and confirming one code; they then get RECOVERY_CODES single-use recovery codes, shown once. At sign-in, after
the password, a code from the app or one recovery code completes the sign-in. Every change is audited (action
two_factor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import segno
from django.contrib.auth.models import User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry

RECOVERY_CODES = 10
RECOVERY_DEVICE = "recovery"


def two_factor_enabled(user: User) -> bool:
    """Whether the user has a confirmed authenticator."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE).count()


def totp_enrol_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for `user` (replacing an earlier unconfirmed one); the confirmed one, if
    any, keeps working until the new one is confirmed."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_pending(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an inline SVG QR code (drawn locally)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#111", light="#fff"))


def totp_secret_text(device: TOTPDevice) -> str:
    """The secret in base32 groups of four, for typing into an app that cannot scan."""
    import base64

    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _new_recovery_codes(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def totp_enrol_confirm(*, user: User, token: str) -> list[str]:
    """Confirm the pending authenticator with one code from the app: it replaces any earlier one, and a fresh
    set of recovery codes is made and returned (shown once). Raises ApplicationError (field token) for a wrong
    code, or when nothing is pending."""
    device = totp_pending(user=user)
    if device is None:
        raise ApplicationError("start setting up an authenticator first", field="token")
    if not device.verify_token(_digits(token)):
        raise ApplicationError("the code is not right; check the app's clock and try the newest code", field="token")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        record(actor=user, action=AuditEntry.Action.TWO_FACTOR, target_type="user", target_id=user.pk, op="enrol")
    return codes


def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's recovery codes with a fresh set (the old ones stop working). Needs two-factor on."""
    if not two_factor_enabled(user):
        raise ApplicationError("two-factor sign-in is not on", field="two_factor")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        record(
            actor=user, action=AuditEntry.Action.TWO_FACTOR, target_type="user", target_id=user.pk, op="recovery_codes"
        )
    return codes


def two_factor_disable(*, user: User, actor: Any) -> None:
    """Remove the user's authenticator and recovery codes (their own choice, or an owner's after a lost phone)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record(actor=actor, action=AuditEntry.Action.TWO_FACTOR, target_type="user", target_id=user.pk, op="disable")


@dataclass(frozen=True)
class SecondFactor:
    """A verified second factor: the device (to persist in the session) and how (totp or recovery)."""

    device: Any
    method: str


def second_factor_verify(*, user: User, token: str) -> SecondFactor | None:
    """Check a code typed at sign-in: six digits against the authenticator, anything else as a recovery code
    (used up when it matches). None when it matches neither (django-otp also slows down repeated misses)."""
    code = token.strip().replace(" ", "").replace("-", "")
    if not code or len(code) > 32:
        return None
    if code.isdigit() and len(code) == 6:
        for device in TOTPDevice.objects.filter(user=user, confirmed=True):
            if device.verify_token(code):
                return SecondFactor(device=device, method="totp")
        return None
    for static in StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE):
        if static.verify_token(code.lower()):
            return SecondFactor(device=static, method="recovery")
    return None


def _digits(token: str) -> str:
    return token.strip().replace(" ", "")
