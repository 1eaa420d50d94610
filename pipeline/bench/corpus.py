"""The benchmark corpus: realistic mixed log lines, one per message or shipper-batched."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord

from pipeline.bench.sample import SampleTraffic

# A shipper-style message: this many newline-delimited events, sent with `framing: lines`.
EVENTS_PER_BATCH = 50


@dataclass(frozen=True)
class Corpus:
    shape: str  # "single" or "batched"
    messages: list[tuple[bytes | None, bytes]]
    headers: list[tuple[str, bytes]]
    events: int
    bytes: int

    def records(self, topic: str, timestamp_ms: int) -> list[ConsumerRecord[bytes, bytes]]:
        """The messages as the Kafka client hands them to the worker's prepare step: on
        partition 0 of `topic`, offsets from 0, create time `timestamp_ms`."""
        headers = tuple(self.headers)
        return [
            ConsumerRecord(
                topic,
                0,
                offset,
                timestamp_ms,
                0,
                key,
                value,
                None,
                len(key) if key is not None else -1,
                len(value),
                headers,
            )
            for offset, (key, value) in enumerate(self.messages)
        ]


def build(shape: str, events: int, seed: int = 11) -> Corpus:
    """`events` sample events (150–500 bytes, ~4% errors, six formats), in the given shape."""
    traffic = SampleTraffic(seed=seed)
    if shape == "single":
        messages = list(traffic.lines(events))
        return Corpus(shape, messages, [], events, sum(len(v) for _, v in messages))
    # Batched messages split on newlines, so multi-line samples (tracebacks) are left out.
    lines: list[bytes] = []
    while len(lines) < events:
        _, value = traffic.one()
        if b"\n" not in value:
            lines.append(value)
    messages = [
        (None, b"\n".join(lines[i : i + EVENTS_PER_BATCH]))
        for i in range(0, events, EVENTS_PER_BATCH)
    ]
    return Corpus(shape, messages, [("framing", b"lines")], events, sum(len(v) for v in lines))
