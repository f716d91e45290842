"""Forms of the messaging pages: templates, channel settings (fields per provider) and the contact policy."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.messaging.channels import ADAPTERS
from huitouke.messaging.models import Channel, ContactPolicy, Purpose
from huitouke.messaging.rendering import VARIABLES

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    subject = forms.CharField(label=_("Subject (email)"), max_length=255, required=False)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_("Variables: %(names)s") % {"names": " ".join("{" + v + "}" for v in VARIABLES)},
    )
    provider_code = forms.CharField(
        label=_("SMS template code"),
        max_length=64,
        required=False,
        help_text=_("The code the SMS gateway gave this text when it approved it (e.g. SMS_123456789)."),
    )


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ContactPolicy
        fields = [
            "quiet_start",
            "quiet_end",
            "budget_days",
            "budget_marketing",
            "budget_care",
            "marketing_consent",
            "negative_review_days",
        ]
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "marketing_consent": forms.RadioSelect,
        }
        help_texts = {"quiet_end": _("The same start and end turns quiet hours off.")}


class ChannelForm(forms.Form):
    """The settings of one provider: its options (shown again) and secrets (write-only: an empty field keeps
    the stored value; "clear" removes it)."""

    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    rate_per_second = forms.FloatField(
        label=_("Messages per second"),
        required=False,
        min_value=0.01,
        help_text=_("Shared by every worker; empty for no limit."),
    )

    def __init__(self, *args: Any, provider: str, stored_secrets: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adapter = ADAPTERS[provider]
        self.provider = provider
        self.option_names = [s.name for s in adapter.OPTIONS]
        self.secret_names = [s.name for s in adapter.SECRETS]
        for s in adapter.OPTIONS:
            self.fields[f"opt_{s.name}"] = forms.CharField(
                label=s.label, required=False, help_text=s.help, initial=s.default, max_length=500
            )
        for s in adapter.SECRETS:
            stored = s.name in stored_secrets
            self.fields[f"secret_{s.name}"] = forms.CharField(
                label=s.label,
                required=False,
                max_length=500,
                widget=forms.PasswordInput(
                    render_value=False,
                    attrs={
                        "autocomplete": "new-password",
                        "placeholder": str(_("stored — leave empty to keep")) if stored else "",
                    },
                ),
                help_text=_("Or env:HUITOUKE_SECRET_NAME to read it from the environment."),
            )
            if stored:
                self.fields[f"clear_{s.name}"] = forms.BooleanField(label=_("Remove"), required=False)

    def option_fields(self) -> list[forms.BoundField]:
        return [self[f"opt_{n}"] for n in self.option_names]

    def secret_fields(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        return [
            (self[f"secret_{n}"], self[f"clear_{n}"] if f"clear_{n}" in self.fields else None)
            for n in self.secret_names
        ]

    def options(self) -> dict[str, str]:
        return {n: self.cleaned_data.get(f"opt_{n}") or "" for n in self.option_names}

    def secrets_new(self) -> dict[str, str]:
        return {n: self.cleaned_data.get(f"secret_{n}") or "" for n in self.secret_names}

    def secrets_clear(self) -> list[str]:
        return [n for n in self.secret_names if self.cleaned_data.get(f"clear_{n}")]
