"""Sign-in protection: the lockout guard (django-axes), the sign-in audit, signed-in sessions, expiry after
inactivity, "sign out everywhere" and the two-factor requirement for chosen roles.

django-axes counts failed sign-ins per user name and per address and refuses a locked-out one before the password
is checked; the receivers here write one audit entry per sign-in, failure and sign-out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from huitouke.core.audit import client_ip, record
from huitouke.core.errors import NotFoundError
from huitouke.core.models import AuditEntry, SignInSession
from huitouke.core.roles import role_of

#: session keys
LAST_SEEN = "_huitouke_last_seen"
#: how the current sign-in was completed ("password", "totp", "recovery"), set by the sign-in views
METHOD_ATTR = "_huitouke_signin_method"
#: set on a request whose sign-in the lockout refused before the password was checked
REFUSED_ATTR = "_huitouke_signin_refused"
#: why a sign-out happened when it was not the user's choice ("idle"), read by the audit receiver
LOGOUT_REASON_ATTR = "_huitouke_logout_reason"


class SignInGuardBackend(AxesStandaloneBackend):
    """django-axes' guard as the first authentication backend: refuses a locked-out user name or address.
    Authentication without a request (scripts, the test client's `login`) is not counted or refused here —
    only the web sign-in is exposed to guessing."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            setattr(request, REFUSED_ATTR, True)
            raise


# --- audit receivers (connected in CoreConfig.ready) -----------------------------------------------------------


def on_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """One `login` entry; the session is remembered for "sign out everywhere"."""
    if request is None:
        return
    method = getattr(request, METHOD_ATTR, "password")
    ip = client_ip(request)
    record(actor=user, action=AuditEntry.Action.LOGIN, target_type="user", target_id=user.pk, ip=ip, method=method)
    session = getattr(request, "session", None)
    if session is None:
        return
    session[LAST_SEEN] = int(time.time())
    if session.session_key:
        SignInSession.objects.update_or_create(
            session_key=session.session_key,
            defaults={"user": user, "ip": ip, "user_agent": str(request.META.get("HTTP_USER_AGENT", ""))[:200]},
        )


def on_logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    """One `logout` entry (reason `idle` when the session expired)."""
    if request is None or user is None:
        return
    reason = getattr(request, LOGOUT_REASON_ATTR, "user")
    record(
        actor=user,
        action=AuditEntry.Action.LOGOUT,
        target_type="user",
        target_id=user.pk,
        ip=client_ip(request),
        reason=reason,
    )
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        SignInSession.objects.filter(session_key=session.session_key).delete()


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """One `login_failed` entry per refused sign-in: outcome `denied` when the lockout refused it before the
    password was checked, otherwise `failure`; `locked_out` says whether the name or address is locked after it
    (django-axes' receiver runs first and marks the request). The typed user name is the entry's person; the
    password is never stored."""
    if request is None:
        return
    username = str(credentials.get("username") or "")[:150]
    locked = bool(getattr(request, "axes_locked_out", False))
    refused = bool(getattr(request, REFUSED_ATTR, False))
    user = User.objects.filter(username=username).first() if username else None
    record(
        actor=None,
        actor_name=username or "?",
        action=AuditEntry.Action.LOGIN_FAILED,
        target_type="user" if user else "",
        target_id=user.pk if user else "",
        ip=client_ip(request),
        outcome=AuditEntry.Outcome.DENIED if refused else AuditEntry.Outcome.FAILURE,
        stage=str(credentials.get("stage") or "password"),
        locked_out=locked,
    )


# --- lockouts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    """A user name (`kind` "username") or an address (`kind` "address") locked out now: django-axes counts the
    failures of all its attempt records within the cool-off, as here."""

    kind: str
    value: str
    failures: int
    last_attempt: datetime
    until: datetime


_KINDS = {"username": "username", "address": "ip_address"}


def lockout_list(*, now: datetime | None = None) -> list[Lockout]:
    """Every lockout in force, newest first (at most 500)."""
    now = now or timezone.now()
    cooloff = settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.all()
    if cooloff:
        recent = recent.filter(attempt_time__gte=now - cooloff)
    found: list[Lockout] = []
    for kind, column in _KINDS.items():
        named = recent.exclude(**{f"{column}__isnull": True})
        if column == "username":  # (an empty address is stored as NULL; comparing it with "" matches nothing)
            named = named.exclude(username="")
        groups = (
            named.values(column)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
            .order_by("-last")[:500]
        )
        found += [
            Lockout(
                kind=kind,
                value=str(g[column]),
                failures=int(g["failures"]),
                last_attempt=g["last"],
                until=g["last"] + cooloff if cooloff else g["last"],
            )
            for g in groups
        ]
    return sorted(found, key=lambda lo: lo.last_attempt, reverse=True)


def lockout_lift(*, kind: str, value: str, actor: Any) -> int:
    """Lift the lockout of a user name or an address: the failed attempts counted for it are forgotten (so a lock
    of the address those same attempts came from ends too). Audited (action unlock). Returns how many attempt
    records went; raises NotFoundError when no such lockout is in force."""
    if kind not in _KINDS or not any(lo.kind == kind and lo.value == value for lo in lockout_list()):
        raise NotFoundError(f"no lockout of {kind} {value!r} (lifted or expired already)", field="value")
    with transaction.atomic():
        removed = AccessAttempt.objects.filter(**{_KINDS[kind]: value}).delete()[0]
        record(actor=actor, action=AuditEntry.Action.UNLOCK, target_type="lockout", target_id=f"{kind}:{value}")
    return int(removed)


# --- sessions ----------------------------------------------------------------------------------------------------


def signin_session_list(*, user: User) -> list[SignInSession]:
    return list(SignInSession.objects.filter(user=user).order_by("-created_at")[:100])


def signin_session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """Follow a session whose key changed (a password change cycles it), so "sign out everywhere" still ends it."""
    if old_key and new_key and old_key != new_key:
        SignInSession.objects.filter(session_key=old_key).update(session_key=new_key)


def sessions_end_all(*, user: User, actor: Any) -> int:
    """Sign `user` out of every browser: each remembered session is deleted from the session store (the next
    request there asks to sign in). Audited (action sessions). Returns how many sessions ended."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    with transaction.atomic():
        keys = list(SignInSession.objects.filter(user=user).values_list("session_key", flat=True))
        for key in keys:
            store(session_key=key).delete()
        SignInSession.objects.filter(user=user).delete()
        record(actor=actor, action=AuditEntry.Action.SESSIONS, target_type="user", target_id=user.pk, ended=len(keys))
    return len(keys)


def signin_sessions_prune(*, now: datetime | None = None) -> int:
    """Forget remembered sessions older than the longest a session can live (SESSION_COOKIE_AGE)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return SignInSession.objects.filter(created_at__lt=cutoff).delete()[0]


# --- middleware --------------------------------------------------------------------------------------------------


class SessionIdleMiddleware:
    """End a signed-in session after HUITOUKE_SESSION_IDLE_MINUTES without a request: the user is signed out
    (audited as a sign-out with reason idle) and sent to the sign-in page. The last-seen time is written at most
    once a minute, so an active user does not cost a session write per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            last = session.get(LAST_SEEN)
            idle = settings.HUITOUKE_SESSION_IDLE_MINUTES * 60
            if isinstance(last, int) and idle > 0 and now - last > idle:
                setattr(request, LOGOUT_REASON_ATTR, "idle")
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect(f"{reverse('login')}?expired=1&next={request.path}")
            if not isinstance(last, int) or now - last >= 60:
                session[LAST_SEEN] = now
        return self.get_response(request)


#: paths a user who must enrol in two-factor sign-in may still open
_TWO_FACTOR_OPEN = ("/account/two-factor/", "/logout/", "/login/", "/static/", "/i18n/", "/api/")


def two_factor_required(user: Any) -> bool:
    """Whether the shop requires two-factor sign-in of this user's role (HUITOUKE_2FA_REQUIRED_ROLES)."""
    required = set(settings.HUITOUKE_2FA_REQUIRED_ROLES)
    return bool(required) and role_of(user) in required


class TwoFactorRequiredMiddleware:
    """Users whose role must sign in with a second factor, and whose session was not verified with one, may open
    only the two-factor page (to enrol, or to confirm a code) and sign out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_TWO_FACTOR_OPEN)
            and two_factor_required(user)
            and not user.is_verified()  # type: ignore[attr-defined]  # added by django_otp.middleware.OTPMiddleware
        ):
            return redirect("core:two-factor")
        return self.get_response(request)
