"""The worker's own telemetry events: one function per event, each logs and counts."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from pipeline.sink import WriteResult

log = logging.getLogger("logweir.ingest")


@dataclass
class IngestCounters:
    """Running totals of what became of every consumed message; logged every interval."""

    interval_seconds: float = 10.0
    consumed: int = 0  # Kafka messages
    events: int = 0  # events in them (a message may carry several)
    stored: int = 0
    dead_lettered: int = 0
    dropped: int = 0  # by a user hook, on purpose
    skipped: int = 0
    _last_report: float = field(default_factory=time.monotonic)

    def batch_written(self, consumed: int, events: int, dropped: int,
                      result: WriteResult) -> None:
        self.consumed += consumed
        self.events += events
        self.dropped += dropped
        self.stored += result.stored
        self.dead_lettered += result.dead_lettered
        self.skipped += result.skipped
        now = time.monotonic()
        if now - self._last_report >= self.interval_seconds:
            self._last_report = now
            log.info(
                "consumed %d messages, %d events: stored %d, dead-lettered %d, dropped by hooks "
                "%d, skipped as already stored %d",
                self.consumed, self.events, self.stored, self.dead_lettered, self.dropped,
                self.skipped,
            )
