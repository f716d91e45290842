"""Which files of a watched folder are ready to import, and how they go together. Pure: the caller lists the
folder (name, size, modification time) and keeps the sizes seen at the previous look.

- A file is complete when it was not modified for `settle` seconds and its size did not change since the
  previous look (an export still being copied or downloaded grows, or is fresh).
- Names that tools use while writing are never taken: hidden files, `~$…` (Excel's lock), `.part`, `.tmp`,
  `.crdownload`, `.download`, `.partial`; and only CSV/XLS/XLSX/TXT files are exports.
- A Taobao/Tmall order report (ExportOrderList…, 订单报表) and its item report (ExportOrderDetailList…, 宝贝报表)
  are paired by the timestamp in their names (the longest run of digits, e.g. 202612071030). An order report
  whose partner has not arrived waits `pair_wait` seconds, then goes alone (its lines are a summary); an item
  report never goes alone: after `pair_wait` it fails with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

EXPORT_SUFFIXES = (".csv", ".xlsx", ".xls", ".txt")
WRITING_SUFFIXES = (".part", ".tmp", ".crdownload", ".download", ".partial", ".swp")
ORDER_MARKERS = ("exportorderlist", "订单报表")
ITEM_MARKERS = ("exportorderdetaillist", "宝贝报表", "orderdetail")

_DIGITS = re.compile(r"\d{6,}")


@dataclass(frozen=True)
class Entry:
    """A file in the folder as listed: name, size in bytes, modification time (seconds since the epoch)."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Unit:
    """What to import as one: an export, or a Taobao order report with its item report; or a file that fails
    without being imported (`error`)."""

    path: str
    items: str | None = None
    error: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.path, self.items) if self.items else (self.path,)


@dataclass(frozen=True)
class Plan:
    """The look's outcome: units to take now, and files still waiting (being written, or for their partner)."""

    units: tuple[Unit, ...]
    waiting: tuple[str, ...]


def is_candidate(name: str) -> bool:
    """An export file, not one being written or hidden."""
    lower = name.lower()
    if name.startswith((".", "~$")) or lower.endswith(WRITING_SUFFIXES):
        return False
    return lower.endswith(EXPORT_SUFFIXES)


def taobao_role(name: str) -> tuple[str, str] | None:
    """("orders" | "items", timestamp) for a Taobao report named with its timestamp, else None."""
    lower = name.lower()
    role = (
        "items" if any(m in lower for m in ITEM_MARKERS) else "orders" if any(m in lower for m in ORDER_MARKERS) else ""
    )
    if not role:
        return None
    runs = _DIGITS.findall(name)
    if not runs:
        return None
    return role, max(runs, key=len)


def plan(
    entries: Sequence[Entry],
    *,
    now: float,
    previous: Mapping[str, int],
    settle: float = 5.0,
    pair_wait: float = 120.0,
) -> Plan:
    """Decide what to import from a listing (see the module docstring). `previous` maps names to the sizes seen
    at the previous look (empty on the first look: then only the quiet time counts)."""
    ready: dict[str, Entry] = {}
    waiting: list[str] = []
    for entry in sorted(entries, key=lambda e: e.name):
        if not is_candidate(entry.name):
            continue
        quiet = now - entry.mtime >= settle
        same = previous.get(entry.name, entry.size) == entry.size
        if quiet and same and entry.size > 0:
            ready[entry.name] = entry
        else:
            waiting.append(entry.name)
    pending = set(waiting)
    units: list[Unit] = []
    orders: dict[str, str] = {}
    items: dict[str, str] = {}
    for name in ready:
        role = taobao_role(name)
        if role is None:
            units.append(Unit(name))
        elif role[0] == "orders":
            orders[role[1]] = name
        else:
            items[role[1]] = name
    partners_writing = {role[1] for role in map(taobao_role, pending) if role is not None}
    for stamp, name in sorted(orders.items()):
        if stamp in items:
            units.append(Unit(name, items.pop(stamp)))
        elif stamp in partners_writing or now - ready[name].mtime < pair_wait:
            waiting.append(name)
        else:
            units.append(Unit(name))
    for stamp, name in sorted(items.items()):
        if stamp in partners_writing or now - ready[name].mtime < pair_wait:
            waiting.append(name)
        else:
            units.append(Unit(name, error=f"item report without its order report (timestamp {stamp})"))
    return Plan(tuple(sorted(units, key=lambda u: u.path)), tuple(sorted(waiting)))
