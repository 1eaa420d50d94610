"""Moves records from followed files to Kafka, saving positions after every acknowledged batch."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from pipeline.shipping.follow import Follower, Lines
from pipeline.shipping.kafka import deliver
from pipeline.shipping.multiline import Joiner, Record
from pipeline.shipping.positions import Identity, PositionStore

# A record with the file it came from (identity, path at the time it was read).
Shipped = tuple[Identity, str, Record]


@dataclass(slots=True)
class Tally:
    """What has been shipped since start, for the progress line and the summary."""

    records: int = 0
    lines: int = 0
    bytes: int = 0
    files: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def lines_per_second(self) -> float:
        return self.lines / max(time.monotonic() - self.started, 1e-3)


@dataclass(frozen=True, slots=True)
class Framing:
    """How lines become records: a start pattern, and when a waiting record is given up on."""

    start: re.Pattern[bytes] | None
    idle_seconds: float
    max_bytes: int


class Pump:
    """One cycle: scan, read, join, ship, save. Positions only move past acknowledged records."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        key: bytes | None,
        follower: Follower,
        store: PositionStore,
        framing: Framing,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.key = key
        self.follower = follower
        self.store = store
        self.framing = framing
        self.clock = clock
        self.tally = Tally()
        self._joiners: dict[Identity, Joiner] = {}
        self._last_line: dict[Identity, float] = {}
        self._paths: dict[Identity, str] = {}

    async def cycle(self, final: bool = False) -> bool:
        """Ship what is new; `final` also ships records still waiting for continuation lines
        and lets go of rotated files. True when something was read."""
        self.follower.scan()
        batch: list[Shipped] = []
        busy = False
        for chunk in self.follower.read():
            busy = busy or bool(chunk.lines)
            batch.extend(self._join(chunk))
        gone = self.follower.release_unmatched() if final else self.follower.retired()
        now = self.clock()
        for identity, joiner in self._joiners.items():
            idle = now - self._last_line.get(identity, now) >= self.framing.idle_seconds
            if joiner.pending and (final or idle or identity in gone):
                batch.extend(self._tagged(identity, joiner.flush()))
        await self._ship(batch)
        for identity in gone:
            self.store.drop(identity)
            self._joiners.pop(identity, None)
            self._last_line.pop(identity, None)
            self._paths.pop(identity, None)
        if batch or gone:
            self.store.save()
        self.tally.files = len(self.follower.files)
        return busy

    async def follow(
        self, stop: asyncio.Event, poll_seconds: float, on_cycle: Callable[[Tally], None]
    ) -> None:
        """Cycle until `stop` is set; records still waiting for more lines stay unshipped and
        are read again next time."""
        while not stop.is_set():
            busy = await self.cycle()
            on_cycle(self.tally)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)

    async def drain(self, on_cycle: Callable[[Tally], None]) -> None:
        """Ship everything there is now, then stop."""
        while await self.cycle():
            on_cycle(self.tally)
        await self.cycle(final=True)
        on_cycle(self.tally)

    def _join(self, chunk: Lines) -> list[Shipped]:
        joiner = self._joiners.get(chunk.identity)
        if joiner is None:
            joiner = Joiner(self.framing.start, self.framing.max_bytes)
            self._joiners[chunk.identity] = joiner
        self._paths[chunk.identity] = chunk.path
        records: list[Record] = []
        if chunk.truncated:
            records.extend(joiner.flush())
        for line, end in chunk.lines:
            records.extend(joiner.feed(line, end))
        if chunk.lines:
            self._last_line[chunk.identity] = self.clock()
        return self._tagged(chunk.identity, records)

    def _tagged(self, identity: Identity, records: list[Record]) -> list[Shipped]:
        return [(identity, self._paths[identity], r) for r in records]

    async def _ship(self, batch: list[Shipped]) -> None:
        if not batch:
            return
        await deliver(self.producer, self.topic, [(self.key, r.text) for _, _, r in batch])
        for identity, path, record in batch:
            self.store.set(identity, path, record.end)
            self.tally.records += 1
            self.tally.lines += record.lines
            self.tally.bytes += len(record.text)
