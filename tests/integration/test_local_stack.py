"""The local ClickHouse's own log: at the configured level, and rotated by size.

Each test starts a private server (free ports, a temporary state directory) so that it sees a
log written only by what the test did.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.clickhouse import connect
from pipeline.settings import Settings
from pipeline.stack import clickhouse as local
from pipeline.stack.process import free_port

pytestmark = pytest.mark.integration

STATEMENTS = 300


def _server(tmp_path: Path, level: str) -> Iterator[local.ClickHouseServer]:
    settings = Settings(
        state_dir=tmp_path,
        clickhouse_url=f"http://127.0.0.1:{free_port()}",
        clickhouse_tcp_port=free_port(),
        clickhouse_database="",
        clickhouse_log_level=level,  # type: ignore[arg-type]
    )
    server = local.ClickHouseServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _work(server: local.ClickHouseServer) -> None:
    """STATEMENTS queries each carrying its own text to look for, plus inserts and a merge."""
    client = connect(server.settings, database="")
    client.command("CREATE TABLE default.t (x UInt64, s String) ENGINE = MergeTree ORDER BY x")
    for i in range(STATEMENTS):
        client.query(f"SELECT count(), 'query-text-{i}' FROM system.one")
        if i % 30 == 0:
            client.insert("default.t", [[i, f"row-{i}"]], column_names=["x", "s"])
    client.command("OPTIMIZE TABLE default.t FINAL")
    client.close()


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[local.ClickHouseServer]:
    yield from _server(tmp_path, Settings.model_fields["clickhouse_log_level"].default)


@pytest.fixture
def chatty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[local.ClickHouseServer]:
    monkeypatch.setattr(local, "LOG_ROTATE_SIZE", "100K")
    monkeypatch.setattr(local, "LOG_ROTATE_COUNT", 2)
    yield from _server(tmp_path, "trace")


def test_default_level_logs_no_query_text_and_grows_little(quiet: local.ClickHouseServer):
    log = quiet.server_log
    before = log.stat().st_size
    _work(quiet)
    text = log.read_text(errors="replace")
    assert "query-text-" not in text
    for level in ("<Trace>", "<Debug>", "<Information>"):
        assert level not in text
    # At trace the same work wrote ~2 MB; at warning, a line or two about merges.
    assert log.stat().st_size - before < 16_000, text[-2000:]


def test_log_is_rotated_by_size_keeping_count_files(chatty: local.ClickHouseServer):
    log = chatty.server_log
    client = connect(chatty.settings, database="")
    rotations, size, batches = 0, log.stat().st_size, 0
    # Rotation shows as the file getting smaller; go on until it rotated past the kept count.
    while rotations < 4 and batches < 200:
        for i in range(20):
            client.query(f"SELECT count(), 'query-text-{batches}-{i}' FROM system.one")
        batches += 1
        rotations += log.stat().st_size < size
        size = log.stat().st_size
    client.close()
    assert rotations >= 4, f"no rotation after {batches * 20} queries at trace"
    # At most `count` archives, the newest first. Not always exactly two: when rotations come
    # faster than the server compresses (trace level on a loaded host), its purge can take an
    # archive still being renamed (seen: only .0.gz left after four rotations).
    # The newest archive is compressed in the server's background: `.0` until it is done.
    deadline = time.monotonic() + 60
    while (log.parent / (log.name + ".0")).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    archives = sorted(p.name for p in log.parent.glob(log.name + ".*"))
    assert archives[0] == log.name + ".0.gz"
    assert set(archives) <= {log.name + ".0.gz", log.name + ".1.gz"}  # older ones deleted
    assert log.stat().st_size < 100 * 1024 + 10_000  # one line past the size at most
    rotated = gzip.decompress((log.parent / archives[0]).read_bytes()).decode(errors="replace")
    assert "<Trace>" in rotated and "query-text-" in rotated
    # The launcher's own output stays in its own file, untouched by rotation.
    assert "Logging trace to" in chatty.daemon.log_file.read_text()
