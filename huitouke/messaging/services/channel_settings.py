"""Writes of how a shop sends: its channel settings (with encrypted secrets) and its contact policy."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError
from huitouke.core.services import audit_log
from huitouke.messaging.channels import ADAPTERS, CHANNEL_PROVIDERS, ChannelConfigError
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    ContactPolicy,
)
from huitouke.messaging.secrets import ChannelSecretError, secret_resolve, secrets_decrypt, secrets_encrypt

# --- channel settings and the contact policy -----------------------------------------------------------------


class ChannelSettingsError(ApplicationError):
    pass


def channel_config_save(
    *,
    shop_id: int | None,
    channel: str,
    provider: str,
    options: Mapping[str, str],
    secrets_new: Mapping[str, str] | None = None,
    secrets_clear: Iterable[str] = (),
    enabled: bool = True,
    rate_per_second: float | None = None,
) -> ChannelConfig:
    """Set how a shop (None: every shop without its own) sends on a channel.

    Secrets given in `secrets_new` replace the stored ones (an empty value keeps what is stored); names in
    `secrets_clear` are removed. `env:HUITOUKE_SECRET_X` stores only the reference. The settings are checked by
    building the provider's adapter: a missing required setting raises ChannelSettingsError naming it."""
    if channel not in CHANNEL_PROVIDERS:
        raise ChannelSettingsError(f"unknown channel {channel!r}", field="channel")
    if provider not in CHANNEL_PROVIDERS[channel]:
        choices = ", ".join(CHANNEL_PROVIDERS[channel])
        raise ChannelSettingsError(f"{provider!r} cannot send {channel}; choose {choices}", field="provider")
    if rate_per_second is not None and rate_per_second <= 0:
        raise ChannelSettingsError(_("The rate limit must be more than 0 (or empty for none)."), field="rate")
    adapter_cls = ADAPTERS[provider]
    known_options = {s.name for s in adapter_cls.OPTIONS}
    known_secrets = {s.name for s in adapter_cls.SECRETS}
    for name in options:
        if name not in known_options:
            raise ChannelSettingsError(f"{provider} has no setting {name!r}", field=name)
    with transaction.atomic():
        config = ChannelConfig.objects.select_for_update().filter(shop=shop_id, channel=channel).order_by().first()
        config = config or ChannelConfig(shop_id=shop_id, channel=channel)
        stored = (
            secrets_decrypt(config.secrets_encrypted)
            if config.secrets_encrypted and config.provider == provider
            else {}
        )
        for name, value in (secrets_new or {}).items():
            if name not in known_secrets:
                raise ChannelSettingsError(f"{provider} has no secret {name!r}", field=name)
            if value:
                stored[name] = value.strip()
        for name in secrets_clear:
            stored.pop(name, None)
        try:
            resolved = {name: secret_resolve(name, value) for name, value in stored.items()}
            adapter = adapter_cls(options=options, secrets=resolved)
            adapter.close()
        except ChannelConfigError as exc:
            raise ChannelSettingsError(exc.message, field=exc.setting or "options") from exc
        except ChannelSecretError as exc:
            raise ChannelSettingsError(exc.message, field=exc.field) from exc
        config.provider = provider
        config.options = {k: str(v).strip() for k, v in options.items() if str(v).strip()}
        config.secrets_encrypted = secrets_encrypt(stored)
        config.enabled = enabled
        config.rate_per_second = rate_per_second
        if channel == Channel.SMS and not config.inbound_token:
            config.inbound_token = secrets.token_urlsafe(24)
        if channel == Channel.SMS and not config.inbound_secret:
            config.inbound_secret = secrets.token_urlsafe(32)
        config.full_clean(exclude=["shop"])
        config.save()
    return config


#: The audit action of a change of the marketing consent model (a settings change that decides who gets marketing).
AUDIT_CONSENT_MODEL = "settings"


def contact_policy_save(
    *,
    shop_id: int | None,
    quiet_start: time,
    quiet_end: time,
    budget_days: int,
    budget_marketing: int,
    budget_care: int,
    marketing_consent: str = ContactPolicy.MarketingConsent.OPT_IN,
    negative_review_days: int = 30,
    actor: Any = None,
) -> ContactPolicy:
    """Set a shop's (None: the default) quiet hours, contact budget and marketing consent model (opt-in: only
    customers who agreed; opt-out: everyone who has not said no). Takes effect at the next dispatch. A change of
    the consent model the shop works under (its own or, for a shop without its own rules, the default's) leaves
    one audit entry naming who changed it, from what to what."""
    if budget_days < 1 or budget_days > 365:
        raise ApplicationError(_("The budget period is 1 to 365 days."), field="budget_days")
    for name, value in (("budget_marketing", budget_marketing), ("budget_care", budget_care)):
        if value < 0 or value > 100:
            raise ApplicationError(_("A budget is 0 to 100 messages."), field=name)
    if negative_review_days < 0 or negative_review_days > 365:
        raise ApplicationError(_("The review period is 0 to 365 days."), field="negative_review_days")
    if marketing_consent not in ContactPolicy.MarketingConsent.values:
        raise ApplicationError(
            f"marketing_consent: unknown value {marketing_consent!r}; use opt_in or opt_out", field="marketing_consent"
        )
    with transaction.atomic():
        policy = ContactPolicy.objects.select_for_update().filter(shop=shop_id).first()
        if policy is None:
            inherited = ContactPolicy.objects.filter(shop__isnull=True).first() if shop_id is not None else None
            before = inherited.marketing_consent if inherited else ContactPolicy.MarketingConsent.OPT_IN
            policy = ContactPolicy(shop_id=shop_id)
        else:
            before = policy.marketing_consent
        policy.quiet_start, policy.quiet_end = quiet_start, quiet_end
        policy.budget_days, policy.budget_marketing, policy.budget_care = budget_days, budget_marketing, budget_care
        policy.marketing_consent = marketing_consent
        policy.negative_review_days = negative_review_days
        policy.save()
        if before != marketing_consent:
            audit_log(
                actor=actor,
                action=AUDIT_CONSENT_MODEL,
                target_type="shop" if shop_id is not None else "shops",
                target_id=shop_id or "",
                setting="marketing_consent",
                before=before,
                after=marketing_consent,
            )
    return policy
