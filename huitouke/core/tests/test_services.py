"""Users with a role, roles and permissions, API tokens and the audit log, against the real database."""

from __future__ import annotations

import hashlib
import importlib

import pytest
from django.contrib.auth.models import Group, User

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import ApiToken, AuditEntry
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION
from huitouke.core.roles import AGENT, MANAGER, MARKETER, OWNER, ROLE_PERMISSIONS, role_of, roles_sync
from huitouke.core.services import (
    TOKEN_PREFIX,
    audit_log,
    token_authenticate,
    token_create,
    token_revoke,
    user_create,
)

pytestmark = pytest.mark.django_db


# --- user_create ----------------------------------------------------------------------------------------


def test_user_create_gives_the_role_and_hashes_the_password():
    user = user_create(username=" li.si ", role=AGENT, password="tea-leaf-2025", email="li@example.com")

    assert (user.username, user.email, user.is_staff, user.is_superuser) == ("li.si", "li@example.com", False, False)
    assert list(user.groups.values_list("name", flat=True)) == [AGENT]
    assert user.check_password("tea-leaf-2025")
    assert "tea-leaf-2025" not in user.password
    assert role_of(user) == AGENT


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "a", "role": "admin", "password": "tea-leaf-2025"}, "role"),
        ({"username": "a", "role": "", "password": "tea-leaf-2025"}, "role"),
        ({"username": "  ", "role": AGENT, "password": "tea-leaf-2025"}, "username"),
        ({"username": "bad name!", "role": AGENT, "password": "tea-leaf-2025"}, "username"),
        ({"username": "a", "role": AGENT, "password": "short"}, "password"),
        ({"username": "a", "role": AGENT, "password": "password"}, "password"),
        ({"username": "a", "role": AGENT, "password": ""}, "password"),
    ],
)
def test_user_create_refuses_bad_input_naming_the_field(kwargs, field):
    with pytest.raises(ApplicationError) as exc:
        user_create(**kwargs)

    assert exc.value.field == field
    assert not User.objects.exists()


def test_user_create_refuses_a_duplicate_name():
    user_create(username="wang", role=AGENT, password="tea-leaf-2025")

    with pytest.raises(ApplicationError) as exc:
        user_create(username="wang", role=MANAGER, password="tea-leaf-2025")

    assert exc.value.field == "username"
    assert "wang" in exc.value.message
    assert User.objects.count() == 1


