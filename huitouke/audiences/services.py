"""Writes of segments: create, update, delete. Every definition is validated before it is stored."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from huitouke.audiences.conditions import parse_definition
from huitouke.audiences.models import Segment
from huitouke.audiences.selectors import segment_count
from huitouke.core.errors import ApplicationError, ConflictError


def _clean_name(name: str, *, exclude_pk: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ApplicationError("a segment needs a name", field="name")
    if len(name) > 64:
        raise ApplicationError("the name is longer than 64 characters", field="name")
    clash = Segment.objects.filter(name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(f"a segment named {name!r} already exists", field="name")
    return name


@transaction.atomic
def segment_create(
    *,
    name: str,
    definition: Any,
    description: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Segment:
    """Save a new segment. Raises DefinitionError (bad conditions) or ApplicationError (bad name)."""
    group = parse_definition(definition)
    segment = Segment.objects.create(
        name=_clean_name(name),
        description=description.strip()[:255],
        definition=group.model_dump(mode="json", exclude_none=True),
        last_count=segment_count(group),
        created_by_id=user.pk if user is not None and user.is_authenticated else None,
    )
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, name: str, definition: Any, description: str = "") -> Segment:
    group = parse_definition(definition)
    segment.name = _clean_name(name, exclude_pk=segment.pk)
    segment.description = description.strip()[:255]
    segment.definition = group.model_dump(mode="json", exclude_none=True)
    segment.last_count = segment_count(group)
    segment.save()
    return segment


def segment_delete(*, segment: Segment) -> None:
    """Delete a segment no campaign uses. Raises ConflictError (409) naming the campaigns that still use it
    (their send records point at it: a campaign keeps its audience), and nothing is deleted then."""
    try:
        with transaction.atomic():
            segment.delete()
    except ProtectedError as exc:
        names = sorted({str(obj) for obj in exc.protected_objects})
        sep = "、" if (get_language() or "").startswith("zh") else ", "
        shown = sep.join(f"“{n}”" for n in names[:5]) + ("…" if len(names) > 5 else "")
        raise ConflictError(
            _("The segment is used by %(count)d campaign(s): %(names)s. Delete or change them first.")
            % {"count": len(names), "names": shown},
            field="segment",
        ) from exc


#: The consent group of seed 004: customers who do not mind hearing about new products and promotions.
NEW_PRODUCTS = "new_products"
GROUP_CHANNELS = ("sms", "email", "im")


def consent_group_set(
    *, customer: Any, member: bool, source: str, channels: tuple[str, ...] | list[str] | None = None
) -> list[str]:
    """Join (member=True) or leave the new-products and promotions group. The answer is about notices in
    general, so it is recorded on every channel unless `channels` narrows it; returns the channels written.
    Leaving is always possible in one step; an unsubscribe from one message stays narrower (messaging)."""
    from huitouke.customers.services import consent_set

    wanted = list(channels) if channels else list(GROUP_CHANNELS)
    unknown = [c for c in wanted if c not in GROUP_CHANNELS]
    if unknown:
        raise ApplicationError(f"unknown channel {unknown[0]!r}; use {', '.join(GROUP_CHANNELS)}", field="channels")
    with transaction.atomic():
        for channel in wanted:
            consent_set(customer=customer, channel=channel, purpose=NEW_PRODUCTS, granted=member, source=source)
    return wanted
