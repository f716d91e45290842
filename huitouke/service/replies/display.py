"""What the pages show for the library's codes: variable names and wording hints, in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huitouke.service.replies.variables import REPLY_VARIABLES
from huitouke.service.replies.wording import Hint


def variable_labels() -> list[tuple[str, str]]:
    """(variable, what it stands for) in the editor's order."""
    labels = {
        "name": _("customer's name"),
        "nick": _("buyer nickname"),
        "shop": _("shop name"),
        "order_no": _("order number"),
        "items": _("items of the order"),
        "carrier": _("carrier"),
        "tracking_no": _("tracking number"),
        "refund_amount": _("refund amount"),
        "agent": _("your name"),
        "ticket_no": _("ticket number"),
        "self_service_link": _("self-service link"),
    }
    return [(v, labels[v]) for v in REPLY_VARIABLES]


def hint_texts(hints: list[Hint]) -> list[str]:
    out = []
    for h in hints:
        if h.code == "greeting":
            out.append(
                _("Open with the shop's greeting “%(greeting)s”: it makes the customer feel welcome.")
                % {"greeting": h.words[0] if h.words else ""}
            )
        elif h.code == "banned":
            out.append(
                _("Avoid %(words)s: promise only what you can keep (try 尽量, 努力).") % {"words": "、".join(h.words)}
            )
        elif h.code == "too_long":
            out.append(
                ngettext(
                    "%(length)s characters: longer than one SMS (%(parts)s part).",
                    "%(length)s characters: longer than one SMS (%(parts)s parts).",
                    h.parts,
                )
                % {"length": h.length, "parts": h.parts}
            )
    return out
