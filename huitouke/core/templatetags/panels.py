"""`{% render_panel panel %}`: render a registered page section with its own context on top of the page's.

A panel is a dict with `template` and `context` (see customers.registry.DetailPanel). The page's context (the
request, `perms`, the viewer's `masker` …) stays visible to the panel, and context processors are not run again.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context: template.Context, panel: dict[str, Any]) -> SafeString:
    """The panel's template rendered with the page context plus the panel's own values."""
    engine = context.template.engine if context.template else template.engines["django"].engine  # type: ignore[attr-defined]  # the Django backend has .engine
    tpl = engine.get_template(panel["template"])
    with context.push(**panel.get("context", {})):
        return tpl.render(context)
