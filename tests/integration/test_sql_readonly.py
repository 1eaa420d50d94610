"""`logweir sql` is read-only for real: every escape is refused and really does not happen.

Each escape runs through the CLI against the real local ClickHouse; afterwards nothing was
written, no file appeared, no connection reached a listening port, no secret file's text came
back, and the server still answers. The same statements with --allow-write show that these
checks would see the escape if it happened.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.ops import migrations
from pipeline.query import reports
from pipeline.settings import Settings
from tests.support.listener import Listener
from tests.support.stack import isolated, wait_for

pytestmark = pytest.mark.integration

MARKER = "logweir-secret-7f3a"


@dataclass
class World:
    settings: Settings
    env: dict[str, str]
    listener: Listener
    secret: Path
    out: Path

    def sql(self, *args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["sql", *args], env=self.env)

    def fill(self, statement: str) -> str:
        return statement.format(port=self.listener.port, secret=self.secret, out=self.out)


@pytest.fixture(scope="module")
def world(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A migrated database with 5 known rows, a secret file, a port that counts connections."""
    settings = isolated(stack)
    migrations.apply(settings)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        [now - timedelta(minutes=5), "checkout", 9, "GET /items 200"],
        [now - timedelta(minutes=4), "checkout", 17, "GET /items 500"],
        [now - timedelta(minutes=3), "payments", 17, "timeout after 30 ms"],
        [now - timedelta(minutes=2), "payments", 17, "timeout after 31 ms"],
        [now - timedelta(minutes=1), "payments", 5, "cache warm"],
    ]
    client = connect(settings)
    client.insert(
        "otel_logs", rows, column_names=["Timestamp", "ServiceName", "SeverityNumber", "Body"]
    )
    client.close()
    directory = tmp_path_factory.mktemp("sql")
    secret = directory / "secret.txt"
    secret.write_text(MARKER + "\n")
    out = directory / "out"
    out.mkdir()
    listener = Listener()
    yield World(settings, settings.to_env(), listener, secret, out)
    listener.stop()


def _tables(world: World) -> list[str]:
    client = connect(world.settings)
    try:
        return sorted(str(r[0]) for r in client.query("SHOW TABLES").result_rows)
    finally:
        client.close()


def _rows(world: World) -> int:
    client = connect(world.settings)
    try:
        return int(client.query("SELECT count() FROM otel_logs").result_rows[0][0])
    finally:
        client.close()


def _server_answers(world: World) -> bool:
    with urllib.request.urlopen(f"{world.settings.clickhouse_url}/ping", timeout=5) as resp:
        return bool(resp.status == 200)


