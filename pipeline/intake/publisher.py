"""The intake's Kafka side: one producer, one message per request, 503 until Kafka acked it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pipeline.errors import first_line
from pipeline.intake.rejection import Rejected
from pipeline.kafka_auth import client_options
from pipeline.observe.health import Probe
from pipeline.settings import Settings

log = logging.getLogger("logweir.intake")

# Seconds between attempts to connect while Kafka is not there at start-up.
CONNECT_RETRY_SECONDS = 2.0
# Retry-After of a 503: about when a client should try again.
RETRY_AFTER_SECONDS = 5


def unavailable(reason: str) -> Rejected:
    return Rejected(
        503,
        f"Kafka did not acknowledge the request ({reason}); nothing of it was accepted: retry it",
        retry_after=RETRY_AFTER_SECONDS,
    )


class Publisher:
    """Publishes request messages with acks=all and waits for the acknowledgement.

    A message that Kafka does not acknowledge within `intake_kafka_timeout_seconds` fails
    (aiokafka expires its batch after the producer's request timeout, set to the same), so a 503
    means that the message will not turn up later. Only a broker that stored it but whose
    answer was lost makes a retried request a duplicate (see README, "HTTP intake").
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.intake_kafka_timeout_seconds
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._failing = False
        self.kafka_up = Probe(self._kafka_answers)

    async def start(self) -> None:
        """Connect in the background: the server answers 503 until Kafka is there."""
        self._connecting = asyncio.create_task(self._connect())

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._producer is not None:
            await self._producer.stop()

    async def _connect(self) -> None:
        announced = False
        while True:
            # The shippers' producer (acks=all), with the request timeout as the time a message
            # may wait for its acknowledgement: aiokafka fails it after that.
            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                acks="all",
                linger_ms=0,  # one request is one message: nothing to wait for
                max_request_size=self.settings.max_message_bytes,
                request_timeout_ms=int(self.timeout * 1000),
                **client_options(self.settings),
            )
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                if not announced:
                    log.warning(
                        "Kafka at %s is not answering (%s): requests get 503 until it does",
                        self.settings.kafka_bootstrap,
                        first_line(exc),
                    )
                    announced = True
                await asyncio.sleep(CONNECT_RETRY_SECONDS)
                continue
            self._producer = producer
            log.info("connected to Kafka at %s", self.settings.kafka_bootstrap)
            return

    async def publish(
        self, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """Return once Kafka acknowledged the message; 503 (Rejected) when it did not."""
        producer = self._producer
        if producer is None:
            raise unavailable(f"not connected to {self.settings.kafka_bootstrap} yet")
        try:
            # Bounded twice: aiokafka fails the send after its request timeout; the outer
            # bound only guards against a send that never resolves.
            sent = await asyncio.wait_for(
                producer.send(self.settings.topic_raw, value=value, key=key, headers=list(headers)),
                self.timeout,
            )
            await asyncio.wait_for(sent, self.timeout * 2)
        except (KafkaError, TimeoutError) as exc:
            if not self._failing:  # one line when it starts failing, one when it recovers
                log.warning("Kafka stopped acknowledging: %s; answering 503", first_line(exc))
                self._failing = True
            raise unavailable(first_line(exc)) from None
        if self._failing:
            log.info("Kafka acknowledges again")
            self._failing = False

    async def _kafka_answers(self) -> bool:
        producer = self._producer
        if producer is None:
            return False
        await producer.client.fetch_all_metadata()
        return True
