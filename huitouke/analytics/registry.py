"""Extension point through which apps above `analytics` add figures to the dashboard without analytics importing
them: messaging (messages sent this week), service (open tickets, SLA, CSAT), campaigns …

A higher app registers a Tile in its AppConfig.ready(); the dashboard shows every tile the user may see, in
`order`, each with its value computed when the page is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class TileValue:
    """What a tile shows: the figure (already formatted), an optional note under it and a link to the details."""

    value: str
    note: str = ""
    url: str = ""


@dataclass(frozen=True)
class Tile:
    """A dashboard figure from another app. `value(today)` computes it for the business date `today` (with
    `per_user`, `value(today, user)` for the signed-in user: "my follow-ups"); `permission` (an "app.codename"
    string) hides it from users without it."""

    key: str
    title: Any
    value: Callable[..., TileValue]
    order: int = 100
    permission: str = ""
    per_user: bool = False


_tiles: dict[str, Tile] = {}


def register_tile(tile: Tile) -> None:
    _tiles[tile.key] = tile


def unregister_tile(key: str) -> None:
    _tiles.pop(key, None)


def tiles() -> list[Tile]:
    """The registered tiles in display order."""
    return sorted(_tiles.values(), key=lambda t: (t.order, t.key))


@dataclass(frozen=True)
class PagePanels:
    """Panels another app adds to an analytics page (`page`: "products"). `panels(days, today)` returns them
    (analytics.tables.Panel) for the page's window; `permission` hides them from users without it."""

    key: str
    page: str
    panels: Callable[[int, date], list[Any]]
    permission: str = ""


_page_panels: dict[str, PagePanels] = {}


def register_page_panels(provider: PagePanels) -> None:
    _page_panels[provider.key] = provider


def page_panels(page: str) -> list[PagePanels]:
    """The providers registered for one page, by key."""
    return sorted((p for p in _page_panels.values() if p.page == page), key=lambda p: p.key)
