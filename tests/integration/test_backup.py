"""`logweir backup` / `restore` against the real local ClickHouse: rows per table survive a
backup, a dropped database and a restore, full and incremental, and the views go on working."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipeline.bench.accounting import account
from pipeline.bench.producer import produce
from pipeline.bench.sample import SampleTraffic, bad_inputs
from pipeline.clickhouse import connect
from pipeline.ops import backup as backups
from pipeline.settings import Settings
from pipeline.stack import ClickHouseServer
from tests.support.stack import logweir, run, wait_for

pytestmark = pytest.mark.integration


def rows_per_table(client, database: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows of each table as a reader counts them: FINAL for the summing and replacing
    tables, whose background merges change their stored rows, not what they hold."""
    tables = client.query(
        "SELECT name, engine FROM system.tables WHERE database = {db:String} "
        "AND engine NOT LIKE '%View'",
        parameters={"db": database},
    ).result_rows
    return {
        name: client.query(
            f"SELECT count() FROM `{database}`.`{name}`{'' if engine == 'MergeTree' else ' FINAL'}"
        ).result_rows[0][0]
        for name, engine in tables
    }


def insert_logs(settings: Settings, count: int) -> int:
    """`count` rows straight into otel_logs (the views fill their tables in the same insert)."""
    now = datetime.now(UTC)
    rows = [[now, now, "backup-test", 9, "INFO", f"inserted {i}", 42] for i in range(count)]
    columns = ["Timestamp", "TimestampTime", "ServiceName", "SeverityNumber", "SeverityText"]
    client = connect(settings)
    client.insert("otel_logs", rows, column_names=[*columns, "Body", "TemplateId"])
    client.close()
    return count


def window_count(client, database: str) -> int:  # type: ignore[no-untyped-def]
    return int(
        client.query(f"SELECT sum(Count) FROM `{database}`.log_window_counts").result_rows[0][0]
    )


def drop(client, database: str) -> None:  # type: ignore[no-untyped-def]
    client.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")


@pytest.fixture
def server(pipeline_settings: Settings) -> Iterator:  # type: ignore[type-arg]
    """A client with no database selected (the tests drop it), and the test's backups
    removed from the stack's backups disk afterwards."""
    client = connect(pipeline_settings, database="")
    directory = backups.disk_directory(client)
    yield client
    for entry in directory.glob(f"{pipeline_settings.clickhouse_database}*"):
        shutil.rmtree(entry)
    client.close()


def test_backup_drop_restore_full_and_incremental(pipeline_settings, server, worker):
    settings, database = pipeline_settings, pipeline_settings.clickhouse_database
    # Rows, dead letters and every view's table filled the way the worker fills them.
    inputs = [(None, line) for _, line in SampleTraffic(seed=7).lines(1500)]
    inputs += [item for item in bad_inputs() if len(item[1]) < 1024]
    produced = run(produce(settings, inputs))
    reader = connect(settings)
    wait_for(
        lambda: account(reader, produced).messages >= produced.count,
        120,
        f"{produced.count} messages stored or dead-lettered",
        worker,
    )
    worker.stop()  # as the README says: no worker writes while backing up and restoring
    before = rows_per_table(server, database)
    assert before["otel_logs"] >= 1500 and before["logs_deadletter"] > 0
    filled = {name for name, rows in before.items() if rows}
    assert {"log_window_counts", "log_minute_counts", "log_templates", "ingest_progress"} <= filled

    full, incremental = f"{database}-full", f"{database}-incremental"
    made = logweir(settings, "backup", "--name", full)
    assert made.returncode == 0, made.stderr
    assert f"backup {full} of {database}" in made.stdout

    drop(server, database)
    restored = logweir(settings, "restore", full)
    assert restored.returncode == 0, restored.stderr
    assert f"{before['otel_logs']:,} log rows" in restored.stdout
    assert rows_per_table(server, database) == before

    # The views work after a restore: a new insert reaches their tables, once.
    windows = window_count(server, database)
    added = insert_logs(settings, 25)
    assert window_count(server, database) == windows + added
    after_insert = rows_per_table(server, database)
    assert after_insert["otel_logs"] == before["otel_logs"] + added

    # Incremental on the full one: restores to the counts of its own time.
    made = logweir(settings, "backup", "--name", incremental, "--base", full)
    assert made.returncode == 0, made.stderr
    drop(server, database)
    restored = logweir(settings, "restore", incremental)
    assert restored.returncode == 0, restored.stderr
    assert rows_per_table(server, database) == after_insert

    # Both listed with their sizes; the incremental one stores less than it restores.
    listed = {b.name: b for b in backups.list_backups(server, settings)}
    first, second = listed[full], listed[incremental]
    assert (first.status, second.status) == ("complete", "complete")
    assert (first.base, second.base) == ("", full)
    assert first.databases == second.databases == (database,)
    assert first.size and second.size and second.size > first.size
    assert first.stored and second.stored and second.stored < second.size
    listing = logweir(settings, "backup", "list")
    assert listing.returncode == 0, listing.stderr
    for name in (full, incremental):
        line = next(ln for ln in listing.stdout.splitlines() if f" {name} " in ln)
        assert "complete" in line and ("kB" in line or "MB" in line), line


