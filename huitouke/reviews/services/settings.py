"""The shop's credit settings: the rule numbers, and where negative reviews are announced to the managers."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError
from huitouke.orders.models import Shop
from huitouke.reviews.crediting import credit_recompute
from huitouke.reviews.models import ALERT_FIELD_MAX, CreditSettings
from huitouke.reviews.registry import destination_check

log = logging.getLogger(__name__)

#: at most this many alert e-mail addresses
MAX_ALERT_EMAILS = 5
_SEPARATORS = re.compile(r"[,;，；\s]+")


def alert_emails_clean(value: str) -> str:
    """The alert addresses as stored ("a@x.com, b@y.com"); ApplicationError naming `alert_email` for an address
    that is not one, or more than MAX_ALERT_EMAILS of them."""
    found = [a for a in _SEPARATORS.split(value.strip()) if a]
    if len(found) > MAX_ALERT_EMAILS:
        raise ApplicationError(_("alert_email: at most %(n)s addresses") % {"n": MAX_ALERT_EMAILS}, field="alert_email")
    for address in found:
        try:
            validate_email(address)
        except ValidationError:
            raise ApplicationError(
                _("alert_email: %(address)s is not an e-mail address") % {"address": address}, field="alert_email"
            ) from None
    cleaned = ", ".join(dict.fromkeys(found))
    if len(cleaned) > ALERT_FIELD_MAX:
        raise ApplicationError(_("alert_email: the addresses are too long"), field="alert_email")
    return cleaned


def alert_robot_url_clean(value: str) -> str:
    """The robot URL as stored: an http(s) address whose host passes the outbound-safety check when it is saved
    (a loopback, private or link-local address is refused unless the operator allows it); ApplicationError
    naming `alert_robot_url` otherwise."""
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(_("alert_robot_url: not an http(s) address"), field="alert_robot_url")
    if len(url) > ALERT_FIELD_MAX:
        raise ApplicationError(_("alert_robot_url: the address is too long"), field="alert_robot_url")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ApplicationError(_("alert_robot_url: not an http(s) address"), field="alert_robot_url") from None
    destination_check(url, field="alert_robot_url")
    return url


def credit_settings_set(
    *,
    shop: Shop,
    preset: str,
    rating_period_days: int,
    default_good_after_days: int,
    monthly_cap: int,
    same_item_days: int,
    tmall: bool | None = None,
    alert_email: str | None = None,
    alert_robot_url: str | None = None,
) -> CreditSettings:
    """Set the shop's credit rule numbers (each bounded; a preset names the level table), whether it is a
    Tmall shop, and the managers' alert e-mail addresses and group-robot URL (each None: unchanged; "" clears
    it), and recompute the stored credit ledger under them. ApplicationError naming the field for a bad value;
    nothing is written then."""
    from huitouke.reviews.credit import rules_with

    try:
        rules_with(
            preset,
            rating_period_days=rating_period_days,
            default_good_after_days=default_good_after_days,
            monthly_cap=monthly_cap,
            same_item_days=same_item_days,
        )
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise ApplicationError(str(exc), field=field) from None
    emails = None if alert_email is None else alert_emails_clean(alert_email)
    robot = None if alert_robot_url is None else alert_robot_url_clean(alert_robot_url)
    with transaction.atomic():
        obj, _created = CreditSettings.objects.select_for_update().get_or_create(shop=shop)
        obj.preset = preset
        obj.rating_period_days = rating_period_days
        obj.default_good_after_days = default_good_after_days
        obj.monthly_cap = monthly_cap
        obj.same_item_days = same_item_days
        if tmall is not None:
            obj.tmall = tmall
        if emails is not None:
            obj.alert_email = emails
        if robot is not None:
            obj.alert_robot_url = robot
        obj.full_clean()
        obj.save()
    credit_recompute(shop=shop)
    return obj
