"""Where did produced messages end up? Counted in ClickHouse by their Kafka coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clickhouse_connect.driver.client import Client

from pipeline.producer import Produced
from pipeline.sink import DEADLETTER_TABLE, LOGS_TABLE


@dataclass(frozen=True)
class Accounted:
    stored: int
    dead_lettered: int
    # Rows beyond one per (topic, partition, offset): must always be 0.
    duplicates: int

    @property
    def total(self) -> int:
        return self.stored + self.dead_lettered


def account(client: Client, produced: Produced, since: datetime | None = None) -> Accounted:
    """Count the rows that came from exactly the offsets in `produced`.

    `since` leaves out rows stored before it (their log time for otel_logs, arrival time for
    dead letters): after a restart of a broker that lost its log, old rows share offsets with
    new ones.
    """
    if not produced.ranges:
        return Accounted(0, 0, 0)
    where = " OR ".join(
        f"(KafkaPartition = {int(p)} AND KafkaOffset BETWEEN {int(lo)} AND {int(hi)})"
        for p, (lo, hi) in sorted(produced.ranges.items())
    )
    counts = []
    for table, time_column in ((LOGS_TABLE, "TimestampTime"), (DEADLETTER_TABLE, "ReceivedAt")):
        recent = f" AND {time_column} >= {{since:DateTime}}" if since else ""
        rows, distinct = client.query(
            f"SELECT count(), uniqExact(KafkaPartition, KafkaOffset) FROM {table} "
            f"WHERE KafkaTopic = {{topic:String}} AND ({where}){recent}",
            parameters={"topic": produced.topic, "since": since},
        ).result_rows[0]
        counts.append((int(rows), int(distinct)))
    (logs, logs_distinct), (dead, dead_distinct) = counts
    return Accounted(
        stored=logs_distinct,
        dead_lettered=dead_distinct,
        duplicates=(logs - logs_distinct) + (dead - dead_distinct),
    )
