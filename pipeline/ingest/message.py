"""A Kafka message as the pipeline sees it, independent of the Kafka client that read it."""

from __future__ import annotations

from dataclasses import dataclass, field


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
