"""The segment builder form: flat form fields ↔ a nested definition, and the inputs each condition row shows.

Form fields are named by the path into the definition: `n.op`, `n.conditions.0.field`, `n.conditions.0.min`,
`n.conditions.1.conditions.0.tags`… `definition_from_form` rebuilds the nested dict (lists of names from multi-selects
or comma-separated text), applies an edit action (add/remove a condition or group) and drops the inputs of a row
whose field was just changed. `rows` describes each row's inputs for the template, so the page needs no
per-field markup. No ORM here except the choice lists, passed in by the view.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

LIST_KEYS = frozenset(
    {
        "levels",
        "tags",
        "shops",
        "provinces",
        "cities",
        "products",
        "categories",
        "months",
        "stages",
        "segments",
        "bands",
    }
)
BOOL_KEYS = frozenset({"negate"})
PREFIX = "n."

FIELD_LABELS: dict[str, Any] = {
    "total_spent": _("Total spent (¥)"),
    "order_count": _("Number of orders"),
    "last_order_at": _("Last purchase"),
    "first_order_at": _("First purchase"),
    "level": _("Member level"),
    "tags": _("Tags"),
    "shop": _("Shop"),
    "region": _("Province / city"),
    "bought": _("Products bought"),
    "birthday_month": _("Birthday month"),
    "consent": _("Consent group"),
    "lifecycle": _("Lifecycle stage"),
    "rfm_segment": _("RFM segment"),
    "clv": _("Predicted 12-month value (¥)"),
    "churn_risk": _("Churn risk"),
}

STAGE_LABELS = {
    "prospect": _("Prospect (no purchase yet)"),
    "new": _("New (first purchase in the last 90 days)"),
    "active": _("Active (bought in the last 180 days)"),
    "at_risk": _("At risk (last purchase 180–365 days ago)"),
    "lapsed": _("Lapsed (no purchase for over a year)"),
}
BAND_LABELS = {"low": _("Low"), "medium": _("Medium"), "high": _("High")}
PURPOSE_LABELS = {
    "new_products": _("New products and promotions"),
    "marketing": _("Marketing"),
    "care": _("Care messages"),
}
CHANNEL_LABELS = {
    "": _("Any channel"),
    "sms": _("SMS"),
    "email": _("Email"),
    "im": _("Platform chat"),
    "phone": _("Phone"),
}


@dataclass
class Input:
    """One input of a condition row."""

    name: str  # the full form name (n.conditions.0.min)
    label: Any
    kind: str  # number, date, text, select, multi, checkbox
    value: Any = ""
    options: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    help: Any = ""


@dataclass
class Row:
    """A condition (or a nested group) of the builder, with its inputs and the errors about it."""

    path: str  # conditions.0 / conditions.1.conditions.0
    number: str  # 1 / 2.1, as the page shows it
    field: str
    inputs: list[Input] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    op: str = "and"
    children: list[Row] = dataclasses.field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.field == "group"


def definition_from_form(data: Any, action: str = "") -> dict[str, Any]:
    """The nested definition posted by the builder (a QueryDict), with `action` applied:
    `add:<group path>`, `addgroup:<group path>`, `remove:<condition path>` ("" is the root group)."""
    root: dict[str, Any] = {"op": "and", "conditions": {}}
    shown: dict[str, str] = {}
    for key in sorted(data.keys(), key=_natural):
        if not key.startswith(PREFIX):
            continue
        parts = key[len(PREFIX) :].split(".")
        if parts[-1] == "_shown":
            shown[".".join(parts[:-1])] = data.get(key)
            continue
        values = list(data.getlist(key)) if hasattr(data, "getlist") else [data[key]]
        _put(root, parts, _value(parts[-1], values))
    _drop_stale(root, shown, "")
    if action:
        verb, _sep, path = action.partition(":")
        _act(root, verb, path)
    return _compact(root)


def _natural(key: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"\.", key)]


def _value(key: str, values: list[str]) -> Any:
    if key in LIST_KEYS:
        out: list[str] = []
        for v in values:
            out += [p.strip() for p in re.split(r"[,，、;；\n]", v) if p.strip()]
        return out
    if key in BOOL_KEYS:
        return any(v in ("on", "true", "1", "yes") for v in values)
    value = values[-1].strip() if values else ""
    if key == "member":
        return value != "no"
    return value


def _put(node: dict[str, Any], parts: list[str], value: Any) -> None:
    i = 0
    while i < len(parts) - 1:
        if parts[i] != "conditions" or not parts[i + 1].isdigit():
            return  # not a name the builder writes: ignore it
        items = node.setdefault("conditions", {})
        node = items.setdefault(int(parts[i + 1]), {})
        i += 2
    last = parts[-1]
    if last.isdigit():
        return
    if value == "" or value == []:
        if last in ("field", "op"):
            node[last] = value
        return
    node[last] = value


def _compact(node: dict[str, Any]) -> dict[str, Any]:
    """Turn the {index: condition} maps into lists, in index order."""
    items = node.get("conditions")
    if isinstance(items, dict):
        node["conditions"] = [_compact(items[k]) for k in sorted(items)]
    return node


def _drop_stale(node: dict[str, Any], shown: dict[str, str], path: str) -> None:
    """A row whose field select changed still posts the old field's inputs: keep only the field."""
    items = node.get("conditions")
    if not isinstance(items, dict):
        return
    for index, child in items.items():
        child_path = f"{path}.conditions.{index}".lstrip(".")
        was = shown.get(child_path)
        if was is not None and child.get("field") != was:
            for key in [k for k in child if k != "field"]:
                del child[key]
            if child.get("field") == "group":
                child.update({"op": "and", "conditions": {}})
        _drop_stale(child, shown, child_path)


