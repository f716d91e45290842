"""A static-files finder for plotly's bundled plotly.min.js, served as `analytics/plotly.min.js`.

The charts run offline: the file comes from the installed plotly package (no CDN, no copy in the repository),
through Django's staticfiles (collectstatic) and WhiteNoise (which lists the finders' files).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

PATH = "analytics/plotly.min.js"


def plotly_dir() -> Path | None:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "package_data"


class PlotlyFinder(BaseFinder):
    """Finds exactly one file: analytics/plotly.min.js → plotly/package_data/plotly.min.js."""

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        folder = plotly_dir()
        if folder is None or not (folder / "plotly.min.js").is_file():
            return [Error("plotly's plotly.min.js is not installed; the analytics charts need it", id="analytics.E001")]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        folder = plotly_dir()
        if path != PATH or folder is None:
            return []
        found = str(folder / "plotly.min.js")
        return [found] if (find_all or kwargs.get("all")) else found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        folder = plotly_dir()
        if folder is None:
            return
        storage = FileSystemStorage(location=str(folder))
        storage.prefix = "analytics"  # type: ignore[attr-defined]  # collectstatic and WhiteNoise read it
        yield "plotly.min.js", storage