def test_errors_say_what_to_do_and_nothing_is_dropped_unasked(pipeline_settings, server):
    settings, database = pipeline_settings, pipeline_settings.clickhouse_database
    insert_logs(settings, 20)
    name = f"{database}-one"
    backups.backup(server, settings, name)
    at_backup = rows_per_table(server, database)

    with pytest.raises(backups.BackupError, match=f"backup {name} already exists"):
        backups.backup(server, settings, name)
    with pytest.raises(backups.BackupError, match="base backup nope not found"):
        backups.backup(server, settings, f"{database}-two", base="nope")
    with pytest.raises(backups.BackupError, match=f"backup {database}-nope not found"):
        backups.restore(server, settings, f"{database}-nope")

    # A database with tables is never dropped unasked: through the CLI, one line.
    insert_logs(settings, 3)
    changed = rows_per_table(server, database)
    refused = logweir(settings, "restore", name)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert f"database '{database}' already has" in refused.stderr
    assert "--as NAME" in refused.stderr and "--replace" in refused.stderr
    assert rows_per_table(server, database) == changed

    # --as: a copy beside it, the original untouched.
    copy = f"{database}_copy"
    try:
        backups.restore(server, settings, name, into=copy)
        assert rows_per_table(server, copy) == at_backup
        assert rows_per_table(server, database) == changed
    finally:
        drop(server, copy)

    # --replace: explicitly asked, the rows added since the backup are gone.
    backups.restore(server, settings, name, replace_tables=True)
    assert rows_per_table(server, database) == at_backup
    leftovers = server.query(
        "SELECT name FROM system.databases WHERE name LIKE {p:String}",
        parameters={"p": f"{database}_restore_check%"},
    ).result_rows
    assert leftovers == []


def test_server_errors_are_explained_when_the_disk_is_not_visible_here(
    pipeline_settings, server, monkeypatch
):
    """As with docker compose or S3: no look at the directory, the server's errors only."""
    settings, database = pipeline_settings, pipeline_settings.clickhouse_database
    name = f"{database}-remote"
    backups.backup(server, settings, name)
    monkeypatch.setattr(backups, "visible_directory", lambda client, store: None)
    with pytest.raises(backups.BackupError, match=f"backup {name} already exists"):
        backups.backup(server, settings, name)
    with pytest.raises(backups.BackupError, match="base backup nope not found"):
        backups.backup(server, settings, f"{database}-other", base="nope")
    with pytest.raises(backups.BackupError, match=f"backup {database}-nope not found"):
        backups.restore(server, settings, f"{database}-nope", replace_tables=True)
    assert rows_per_table(server, database)["schema_migrations"] > 0  # not dropped
    # Listed from what the server made since its start (it reads no directory then).
    listed = {b.name: b for b in backups.list_backups(server, settings)}
    assert listed[name].status == "complete" and listed[name].size


def test_backups_made_before_a_server_restart_are_listed(pipeline_settings, server, stack):
    settings, database = pipeline_settings, pipeline_settings.clickhouse_database
    name = f"{database}-before-restart"
    made = backups.backup(server, settings, name)
    clickhouse = ClickHouseServer(stack)
    clickhouse.stop()
    clickhouse.start()
    client = connect(settings, database="")
    try:
        assert client.query("SELECT count() FROM system.backups").result_rows[0][0] == 0
        listed = {b.name: b for b in backups.list_backups(client, settings)}
        assert listed[name].status == "complete"
        assert (listed[name].size, listed[name].databases) == (made.size, (database,))
    finally:
        client.close()
