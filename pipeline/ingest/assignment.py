"""Whether the ingest consumer owns partitions, and saying so when it has none for too long."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from pipeline.settings import Settings

log = logging.getLogger("pipeline.ingest.consumer")


class AssignmentWatch:
    def __init__(self, settings: Settings, consumer: Callable[[], AIOKafkaConsumer | None]) -> None:
        self.settings = settings
        self._consumer = consumer
        self._since = time.monotonic()
        self._reported = False

    def started(self) -> None:
        self._since = time.monotonic()

    def assigned(self) -> None:
        self._since = time.monotonic()
        self._reported = False

    def waiting_seconds(self) -> float | None:
        """How long the consumer has owned no partition, once that is longer than a group
        join should take (`ingest_join_seconds`); None otherwise."""
        consumer = self._consumer()
        if consumer is None or consumer.assignment():
            return None
        waited = time.monotonic() - self._since
        return waited if waited > self.settings.ingest_join_seconds else None

    def report_waiting(self) -> None:
        """Say once, plainly, when no partition has come for longer than a join should take."""
        waited = self.waiting_seconds()
        if waited is not None and not self._reported:
            self._reported = True
            log.warning(
                "still waiting for partitions of %s after %.0f s (group %s): is another worker "
                "holding them, or is the topic missing? `logweir status` shows the assignment",
                self.settings.topic_raw,
                waited,
                self.settings.ingest_group,
            )
