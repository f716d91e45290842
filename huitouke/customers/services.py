"""Writes to the customer archive: create/update, identities, tags, notes, consent and merge."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError, RateLimitedError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import name_from_handle
from huitouke.core.pii_fields import pii_cipher
from huitouke.core.services import audit_log
from huitouke.customers.models import (
    ENCRYPTED_FIELDS,
    Consent,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Note,
    Platform,
    Tag,
)
from huitouke.customers.registry import registry
from huitouke.customers.selectors import CustomerFilter, contact_search_kind

#: Fields a person may edit on the profile (stats and merge state are maintained by services).
EDITABLE_FIELDS = (
    "name",
    "real_name",
    "gender",
    "birthday",
    "birthday_calendar",
    "phone",
    "email",
    "province",
    "city",
    "district",
    "address",
    "pref_choice",
    "pref_decision",
    "pref_price",
    "pref_knowledge",
)

_PHONE_ALLOWED = re.compile(r"^\+?[0-9*]{3,20}$")


def phone_normalise(raw: str) -> str:
    """Digits only, +86 and spaces/dashes/apostrophes removed; masked digits (*) are kept as they are."""
    value = re.sub(r"[\s\-()']", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ApplicationError(f"{name} cannot be set", field=name)
    out = dict(values)
    if "phone" in out:
        out["phone"] = phone_normalise(str(out["phone"] or ""))
        if out["phone"] and not _PHONE_ALLOWED.match(out["phone"]):
            raise ApplicationError(_("The phone number may only contain digits."), field="phone")
    if "email" in out:
        out["email"] = str(out["email"] or "").strip().lower()
    for key in ("name", "real_name", "province", "city", "district", "address"):
        if key in out:
            out[key] = str(out[key] or "").strip()
    if "birthday" in out and isinstance(out["birthday"], str):
        try:
            out["birthday"] = date.fromisoformat(out["birthday"]) if out["birthday"] else None
        except ValueError as exc:
            raise ApplicationError(_("The birthday must be a date like 1990-05-17."), field="birthday") from exc
    birthday = out.get("birthday")
    if isinstance(birthday, date) and not EARLIEST_BIRTHDAY <= birthday <= timezone.localdate():
        raise ApplicationError(
            _("The birthday must lie between %(earliest)s and today.") % {"earliest": EARLIEST_BIRTHDAY.isoformat()},
            field="birthday",
        )
    return out


#: the earliest plausible birthday (#14: every date is checked against what is plausible)
EARLIEST_BIRTHDAY = date(1900, 1, 1)


def _full_clean(customer: Customer) -> None:
    try:
        customer.full_clean(exclude=["merged_into"])
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(f"{name}: {' '.join(messages)}", field=name) from exc


def customer_create(*, identities: Iterable[tuple[str, str]] = (), **values: Any) -> Customer:
    """Create a customer with optional (platform, handle) identities.

    Raises ApplicationError naming the field for invalid values or an identity that belongs to someone else.
    """
    values = _clean_values(values)
    if not values.get("name"):
        identities = [(p, (h or "").strip()) for p, h in identities]
        handles = [h for _p, h in identities]
        values["name"] = name_from_handle(handles[0], values.get("real_name") or "") if handles else ""
    customer = Customer(**values)
    _full_clean(customer)
    with transaction.atomic():
        customer.save()
        for platform, handle in identities:
            identity_add(customer=customer, platform=platform, handle=handle)
    return customer


def customer_update(*, customer: Customer, **values: Any) -> Customer:
    """Change profile fields of a customer; only EDITABLE_FIELDS may be given. An erased customer's profile
    (a PIPL erasure) cannot be filled in again: ApplicationError."""
    if customer.erased_at is not None:
        raise ApplicationError(_("This customer's personal data was erased; the profile cannot be edited."))
    values = _clean_values(values)
    for key, value in values.items():
        setattr(customer, key, value)
    _full_clean(customer)
    customer.save(update_fields=[*values, "updated_at"])
    return customer


def identity_add(*, customer: Customer, platform: str, handle: str) -> CustomerIdentity:
    """Attach a platform handle to a customer. A handle already owned by another customer is refused."""
    handle = (handle or "").strip()
    if platform not in Platform.values:
        raise ApplicationError(f"unknown platform {platform!r}", field="platform")
    if not handle:
        raise ApplicationError(_("The buyer handle is empty."), field="handle")
    existing = CustomerIdentity.objects.filter(platform=platform, handle=handle).first()
    if existing:
        if existing.customer_id == customer.pk:
            return existing
        raise ApplicationError(
            _("%(platform)s handle %(handle)s already belongs to customer %(id)s.")
            % {"platform": platform, "handle": handle, "id": existing.customer_id},
            field="identities",
            code="conflict",
        )
    return CustomerIdentity.objects.create(customer=customer, platform=platform, handle=handle)


def tag_get_or_create(*, name: str) -> Tag:
    """The tag with this name, created when new. Names are trimmed and at most 32 characters."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("The tag name is empty."), field="tag")
    if len(name) > 32:
        raise ApplicationError(_("A tag name has at most 32 characters."), field="tag")
    tag, _created = Tag.objects.get_or_create(name=name)
    return tag


