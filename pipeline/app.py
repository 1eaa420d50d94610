"""The Faust app object and the topics the agents read and write."""

from __future__ import annotations

import faust

from pipeline.kafka_auth import faust_credentials
from pipeline.settings import Settings


def create_app(settings: Settings) -> faust.App:
    datadir = settings.state_dir / "worker" / settings.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    return faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        # Offsets are committed only for events an agent has finished (after the sink's
        # insert returned); never auto-committed ahead of processing.
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=settings.kafka_heartbeat_seconds,
        broker_commit_interval=1.0,
        consumer_max_fetch_size=settings.max_message_bytes,
        producer_max_request_size=settings.max_message_bytes,
        topic_partitions=settings.topic_partitions,
        # Topics are created by `logweir stack up` / the deployment with their partition counts.
        topic_allow_declare=False,
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        broker_credentials=faust_credentials(settings),
    )
