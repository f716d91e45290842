"""Sign-in and account pages: the two-step sign-in (password, then a code when two-factor is on), the account
page (password, two-factor, recovery codes, sessions, sign out everywhere) and the owners' lockout page."""

from __future__ import annotations

import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, signals, update_session_auth_hash
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.signin import (
    METHOD_ATTR,
    lockout_lift,
    lockout_list,
    sessions_end_all,
    signin_session_list,
    signin_session_rekey,
    two_factor_required,
)
from huitouke.core.twofactor import (
    recovery_codes_left,
    recovery_codes_regenerate,
    second_factor_verify,
    totp_enrol_confirm,
    totp_enrol_start,
    totp_pending,
    totp_qr_svg,
    totp_secret_text,
    two_factor_disable,
    two_factor_enabled,
)

#: the session entry of a sign-in waiting for its second factor: user id, backend, when, where to go next
PENDING = "_huitouke_2fa_pending"
PENDING_SECONDS = 300


def _safe_next(request: HttpRequest, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, {request.get_host()}, require_https=request.is_secure()):
        return value
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _lockout_page(request: HttpRequest) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "core/lockout.html", {"minutes": minutes}, status=429)


def lockout_response(request: HttpRequest, original_response: Any, credentials: Any = None) -> HttpResponse:
    """What django-axes answers a locked-out sign-in with (AXES_LOCKOUT_CALLABLE): the same page for every user
    name, existing or not, so the page reveals nothing about accounts."""
    return _lockout_page(request)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def signin(request: HttpRequest) -> HttpResponse:
    """Step one: user name and password. A user with an authenticator goes on to step two; everyone else is
    signed in. Failures are counted (django-axes) and audited."""
    next_url = request.POST.get("next") or request.GET.get("next", "")
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if getattr(request, "axes_locked_out", False):
            return _lockout_page(request)
        if form.is_valid():
            user = form.get_user()
            if two_factor_enabled(user):
                request.session[PENDING] = {
                    "user": user.pk,
                    "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
                    "at": int(time.time()),
                    "next": next_url,
                }
                return redirect("login-verify")
            login(request, user)
            return redirect(_safe_next(request, next_url))
        if getattr(request, "axes_locked_out", False):
            return _lockout_page(request)
    return render(
        request, "core/login.html", {"form": form, "next": next_url, "expired": request.GET.get("expired") == "1"}
    )


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def signin_verify(request: HttpRequest) -> HttpResponse:
    """Step two: a code from the authenticator app or a recovery code. Wrong codes count as failed sign-ins for
    the account (the same lockout as wrong passwords); the pending sign-in lapses after five minutes."""
    pending = request.session.get(PENDING)
    if not pending or int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.error(request, _("Please sign in again: the code was not entered within five minutes."))
        return redirect("login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("login")
    error = ""
    if request.method == "POST":
        credentials = {"username": user.get_username(), "stage": "two_factor"}
        if not AxesProxyHandler.is_allowed(request, credentials):
            return _lockout_page(request)
        factor = second_factor_verify(user=user, token=request.POST.get("code", ""))
        if factor is None:
            signals.user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            if getattr(request, "axes_locked_out", False):
                return _lockout_page(request)
            error = _("The code is not right. Use the newest code from the app, or one of your recovery codes.")
        else:
            del request.session[PENDING]
            user.otp_device = factor.device  # type: ignore[attr-defined]  # django_otp persists it at login
            setattr(request, METHOD_ATTR, factor.method)
            login(request, user, backend=pending["backend"])
            if factor.method == "recovery":
                left = recovery_codes_left(user)
                messages.warning(request, _("You signed in with a recovery code; %(left)d are left.") % {"left": left})
            return redirect(_safe_next(request, pending.get("next", "")))
    return render(request, "core/login_verify.html", {"error": error, "username": user.get_username()})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The user's own security page: password, two-factor sign-in, recovery codes and signed-in sessions."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    return render(
        request,
        "core/account.html",
        {
            "two_factor": two_factor_enabled(user),
            "two_factor_required": two_factor_required(user),
            "codes_left": recovery_codes_left(user),
            "sessions": signin_session_list(user=user),
            "current_key": request.session.session_key,
            "idle_minutes": settings.HUITOUKE_SESSION_IDLE_MINUTES,
        },
    )


@login_required
@sensitive_post_parameters()
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password: the old one, then the new one twice, checked by the password policy."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    form = PasswordChangeForm(user, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        form.save()
        old_key = request.session.session_key
        update_session_auth_hash(request, user)
        signin_session_rekey(old_key=old_key, new_key=request.session.session_key)
        record(actor=user, action=AuditEntry.Action.PASSWORD, target_type="user", target_id=user.pk, op="change")
        messages.success(request, _("Your password was changed. Other browsers are signed out."))
        return redirect("core:account")
    return render(request, "core/password_change.html", {"form": form})


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up two-factor sign-in: scan the QR code, type one code; then the recovery codes are shown once. A user
    whose role requires it and who already has an authenticator confirms a code here to go on."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    codes: list[str] = []
    error = ""
    enabled = two_factor_enabled(user)
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op == "start":
                totp_enrol_start(user=user)
            elif op == "confirm":
                codes = totp_enrol_confirm(user=user, token=request.POST.get("code", ""))
                factor_device = user.totpdevice_set.filter(confirmed=True).first()  # type: ignore[attr-defined]
                if factor_device is not None:
                    from django_otp import login as otp_login

                    otp_login(request, factor_device)
                enabled = True
            elif op == "verify":
                factor = second_factor_verify(user=user, token=request.POST.get("code", ""))
                if factor is None:
                    raise ApplicationError(_("The code is not right."), field="code")
                from django_otp import login as otp_login

                otp_login(request, factor.device)
                return redirect("core:account")
            elif op == "codes":
                codes = recovery_codes_regenerate(user=user)
            elif op == "disable":
                if two_factor_required(user):
                    raise ApplicationError(_("Your role must use two-factor sign-in; it cannot be turned off."))
                two_factor_disable(user=user, actor=user)
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("core:account")
        except ApplicationError as exc:
            error = exc.message
    pending = totp_pending(user=user)
    verified = bool(getattr(user, "is_verified", lambda: False)())
    return render(
        request,
        "core/two_factor.html",
        {
            "enabled": enabled,
            "verified": verified,
            "pending": pending,
            "qr_svg": totp_qr_svg(pending) if pending else "",
            "secret": totp_secret_text(pending) if pending else "",
            "codes": codes,
            "codes_left": recovery_codes_left(user),
            "error": error,
            "required": two_factor_required(user),
        },
    )


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every signed-in session of the user, this one included."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    sessions_end_all(user=user, actor=user)
    request.session.flush()
    return redirect("login")


@login_required
@permission_required("core.manage_signin", raise_exception=True)
def lockout_page(request: HttpRequest) -> HttpResponse:
    """Owners: the user names and addresses locked out now, with a button to lift each."""
    context: dict[str, Any] = {
        "lockouts": lockout_list(),
        "limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "core/lockout_list.html", context)


@login_required
@permission_required("core.manage_signin", raise_exception=True)
@require_POST
def lockout_lift_view(request: HttpRequest) -> HttpResponse:
    """Lift the lockout named by the posted `kind` (username or address) and `value`."""
    value = request.POST.get("value", "")[:150]
    try:
        lockout_lift(kind=request.POST.get("kind", ""), value=value, actor=request.user)
        messages.success(request, _("The lockout of %(who)s was lifted.") % {"who": value})
    except NotFoundError:
        messages.error(request, _("That lockout has already ended."))
    return redirect("core:lockouts")
