"""The worker's store on a fake client: what it writes, how it reads state back, and that a
failed call makes the next one reconnect. (The SQL itself runs in
tests/integration/test_alert_store.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.alerting import tables
from pipeline.alerting.engine import LastAlert
from pipeline.alerting.notify.webhooks import delivery_id
from pipeline.alerting.store import AlertStore
from pipeline.alerting.testing import FakeClient, alert


async def test_an_alert_is_recorded_with_a_queued_delivery_per_target():
    client = FakeClient()
    a = alert()
    await AlertStore(lambda: client).record([a], ["ops", "chat"])  # type: ignore[arg-type, return-value]
    ((table, (row,), columns),) = client.inserts
    values = dict(zip(columns, row, strict=True))
    assert table == tables.ALERTS and columns == tables.ALERT_COLUMNS
    assert values["Targets"] == ["ops", "chat"]
    assert values["DeliveryIds"] == [delivery_id(a, "ops"), delivery_id(a, "chat")]


async def test_the_newest_alert_of_each_group_comes_back_in_seconds():
    client = FakeClient([("r", "f1", {"service": "api"}, "firing", 1_500_000, 2_750_000)])
    store = AlertStore(lambda: client)  # type: ignore[arg-type, return-value]
    assert await store.latest(["r"]) == [
        LastAlert("r", "f1", {"service": "api"}, "firing", 1.5, 2.75)
    ]
    assert await store.latest([]) == [] and len(client.queries) == 1


async def test_a_restored_start_is_the_stored_one_to_the_microsecond():
    # ClickHouse answers StartsAt in microseconds (DateTime64(6), migration 0019).
    starts = datetime(2026, 11, 29, 18, 39, 39, 94743, tzinfo=UTC)
    micros = (starts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    client = FakeClient([("r", "f1", {"service": "api"}, "firing", micros, micros)])
    (last,) = await AlertStore(lambda: client).latest(["r"])  # type: ignore[arg-type, return-value]
    assert datetime.fromtimestamp(last.starts_at, UTC) == starts


async def test_a_failed_call_drops_the_client_and_the_next_call_reconnects():
    clients = [FakeClient(down_for=1), FakeClient()]
    made: list[FakeClient] = []

    def connect() -> FakeClient:
        made.append(clients.pop(0))
        return made[-1]

    store = AlertStore(connect)  # type: ignore[arg-type]
    with pytest.raises(ConnectionRefusedError):
        await store.pending()
    assert await store.pending() == []
    assert len(made) == 2
