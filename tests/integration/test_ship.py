"""`logweir ship`: files → real broker → worker → ClickHouse, every record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.settings import Settings
from tests.support.stack import wait_for

pytestmark = pytest.mark.integration

SERVICE = "shipped"
START = r"^\d{4}-\d{2}-\d{2}"


def _command(settings: Settings, state: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline.cli",
        "ship",
        "--service",
        SERVICE,
        "--multiline-start",
        START,
        "--state",
        str(state),
        *args,
    ]


def _ship_once(settings: Settings, state: Path, pattern: Path) -> str:
    env = {**os.environ, **settings.to_env()}
    done = subprocess.run(
        _command(settings, state, "--once", str(pattern)), env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def _python_line(message: str, level: str = "INFO") -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return f"{when} - app - {level} - {message}\n"


def _failure(n: int) -> str:
    return (
        _python_line(f"app failure {n}", "ERROR")
        + "Traceback (most recent call last):\n"
        + f'  File "/srv/app.py", line {n}, in run\n'
        + "    pay()\n"
        + f"ValueError: card declined {n}\n"
    )


def _append(path: Path, text: str, mode: str = "a") -> None:
    with open(path, mode) as out:
        out.write(text)


def _bodies(clickhouse) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(
        clickhouse.query(
            "SELECT Body, count() FROM otel_logs WHERE ServiceName = {s:String} GROUP BY Body",
            parameters={"s": SERVICE},
        ).result_rows
    )


def _stored(clickhouse, body: str) -> bool:  # type: ignore[no-untyped-def]
    return body in _bodies(clickhouse)


def test_once_ships_appends_rotations_and_truncations_exactly_once(
    pipeline_settings, clickhouse, worker, tmp_path
):
    logs, state = tmp_path / "logs", tmp_path / "positions.json"
    logs.mkdir()
    app, plain = logs / "app.log", logs / "plain.log"
    pattern = logs / "*.log"
    _append(app, _python_line("app line 1") + _failure(2) + _python_line("app line 3"))
    _append(plain, "".join(_python_line(f"plain line {n}") for n in range(1, 21)))
    assert "shipped 23 records (27 lines" in _ship_once(pipeline_settings, state, pattern)

    # More lines, then rotation by rename (the rest of app.log is in app.log.1 now, outside
    # the glob) and truncation with shorter content.
    _append(app, _python_line("app line 4") + _failure(5))
    app.rename(logs / "app.log.1")
    _append(app, _python_line("app line 6") + _python_line("app line 7"))
    _append(plain, "".join(_python_line(f"plain line {n}") for n in range(21, 26)), mode="w")
    assert "shipped 9 records" in _ship_once(pipeline_settings, state, pattern)

    # A third process finds nothing new: nothing is sent twice.
    assert "shipped 0 records" in _ship_once(pipeline_settings, state, pattern)

    # The key keeps every record in one partition, in order: the last one stored means all are.
    _append(plain, _python_line("sentinel"))
    assert "shipped 1 records" in _ship_once(pipeline_settings, state, pattern)
    wait_for(lambda: _stored(clickhouse, "sentinel"), 90, "the sentinel row", worker)

    expected = {f"app line {n}" for n in (1, 3, 4, 6, 7)} | {"app failure 2", "app failure 5"}
    expected |= {f"plain line {n}" for n in range(1, 26)} | {"sentinel"}
    assert _bodies(clickhouse) == dict.fromkeys(expected, 1)

    failures = clickhouse.query(
        "SELECT Body, SeverityText, LogAttributes['exception.type'], "
        "LogAttributes['exception.stacktrace'] FROM otel_logs "
        "WHERE Body LIKE 'app failure %' ORDER BY Body"
    ).result_rows
    assert [(b, s, t) for b, s, t, _ in failures] == [
        ("app failure 2", "ERROR", "ValueError"),
        ("app failure 5", "ERROR", "ValueError"),
    ]
    assert failures[0][3].endswith("line 2, in run\n    pay()\nValueError: card declined 2")


def test_follow_mode_picks_up_new_lines_and_files_and_resumes_after_a_stop(
    pipeline_settings, clickhouse, worker, tmp_path
):
    logs, state = tmp_path / "logs", tmp_path / "positions.json"
    logs.mkdir()
    env = {**os.environ, **pipeline_settings.to_env()}
    command = _command(pipeline_settings, state, "--multiline-timeout", "0.2", str(logs / "*.log"))

    def follow() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def stop(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()

    first = follow()
    try:
        _append(logs / "a.log", _python_line("follow 1") + _failure(2))
        wait_for(lambda: _stored(clickhouse, "app failure 2"), 90, "the first records", worker)
        _append(logs / "b.log", _python_line("follow 3"))  # a file that did not exist at start
        (logs / "a.log").rename(logs / "a.log.1")
        _append(logs / "a.log", _python_line("follow 4"))
        wait_for(
            lambda: {"follow 3", "follow 4"} <= set(_bodies(clickhouse)),
            90,
            "lines of the new and the rotated file",
            worker,
        )
    finally:
        stop(first)

    _append(logs / "b.log", _python_line("follow 5"))
    second = follow()
    try:
        wait_for(
            lambda: _stored(clickhouse, "follow 5"), 90, "a line written while stopped", worker
        )
    finally:
        stop(second)
    assert _bodies(clickhouse) == dict.fromkeys(
        ["follow 1", "app failure 2", "follow 3", "follow 4", "follow 5"], 1
    )


def test_errors_are_one_line_with_the_fix(tmp_path):
    # Wide enough that rich does not wrap the line.
    env = {**os.environ, "LOGWEIR_KAFKA_BOOTSTRAP": "127.0.0.1:1", "COLUMNS": "400"}
    missing = ship_once(tmp_path, str(tmp_path / "nothing-*.log"), env)
    assert missing.returncode == 1
    assert missing.stderr.decode().count("\n") == 1
    assert "no file matches" in missing.stderr.decode()

    (tmp_path / "a.log").write_text("line\n")
    down = ship_once(tmp_path, str(tmp_path / "a.log"), env)
    assert down.returncode == 1
    assert down.stderr.decode().count("\n") == 1
    assert "Kafka at 127.0.0.1:1 is not answering" in down.stderr.decode()
    assert not (tmp_path / "p.json").exists()

    bad = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "ship", "--multiline-start", "(", "x.log"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode == 2


def ship_once(tmp_path, pattern: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    command = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "ship",
        "--once",
        "--state",
        str(tmp_path / "p.json"),
        pattern,
    ]
    return subprocess.run(command, env=env, capture_output=True, timeout=60)