def test_argon2_is_the_configured_first_hasher(settings):
    """conftest swaps in a fast hasher; the real setting comes from the settings module itself."""
    real = importlib.import_module("huitouke.settings").PASSWORD_HASHERS
    assert real[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = real

    user = user_create(username="argon", role=AGENT, password="tea-leaf-2025")

    assert user.password.startswith("argon2$")
    assert user.check_password("tea-leaf-2025")


# --- roles -----------------------------------------------------------------------------------------------


def test_roles_exist_with_their_permissions_straight_after_migrate():
    """No roles_sync call here: the post_migrate hook must have given every group its permissions."""
    agent = Group.objects.get(name=AGENT)

    names = {f"{p.content_type.app_label}.{p.codename}" for p in agent.permissions.select_related("content_type")}

    assert set(ROLE_PERMISSIONS[AGENT]) <= names


@pytest.mark.parametrize(
    ("role", "unmask", "export"),
    [(OWNER, True, True), (MANAGER, True, True), (AGENT, False, False), (MARKETER, False, False)],
)
def test_only_owners_and_managers_see_unmasked_data_and_export(make_user, role, unmask, export):
    roles_sync()
    user = make_user(role)

    assert (user.has_perm(UNMASK_PERMISSION), user.has_perm(EXPORT_PERMISSION)) == (unmask, export)
    assert user.has_perm("customers.view_customer")


def test_roles_sync_restores_changed_groups(make_user):
    Group.objects.get(name=AGENT).permissions.clear()
    Group.objects.get(name=MANAGER).permissions.clear()

    roles_sync()

    agent, manager = make_user(AGENT), make_user(MANAGER)
    assert agent.has_perm("customers.change_customer")
    assert not agent.has_perm("customers.add_customer")
    assert manager.has_perm("customers.add_customer")
    assert manager.has_perm(UNMASK_PERMISSION)


def test_marketer_may_tag_but_not_edit_or_note(make_user):
    marketer = make_user(MARKETER)

    assert marketer.has_perm("customers.add_customertag")
    assert not marketer.has_perm("customers.change_customer")
    assert not marketer.has_perm("customers.add_note")


def test_role_of(make_user):
    assert role_of(make_user(MANAGER)) == MANAGER
    assert role_of(User.objects.create_user("plain")) is None
    assert role_of(User.objects.create_superuser("root")) == OWNER


# --- tokens ----------------------------------------------------------------------------------------------


def test_token_create_stores_only_the_hash(agent):
    token, key = token_create(user=agent, name="shop sync")

    token.refresh_from_db()
    assert key.startswith(TOKEN_PREFIX)
    assert len(key) > 40
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(key != v for v in stored.values())
    assert not any(isinstance(v, str) and len(v) > 12 and v in key for v in stored.values())
    assert (token.name, token.prefix, token.user) == ("shop sync", key[:12], agent)


def test_tokens_are_unique(agent):
    keys = {token_create(user=agent)[1] for _ in range(20)}

    assert len(keys) == 20


def test_token_authenticate_and_last_use(agent):
    token, key = token_create(user=agent)

    assert token_authenticate(key) == agent
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("key", ["", "htk_", "htk_nope", "Bearer htk_x", "no-prefix", "htk_\x00"])
def test_token_authenticate_refuses_unknown_keys(agent, key):
    token_create(user=agent)

    assert token_authenticate(key) is None


def test_token_of_an_inactive_user_does_not_authenticate(agent):
    _token, key = token_create(user=agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    assert token_authenticate(key) is None


def test_revoked_token_no_longer_authenticates_and_revoking_twice_is_harmless(agent):
    token, key = token_create(user=agent)

    revoked = token_revoke(token_id=token.pk, user=agent)
    again = token_revoke(token_id=token.pk, user=agent)

    assert token_authenticate(key) is None
    assert revoked.revoked_at is not None
    assert again.revoked_at == revoked.revoked_at
    ops = list(AuditEntry.objects.filter(target_type="token").values_list("detail__op", flat=True))
    assert sorted(ops) == ["create", "revoke"]


def test_only_owners_revoke_other_users_tokens(agent, marketer, owner):
    token, key = token_create(user=marketer)

    with pytest.raises(NotFoundError) as exc:
        token_revoke(token_id=token.pk, user=agent)
    assert exc.value.field == "token_id"
    assert token_authenticate(key) == marketer

    token_revoke(token_id=token.pk, user=owner)
    assert token_authenticate(key) is None


def test_revoking_an_unknown_token_names_it(agent):
    with pytest.raises(NotFoundError) as exc:
        token_revoke(token_id=424242, user=agent)

    assert exc.value.field == "token_id"


# --- audit -----------------------------------------------------------------------------------------------


def test_audit_log_records_actor_action_target_and_detail(manager):
    entry = audit_log(
        actor=manager, action=AuditEntry.Action.UNMASK, target_type="customer_list", ids=[3, 1, 2], page=1
    )

    entry.refresh_from_db()
    assert (entry.actor, entry.actor_name, entry.action) == (manager, "manager1", "unmask")
    assert (entry.target_type, entry.target_id, entry.detail) == ("customer_list", "", {"ids": [3, 1, 2], "page": 1})


def test_audit_log_without_a_user_is_the_system():
    entry = audit_log(actor=None, action=AuditEntry.Action.EXPORT, target_type="customer", target_id=7)

    assert (entry.actor, entry.actor_name, entry.target_id) == (None, "system", "7")


def test_token_create_is_audited(agent):
    token, _key = token_create(user=agent)

    entry = AuditEntry.objects.get(action=AuditEntry.Action.TOKEN)
    assert (entry.actor, entry.target_type, entry.target_id, entry.detail) == (
        agent,
        "token",
        str(token.pk),
        {"op": "create"},
    )
