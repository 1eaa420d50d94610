"""`logweir gen`: synthetic traffic at a steady rate, with error bursts on demand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from pipeline.cli.output import console
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.bench.sample import SampleTraffic

# Messages go out in slices of this many per second, so a high rate needs few acks.
SLICES_PER_SECOND = 20


@dataclass
class Sent:
    steady: int = 0
    bursts: list[tuple[float, str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.steady + sum(size for _, _, size in self.bursts)


def gen(
    rate: Annotated[float, typer.Option(min=0.1, help="messages per second")] = 100.0,
    duration: Annotated[float, typer.Option(min=0.1, help="seconds to run")] = 10.0,
    burst_every: Annotated[
        float | None,
        typer.Option(
            min=0.1, help="seconds between error bursts from one service; none if omitted"
        ),
    ] = None,
    burst_size: Annotated[int, typer.Option(min=1, help="error lines in each burst")] = 200,
    service: Annotated[
        list[str] | None,
        typer.Option(help="only these services (repeatable); default: the five sample services"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="repeat a run exactly")] = None,
    topic: Annotated[str | None, typer.Option(help="default: LOGWEIR_TOPIC_RAW")] = None,
) -> None:
    """Generate realistic mixed-format log traffic (JSON, access, Python, logfmt, text)."""
    from pipeline.bench.sample import SERVICES, SampleTraffic

    settings = Settings()
    topic = topic or settings.topic_raw
    traffic = SampleTraffic(
        seed if seed is not None else time.time_ns(), services=service or SERVICES
    )
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
    ) as bars:
        task = bars.add_task("connecting to Kafka")
        sent = asyncio.run(
            _generate(
                settings,
                topic,
                traffic,
                rate,
                duration,
                burst_every,
                burst_size,
                lambda done: bars.update(task, description=f"sent {done.total} to {topic}"),
            )
        )
    for at, name, size in sent.bursts:
        console.print(f"  burst at {at:5.1f}s: {size} errors from {name}")
    console.print(
        f"sent {sent.total} messages to {topic} in {duration:g}s: {sent.steady} at "
        f"{rate:g}/s and {len(sent.bursts)} bursts of {burst_size} errors"
    )


async def _generate(
    settings: Settings,
    topic: str,
    traffic: SampleTraffic,
    rate: float,
    duration: float,
    burst_every: float | None,
    burst_size: int,
    on_sent: Callable[[Sent], None],
) -> Sent:
    from pipeline.shipping.kafka import connected, deliver
    from pipeline.shipping.throttle import TokenBucket

    per_slice = max(1, round(rate / SLICES_PER_SECOND))
    bucket = TokenBucket(rate, capacity=per_slice)
    sent = Sent()
    async with connected(settings) as producer:
        start = time.monotonic()
        next_burst = start + burst_every if burst_every else float("inf")
        while (now := time.monotonic()) - start < duration:
            if now >= next_burst:
                name = traffic.rng.choice(traffic.services)
                await deliver(producer, topic, [traffic.error(name) for _ in range(burst_size)])
                sent.bursts.append((now - start, name, burst_size))
                next_burst += burst_every or 0.0
            count = min(per_slice, max(1, round((duration - (now - start)) * rate)))
            await asyncio.sleep(bucket.take(count))
            await deliver(producer, topic, [traffic.one() for _ in range(count)])
            sent.steady += count
            on_sent(sent)
    return sent
