"""The embedded local stack: a Kafka-protocol broker and a ClickHouse server, no Docker.

Both run as background processes bound to 127.0.0.1, with their pid, log and data under
`Settings.state_dir`. `logweir stack up|down|status` drives them.
"""

from __future__ import annotations

from pipeline.stack.broker import Broker
from pipeline.stack.clickhouse import ClickHouseServer

__all__ = ["Broker", "ClickHouseServer"]
