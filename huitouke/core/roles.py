"""The four roles (owner, manager, agent/客服, marketer) as Django groups and the permissions each one holds.

The groups are kept in step with ROLE_PERMISSIONS after every migrate, so a new permission reaches every
installation without a data migration.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value
from django.utils.translation import gettext_lazy as _

OWNER, MANAGER, AGENT, MARKETER = "owner", "manager", "agent", "marketer"

ROLE_LABELS = {
    OWNER: _("Owner"),
    MANAGER: _("Manager"),
    AGENT: _("Service agent"),
    MARKETER: _("Marketer"),
}

_VIEW_ARCHIVE = [
    "customers.view_customer",
    "customers.view_tag",
    "customers.view_note",
    "orders.view_order",
    "orders.view_shop",
    "orders.view_product",
    "loyalty.view_level",
    "audiences.view_segment",
]
_SEGMENTS = ["audiences.add_segment", "audiences.change_segment", "audiences.delete_segment"]
_CAMPAIGNS = ["campaigns.view_campaign", "campaigns.add_campaign", "campaigns.change_campaign"]
_ANALYTICS = ["analytics.view_customerscore"]
_CARE = ["care.view_carerule", "care.add_carerule", "care.change_carerule", "care.delete_carerule"]
_MESSAGES = ["messaging.view_message", "messaging.view_template"]
_TEMPLATES = ["messaging.add_template", "messaging.change_template", "messaging.resend_message"]
_TICKETS = ["service.view_ticket", "service.add_ticket", "service.change_ticket"]
_VISITS_WORK = ["visits.view_visitplan", "visits.work_visittask"]
_VISITS_PLAN = ["visits.add_visitplan", "visits.change_visitplan", "visits.delete_visitplan"]
_SERVICE_CONFIG = ["service.configure_service", "service.approve_compensation"]
_REVIEWS = ["reviews.view_review", "reviews.add_review", "reviews.change_review", "reviews.view_creditsettings"]
_EDIT_ARCHIVE = [
    "customers.change_customer",
    "customers.add_note",
    "customers.add_customertag",
    "customers.delete_customertag",
    "customers.add_tag",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    OWNER: ["*"],
    MANAGER: [
        *_VIEW_ARCHIVE,
        *_EDIT_ARCHIVE,
        "customers.add_customer",
        "customers.merge_customers",
        "customers.change_tag",
        "customers.delete_tag",
        "orders.add_order",
        "orders.change_order",
        "loyalty.change_level",
        *_SEGMENTS,
        *_CAMPAIGNS,
        *_MESSAGES,
        *_TEMPLATES,
        "messaging.add_message",
        "messaging.send_manual",
        "messaging.change_channelconfig",
        "messaging.change_contactpolicy",
        "core.unmask_pii",
        "core.export_customers",
        "core.view_audit",
        *_ANALYTICS,
        "analytics.add_scorerun",
        *_CARE,
        *_TICKETS,
        *_SERVICE_CONFIG,
        *_REVIEWS,
        "reviews.change_creditsettings",
        *_VISITS_WORK,
        *_VISITS_PLAN,
    ],
    AGENT: [
        *_VIEW_ARCHIVE,
        *_EDIT_ARCHIVE,
        *_MESSAGES,
        "messaging.send_manual",
        *_TICKETS,
        *_REVIEWS,
        *_VISITS_WORK,
    ],
    MARKETER: [
        *_VIEW_ARCHIVE,
        "reviews.view_review",
        "reviews.view_creditsettings",
        *_CARE,
        *_ANALYTICS,
        *_SEGMENTS,
        *_CAMPAIGNS,
        *_MESSAGES,
        *_TEMPLATES,
        "customers.add_customertag",
        "customers.delete_customertag",
        "customers.add_tag",
    ],
}


def roles_sync() -> None:
    """Create the role groups and give each exactly the permissions listed for it."""
    everything = list(Permission.objects.all())
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in Permission.objects.select_related("content_type")}
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = everything if names == ["*"] else [by_name[n] for n in names if n in by_name]
        group.permissions.set(perms)


def roles_sync_after_migrate(**kwargs: Any) -> None:
    """post_migrate hook. Django creates each app's permissions in that app's own post_migrate, and `core`
    comes before the apps whose permissions the roles hold, so create them all first (idempotent)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))
    roles_sync()


#: the role group names of a user whose access was loaded for this request (user_access_load)
ROLE_NAMES_ATTR = "_huitouke_role_names"


def user_access_load(user: Any) -> None:
    """Read in one statement what a signed-in page otherwise reads in three: the user's own permissions and their
    groups' (Django's ModelBackend, two queries) and the group names `role_of` reads. The permissions go into the
    caches ModelBackend keeps on the user object (`_user_perm_cache`, `_group_perm_cache`, `_perm_cache`, which it
    fills the same way when they are missing), the names into ROLE_NAMES_ATTR, so every later `has_perm`, `{{ perms }}`
    and `role_of` of this request is free. Like ModelBackend's, the caches live on this user object, that is for one
    request: a role changed now shows on the next request. Inactive users and superusers keep ModelBackend's own
    rules (no permissions; every permission) and get only their group names."""
    if not getattr(user, "is_authenticated", False) or hasattr(user, ROLE_NAMES_ATTR):
        return
    text = CharField()
    groups = (
        Group.objects.filter(user=user)
        .annotate(kind=Value("g", output_field=text))
        .values_list("kind", "name", "permissions__content_type__app_label", "permissions__codename")
        .order_by()
    )
    own = (
        Permission.objects.filter(user=user)
        .annotate(kind=Value("u", output_field=text), group_name=Value("", output_field=text))
        .values_list("kind", "group_name", "content_type__app_label", "codename")
        .order_by()
    )
    names: set[str] = set()
    mine: set[str] = set()
    through_groups: set[str] = set()
    for kind, name, app_label, codename in groups.union(own, all=True):
        if kind == "g":
            names.add(name)
        if codename is not None:
            (through_groups if kind == "g" else mine).add(f"{app_label}.{codename}")
    setattr(user, ROLE_NAMES_ATTR, frozenset(names))
    if user.is_active and not user.is_superuser:
        user._user_perm_cache = mine
        user._group_perm_cache = through_groups
        user._perm_cache = mine | through_groups


def role_of(user: Any) -> str | None:
    """The user's role name (the first role group they belong to), or None. Free when the request's access was
    loaded (user_access_load) or the groups prefetched; one query otherwise."""
    if not getattr(user, "is_authenticated", False):
        return None
    names = getattr(user, ROLE_NAMES_ATTR, None)
    if names is None:
        names = {g.name for g in user.groups.all()}
    for role in (OWNER, MANAGER, AGENT, MARKETER):
        if role in names:
            return role
    return OWNER if user.is_superuser else None
