"""The live feed's background work: care's reaction to order events, webhooks waiting to be written, watched
folders and silence alerts. Registered at start-up (apps.py)."""

from __future__ import annotations

import logging

from huey.contrib.djhuey import db_task

from huitouke.care.ticks import care_react
from huitouke.connectors.services import after_write_register

log = logging.getLogger(__name__)


@db_task()
def care_react_task(customer_ids: list[int]) -> dict[str, int]:
    """Care's order-event rules for customers whose orders just arrived or changed (one worker cycle after the
    write instead of the next five-minute tick)."""
    report = care_react(customer_ids=customer_ids)
    enqueued = sum(r.enqueued for r in report.rules)
    if enqueued or report.failed:
        log.info("care reaction: %s messages for %s customers", enqueued, len(customer_ids))
    return {"rules": len(report.rules), "enqueued": enqueued}


def _react(customer_ids: list[int]) -> None:
    care_react_task(customer_ids)


def register() -> None:
    """Hook the care reaction onto every live write."""
    after_write_register(_react)
