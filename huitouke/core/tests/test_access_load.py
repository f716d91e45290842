"""What every signed-in page pays for its user: the permissions and the role read in one query per request
(core.roles.user_access_load, run by core.middleware.AccessMiddleware), with the same answers Django's ModelBackend
gives, and a role or permission change seen on the very next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huitouke.core.roles import AGENT, MANAGER, OWNER, role_of, user_access_load
from huitouke.core.services import user_create, user_role_set

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role", [OWNER, MANAGER, AGENT, "marketer"])
def test_one_query_gives_what_model_backend_reads_in_two(role):
    user = user_create(username=f"u-{role}", role=role, password="pass-word-123", validate=False)
    direct = Permission.objects.create(
        codename="bench_extra", name="extra", content_type=Permission.objects.get(codename="view_customer").content_type
    )
    user.user_permissions.add(direct)
    expected = ModelBackend()
    plain = _fresh(user)
    want_all = expected.get_all_permissions(plain)
    want_own = expected.get_user_permissions(plain)
    want_groups = expected.get_group_permissions(plain)

    loaded = _fresh(user)
    with CaptureQueriesContext(connection) as ctx:
        user_access_load(loaded)
        got_all = loaded.get_all_permissions()
        got_own = loaded.get_user_permissions()
        got_groups = loaded.get_group_permissions()
        assert loaded.has_perm("visits.work_visittask") == (role != "marketer")
        assert role_of(loaded) == role
    assert len(ctx.captured_queries) == 1
    assert got_all == want_all
    assert got_own == want_own == {f"{direct.content_type.app_label}.bench_extra"}
    assert got_groups == want_groups
    assert f"{direct.content_type.app_label}.bench_extra" not in got_groups


def test_inactive_user_and_superuser_keep_model_backend_rules():
    inactive = user_create(username="gone", role=MANAGER, password="pass-word-123", validate=False)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    user = _fresh(inactive)
    user_access_load(user)
    assert user.get_all_permissions() == set()
    assert not user.has_perm("customers.view_customer")
    assert role_of(user) == MANAGER

    root = User.objects.create_superuser("root", password="pass-word-123")
    user = _fresh(root)
    user_access_load(user)
    assert user.has_perm("visits.work_visittask")
    assert user.get_all_permissions() == ModelBackend().get_all_permissions(_fresh(root))
    assert role_of(user) == OWNER  # a superuser without a role group


def test_a_signed_in_page_reads_permissions_and_role_once(client):
    user = user_create(username="agent1", role=AGENT, password="pass-word-123", validate=False)
    client.force_login(user)
    client.get("/visits/plans/")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/visits/plans/")
    assert response.status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sum("auth_permission" in s for s in sql) == 1
    assert sum("auth_group" in s for s in sql) == 1
    assert "· " in response.content.decode()  # the role label next to the user name


def test_a_role_change_shows_on_the_next_request(client):
    user = user_create(username="agent2", role=AGENT, password="pass-word-123", validate=False)
    client.force_login(user)
    assert client.get("/visits/").status_code == 200
    assert client.get("/visits/plans/new/").status_code == 403
    user_role_set(username="agent2", role=MANAGER)
    assert client.get("/visits/plans/new/").status_code == 200
    page = client.get("/visits/plans/").content.decode()
    assert 'id="plan-new"' in page
    user_role_set(username="agent2", role="marketer")
    assert client.get("/visits/").status_code == 403


def test_a_permission_taken_from_the_role_shows_on_the_next_request(client):
    user = user_create(username="agent3", role=AGENT, password="pass-word-123", validate=False)
    client.force_login(user)
    assert client.get("/visits/").status_code == 200
    work = Permission.objects.get(codename="work_visittask", content_type__app_label="visits")
    user.groups.get(name=AGENT).permissions.remove(work)
    assert client.get("/visits/").status_code == 403
    user.user_permissions.add(work)  # given to this user alone
    assert client.get("/visits/").status_code == 200


def test_role_of_reads_the_groups_when_access_was_not_loaded():
    user = user_create(username="agent4", role=AGENT, password="pass-word-123", validate=False)
    plain = _fresh(user)
    with CaptureQueriesContext(connection) as ctx:
        assert role_of(plain) == AGENT
    assert len(ctx.captured_queries) == 1