def _act(root: dict[str, Any], verb: str, path: str) -> None:
    target = _node(root, path)
    if verb in ("add", "addgroup") and target is not None:
        items = target.setdefault("conditions", {})
        index = max(items, default=-1) + 1
        items[index] = (
            {"field": "group", "op": "or", "conditions": {}} if verb == "addgroup" else {"field": "total_spent"}
        )
    elif verb == "remove" and path:
        parent_path, _sep, index = path.rpartition(".")
        parent = _node(root, parent_path.removesuffix("conditions").rstrip("."))
        if parent is not None and index.isdigit():
            parent.get("conditions", {}).pop(int(index), None)


def _node(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    node: Any = root
    parts = [p for p in path.split(".") if p]
    for i in range(0, len(parts), 2):
        if parts[i] != "conditions" or i + 1 >= len(parts) or not parts[i + 1].isdigit():
            return None
        node = node.get("conditions", {}).get(int(parts[i + 1]))
        if not isinstance(node, dict):
            return None
    return node


def rows(
    definition: dict[str, Any], choices: dict[str, list[tuple[str, Any]]], errors: dict[str, list[str]] | None = None
) -> list[Row]:
    """The builder rows of a (possibly invalid) definition's root group. `choices` offers names for the select
    inputs (levels, tags, shops, provinces, rfm_segments); `errors` are messages by condition path."""
    return _rows(definition.get("conditions") or [], "", "", choices, errors or {})


def _rows(
    items: list[Any], path: str, number: str, choices: dict[str, list[tuple[str, Any]]], errors: dict[str, list[str]]
) -> list[Row]:
    out = []
    for i, cond in enumerate(items):
        cond = cond if isinstance(cond, dict) else {}
        p = f"{path}.conditions.{i}".lstrip(".")
        n = f"{number}.{i + 1}".lstrip(".")
        name = str(cond.get("field") or "")
        row = Row(path=p, number=n, field=name, errors=errors.get(p, []))
        if name == "group":
            row.op = "or" if cond.get("op") == "or" else "and"
            row.children = _rows(cond.get("conditions") or [], p, n, choices, errors)
        else:
            row.inputs = _inputs(name, cond, PREFIX + p + ".", choices)
        out.append(row)
    return out


def _inputs(name: str, c: dict[str, Any], pre: str, choices: dict[str, list[tuple[str, Any]]]) -> list[Input]:
    def v(key: str, default: Any = "") -> Any:
        return c.get(key, default)

    def multi(key: str, label: Any, options: list[tuple[str, Any]]) -> Input:
        return Input(pre + key, label, "multi", [str(x) for x in v(key, [])], options)

    def text_list(key: str, label: Any, help_: Any = "") -> Input:
        return Input(pre + key, label, "text", ", ".join(str(x) for x in v(key, [])), help=help_)

    if name in ("total_spent", "order_count", "clv"):
        return [
            Input(pre + "min", _("at least"), "number", v("min")),
            Input(pre + "max", _("at most"), "number", v("max")),
        ]
    if name in ("last_order_at", "first_order_at"):
        return [
            Input(pre + "within_days", _("within the last N days"), "number", v("within_days")),
            Input(pre + "not_within_days", _("not within the last N days"), "number", v("not_within_days")),
            Input(pre + "after", _("on or after"), "date", v("after")),
            Input(pre + "before", _("on or before"), "date", v("before")),
        ]
    if name == "level":
        return [
            multi("levels", _("levels"), choices.get("levels", [])),
            Input(pre + "negate", _("is not"), "checkbox", v("negate", False)),
        ]
    if name == "tags":
        match = [("any", _("has any of")), ("all", _("has all of")), ("none", _("has none of"))]
        return [
            Input(pre + "match", _("match"), "select", v("match", "any"), match),
            multi("tags", _("tags"), choices.get("tags", [])),
        ]
    if name == "shop":
        return [multi("shops", _("shops"), choices.get("shops", []))]
    if name == "region":
        return [
            multi("provinces", _("provinces"), choices.get("provinces", [])),
            text_list("cities", _("cities"), _("comma-separated")),
        ]
    if name == "bought":
        return [
            text_list("products", _("product codes, SKUs or titles"), _("comma-separated")),
            text_list("categories", _("categories"), _("comma-separated")),
            Input(pre + "within_days", _("within the last N days"), "number", v("within_days")),
            Input(pre + "negate", _("never bought"), "checkbox", v("negate", False)),
        ]
    if name == "birthday_month":
        months = [(str(m), str(m)) for m in range(1, 13)]
        return [multi("months", _("months"), months)]
    if name == "consent":
        return [
            Input(pre + "purpose", _("group"), "select", v("purpose", "new_products"), list(PURPOSE_LABELS.items())),
            Input(pre + "channel", _("channel"), "select", v("channel", ""), list(CHANNEL_LABELS.items())),
            Input(
                pre + "member",
                _("is"),
                "select",
                "yes" if v("member", True) else "no",
                [("yes", _("in the group")), ("no", _("not in the group"))],
            ),
        ]
    if name == "lifecycle":
        return [multi("stages", _("stages"), list(STAGE_LABELS.items()))]
    if name == "rfm_segment":
        return [multi("segments", _("segments"), choices.get("rfm_segments", []))]
    if name == "churn_risk":
        return [multi("bands", _("risk"), list(BAND_LABELS.items()))]
    return []
