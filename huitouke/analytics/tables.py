"""Analytics tables and charts as data: what a page shows beside each chart is a Table, and the same Table is
what its XLSX export writes. Charts are plotly figure specs (plain dicts) drawn in the browser by the bundled,
offline plotly.min.js."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Font

#: Column kinds: how a cell is shown and written to XLSX.
KINDS = ("text", "int", "money", "percent", "number", "date", "days")
Cell = str | int | float | Decimal | date | None

PALETTE = ["#b4472c", "#2457a6", "#237a4b", "#946200", "#7b4bb4", "#0f7c86", "#c0587e", "#5b6b7a"]


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """A titled table: columns with kinds, rows of cells, optional per-row links (shown on the first cell)."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    links: list[str] = field(default_factory=list)
    note: str = ""
    #: per-row kind for every column but the first (tables whose rows are different measures)
    row_kinds: list[str] = field(default_factory=list)

    def kinds(self, index: int) -> list[str]:
        if index < len(self.row_kinds):
            return [self.columns[0].kind] + [self.row_kinds[index]] * (len(self.columns) - 1)
        return [c.kind for c in self.columns]

    def link(self, index: int) -> str:
        return self.links[index] if index < len(self.links) else ""

    def display_rows(self) -> list[tuple[str, list[tuple[Cell, str]]]]:
        """Rows for a template: (link of the row or "", [(value, column kind), …])."""
        return [(self.link(i), list(zip(row, self.kinds(i), strict=True))) for i, row in enumerate(self.rows)]


@dataclass(frozen=True)
class Panel:
    """A table with the chart drawn from it (or no chart)."""

    table: Table
    chart: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return self.table.key

    @property
    def chart_id(self) -> str:
        return f"chart-{self.table.key}"

    @property
    def stacked(self) -> bool:
        """Wide tables go under their chart instead of beside it."""
        return len(self.table.columns) > 5


#: Labels are shown as given (already in the page's language): plotly would read "2026-01" as a date and write
#: its own English month names under the axis.
CATEGORY_AXIS = {"type": "category"}


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | int | Decimal | None]]],
    *,
    horizontal: bool = False,
    percent: bool = False,
    height: int = 300,
) -> dict[str, Any]:
    """Grouped bars: one trace per (name, values)."""
    data = []
    for i, (name, values) in enumerate(series):
        numbers = [None if v is None else float(v) for v in values]
        trace: dict[str, Any] = {"type": "bar", "name": name, "marker": {"color": PALETTE[i % len(PALETTE)]}}
        if horizontal:
            trace.update({"y": list(labels), "x": numbers, "orientation": "h"})
        else:
            trace.update({"x": list(labels), "y": numbers})
        data.append(trace)
    axis = {"tickformat": ".0%"} if percent else {}
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 120 if horizontal else 50, "r": 10, "t": 10, "b": 40},
        "barmode": "group",
        "showlegend": len(series) > 1,
        "legend": {"orientation": "h", "y": -0.2},
        ("xaxis" if horizontal else "yaxis"): axis,
    }
    if horizontal:
        layout["yaxis"] = {"autorange": "reversed", "automargin": True, "type": "category"}
    else:
        layout["xaxis"] = CATEGORY_AXIS
    return {"data": data, "layout": layout}


def bar_line_chart(
    labels: Sequence[str],
    bars: tuple[str, Sequence[float | Decimal | None]],
    line: tuple[str, Sequence[float | Decimal | None]],
    *,
    height: int = 300,
) -> dict[str, Any]:
    """Bars on the left axis and a line on the right axis (revenue and average order value)."""
    return {
        "data": [
            {
                "type": "bar",
                "name": bars[0],
                "x": list(labels),
                "y": [None if v is None else float(v) for v in bars[1]],
                "marker": {"color": PALETTE[0]},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": line[0],
                "x": list(labels),
                "y": [None if v is None else float(v) for v in line[1]],
                "yaxis": "y2",
                "line": {"color": PALETTE[1]},
            },
        ],
        "layout": {
            "height": height,
            "margin": {"l": 60, "r": 60, "t": 10, "b": 40},
            "showlegend": True,
            "legend": {"orientation": "h", "y": -0.2},
            "xaxis": CATEGORY_AXIS,
            "yaxis": {"title": {"text": bars[0]}},
            "yaxis2": {"title": {"text": line[0]}, "overlaying": "y", "side": "right"},
        },
    }


def heatmap(
    x: Sequence[str], y: Sequence[str], z: Sequence[Sequence[float | None]], *, height: int = 360
) -> dict[str, Any]:
    """A retention heatmap: rows y (cohorts), columns x (months since), values 0..1 shown as percentages."""
    return {
        "data": [
            {
                "type": "heatmap",
                "x": list(x),
                "y": list(y),
                "z": [list(row) for row in z],
                "zmin": 0,
                "zmax": 1,
                "colorscale": [[0, "#fbeee9"], [1, "#b4472c"]],
                "hovertemplate": "%{y} +%{x}: %{z:.1%}<extra></extra>",
                "colorbar": {"tickformat": ".0%"},
            }
        ],
        "layout": {
            "height": height,
            "margin": {"l": 80, "r": 10, "t": 10, "b": 40},
            "yaxis": {"autorange": "reversed", "type": "category"},
            "xaxis": {"type": "category"},
        },
    }


_FORMATS = {"money": "#,##0.00", "percent": "0.0%", "number": "0.00", "days": "0.0", "date": "yyyy-mm-dd"}


def _xlsx_cell(value: Cell) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
        return "'" + value  # never a formula
    return value


def tables_to_xlsx(tables: Sequence[Table], out: IO[bytes]) -> None:
    """Write each table to its own sheet: a bold header row, typed cells with number formats."""
    book = Workbook()
    book.remove(book.active)  # the default sheet; ours are added below
    for table in tables:
        sheet = book.create_sheet(title=(table.title or table.key)[:31].replace("/", "-"))
        sheet.append([c.title for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for i, row in enumerate(table.rows):
            sheet.append([_xlsx_cell(v) for v in row])
            for j, kind in enumerate(table.kinds(i), start=1):
                fmt = _FORMATS.get(kind)
                if fmt:
                    sheet.cell(row=i + 2, column=j).number_format = fmt
        for j, column in enumerate(table.columns, start=1):
            width = max([len(column.title), *(len(str(r[j - 1])) for r in table.rows[:200] if r[j - 1] is not None)])
            sheet.column_dimensions[sheet.cell(row=1, column=j).column_letter].width = min(max(width + 2, 8), 50)
    book.save(out)


def as_datetime(value: date | datetime | None) -> date | None:
    """Spreadsheets have no time zones: dates as they are, datetimes as their date."""
    if isinstance(value, datetime):
        return value.date()
    return value
