"""The URL map: every page a signed-in user can open with GET, with sample objects for the detail pages and the
common filters and a deep page of each list. The page-speed benchmark (`benchmarks/pages.py`) times it at a
million customers; `huitouke/core/tests/test_urlmap.py` walks it on a small database for N+1 patterns.

Project level (like jobs.py) because it knows every app. A pattern is visited when it takes no arguments, or when
`SAMPLES` says which object fills its arguments; action endpoints (POST only), downloads, token links of the
public pages and the API are left out (`SKIP`): the API has its own schema fuzzing, downloads their own benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

#: Name fragments of patterns never crawled: exports and downloads, token links, actions that are POST-only.
SKIP = re.compile(
    r"export|errors|download|attachment|image|logout|set_language|token|confirm|unsubscribe|preferences|survey$"
    r"|help:|^api|admin:|refresh|revoke|delete|reveal|photo"
)
#: Deep page number visited on every paginated list (beside the first page).
DEEP_PAGE = 40


def _first(model: str, **filters: Any) -> Callable[[], dict[str, Any] | None]:
    def find() -> dict[str, Any] | None:
        app_label, name = model.split(".")
        try:
            cls = apps.get_model(app_label, name)
        except LookupError:
            return None
        pk = cls._default_manager.filter(**filters).order_by("-pk").values_list("pk", flat=True).first()
        return None if pk is None else {"pk": pk}

    return find


def _shop(key: str) -> Callable[[], dict[str, Any] | None]:
    def find() -> dict[str, Any] | None:
        from huitouke.orders.models import Shop

        pk = Shop.objects.order_by("pk").values_list("pk", flat=True).first()
        return None if pk is None else {key: pk}

    return find


#: Pattern name -> the arguments of a sample object (None when there is none in the database).
SAMPLES: dict[str, Callable[[], dict[str, Any] | None]] = {
    "customers:detail": _first("customers.Customer", merged_into__isnull=True, order_count__gte=2),
    "customers:update": _first("customers.Customer", merged_into__isnull=True),
    "customers:merge": _first("customers.Customer", merged_into__isnull=True),
    "core:job": _first("core.Job"),
    "messaging:detail": _first("messaging.Message"),
    "messaging:template-edit": _first("messaging.Template"),
    "messaging:policy-edit": _shop("shop_key"),
    "loyalty:settings": _shop("shop_id"),
    "loyalty:simulate": _shop("shop_id"),
    "loyalty:at-risk": _shop("shop_id"),
    "audiences:edit": _first("audiences.Segment"),
    "care:detail": _first("care.CareRule"),
    "care:edit": _first("care.CareRule"),
    "care:preview": _first("care.CareRule"),
    "campaigns:detail": _first("campaigns.Campaign"),
    "campaigns:edit": _first("campaigns.Campaign"),
    "service:ticket": _first("service.Ticket"),
    "service:edit": _first("service.Ticket"),
    "service:policy-edit": _first("service.SlaPolicy"),
    "service:reply-edit": _first("service.CannedReply"),
    "visits:task": _first("visits.VisitTask"),
}

#: Pattern name -> the common filters of that list (query strings, without "?").
FILTERS: dict[str, list[str]] = {
    "customers:list": ["search=王", "province=浙江省", "sort=-total_spent", "orders_min=2", "spent_min=500"],
    "messaging:list": ["status=sent", "channel=sms", "purpose=care"],
    "service:queue": ["queue=all", "queue=unassigned", "queue=all&status=open"],
    "reviews:list": ["rating=1", "replied=no"],
    "visits:queue": ["status=open"],
    "analytics:products": ["days=7", "days=365"],
    "analytics:cohorts": ["months=24"],
    "campaigns:list": ["status=sent"],
}

#: Lists that page with ?page=N: their deep page is visited too.
PAGED = {"customers:list", "messaging:list", "service:queue", "reviews:list", "visits:queue", "audiences:list"}


@dataclass(frozen=True)
class Page:
    """One URL to visit: the pattern's name, the URL, and what kind of visit (page, filter, deep, detail)."""

    name: str
    url: str
    kind: str

    @property
    def label(self) -> str:
        query = self.url.split("?", 1)[1] if "?" in self.url else ""
        return f"{self.name}{' ?' + query if query else ''}"


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p, p.namespace or namespace)
        elif p.name:
            yield (f"{namespace}:{p.name}" if namespace else p.name), p


def pages() -> list[Page]:
    """Every page of the map that the current database can fill, in URL-conf order (without duplicates)."""
    out: list[Page] = []
    seen: set[str] = set()
    for name, pattern in _patterns(get_resolver()):
        if name in seen or SKIP.search(name):
            continue
        seen.add(name)
        has_args = bool(pattern.pattern.regex.groupindex) or pattern.pattern.regex.groups > 0
        if has_args:
            find = SAMPLES.get(name)
            kwargs = find() if find else None
            if kwargs is None:
                continue
            out.append(Page(name, reverse(name, kwargs=kwargs), "detail"))
            continue
        url = reverse(name)
        out.append(Page(name, url, "page"))
        out += [Page(name, f"{url}?{q}", "filter") for q in FILTERS.get(name, [])]
        if name in PAGED:
            out.append(Page(name, f"{url}?page={DEEP_PAGE}", "deep"))
    return out
