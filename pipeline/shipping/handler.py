"""A logging.Handler that ships records to Kafka as JSON without ever blocking the caller."""

from __future__ import annotations

import logging
import socket
import sys

from pipeline.kafka_auth import client_options
from pipeline.settings import Settings
from pipeline.shipping import layout
from pipeline.shipping.sender import Sender

# A full queue drops records; one stderr line per this many drops says so without flooding.
DROP_WARNING_EVERY = 1000


class KafkaHandler(logging.Handler):
    """Formats in the caller's thread, queues, and leaves the sending to a background thread.

    A full queue drops the record and counts it in `dropped`; nothing ever raises into the
    application. `flush()` and `close()` wait up to `flush_seconds` for Kafka's acks;
    `logging.shutdown` (run at exit) calls both.
    """

    def __init__(
        self,
        service: str,
        settings: Settings | None = None,
        *,
        bootstrap: str | None = None,
        topic: str | None = None,
        level: int = logging.NOTSET,
        start: bool = True,
    ) -> None:
        super().__init__(level)
        settings = settings or Settings()
        self.service = service
        self.host = socket.gethostname()
        self.flush_seconds = settings.handler_flush_seconds
        self.dropped = 0
        self.sender = Sender(
            bootstrap or settings.kafka_bootstrap,
            topic or settings.topic_raw,
            settings.max_message_bytes,
            settings.handler_queue_size,
            client_options(settings),
        )
        self._key = service.encode()
        if start:
            self.sender.start()

    @property
    def failed(self) -> int:
        """Records Kafka did not take after they were queued."""
        return self.sender.failed

    def emit(self, record: logging.LogRecord) -> None:
        # The sender's own thread logs through aiokafka: shipping that would feed itself.
        if record.thread == self.sender.ident:
            return
        try:
            value = layout.encode(record, self.service, self.host)
        except Exception:  # noqa: BLE001 - a bad record must not reach the application
            self.handleError(record)
            return
        if not self.sender.offer((self._key, value)):
            self.dropped += 1
            if self.dropped % DROP_WARNING_EVERY == 1:
                print(
                    f"logweir: dropped {self.dropped} log records so far: the queue to Kafka "
                    f"at {self.sender.bootstrap} is full (is Kafka slow or down?)",
                    file=sys.stderr,
                )

    def flush(self) -> None:
        self.sender.flush(self.flush_seconds)

    def close(self) -> None:
        if not self.sender.close(self.flush_seconds):
            print(
                f"logweir: gave up waiting {self.flush_seconds:g}s for Kafka at "
                f"{self.sender.bootstrap}; queued log records were not shipped",
                file=sys.stderr,
            )
        super().close()


def install(
    service: str,
    bootstrap: str | None = None,
    topic: str | None = None,
    level: int | str = logging.INFO,
) -> KafkaHandler:
    """Ship every record of the root logger at `level` and above; defaults from Settings.

    Calling it again replaces the handler it installed before.
    """
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, KafkaHandler)]:
        root.removeHandler(previous)
        previous.close()
    handler = KafkaHandler(service, bootstrap=bootstrap, topic=topic)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
