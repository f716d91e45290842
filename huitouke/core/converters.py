"""URL converters of the pages: `<id:pk>` matches a number a database integer can hold (0 … 2**63-1: record ids,
and 0 where a route uses it for "the default"); a longer number matches no page (404), so it never reaches a
query (Django's `<int:…>` takes any length)."""

from __future__ import annotations

from django.urls import register_converter

from huitouke.core.errors import INT64_MAX


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > INT64_MAX:
            raise ValueError(f"{value} is beyond any record id")  # the resolver then tries the next pattern: 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
