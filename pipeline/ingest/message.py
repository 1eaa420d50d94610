"""A Kafka message as the pipeline sees it, independent of the Kafka client that read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    key: bytes | None = None
    headers: dict[str, bytes] = field(default_factory=dict)
    # Set for topics named `<raw topic>.<service>`: the service that published there.
    topic_suffix: str = ""


class FetchedRecord(Protocol):
    """A Kafka record as the ingest consumer fetched it: aiokafka's ConsumerRecord (the
    record-by-record path), or the KafkaRecord the columnar path reads in C
    (pipeline/ingest/kafka_records.py). The fields the worker reads."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]]: ...
