"""The main navigation of every signed-in page: which links a user sees (by permission) and which one is the current
page. It was twelve `{% url %}` reversals and eleven permission lookups in base.html on every request; the same
HTML is now made here once per (language, visible links, current link) and kept for the process. The links' order,
permissions and labels are the single list NAV_LINKS (add a page's link there, not in base.html)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.functional import Promise
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavLink:
    url_name: str
    label: Promise
    permission: str | None = None  # None: every signed-in user
    app: str = ""  # the link is the current page's when the page's URL namespace is this one…
    also_url_name: str = ""  # …or its URL name is this one


NAV_LINKS: tuple[NavLink, ...] = (
    NavLink("core:home", _("Dashboard"), "analytics.view_customerscore", app="analytics", also_url_name="home"),
    NavLink("customers:list", _("Customers"), app="customers"),
    NavLink("orders:import", _("Import orders"), "orders.add_order", app="orders"),
    NavLink("loyalty:index", _("Member levels"), "loyalty.view_level", app="loyalty"),
    NavLink("messaging:list", _("Messages"), "messaging.view_message", app="messaging"),
    NavLink("care:list", _("Customer care"), "care.view_carerule", app="care"),
    NavLink("audiences:list", _("Segments"), "audiences.view_segment", app="audiences"),
    NavLink("service:queue", _("After-sales"), "service.view_ticket", app="service"),
    NavLink("reviews:list", _("Reviews"), "reviews.view_review", app="reviews"),
    NavLink("visits:queue", _("Return visits"), "visits.work_visittask", app="visits"),
    NavLink("campaigns:list", _("Campaigns"), "campaigns.view_campaign", app="campaigns"),
    NavLink("core:tokens", _("API tokens"), also_url_name="tokens"),
)


def _current(link: NavLink, app_name: str, url_name: str) -> bool:
    return bool((link.app and app_name == link.app) or (link.also_url_name and url_name == link.also_url_name))


@lru_cache(maxsize=512)
def _html(language: str, prefix: str, visible: tuple[int, ...], app_name: str, url_name: str) -> SafeString:
    """The links' HTML; `language` and `prefix` (the script prefix reverse() adds) are part of the key only."""
    rows = []
    for i in visible:
        link = NAV_LINKS[i]
        current = mark_safe(' aria-current="page"') if _current(link, app_name, url_name) else ""
        rows.append((reverse(link.url_name), current, link.label))
    return format_html_join("\n", '<a href="{}"{}>{}</a>', rows)


def nav_html(user: Any, resolver_match: Any) -> SafeString:
    """The main navigation's links for this user on this page (empty for a visitor not signed in)."""
    if not getattr(user, "is_authenticated", False):
        return SafeString("")
    perms = user.get_all_permissions() if not user.is_superuser else None
    visible = tuple(
        i
        for i, link in enumerate(NAV_LINKS)
        if link.permission is None or (user.is_active and (perms is None or link.permission in perms))
    )
    app_name = (getattr(resolver_match, "app_name", "") or "") if resolver_match is not None else ""
    url_name = (getattr(resolver_match, "url_name", "") or "") if resolver_match is not None else ""
    return _html(get_language() or "", get_script_prefix(), visible, app_name, url_name)
