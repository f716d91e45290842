"""Manual sends: the message becomes a task in the agents' queue (send it through 千牛/旺旺 or by phone, then
mark it sent). Nothing leaves the system automatically."""

from __future__ import annotations

from collections.abc import Sequence

from huitouke.messaging.channels.base import Adapter, Outcome, Outgoing, Result


class ManualAdapter(Adapter):
    provider = "manual"
    max_batch = 500

    def send(self, batch: Sequence[Outgoing]) -> list[Result]:
        return [Result(m.id, Outcome.TASK) for m in batch]
