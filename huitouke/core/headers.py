"""Browser policies on every answer: the Content-Security-Policy and the Permissions-Policy.

Django's SecurityMiddleware already sends HSTS (production), nosniff and the Referrer-Policy, and the clickjacking
middleware X-Frame-Options; Django 5.2 has no CSP of its own, so this small middleware adds the two headers from
settings (HUITOUKE_CONTENT_SECURITY_POLICY, HUITOUKE_PERMISSIONS_POLICY). A view that sets its own header keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"
PERMISSIONS_HEADER = "Permissions-Policy"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        csp = settings.HUITOUKE_CONTENT_SECURITY_POLICY
        if csp and CSP_HEADER not in response:
            response[CSP_HEADER] = csp
        permissions = settings.HUITOUKE_PERMISSIONS_POLICY
        if permissions and PERMISSIONS_HEADER not in response:
            response[PERMISSIONS_HEADER] = permissions
        return response
