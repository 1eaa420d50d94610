"""The Kafka producer every way of getting logs in uses: acks=all, one-line errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError

from pipeline.errors import LogweirError
from pipeline.kafka_auth import client_options
from pipeline.settings import Settings

Message = tuple[bytes | None, bytes]
Headers = Sequence[tuple[str, bytes]]


class KafkaUnavailable(LogweirError):
    """The broker did not accept a connection or did not acknowledge a batch."""


def new_producer(
    bootstrap: str, max_message_bytes: int, options: Mapping[str, object], linger_ms: int = 20
) -> AIOKafkaProducer:
    """`options`: the TLS/SASL client options from `pipeline.kafka_auth.client_options`."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        max_request_size=max_message_bytes,
        **options,
    )


def unreachable(bootstrap: str, exc: BaseException) -> KafkaUnavailable:
    return KafkaUnavailable(
        f"Kafka at {bootstrap} is not answering ({type(exc).__name__}): is it running? "
        "`logweir stack up` starts the local one, LOGWEIR_KAFKA_BOOTSTRAP points elsewhere"
    )


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer, stopped on exit (after delivering what was sent).

    For commands: aiokafka's own log lines about failed connections are silenced, the
    one-line error raised here says what to do instead.
    """
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    producer = new_producer(
        settings.kafka_bootstrap, settings.max_message_bytes, client_options(settings)
    )
    try:
        await producer.start()
    except KafkaConnectionError as exc:
        await producer.stop()
        raise unreachable(settings.kafka_bootstrap, exc) from None
    try:
        yield producer
    finally:
        await producer.stop()


async def deliver(
    producer: AIOKafkaProducer, topic: str, batch: Sequence[Message], headers: Headers = ()
) -> None:
    """Send a batch and return once the broker acknowledged every message of it."""
    try:
        pending = [
            await producer.send(topic, value=value, key=key, headers=list(headers) or None)
            for key, value in batch
        ]
        await asyncio.gather(*pending)
    except KafkaError as exc:
        raise KafkaUnavailable(
            f"Kafka did not acknowledge a batch for topic {topic} ({type(exc).__name__}: {exc}): "
            "is the broker up and the topic there? `logweir stack status` shows the local one"
        ) from None
