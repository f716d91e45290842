"""Per-row display work a list page does once per page in its view instead of once per row in the template.

In a template each `get_FOO_display`, `{% url %}` and `truncatechars` costs a lookup chain, a translation of
every choice or a resolver walk per row; at 50 rows that was most of a list page's time (issue 22). These give
the same text from work done once: the choices translated into a dict, a link pattern reversed once, and
`truncatechars`' cut by slicing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import pgettext

#: a record id no table reaches, reversed in place of the real one and then replaced
_SENTINEL = 9_000_000_000_000_000_123


def choice_labels(choices: Iterable[tuple[Any, Any]]) -> dict[Any, str]:
    """{value: label in the active language} of a field's choices (what `get_FOO_display` shows)."""
    return {value: str(label) for value, label in choices}


def link_for(name: str) -> Callable[[int], str]:
    """pk → the URL of the pattern `name` (one `<id:pk>` argument), reversed once."""
    head, tail = reverse(name, args=[_SENTINEL]).split(str(_SENTINEL))
    return lambda pk: f"{head}{int(pk)}{tail}"


def excerpter(limit: int) -> Callable[[str], str]:
    """text → the text as `truncatechars:limit` shows it (cut to `limit` characters, the last ones the ending
    of the active language, "…" or "...")."""
    ending = pgettext("String to return when truncating text", "%(truncated_text)s…") % {"truncated_text": ""}
    keep = max(limit - len(ending), 0)

    def cut(text: str) -> str:
        # NFC as Django does; unlike Django a combining mark left after it counts as a character (rare)
        text = unicodedata.normalize("NFC", text or "")
        return text if len(text) <= limit else text[:keep] + ending

    return cut
