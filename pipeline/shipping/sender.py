"""A background thread that owns an asyncio loop and a Kafka producer, fed by a bounded queue."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pipeline.shipping.kafka import Message, new_producer

# How long the sender sleeps when its queue is empty, and how many messages one send awaits:
# polling keeps the loop free of executors, which refuse work while the interpreter exits.
_IDLE_SECONDS = 0.05
_BATCH = 1000
_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


class Sender:
    """Ships queued messages to one topic; `offer` never blocks, `flush` waits with a timeout.

    Messages that cannot be queued are the caller's to count; messages Kafka would not take
    (after the producer's own retries) are counted in `failed` and reported on stderr.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        max_message_bytes: int,
        capacity: int,
        options: Mapping[str, object],
    ) -> None:
        self.bootstrap = bootstrap
        self.options = options
        self.topic = topic
        self.max_message_bytes = max_message_bytes
        self.failed = 0
        self._queue: queue.Queue[Message] = queue.Queue(capacity)
        self._offered = 0
        self._done = 0
        self._progress = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logweir-sender", daemon=True)

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def start(self) -> None:
        self._thread.start()

    def offer(self, message: Message) -> bool:
        """Queue a message; False (at once) when the queue is full or the sender is closed."""
        if self._stopping.is_set():
            return False
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            return False
        with self._progress:
            self._offered += 1
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until everything offered so far was delivered (or failed); False on timeout."""
        with self._progress:
            target = self._offered
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float) -> bool:
        """Deliver what is queued, then stop; False when that took longer than `timeout`."""
        self._stopping.set()
        if not self._thread.is_alive():
            return self._queue.empty()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        asyncio.run(self._ship())

    async def _ship(self) -> None:
        producer = new_producer(self.bootstrap, self.max_message_bytes, self.options, linger_ms=50)
        attempt = 0
        while True:
            try:
                await producer.start()
                break
            except KafkaError as exc:
                await producer.stop()
                if self._stopping.is_set():
                    self._abandon(f"Kafka at {self.bootstrap} never answered ({exc})")
                    return
                await asyncio.sleep(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
                attempt += 1
                producer = new_producer(
                    self.bootstrap, self.max_message_bytes, self.options, linger_ms=50
                )
        try:
            while not (self._stopping.is_set() and self._queue.empty()):
                batch = self._take()
                if batch:
                    await self._send(producer, batch)
                else:
                    await asyncio.sleep(_IDLE_SECONDS)
        finally:
            await producer.stop()

    def _take(self) -> list[Message]:
        batch: list[Message] = []
        while len(batch) < _BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    async def _send(self, producer: AIOKafkaProducer, batch: list[Message]) -> None:
        try:
            pending = [await producer.send(self.topic, value=v, key=k) for k, v in batch]
            results = await asyncio.gather(*pending, return_exceptions=True)
            lost = sum(isinstance(r, BaseException) for r in results)
        except KafkaError:
            lost = len(batch)
        if lost:
            self.failed += lost
            print(
                f"logweir: Kafka at {self.bootstrap} did not take {lost} log records "
                f"for topic {self.topic} ({self.failed} so far)",
                file=sys.stderr,
            )
        self._finished(len(batch))

    def _abandon(self, reason: str) -> None:
        lost = len(self._take())
        while not self._queue.empty():
            lost += len(self._take())
        self.failed += lost
        if lost:
            print(f"logweir: {lost} log records not shipped: {reason}", file=sys.stderr)
        self._finished(lost)

    def _finished(self, count: int) -> None:
        with self._progress:
            self._done += count
            self._progress.notify_all()
