"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_present():
    assert {"kafka", "clickhouse", "grafana", "worker"} <= set(compose()["services"])


def test_every_mounted_file_exists():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    worker = compose()["services"]["worker"]
    assert (ROOT / worker["build"] / "Dockerfile").exists()


def test_worker_environment_names_are_settings():
    env = compose()["services"]["worker"]["environment"]
    fields = {f"LOGWEIR_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields


def test_compose_topics_match_settings_defaults():
    text = (ROOT / "docker-compose.yml").read_text()
    defaults = Settings()
    assert f"for t in {' '.join(defaults.topics)}; do" in text
    assert f"--partitions {defaults.topic_partitions}" in text


def test_grafana_datasource_points_at_the_logs_table():
    ds = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/clickhouse.yaml").read_text()
    )["datasources"][0]
    assert ds["type"] == "grafana-clickhouse-datasource"
    assert ds["jsonData"]["logs"]["defaultTable"] == "otel_logs"
    assert ds["jsonData"]["defaultDatabase"] == Settings().clickhouse_database