# (statement, what the one-line refusal says). {port}: the listening port, {secret}: a file
# holding MARKER, {out}: an empty directory.
ESCAPES = {
    # Files on the ClickHouse host: written, read as a table, read by the file() function,
    # read through clickhouse-local's `default` database (any path is a table there).
    "write file": ("INSERT INTO FUNCTION file('{out}/x', 'LineAsString') SELECT 'x'", "Insert"),
    "read file": ("SELECT * FROM file('{secret}', 'LineAsString')", "file()"),
    "file function": ("SELECT file('{secret}')", "file()"),
    "file as table": ("SELECT * FROM default.`{secret}`", "is outside them"),
    "file in IN": (f"SELECT '{MARKER}' IN default.`{{secret}}`", "is outside them"),
    "file exists": ("EXISTS default.`{secret}`", "is outside them"),
    "describe file": ("DESCRIBE file('{secret}')", "file()"),
    "schema of file": ("SELECT hasColumnInTable('default', '{secret}', 'line')", "string"),
    # Outbound requests and other servers.
    "send rows": (
        "INSERT INTO FUNCTION url('http://127.0.0.1:{port}/out', 'LineAsString') "
        "SELECT Body FROM otel_logs",
        "Insert",
    ),
    "url": ("SELECT * FROM url('http://127.0.0.1:{port}/', 'LineAsString')", "url()"),
    "s3": ("SELECT * FROM s3('http://127.0.0.1:{port}/bucket/key', 'LineAsString')", "s3()"),
    "remote": ("SELECT * FROM remote('127.0.0.1:{port}', system.one)", "remote()"),
    "remoteSecure": ("SELECT * FROM remoteSecure('127.0.0.1:{port}', system.one)", "remote"),
    "mysql": ("SELECT * FROM mysql('127.0.0.1:{port}', 'd', 't', 'u', 'p')", "mysql()"),
    "postgresql": ("SELECT * FROM postgresql('127.0.0.1:{port}', 'd', 't', 'u', 'p')", "postgre"),
    "hdfs": ("SELECT * FROM hdfs('hdfs://127.0.0.1:{port}/x', 'LineAsString')", "hdfs()"),
    "azure": (
        "SELECT * FROM azureBlobStorage('http://127.0.0.1:{port}/a', 'c', 'b', 'LineAsString')",
        "azureBlobStorage()",
    ),
    "mongodb": (
        "SELECT * FROM mongodb('127.0.0.1:{port}', 'd', 'c', 'u', 'p', 'x String')",
        "mongo",
    ),
    "redis": ("SELECT * FROM redis('127.0.0.1:{port}', 'k', 'k String')", "redis()"),
    "url in subquery": (
        "SELECT count() FROM otel_logs WHERE Body IN "
        "(SELECT * FROM url('http://127.0.0.1:{port}/', 'LineAsString'))",
        "url()",
    ),
    "backup to s3": ("BACKUP TABLE otel_logs TO S3('http://127.0.0.1:{port}/b/x')", "Backup"),
    # Local programs and the chdb python() table function (it crashes the local server).
    "executable": ("SELECT * FROM executable('x.sh', 'TSV', 'x String')", "executable()"),
    "python": ("SELECT * FROM python('x')", "python()"),
    "input": ("SELECT * FROM input('x String')", "input()"),
    # Ordinary writes and commands.
    "insert": ("INSERT INTO otel_logs (Body) VALUES ('x')", "InsertQuery"),
    "insert select": ("INSERT INTO otel_logs SELECT * FROM otel_logs", "InsertQuery"),
    "alter delete": ("ALTER TABLE otel_logs DELETE WHERE 1", "AlterQuery"),
    "delete": ("DELETE FROM otel_logs WHERE 1", "Delete"),
    "drop": ("DROP TABLE otel_logs", "DropQuery"),
    "truncate": ("TRUNCATE TABLE otel_logs", "TruncateQuery"),
    "create": ("CREATE TABLE escape (x UInt8) ENGINE = Memory", "CreateQuery"),
    "create as file": ("CREATE TABLE escape ENGINE = File(LineAsString, '{out}/y')", "Create"),
    "rename": ("RENAME TABLE otel_logs TO escape", "Rename"),
    "optimize": ("OPTIMIZE TABLE otel_logs FINAL", "Optimize"),
    "system": ("SYSTEM STOP MERGES", "SYSTEM"),
    "shutdown": ("SYSTEM SHUTDOWN", "SYSTEM"),
    # KILL QUERY under readonly=1 still ends the same user's queries (the worker's inserts).
    "kill": ("KILL QUERY WHERE user = currentUser()", "KillQueryQuery"),
    "set readonly": ("SET readonly = 0", "as Set"),
    "set": ("SET allow_ddl = 1", "as Set"),
    "settings clause": ("SELECT 1 SETTINGS readonly = 0", "readonly=1"),
    "settings clause 2": ("SELECT 1 SETTINGS max_execution_time = 1000", "readonly=1"),
    "grant": ("GRANT ALL ON *.* TO default", "Grant"),
    "create user": ("CREATE USER escape", "CreateUser"),
    # Several statements in one, and a write behind a comment.
    "two statements": ("SELECT 1; DROP TABLE otel_logs", "Multi-statements are not allowed"),
    "two statements file": (
        "SELECT 1; INSERT INTO FUNCTION file('{out}/z', 'LineAsString') SELECT 'x'",
        "Multi-statements",
    ),
    "comment": ("/* SELECT 1 */ DROP TABLE otel_logs", "DropQuery"),
    "line comment": ("SELECT 1 -- \nDROP TABLE otel_logs", "Syntax error"),
    "explain url": ("EXPLAIN SELECT * FROM url('http://127.0.0.1:{port}/', 'CSV')", "url()"),
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_escape_is_refused_and_does_not_happen(world: World, name: str):
    statement, says = ESCAPES[name]
    tables, rows = _tables(world), _rows(world)
    result = world.sql(world.fill(statement))
    assert isinstance(result.exception, LogweirError), result.output
    message = str(result.exception)
    assert says in message and "\n" not in message, message
    assert MARKER not in result.output
    assert _server_answers(world)
    assert world.listener.connections == 0
    assert not list(world.out.iterdir())
    assert _tables(world) == tables and _rows(world) == rows


def test_a_table_named_by_a_parameter_is_checked_too(world: World):
    result = world.sql("SELECT * FROM {t:Identifier}", "--param", f"t=default.`{world.secret}`")
    assert isinstance(result.exception, LogweirError), result.output
    assert "is outside them" in str(result.exception) and MARKER not in result.output


def test_allow_write_runs_what_read_only_refuses(world: World):
    """The checks above would see each escape: with --allow-write it happens."""
    read = world.sql(world.fill("SELECT * FROM file('{secret}', 'LineAsString')"), "--allow-write")
    assert MARKER in read.output, read.output
    wrote = world.sql(
        world.fill("INSERT INTO FUNCTION file('{out}/x', 'LineAsString') SELECT 'x'"),
        "--allow-write",
    )
    assert wrote.exit_code == 0, wrote.output
    assert (world.out / "x").read_text() == "x\n"
    (world.out / "x").unlink()
    world.sql(world.fill("SELECT * FROM url('http://127.0.0.1:{port}/', 'CSV')"), "--allow-write")
    wait_for(lambda: world.listener.connections > 0, 10, "ClickHouse to connect to the listener")
    world.listener.connections = 0
    created = world.sql("CREATE TABLE scratch (x UInt8) ENGINE = Memory", "--allow-write")
    assert created.exit_code == 0 and "scratch" in _tables(world), created.output
    assert world.sql("DROP TABLE scratch", "--allow-write").exit_code == 0


def _json(output: str) -> list[dict]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_reads_params_and_formats_still_work(world: World):
    errors = world.sql(
        "SELECT ServiceName, count() AS n FROM otel_logs WHERE SeverityNumber >= {sev:UInt8} "
        "GROUP BY ServiceName ORDER BY ServiceName",
        "--param",
        "sev=17",
        "--format",
        "csv",
    )
    assert errors.output.splitlines() == ["ServiceName,n", "checkout,1", "payments,2"]
    service = world.sql(
        "SELECT count() AS n FROM otel_logs WHERE ServiceName = {s:String}",
        "--param",
        "s=payments",
        "--format",
        "json",
    )
    assert _json(service.output) == [{"n": 3}]
    table = world.sql("SELECT Body FROM otel_logs WHERE SeverityNumber = 5")
    assert table.exit_code == 0 and "cache warm" in table.output
    for statement in (
        "SHOW TABLES",
        "DESCRIBE otel_logs",
        "EXISTS otel_logs",
        "EXPLAIN SELECT count() FROM otel_logs",
        "WITH s AS (SELECT ServiceName FROM otel_logs) SELECT count() FROM s",
        "SELECT count() FROM otel_logs WHERE ServiceName IN (SELECT 'checkout')",
        "SELECT name FROM system.tables WHERE database = currentDatabase()",
        "SELECT count() FROM information_schema.tables",
        "SELECT format('{} {}', 'a', 'b'), number FROM numbers(3)",
        "SELECT o.Body FROM otel_logs AS o JOIN system.one AS one ON 1 = 1 LIMIT 1",
        "SELECT 1;",
    ):
        result = world.sql(statement, "--format", "json")
        assert result.exit_code == 0, (statement, result.output)
        assert _json(result.output), statement


def test_reports_and_export_run_under_readonly_1(world: World, tmp_path: Path):
    runner = CliRunner()
    for report in reports.REPORTS:
        extra = ["--attribute", "url.path"] if "attribute" in report.parameters else []
        result = runner.invoke(
            app, ["query", report.name, "--since", "1h", "--format", "json", *extra], env=world.env
        )
        assert result.exit_code == 0, (report.name, result.output)
    out = tmp_path / "rows.jsonl"
    result = runner.invoke(
        app, ["export", "--since", "1h", "--format", "jsonl", "-o", str(out)], env=world.env
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 5