def customers_tag(*, customer_ids: Iterable[int], tag_name: str) -> int:
    """Put a tag on many customers at once; customers who have it already are left alone. Returns how many
    customers were newly tagged."""
    tag = tag_get_or_create(name=tag_name)
    ids = set(Customer.objects.filter(pk__in=list(customer_ids)).values_list("pk", flat=True))
    have = set(CustomerTag.objects.filter(tag=tag, customer_id__in=ids).values_list("customer_id", flat=True))
    CustomerTag.objects.bulk_create(
        [CustomerTag(customer_id=i, tag=tag) for i in sorted(ids - have)], ignore_conflicts=True, batch_size=1000
    )
    return len(ids - have)


def customers_untag(*, customer_ids: Iterable[int], tag_name: str) -> int:
    """Remove a tag from many customers; returns how many lost it."""
    deleted, _detail = CustomerTag.objects.filter(tag__name=tag_name, customer_id__in=list(customer_ids)).delete()
    return deleted


def customer_tags_set(*, customer: Customer, names: Iterable[str]) -> list[Tag]:
    """Make `names` the customer's complete set of tags: missing ones are added (created when new), the
    others removed. Raises ApplicationError naming `tag` for an empty or too long name; nothing changes then."""
    with transaction.atomic():
        tags = {t.pk: t for t in (tag_get_or_create(name=n) for n in names)}
        CustomerTag.objects.filter(customer=customer).exclude(tag_id__in=tags).delete()
        have = set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
        CustomerTag.objects.bulk_create(
            [CustomerTag(customer=customer, tag_id=pk) for pk in sorted(set(tags) - have)], ignore_conflicts=True
        )
    return sorted(tags.values(), key=lambda t: t.name)


#: How far ahead a follow-up may be planned.
FOLLOW_UP_MAX_DAYS = 731


def _follow_up_check(*, follow_up_on: date | None, owner: Any, author: Any) -> tuple[date | None, Any]:
    """The follow-up day and its owner as they will be stored (the author when no owner is named), or an
    ApplicationError naming the field."""
    if follow_up_on is None:
        if owner is not None:
            raise ApplicationError(_("Choose the day to follow up on."), field="follow_up_on")
        return None, None
    today = timezone.localdate()
    if follow_up_on < today:
        raise ApplicationError(_("The follow-up day has passed already."), field="follow_up_on")
    if (follow_up_on - today).days > FOLLOW_UP_MAX_DAYS:
        raise ApplicationError(_("A follow-up can be planned at most two years ahead."), field="follow_up_on")
    if owner is None:
        owner = author if getattr(author, "is_authenticated", False) else None
    if owner is None:
        raise ApplicationError(_("Choose who follows up."), field="follow_up_owner")
    if not owner.is_active or not owner.has_perm("customers.view_customer"):
        raise ApplicationError(
            _("%(user)s cannot see customers, so cannot follow up.") % {"user": owner.get_username()},
            field="follow_up_owner",
        )
    return follow_up_on, owner


def note_add(
    *,
    customer: Customer,
    author: Any,
    body: str,
    pinned: bool = False,
    follow_up_on: date | None = None,
    follow_up_owner: Any = None,
) -> Note:
    """Add a sticky note (记事贴) to a customer, signed by `author`.

    With `follow_up_on` (a business date, today or later, at most two years ahead) the note is also a follow-up
    for `follow_up_owner` (default: the author), who must be an active user allowed to see customers. Raises
    ApplicationError naming body, follow_up_on or follow_up_owner."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("The note is empty."), field="body")
    if len(body) > 4000:
        raise ApplicationError(_("A note has at most 4000 characters."), field="body")
    day, owner = _follow_up_check(follow_up_on=follow_up_on, owner=follow_up_owner, author=author)
    user = author if getattr(author, "is_authenticated", False) else None
    return Note.objects.create(
        customer=customer, author=user, body=body, pinned=pinned, follow_up_on=day, follow_up_owner=owner
    )


def note_follow_up_done(*, note: Note, actor: Any) -> Note:
    """Mark a note's follow-up as done (it leaves the owner's list and the dashboard). Marking it again changes
    nothing. Raises ApplicationError when the note has no follow-up."""
    if note.follow_up_on is None:
        raise ApplicationError(_("This note has no follow-up."), field="follow_up_on")
    if note.follow_up_done_at is None:
        now = timezone.now()
        Note.objects.filter(pk=note.pk, follow_up_done_at__isnull=True).update(follow_up_done_at=now, updated_at=now)
        note.refresh_from_db(fields=["follow_up_done_at", "updated_at"])
    return note


def consent_set(*, customer: Customer, channel: str, purpose: str, granted: bool, source: str) -> Consent:
    """Record a customer's yes or no for one channel and purpose; the latest answer wins."""
    if channel not in Consent.Channel.values:
        raise ApplicationError(f"unknown channel {channel!r}", field="channel")
    if purpose not in Consent.Purpose.values:
        raise ApplicationError(f"unknown purpose {purpose!r}", field="purpose")
    consent, _created = Consent.objects.update_or_create(
        customer=customer, channel=channel, purpose=purpose, defaults={"granted": granted, "source": source[:32]}
    )
    return consent


