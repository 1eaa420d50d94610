"""Backups without a server: settings and names, the SQL sent, what manifests and server errors
become. The server texts below are what ClickHouse 26.9 (clickhouse-local) answered; the real
server runs the same cases in tests/integration/test_backup.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import SettingsError
from pipeline.ops import backup as backups
from pipeline.ops.backup import BackupError, Store
from pipeline.settings import Settings

S3_URL = "https://logs.s3.eu-west-1.amazonaws.com/logweir"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# --- settings and names ------------------------------------------------------------------------


def test_without_s3_url_backups_go_to_the_backups_disk():
    store = backups.store(settings())
    assert store == Store()
    assert store.sql("logweir-1") == "Disk('backups', 'logweir-1')"


def test_s3_url_with_keys_addresses_a_key_under_the_prefix():
    store = backups.store(
        settings(
            backup_s3_url=S3_URL + "/",
            backup_s3_access_key_id="AKID",
            backup_s3_secret_access_key="s3cr'et",
        )
    )
    assert store.sql("b1") == f"S3('{S3_URL}/b1', 'AKID', 's3cr\\'et')"
    assert store.label == S3_URL


def test_s3_url_without_keys_uses_the_servers_own_credentials():
    assert backups.store(settings(backup_s3_url=S3_URL)).sql("b1") == f"S3('{S3_URL}/b1')"


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"backup_s3_url": "s3://bucket/prefix"}, "LOGWEIR_BACKUP_S3_URL"),
        ({"backup_s3_url": "https:///prefix"}, "LOGWEIR_BACKUP_S3_URL"),
        ({"backup_s3_url": S3_URL + "?x=1"}, "LOGWEIR_BACKUP_S3_URL"),
        ({"backup_s3_url": S3_URL + "/it's"}, "LOGWEIR_BACKUP_S3_URL"),
        ({"backup_s3_url": S3_URL, "backup_s3_access_key_id": "AKID"}, "SECRET_ACCESS_KEY"),
        ({"backup_s3_url": S3_URL, "backup_s3_secret_access_key": "x"}, "ACCESS_KEY_ID"),
        ({"backup_s3_access_key_id": "AKID"}, "LOGWEIR_BACKUP_S3_URL"),
    ],
)
def test_wrong_s3_settings_are_one_line_naming_the_setting(values, names):
    with pytest.raises(SettingsError, match=names) as raised:
        backups.store(settings(**values))
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("name", ["", "../up", "a b", "it's", ".hidden", "-x", "a/b", "x" * 201])
def test_names_that_are_not_plain_directory_names_are_refused(name):
    with pytest.raises(BackupError, match="use letters, digits"):
        backups.checked(settings(), name)


def test_base_names_are_checked_too():
    with pytest.raises(BackupError, match="base backup name '../x'"):
        backups.checked(settings(), "ok", "../x")


def test_default_name_is_the_database_and_the_utc_time():
    from datetime import UTC, datetime, timedelta, timezone

    when = datetime(2026, 3, 5, 14, 2, 11, tzinfo=timezone(timedelta(hours=2)))
    assert backups.default_name("logweir", when) == "logweir-20260305T120211Z"
    assert backups.default_name("logweir").startswith(f"logweir-{datetime.now(UTC):%Y%m%d}")


def test_names_come_back_from_the_addresses_the_server_reports():
    assert Store().name_of("Disk('backups', 'logweir-1')") == "logweir-1"
    assert Store().name_of("Disk('other', 'logweir-1')") is None
    assert Store().name_of("File('/tmp/x')") is None
    s3 = Store(S3_URL, "AKID", "secret")
    assert s3.name_of(f"S3('{S3_URL}/b1', 'AKID', '[HIDDEN]')") == "b1"
    assert s3.name_of(f"S3('{S3_URL}/deeper/b1', 'AKID', '[HIDDEN]')") is None
    assert s3.name_of("Disk('backups', 'b1')") is None


# --- server errors -------------------------------------------------------------------------------

EXISTS = (
    "Code: 598. DB::Exception: Backup Disk('backups', 'full1') already exists. "
    "(BACKUP_ALREADY_EXISTS), Stack trace (when copying this message, always include the lines "
    "below):\n\n0. ? @ 0x000000001d967133\n1. ? @ 0x000000000e717b9e\n (version 26.9.2.1)"
)
BASE_MISSING = (
    "Code: 599. DB::Exception: Backup Disk('backups', 'nope') not found. (BACKUP_NOT_FOUND), "
    "Stack trace (when copying this message, always include the lines below):\n\n0. ? @ 0x1"
)
NOT_IN_BACKUP = (
    "Code: 605. DB::Exception: Database nosuch not found in backup. (BACKUP_ENTRY_NOT_FOUND) "
    "(version 26.9.2.1)"
)
NOT_ALLOWED = (
    "Code: 36. DB::Exception: Disk ''nodisk'' is not allowed for backups, see the "
    "'backups.allowed_disk' configuration parameter. (BAD_ARGUMENTS) (version 26.9.2.1)"
)


def test_server_errors_become_one_line_saying_what_to_do():
    disk = Store()
    explain = backups._explain
    assert explain(EXISTS, disk, "full1", None, "") == (
        "backup full1 already exists in the ClickHouse disk `backups`: choose another --name"
    )
    assert explain(BASE_MISSING, disk, "inc", "nope", "").startswith(
        "base backup nope not found in the ClickHouse disk `backups`: `logweir backup list`"
    )
    assert explain(BASE_MISSING, disk, "nope", None, "logweir").startswith("backup nope not found")
    assert explain(NOT_IN_BACKUP, disk, "b1", None, "nosuch") == (
        "backup b1 holds no database 'nosuch': set LOGWEIR_CLICKHOUSE_DATABASE to the database "
        "it was made of"
    )
    other = explain(NOT_ALLOWED, disk, "b1", None, "")
    assert other.startswith("backup b1: Disk ''nodisk'' is not allowed for backups")
    for text in (EXISTS, BASE_MISSING, NOT_IN_BACKUP, NOT_ALLOWED):
        line = explain(text, disk, "b1", None, "x")
        assert "\n" not in line and "Stack trace" not in line and "version" not in line


def test_the_secret_key_never_reaches_an_error():
    s3 = Store(S3_URL, "AKID", "sup3rsecret")
    text = f"Code: 499. DB::Exception: S3('{S3_URL}/b1', 'AKID', 'sup3rsecret'): Access Denied."
    assert "sup3rsecret" not in backups._explain(text, s3, "b1", None, "")


# --- manifests ---------------------------------------------------------------------------------

MANIFEST = """<config><version>1</version><timestamp>2026-11-29 19:03:19</timestamp>
<base_backup>Disk('backups', 'full1')</base_backup><contents>
<file><name>metadata/logweir.sql</name><size>40</size></file>
<file><name>metadata/logweir/otel_logs.sql</name><size>900</size><use_base>true</use_base></file>
<file><name>data/logweir/otel_logs/all_1_1_0/data.bin</name><size>5000</size><use_base>true</use_base></file>
<file><name>data/logweir/otel_logs/all_2_2_0/data.bin</name><size>300</size></file>
</contents></config>"""


def test_a_manifest_gives_the_database_the_base_and_both_sizes(tmp_path: Path):
    directory = tmp_path / "inc1"
    part = directory / "data/logweir/otel_logs/all_2_2_0"
    part.mkdir(parents=True)
    (part / "data.bin").write_bytes(b"x" * 300)
    (directory / "metadata").mkdir()
    (directory / "metadata/logweir.sql").write_bytes(b"y" * 40)
    (directory / ".backup").write_text(MANIFEST)
    info = backups.read_manifest(directory, Store())
    assert (info.name, info.status, info.databases, info.base) == (
        "inc1",
        "complete",
        ("logweir",),
        "full1",
    )
    assert info.size == 40 + 900 + 5000 + 300
    assert info.stored == 300 + 40 + len(MANIFEST)
    assert info.made is not None and info.made.tzinfo is not None


def test_a_directory_without_manifest_is_incomplete(tmp_path: Path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "part.bin").write_bytes(b"z" * 10)
    info = backups.read_manifest(tmp_path / "half", Store())
    assert (info.status, info.size, info.stored, info.made) == ("incomplete", None, 10, None)


# --- following an operation --------------------------------------------------------------------


class Answer:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class FakeServer:
    """Answers BACKUP … ASYNC, then system.backups with the states it is given."""

    def __init__(self, states: list[tuple[Any, ...]]) -> None:
        self.states, self.sent = states, []  # type: ignore[var-annotated]

    def query(self, sql: str, parameters: dict[str, str] | None = None) -> Answer:
        self.sent.append(sql)
        if sql.startswith(("BACKUP", "RESTORE")):
            return Answer([("op-1", "CREATING_BACKUP")])
        return Answer([self.states.pop(0)])


def test_progress_is_what_the_server_reports_until_it_is_done(monkeypatch):
    monkeypatch.setattr(backups, "POLL_SECONDS", 0)
    server = FakeServer(
        [
            ("CREATING_BACKUP", "", 10, 1000, 0, 0),
            ("CREATING_BACKUP", "", 10, 1000, 600, 0),
            ("BACKUP_CREATED", "", 12, 1000, 1010, 0),
        ]
    )
    seen: list[tuple[int, int]] = []
    statement = "BACKUP DATABASE `logweir` TO Disk('backups', 'b1') ASYNC"
    done = backups._run(server, Store(), statement, "b1", None, lambda *p: seen.append(p))  # type: ignore[arg-type]
    assert seen == [(0, 1000), (600, 1000)]
    assert (done.name, done.files, done.size, done.stored) == ("b1", 12, 1000, 1010)


def test_a_restore_reports_the_bytes_read_and_a_failure_explained(monkeypatch):
    monkeypatch.setattr(backups, "POLL_SECONDS", 0)
    server = FakeServer(
        [("RESTORING", "", 10, 1000, 0, 250), ("RESTORE_FAILED", NOT_IN_BACKUP, 0, 0, 0, 0)]
    )
    seen: list[tuple[int, int]] = []
    statement = "RESTORE DATABASE `nosuch` AS `x` FROM Disk('backups', 'b1') ASYNC"
    with pytest.raises(BackupError, match="backup b1 holds no database 'nosuch'"):
        backups._run(server, Store(), statement, "b1", None, lambda *p: seen.append(p), "nosuch")  # type: ignore[arg-type]
    assert seen == [(250, 1000)]


# --- the commands: arguments are checked before any connection ---------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backup", "--name", "../etc"], "backup name '../etc'"),
        (["backup", "--base", "a b"], "base backup name 'a b'"),
        (["restore", "it's"], "backup name"),
    ],
)
def test_bad_names_are_refused_before_connecting(args, message, monkeypatch):
    monkeypatch.setattr(
        "pipeline.clickhouse.connect", lambda *a, **k: pytest.fail("connected to ClickHouse")
    )
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, BackupError)
    assert message in str(result.exception)


def test_wrong_s3_settings_are_refused_before_connecting(monkeypatch):
    monkeypatch.setattr(
        "pipeline.clickhouse.connect", lambda *a, **k: pytest.fail("connected to ClickHouse")
    )
    monkeypatch.setenv("LOGWEIR_BACKUP_S3_URL", "ftp://bucket")
    result = CliRunner().invoke(app, ["backup", "list"])
    assert isinstance(result.exception, SettingsError)
    assert "LOGWEIR_BACKUP_S3_URL" in str(result.exception)
