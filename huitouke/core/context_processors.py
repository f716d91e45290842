"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from huitouke.core.nav import nav_html
from huitouke.core.roles import ROLE_LABELS, role_of


def roles(request: HttpRequest) -> dict[str, Any]:
    role = role_of(request.user)
    return {
        "user_role": role,
        "user_role_label": ROLE_LABELS.get(role, "") if role else "",
        # a callable: made only when a page shows the navigation
        "main_nav": lambda: nav_html(request.user, getattr(request, "resolver_match", None)),
    }