def customer_merge(*, source_id: int, target_id: int, actor: Any) -> Customer:
    """Merge customer `source` into `target`: identities, notes, tags, consents and every registered app's
    rows (orders …) move to the target; the source is kept as a tombstone pointing at the target.

    Cannot be undone. Writes one audit entry with the source's profile as it was (phone, email, real name and
    street address sealed as in the archive, core.pii_crypto). Raises ApplicationError
    for merging a customer into itself or into/out of an already merged customer.
    """
    if source_id == target_id:
        raise ApplicationError(_("A customer cannot be merged into itself."), field="target")
    with transaction.atomic():
        found = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source_id, target_id])}
        if source_id not in found:
            raise NotFoundError(f"customer {source_id} not found", field="source")
        if target_id not in found:
            raise NotFoundError(f"customer {target_id} not found", field="target")
        source, target = found[source_id], found[target_id]
        if source.merged_into_id or target.merged_into_id:
            raise ApplicationError(_("One of these customers was already merged."), field="source")
        snapshot: dict[str, Any] = {f: str(getattr(source, f) or "") for f in EDITABLE_FIELDS}
        cipher = pii_cipher()  # the audit log keeps the contact data encrypted too (readable with the keys)
        snapshot.update({f: cipher.seal(snapshot[f]) for f in ENCRYPTED_FIELDS})
        snapshot["identities"] = [str(i) for i in source.identities.all()]
        source.identities.update(customer=target)
        source.notes.update(customer=target)
        have_tags = set(target.customer_tags.values_list("tag_id", flat=True))
        source.customer_tags.filter(tag_id__in=have_tags).delete()
        source.customer_tags.update(customer=target)
        have_consents = set(target.consents.values_list("channel", "purpose"))
        for consent in source.consents.all():
            if (consent.channel, consent.purpose) not in have_consents:
                consent.customer = target
                consent.save(update_fields=["customer", "updated_at"])
        changed = []
        for field_name in EDITABLE_FIELDS:
            if not getattr(target, field_name) and getattr(source, field_name):
                setattr(target, field_name, getattr(source, field_name))
                changed.append(field_name)
        if changed:
            target.save(update_fields=[*changed, "updated_at"])
        for hook in registry.merge_hooks.values():
            hook(source, target)
        source.merged_into = target
        source.save(update_fields=["merged_into", "updated_at"])
        audit_log(
            actor=actor,
            action=AuditEntry.Action.MERGE,
            target_type="customer",
            target_id=target.pk,
            source_id=source.pk,
            source=snapshot,
        )
    target.refresh_from_db()
    return target


def contact_search_record(*, actor: Any, filters: CustomerFilter) -> None:
    """Audit and rate-limit a search that looks customers up by contact data (a whole phone number or email, or a
    phone's last four digits) made by someone who may not see contact data: one audit entry (action search) with
    the kind and the value searched, at most settings.HUITOUKE_CONTACT_SEARCHES_PER_HOUR per user and hour (web and
    API together). Anything else (a name, a handle, a viewer with core.unmask_pii) passes without a trace.
    Raises RateLimitedError (field search) once the hour's searches are used up."""
    kind = None if filters.contact_prefix else contact_search_kind(filters.search)
    if kind is None:
        return
    limit = settings.HUITOUKE_CONTACT_SEARCHES_PER_HOUR
    user = actor if getattr(actor, "is_authenticated", False) else None
    since = timezone.now() - timedelta(hours=1)
    used = AuditEntry.objects.filter(actor=user, action=AuditEntry.Action.SEARCH, created_at__gte=since)
    if used.count() >= limit:
        raise RateLimitedError(
            _("You searched by phone or email %(limit)d times in the last hour; try again later.") % {"limit": limit},
            field="search",
        )
    audit_log(
        actor=user, action=AuditEntry.Action.SEARCH, target_type="customer_search", kind=kind, search=filters.search
    )


def customer_contacted_mark(*, customer: Customer, at: datetime) -> None:
    """Record that a person of the shop talked with the customer at `at` (a return visit, a call): care's
    "not contacted for N days" reads `last_contacted_at`. An earlier contact never moves it back."""
    Customer.objects.filter(pk=customer.pk).filter(
        Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=at)
    ).update(last_contacted_at=at, updated_at=timezone.now())
