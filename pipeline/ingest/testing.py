"""Test doubles for the ingest consumer, shipped beside it: what aiokafka's FetchResult asks of a
consumer's assignment, for taking a fetch's records as getmany takes them without a consumer
(the instructions harness, pipeline/bench/instructions.py, and the unit tests of
kafka_records.py). Real fetches through the broker are the integration tests'."""

from __future__ import annotations


class OnePartitionAssignment:
    """An active assignment of one unpaused partition and its fetch position, as
    FetchResult.check_assignment and _update_position read and move it."""

    active, paused = True, False

    def __init__(self, position: int) -> None:
        self.position = position

    def state_value(self, tp: object) -> OnePartitionAssignment:
        return self

    def consumed_to(self, position: int) -> None:
        self.position = position
