"""Where did produced messages end up? Counted in ClickHouse by their Kafka coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clickhouse_connect.driver.client import Client

from pipeline.bench.producer import Produced


@dataclass(frozen=True)
class Accounted:
    # Produced messages with at least one row (stored or dead-lettered).
    messages: int
    # Event rows: a message may carry several newline-delimited events.
    stored: int
    dead_lettered: int
    # Rows beyond one per (topic, partition, incarnation, offset, event index): must be 0.
    duplicates: int


def account(client: Client, produced: Produced, since: datetime | None = None) -> Accounted:
    """Count the rows that came from exactly the offsets in `produced`.

    `since` leaves out rows stored before it (their log time for otel_logs, arrival time for
    dead letters): after a restart of a broker that lost its log, old rows (another
    incarnation) share offsets with new ones.
    """
    if not produced.ranges:
        return Accounted(0, 0, 0, 0)
    offsets = " OR ".join(
        f"(KafkaPartition = {int(p)} AND KafkaOffset BETWEEN {int(lo)} AND {int(hi)})"
        for p, (lo, hi) in sorted(produced.ranges.items())
    )

    def rows(table: str, time_column: str) -> str:
        recent = f" AND {time_column} >= {{since:DateTime}}" if since else ""
        return (
            f"SELECT '{table}' AS t, KafkaPartition AS p, KafkaIncarnation AS n, "
            f"KafkaOffset AS o, KafkaEventIndex AS i FROM {table} "
            f"WHERE KafkaTopic = {{topic:String}} AND ({offsets}){recent}"
        )

    result = client.query(
        "SELECT uniqExact(p, o), uniqExactIf((p, o, i), t = 'otel_logs'), "
        "uniqExactIf((p, o, i), t = 'logs_deadletter'), count() - uniqExact(t, p, n, o, i) FROM ("
        f"{rows('otel_logs', 'TimestampTime')} UNION ALL "
        f"{rows('logs_deadletter', 'ReceivedAt')})",
        parameters={"topic": produced.topic, "since": since},
    ).result_rows[0]
    return Accounted(*(int(v) for v in result))
