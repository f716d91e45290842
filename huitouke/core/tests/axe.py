"""axe-core in the browser tests: run the WCAG 2.1 A/AA rules on the page a test has open and fail on any serious
or critical violation.

axe-playwright-python bundles axe-core (axe.min.js inside the package): nothing is fetched at run time. The script is
injected through Playwright's evaluate (DevTools protocol), which the page's Content-Security-Policy does not block.
"""

from __future__ import annotations

from typing import Any

#: the rule sets the issue asks for
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: impacts that fail a test
FAILING = ("serious", "critical")

_SCRIPT: str | None = None


def _script() -> str:
    global _SCRIPT
    if _SCRIPT is None:
        from axe_playwright_python.base import AXE_SCRIPT

        _SCRIPT = AXE_SCRIPT
    return _SCRIPT


def violations(page: Any, *, impacts: tuple[str, ...] = FAILING) -> list[dict[str, Any]]:
    """The violations of the page open in `page` with one of `impacts`, as axe reports them (id, impact, nodes)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_script())
    result = page.evaluate(
        "opts => axe.run(document, opts)",
        {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]},
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(found: list[dict[str, Any]], where: str = "") -> list[str]:
    """One line per failing element: where, rule, impact, CSS target and axe's summary of what is wrong."""
    lines = []
    for v in found:
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:200]
            lines.append(f"{where} {v['id']} ({v['impact']}) {target}: {summary}".strip())
    return lines


def assert_accessible(page: Any, where: str = "") -> None:
    """Fail when axe finds a serious or critical WCAG 2.1 A/AA violation on the open page."""
    lines = describe(violations(page), where or page.url)
    assert lines == [], "axe-core violations:\n" + "\n".join(lines)
