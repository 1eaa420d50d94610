"""Every Grafana panel's SQL, expanded as the ClickHouse plugin does, runs on real data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.alerting.store import DELIVERY_COLUMNS
from pipeline.bench.producer import produce
from pipeline.bench.sample import SampleTraffic
from pipeline.clickhouse import connect
from pipeline.ops import migrations
from pipeline.stack.broker import Broker
from tests.support.stack import WorkerProcess, isolated, run, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
FORMATS = {0: "time series", 1: "table", 2: "logs"}


def _targets() -> list[tuple[str, str, dict]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((path.stem, panel["title"], target))
    return found


def _variables(path: Path) -> list[dict]:
    return json.loads(path.read_text())["templating"]["list"]


class Expander:
    """Grafana's variable interpolation plus the plugin's macros (pkg/macros/macros.go)."""

    def __init__(self, start: datetime, end: datetime, interval_s: int) -> None:
        self.start, self.end, self.interval_s = start, end, interval_s
        # name → selected values; None = "All"
        self.selected: dict[str, list[str] | None] = {}
        self.options: dict[str, list[str]] = {}

    def expand(self, sql: str) -> str:
        sql = self._conditional_all(sql)
        sql = self._variables(sql)
        return self._macros(sql)

    def _conditional_all(self, sql: str) -> str:
        # $__conditionalAll(condition, $var): the condition, or 1=1 when "All" is selected.
        def replace(m: re.Match[str]) -> str:
            condition, var = m.group(1), m.group(2)
            return "1=1" if self.selected.get(var) is None else condition

        return re.sub(r"\$__conditionalAll\((.*?),\s*\$(\w+)\)", replace, sql)

    def _variables(self, sql: str) -> str:
        def values(name: str) -> list[str]:
            chosen = self.selected.get(name)
            return self.options[name] if chosen is None else chosen

        def quoted(name: str) -> str:
            return ",".join(
                "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values(name)
            )

        sql = re.sub(r"\$\{(\w+):singlequote\}", lambda m: quoted(m.group(1)), sql)
        return re.sub(
            r"\$\{?(\w+)\}?(?!\w)",
            lambda m: ",".join(values(m.group(1))) if m.group(1) in self.options else m.group(0),
            sql,
        )

    def _macros(self, sql: str) -> str:
        frm, to = int(self.start.timestamp()), int(self.end.timestamp())
        rules = [
            (
                r"\$__timeFilter\(([^)]+)\)",
                lambda m: f"{m[1]} >= toDateTime({frm}) AND {m[1]} <= toDateTime({to})",
            ),
            (
                r"\$__timeFilter_ms\(([^)]+)\)",
                lambda m: (
                    f"{m[1]} >= fromUnixTimestamp64Milli({frm * 1000}) AND "
                    f"{m[1]} <= fromUnixTimestamp64Milli({to * 1000})"
                ),
            ),
            (
                r"\$__dateFilter\(([^)]+)\)",
                lambda m: (
                    f"{m[1]} >= toDate('{self.start:%Y-%m-%d}') AND "
                    f"{m[1]} <= toDate('{self.end:%Y-%m-%d}')"
                ),
            ),
            (
                r"\$__timeInterval\(([^)]+)\)",
                lambda m: (
                    f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {self.interval_s} second)"
                ),
            ),
            (r"\$__fromTime\b", lambda m: f"toDateTime({frm})"),
            (r"\$__toTime\b", lambda m: f"toDateTime({to})"),
            (r"\$__interval_s\b", lambda m: str(self.interval_s)),
        ]
        for pattern, replacement in rules:
            sql = re.sub(pattern, replacement, sql)
        assert "$" not in sql, f"unexpanded macro or variable in:\n{sql}"
        return sql


@pytest.fixture(scope="module")
def filled(stack) -> Iterator[tuple[object, Expander]]:  # type: ignore[no-untyped-def]
    """A database with sample traffic through a real worker, dead letters, alerts, deliveries."""
    settings = isolated(stack)
    Broker(settings).create_topics(settings.topics, settings.topic_partitions)
    migrations.apply(settings)
    client = connect(settings)
    worker = WorkerProcess(settings, settings.state_dir / "runs" / settings.app_id / "worker.log")
    worker.start()
    try:
        messages = list(SampleTraffic(seed=11).lines(1500)) + [(None, b""), (None, b"  ")]
        produced = run(produce(settings, messages))

        def stored() -> bool:
            rows = client.query(
                "SELECT (SELECT count() FROM otel_logs) + (SELECT count() FROM logs_deadletter)"
            ).result_rows[0][0]
            return rows >= produced.count

        wait_for(stored, 120, "sample traffic in ClickHouse", worker)
    finally:
        worker.stop()
    now = datetime.now(UTC)
    client.insert(
        "alerts",
        [
            [
                now,
                "firing",
                "error-burst",
                "f1",
                {"service": "payments"},
                "payments errors",
                now,
                42.0,
                now,
                now,
            ],
            [
                now,
                "resolved",
                "error-burst",
                "f1",
                {"service": "payments"},
                "payments ok",
                now,
                1.0,
                now,
                now,
            ],
        ],
        column_names=[
            "EventTime",
            "Status",
            "Rule",
            "Fingerprint",
            "GroupLabels",
            "Summary",
            "StartsAt",
            "Value",
            "WindowStart",
            "WindowEnd",
        ],
    )
    client.insert(
        "alert_deliveries",
        [
            [now, "f1", "firing", now, "ops", 1, "retry", 503, "HTTP 503", 12, "d1"],
            [now, "f1", "firing", now, "ops", 2, "sent", 200, "", 8, "d1"],
        ],
        column_names=["AttemptTime", *DELIVERY_COLUMNS],
    )
    expander = Expander(now - timedelta(hours=1), now + timedelta(minutes=1), 60)
    for path in DASHBOARDS:
        for variable in _variables(path):
            sql = expander.expand(variable["query"]["rawSql"])
            expander.options[variable["name"]] = [
                str(r[0]) for r in client.query(sql, settings={"readonly": 2}).result_rows
            ]
    yield client, expander
    client.command(f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`")
    client.close()


def test_dashboards_are_provisioned_from_the_mounted_folder():
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/logweir.yaml").read_text()
    )["providers"][0]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert DASHBOARDS, "no dashboard JSON in deploy/grafana/dashboards"
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize(
    ("dashboard", "title", "target"), _targets(), ids=[f"{d}:{t}" for d, t, _ in _targets()]
)
@pytest.mark.parametrize("selection", ["all", "one"])
def test_panel_query_returns_what_the_panel_shows(filled, dashboard, title, target, selection):
    client, expander = filled
    assert target["editorType"] == "sql"
    assert target["datasource"]["uid"] == "logweir-clickhouse"
    assert target["format"] in FORMATS, f"{title}: format {target['format']}"
    # "one": the first value of every variable, so the IN (…) branch of each filter runs too.
    expander.selected = {
        name: (None if selection == "all" else values[:1])
        for name, values in expander.options.items()
    }
    sql = expander.expand(target["rawSql"])
    result = client.query(sql, settings={"readonly": 2})
    assert result.result_rows, f"{title} ({selection}) returned no rows:\n{sql}"
    columns = list(result.column_names)
    if target["format"] == 0:
        assert columns[0] == "time", f"{title}: a time series starts with a `time` column"
        assert isinstance(result.result_rows[0][0], datetime)
        assert any(isinstance(v, int | float) for v in result.result_rows[0][1:]), columns
    elif target["format"] == 2:
        assert {"timestamp", "body", "level"} <= set(columns), columns
