"""Sign-in protection against the real database: the sign-in audit, lockouts per account and per address (lifted
by an owner or expired), two-factor sign-in with recovery codes, expiry after inactivity, sign out everywhere and
the password policy on every way a password is set."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from huitouke.core.models import AuditEntry, SignInSession
from huitouke.core.signin import lockout_list
from huitouke.core.twofactor import RECOVERY_CODES

PASSWORD = "pass-word-123"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _client(ip: str = "203.0.113.7") -> Client:
    return Client(REMOTE_ADDR=ip)


def _sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


@pytest.fixture
def limit(settings: Any) -> int:
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return 3


# --- audit of sign-in, failure and sign-out ----------------------------------------------------------------------


def test_a_sign_in_writes_one_entry_with_the_address(make_user: Callable[..., User]) -> None:
    user = make_user("agent", username="kefu")
    client = _client("198.51.100.4")

    response = _sign_in(client, "kefu")

    assert response.status_code == 302
    [entry] = _entries("login")
    assert (entry.actor_id, entry.actor_name, entry.ip, entry.outcome) == (user.pk, "kefu", "198.51.100.4", "success")
    assert entry.detail == {"method": "password"}
    assert SignInSession.objects.filter(user=user).count() == 1


def test_a_wrong_password_writes_one_failure_naming_the_typed_user(make_user: Callable[..., User]) -> None:
    user = make_user("agent", username="kefu")

    response = _sign_in(_client(), "kefu", "wrong-password-1")

    assert response.status_code == 200
    assert "Wrong user name or password" in response.content.decode() or "用户名或密码" in response.content.decode()
    [entry] = _entries("login_failed")
    assert (entry.actor_id, entry.actor_name, entry.target_id, entry.outcome) == (None, "kefu", str(user.pk), "failure")
    assert entry.ip == "203.0.113.7"
    assert "wrong-password-1" not in str(entry.detail)
    assert not _entries("login")


def test_signing_out_writes_one_entry_and_forgets_the_session(make_user: Callable[..., User]) -> None:
    user = make_user("agent", username="kefu")
    client = _client()
    _sign_in(client, "kefu")

    client.post("/logout/")

    [entry] = _entries("logout")
    assert (entry.actor_id, entry.detail) == (user.pk, {"reason": "user"})
    assert not SignInSession.objects.filter(user=user).exists()


# --- lockouts -------------------------------------------------------------------------------------------------------


def test_after_the_limit_the_right_password_is_refused_until_an_owner_lifts_the_lockout(
    make_user: Callable[..., User], limit: int, client_as: Callable[[str], Client]
) -> None:
    make_user("agent", username="kefu")
    attacker = _client("203.0.113.9")
    statuses = [_sign_in(attacker, "kefu", f"guess-{i}-xxxx").status_code for i in range(limit)]
    assert statuses == [200, 200, 429]

    refused = _sign_in(_client("198.51.100.1"), "kefu")  # the right password, from elsewhere: the account is locked
    assert refused.status_code == 429
    assert "_auth_user_id" not in refused.client.session
    assert [e.outcome for e in _entries("login_failed")] == ["failure", "failure", "failure", "denied"]

    owner = client_as("owner")
    page = owner.get("/account/lockouts/")
    assert page.status_code == 200
    assert "kefu" in page.content.decode()
    shown = sorted((lo.kind, lo.value, lo.failures) for lo in page.context["lockouts"])
    assert shown == [("address", "203.0.113.9", 3), ("username", "kefu", 3)]
    lift = owner.post("/account/lockouts/lift/", {"kind": "username", "value": "kefu"})
    assert lift.status_code == 302

    assert _sign_in(_client("198.51.100.1"), "kefu").status_code == 302
    [unlock] = _entries("unlock")
    assert (unlock.actor_name, unlock.target_type, unlock.target_id) == ("owner-client", "lockout", "username:kefu")
    # the address was locked by the same failed attempts, which are forgotten now
    assert owner.get("/account/lockouts/").context["lockouts"] == []


def test_a_lockout_ends_by_itself_after_the_cool_off(make_user: Callable[..., User], limit: int) -> None:
    make_user("agent", username="kefu")
    with freeze_time(T0):
        for i in range(limit):
            _sign_in(_client(), "kefu", f"guess-{i}-xxxx")
        assert _sign_in(_client(), "kefu").status_code == 429
    with freeze_time(T0 + timedelta(minutes=14)):
        assert _sign_in(_client(), "kefu").status_code == 429
    with freeze_time(T0 + timedelta(minutes=16)):
        assert _sign_in(_client(), "kefu").status_code == 302


def test_failures_for_many_names_lock_the_address(make_user: Callable[..., User], limit: int) -> None:
    make_user("agent", username="kefu")
    for i in range(limit):
        _sign_in(_client("203.0.113.50"), f"nobody{i}", "guess-xxxx-1")

    assert _sign_in(_client("203.0.113.50"), "kefu").status_code == 429
    assert _sign_in(_client("198.51.100.2"), "kefu").status_code == 302
    locked = [(lo.kind, lo.value, lo.failures) for lo in lockout_list()]
    assert locked == [("address", "203.0.113.50", limit)]


def test_only_owners_see_and_lift_lockouts(client_as: Callable[[str], Client]) -> None:
    assert client_as("manager").get("/account/lockouts/").status_code == 403
    assert client_as("agent").post("/account/lockouts/lift/", {"kind": "username", "value": "x"}).status_code == 403
    gone = client_as("owner").post("/account/lockouts/lift/", {"kind": "username", "value": "x"}, follow=True)
    assert [str(m) for m in gone.context["messages"]] == ["该锁定已经结束。"]


# --- two-factor ----------------------------------------------------------------------------------------------------


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def _enrol(client: Client, user: User) -> list[str]:
    client.post("/account/two-factor/", {"op": "start"})
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/account/two-factor/", {"op": "confirm", "code": _code(device)})
    assert response.status_code == 200
    return list(response.context["codes"])


def test_enrol_then_sign_in_needs_a_code(make_user: Callable[..., User]) -> None:
    user = make_user("owner", username="laoban")
    with freeze_time(T0):
        client = _client()
        _sign_in(client, "laoban")
        codes = _enrol(client, user)
        assert len(codes) == RECOVERY_CODES == len(set(codes))
        [enrol] = _entries("two_factor")
        assert enrol.detail == {"op": "enrol"}
        client.post("/logout/")

    with freeze_time(T0 + timedelta(minutes=2)) as frozen:
        fresh = _client()
        step_one = _sign_in(fresh, "laoban")
        assert step_one.status_code == 302
        assert step_one["Location"] == "/login/verify/"
        assert "_auth_user_id" not in fresh.session  # not signed in before the code

        wrong = fresh.post("/login/verify/", {"code": "000000"})
        assert wrong.status_code == 200
        assert wrong.context["error"]
        assert _entries("login_failed")[-1].detail["stage"] == "two_factor"

        frozen.tick(timedelta(seconds=3))  # django-otp makes the next try wait after a miss
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        right = fresh.post("/login/verify/", {"code": _code(device)})
        assert right.status_code == 302
        assert fresh.session["_auth_user_id"] == str(user.pk)
        assert _entries("login")[-1].detail == {"method": "totp"}


def test_a_recovery_code_signs_in_once(make_user: Callable[..., User]) -> None:
    user = make_user("manager", username="jingli")
    with freeze_time(T0):
        client = _client()
        _sign_in(client, "jingli")
        codes = _enrol(client, user)

        first = _client()
        _sign_in(first, "jingli")
        assert first.post("/login/verify/", {"code": codes[0].upper()}).status_code == 302
        assert _entries("login")[-1].detail == {"method": "recovery"}

        again = _client()
        _sign_in(again, "jingli")
        reused = again.post("/login/verify/", {"code": codes[0]})
        assert reused.status_code == 200
        assert "_auth_user_id" not in again.session


def test_a_required_role_without_an_authenticator_is_sent_to_enrol(
    settings: Any, client_as: Callable[[str], Client]
) -> None:
    settings.HUITOUKE_2FA_REQUIRED_ROLES = ["owner", "manager"]

    owner, manager = client_as("owner"), client_as("manager")
    assert owner.get("/customers/")["Location"] == "/account/two-factor/"
    assert manager.get("/customers/")["Location"] == "/account/two-factor/"
    assert client_as("agent").get("/customers/").status_code == 200
    assert owner.get("/account/two-factor/").status_code == 200


# --- sessions ------------------------------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time(make_user: Callable[..., User], settings: Any) -> None:
    settings.HUITOUKE_SESSION_IDLE_MINUTES = 30
    make_user("agent", username="kefu")
    client = _client()
    with freeze_time(T0):
        _sign_in(client, "kefu")
    with freeze_time(T0 + timedelta(minutes=29)):
        assert client.get("/customers/").status_code == 200
    with freeze_time(T0 + timedelta(minutes=58)):  # 29 minutes after the last request: still signed in
        assert client.get("/customers/").status_code == 200
    with freeze_time(T0 + timedelta(minutes=89)):
        response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?expired=1")
    assert _entries("logout")[-1].detail == {"reason": "idle"}


def test_sign_out_everywhere_ends_every_session(make_user: Callable[..., User]) -> None:
    user = make_user("agent", username="kefu")
    office, phone = _client("198.51.100.1"), _client("198.51.100.2")
    _sign_in(office, "kefu")
    _sign_in(phone, "kefu")
    assert phone.get("/customers/").status_code == 200

    assert office.post("/account/sign-out-everywhere/").status_code == 302

    assert phone.get("/customers/").status_code == 302
    assert office.get("/customers/").status_code == 302
    [entry] = _entries("sessions")
    assert (entry.actor_id, entry.detail) == (user.pk, {"ended": 2})


# --- password policy -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-1", "too short"),
        ("12345678901234", "entirely numeric"),
        ("password123456", "too common"),
        ("zhangwei-shop1", "too similar"),
    ],
)
@pytest.mark.django_db
def test_createuser_refuses_a_weak_password(password: str, reason: str) -> None:
    with translation.override("en"), pytest.raises(CommandError, match=rf"^password: .*{reason}"):
        call_command("createuser", "zhangwei-shop", "--role", "agent", "--password-stdin", stdin=io.StringIO(password))
    assert not User.objects.filter(username="zhangwei-shop").exists()


def test_changing_a_password_is_checked_and_audited(make_user: Callable[..., User]) -> None:
    user = make_user("agent", username="kefu")
    client = _client()
    _sign_in(client, "kefu")

    weak = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200
    assert not _entries("password")

    done = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "blue-teapot-river", "new_password2": "blue-teapot-river"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("blue-teapot-river")
    [entry] = _entries("password")
    assert entry.detail == {"op": "change"}
    # the session (its key cycled by the change) is still the one "sign out everywhere" ends
    assert list(SignInSession.objects.filter(user=user).values_list("session_key", flat=True)) == [
        client.session.session_key
    ]


def test_two_factor_reset_command_removes_the_authenticator(make_user: Callable[..., User]) -> None:
    user = make_user("owner", username="laoban")
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    out = io.StringIO()

    call_command("two_factor_reset", "laoban", stdout=out)

    assert not TOTPDevice.objects.filter(user=user).exists()
    assert out.getvalue().strip() == "Two-factor sign-in removed for laoban."
    [entry] = _entries("two_factor")
    assert (entry.actor_name, entry.detail) == ("system", {"op": "disable"})
    with pytest.raises(CommandError, match=r"^username: user 'nobody' not found$"):
        call_command("two_factor_reset", "nobody")
