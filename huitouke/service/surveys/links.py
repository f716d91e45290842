"""The survey link: /s/<token>/ where the token is the survey's id in base 36 with a 12-character HMAC signature
(core.links.ShortSigner, a salt of its own), short enough for an SMS and not guessable from another survey's."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from huitouke.core.links import ShortSigner, b36

SALT = "huitouke.service.survey-link"


def survey_token(survey_id: int) -> str:
    return ShortSigner(SALT).sign(b36(survey_id))


def survey_id_from(token: str) -> int | None:
    """The survey id a token names, or None for a malformed or forged one."""
    value = ShortSigner(SALT).value(token)
    return int(value, 36) if value else None


def survey_url(survey_id: int) -> str:
    return settings.HUITOUKE_PUBLIC_URL + reverse("survey", args=[survey_token(survey_id)])
