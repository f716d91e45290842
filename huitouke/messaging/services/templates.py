"""Writes of message templates: create, change (never a system one), copy."""

from __future__ import annotations

from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError
from huitouke.messaging import rendering
from huitouke.messaging.models import (
    Channel,
    Template,
)
from huitouke.messaging.services.enqueue import _CHANNELS, _PURPOSES

# --- templates -----------------------------------------------------------------------------------------------


class TemplateInvalidError(ApplicationError):
    pass


def _template_check(*, channel: str, purpose: str, language: str, name: str, subject: str, body: str) -> None:
    if channel not in _CHANNELS:
        raise TemplateInvalidError(f"unknown channel {channel!r}", field="channel")
    if purpose not in _PURPOSES:
        raise TemplateInvalidError(f"unknown purpose {purpose!r}", field="purpose")
    if language not in ("zh-hans", "en"):
        raise TemplateInvalidError(f"unknown language {language!r}; use zh-hans or en", field="language")
    if not name.strip():
        raise TemplateInvalidError(_("The template needs a name."), field="name")
    if not body.strip():
        raise TemplateInvalidError(_("The template text is empty."), field="body")
    if channel == Channel.EMAIL and not subject.strip():
        raise TemplateInvalidError(_("An email template needs a subject."), field="subject")
    for field_name, text in (("subject", subject), ("body", body)):
        try:
            rendering.parse(text)
        except rendering.TemplateTextError as exc:
            raise TemplateInvalidError(exc.message, field=field_name) from exc


def template_save(
    *,
    template: Template | None = None,
    channel: str,
    purpose: str,
    language: str,
    name: str,
    subject: str = "",
    body: str,
    provider_code: str = "",
) -> Template:
    """Create a template (template=None) or change one. System templates from the library cannot be changed:
    copy them (template_copy). Raises TemplateInvalidError naming the field (an unknown {variable} names it)."""
    if template is not None and template.system:
        raise TemplateInvalidError(_("System templates cannot be changed; make a copy first."), field="template")
    _template_check(channel=channel, purpose=purpose, language=language, name=name, subject=subject, body=body)
    tpl = template or Template()
    tpl.channel, tpl.purpose, tpl.language = channel, purpose, language
    tpl.name, tpl.subject, tpl.body, tpl.provider_code = (
        name.strip(),
        subject.strip(),
        body.strip(),
        provider_code.strip(),
    )
    tpl.full_clean(exclude=["key"])
    tpl.save()
    return tpl


def template_copy(*, template: Template) -> Template:
    """An editable copy of a template (typically a system one), named "… (copy)"."""
    return Template.objects.create(
        channel=template.channel,
        purpose=template.purpose,
        language=template.language,
        name=(_("%(name)s (copy)") % {"name": template.name})[:100],
        subject=template.subject,
        body=template.body,
        provider_code=template.provider_code,
    )
