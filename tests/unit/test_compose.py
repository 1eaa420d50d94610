"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked.

deploy/compose-smoke.sh is the run-time check, for machines with Docker.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from unittest import mock
from urllib.parse import urlsplit

import pytest
import yaml

from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# grafana-clickhouse-datasource: the version whose source the dashboard's macros were checked
# against (issue 16), and the oldest Grafana it supports (its plugin.json: grafanaDependency
# ">=11.6.0"; grafana.com lists 4.20.0 with "Grafana >=11.6.0").
PLUGIN = "grafana-clickhouse-datasource"
PLUGIN_VERSION = "4.20.0"
PLUGIN_MIN_GRAFANA = (11, 6, 0)

# The clickhouse-server image's entrypoint (docker/server/entrypoint.sh, manage_clickhouse_user)
# locks the passwordless `default` user to localhost unless one of these is set, or a mounted
# users file changes `default` itself.
USER_SETUP_ENV = (
    "CLICKHOUSE_SKIP_USER_SETUP",
    "CLICKHOUSE_USER",
    "CLICKHOUSE_PASSWORD",
    "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT",
)
USERS_D = PurePosixPath("/etc/clickhouse-server/users.d")
WRITE_PRIVILEGES = {"ALL", "INSERT"}
READ_PRIVILEGES = {"SELECT", "SHOW"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def compose() -> dict:
    return yaml.safe_load(compose_text())


def defaults(value: str) -> str:
    """A compose value as `docker compose` reads it with no variable set: `${X:-d}` → d."""
    return _VARIABLE.sub(lambda m: m.group(2) or "", value).replace("$$", "$")


def service(name: str) -> dict:
    return compose()["services"][name]


def environment(name: str) -> dict[str, str]:
    env = service(name).get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def mounts(name: str) -> list[tuple[str, PurePosixPath]]:
    """(source with defaults, target) of each bind or volume mount of a service."""
    found = []
    for volume in service(name).get("volumes", []):
        source, target = defaults(volume).split(":")[:2]
        found.append((source, PurePosixPath(target)))
    return found


def worker_settings() -> Settings:
    """The worker's settings as compose gives them, with every variable at its default (read
    as environment variables, as in the container: JSON lists are decoded)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWEIR_")}
    env |= {k: defaults(v) for k, v in environment("worker").items()}
    with mock.patch.dict(os.environ, env, clear=True):
        return Settings(_env_file=None)  # type: ignore[call-arg]


class User:
    def __init__(self, name: str, element: ET.Element, source: Path) -> None:
        self.name, self.source = name, source
        password = element.find("password")
        self.password_env = None if password is None else password.get("from_env")
        self.networks = [ip.text or "" for ip in element.findall("networks/ip")]
        self.profile = element.findtext("profile")
        self.grants = [q.text or "" for q in element.findall("grants/query")]

    def privileges_on(self, database: str) -> set[str]:
        found = set()
        for grant in self.grants:
            m = re.match(r"\s*GRANT\s+(.+?)\s+ON\s+(\S+)", grant, re.IGNORECASE)
            if m and m.group(2) in (f"{database}.*", "*.*"):
                found |= {p.strip().upper() for p in m.group(1).split(",")}
        return found


def clickhouse_users() -> tuple[dict[str, User], dict[str, ET.Element]]:
    """Users and profiles of the files compose mounts into the server's users.d."""
    users: dict[str, User] = {}
    profiles: dict[str, ET.Element] = {}
    for source, target in mounts("clickhouse"):
        if target.parent != USERS_D or not source.startswith("."):
            continue
        path = ROOT / source
        tree = ET.parse(path).getroot()
        for element in tree.findall("users/*"):
            users[element.tag] = User(element.tag, element, path)
        for element in tree.findall("profiles/*"):
            profiles[element.tag] = element
    return users, profiles


def datasource() -> dict:
    return yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/clickhouse.yaml").read_text()
    )["datasources"][0]


def env_reference(value: str) -> str | None:
    """The variable a `$NAME` / `${NAME}` value (Grafana provisioning) stands for."""
    m = re.fullmatch(r"\$(\w+)|\$\{(\w+)\}", value.strip())
    return (m.group(1) or m.group(2)) if m else None


# --- what the compose test checked before issue 16 ----------------------------------------------


def test_services_present():
    assert {"kafka", "clickhouse", "grafana", "worker"} <= set(compose()["services"])


def test_every_mounted_file_exists():
    for name in compose()["services"]:
        for source, _ in mounts(name):
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    worker = service("worker")
    assert (ROOT / worker["build"] / "Dockerfile").exists()


def test_worker_environment_names_are_settings():
    env = environment("worker")
    fields = {f"LOGWEIR_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields


def test_worker_environment_is_valid_with_compose_defaults():
    worker_settings()  # raises on a value Settings refuses


def test_compose_topics_match_settings_defaults():
    text = compose_text()
    defaults_ = Settings()
    assert f"for t in {' '.join(defaults_.topics)}; do" in text
    assert f"--partitions {defaults_.topic_partitions}" in text


def test_grafana_datasource_points_at_the_logs_table():
    ds = datasource()
    assert ds["type"] == "grafana-clickhouse-datasource"
    assert ds["jsonData"]["logs"]["defaultTable"] == "otel_logs"
    assert ds["jsonData"]["defaultDatabase"] == Settings().clickhouse_database


# --- issue 16, item 10 -----------------------------------------------------------------------


def test_clickhouse_user_setup_is_explicit():
    """The image would lock `default` to localhost on its own: compose must say how users are
    set up, and if it skips the image's setup, `default` must not be open to the network."""
    env = {k: defaults(v) for k, v in environment("clickhouse").items()}
    assert any(env.get(name) not in (None, "", "0") for name in USER_SETUP_ENV), (
        f"clickhouse sets none of {USER_SETUP_ENV}: the image locks `default` to localhost and "
        "the worker cannot log in"
    )
    if env.get("CLICKHOUSE_SKIP_USER_SETUP") == "1":
        users, _ = clickhouse_users()
        default = users.get("default")
        assert default is not None, "user setup skipped but no mounted file declares `default`"
        assert default.networks and set(default.networks) <= {"::1", "127.0.0.1"}, (
            f"passwordless `default` reachable from {default.networks}"
        )


def test_worker_logs_in_as_a_writer_user_of_the_clickhouse_users_file():
    settings = worker_settings()
    users, _ = clickhouse_users()
    user = users.get(settings.clickhouse_user)
    assert user is not None, (
        f"worker connects as {settings.clickhouse_user!r}, not a user of the mounted users files "
        f"({sorted(users)})"
    )
    assert user.name != "default", "the worker must not log in as `default`"
    assert WRITE_PRIVILEGES & user.privileges_on(settings.clickhouse_database), (
        f"{user.name} cannot write {settings.clickhouse_database}: {user.grants}"
    )
    assert "::/0" in user.networks or "0.0.0.0/0" in user.networks, f"{user.name}: {user.networks}"
    # The password the server reads (from_env) and the worker's are one compose expression.
    assert user.password_env, f"{user.name}'s password is not read from the environment"
    server_env = environment("clickhouse")
    assert user.password_env in server_env, f"clickhouse does not set {user.password_env}"
    assert server_env[user.password_env] == environment("worker")["LOGWEIR_CLICKHOUSE_PASSWORD"]
    assert "${" in server_env[user.password_env], "the writer password is not configurable"


def test_writer_may_use_every_table_engine_the_migrations_create():
    """TABLE ENGINE grants: ignored by 25.8 unless table_engines_require_grant is on; 26.9
    refused the migrations without them."""
    users, _ = clickhouse_users()
    user = users[worker_settings().clickhouse_user]
    granted = {
        m.group(1)
        for grant in user.grants
        if (m := re.match(r"\s*GRANT\s+TABLE ENGINE\s+ON\s+(\w+)", grant, re.IGNORECASE))
    }
    sources = [*(ROOT / "schemas/migrations").glob("*.sql"), ROOT / "pipeline/ops/migrations.py"]
    used = {e for path in sources for e in re.findall(r"ENGINE\s*=\s*(\w+)", path.read_text())}
    assert used and used <= granted, f"not granted: {sorted(used - granted)}"


def test_grafana_reads_as_the_read_only_user():
    ds = datasource()
    users, profiles = clickhouse_users()
    user = users.get(ds["jsonData"]["username"])
    assert user is not None, f"datasource user {ds['jsonData']['username']!r} is not defined"
    database = ds["jsonData"]["defaultDatabase"]
    privileges = user.privileges_on(database)
    assert privileges and privileges <= READ_PRIVILEGES, (
        f"{user.name} must only read {database} (an XML user without grants has them all): "
        f"{user.grants}"
    )
    profile = profiles.get(user.profile or "")
    assert profile is not None and int(profile.findtext("readonly") or 0) >= 1, (
        f"{user.name}'s profile {user.profile!r} is not readonly"
    )
    # Its password: from the environment on both sides, one compose expression.
    variable = env_reference(ds["secureJsonData"]["password"])
    assert variable, "datasource password is written in the file, not read from the environment"
    assert user.password_env, f"{user.name}'s password is not read from the environment"
    grafana_env, server_env = environment("grafana"), environment("clickhouse")
    assert variable in grafana_env, f"grafana does not set {variable}"
    assert user.password_env in server_env, f"clickhouse does not set {user.password_env}"
    assert grafana_env[variable] == server_env[user.password_env]


def test_alert_rules_and_webhooks_are_configurable_and_deploy_alerts_is_mounted():
    env = environment("worker")
    for name in ("LOGWEIR_RULES_FILE", "LOGWEIR_WEBHOOKS", "LOGWEIR_WEBHOOK_SECRET"):
        assert name in env, f"worker does not set {name}"
        assert "${" in env[name], f"{name} is fixed in docker-compose.yml, not configurable"
    settings = worker_settings()
    assert settings.rules_file is not None
    rules = PurePosixPath(settings.rules_file)
    sources = [src for src, target in mounts("worker") if rules.parent == target]
    assert sources == ["./deploy/alerts"], f"{rules} is not in a mount of ./deploy/alerts"
    assert (ROOT / "deploy/alerts" / rules.name).is_file()
    assert settings.webhooks == []  # no receiver is assumed unless one is configured


def test_grafana_plugin_is_pinned_and_fits_the_pinned_grafana():
    plugins = environment("grafana")["GF_INSTALL_PLUGINS"].split(",")
    pinned = [p.split() for p in plugins if p.split()[0] == PLUGIN]
    assert pinned == [[PLUGIN, PLUGIN_VERSION]], f"{PLUGIN} not pinned to {PLUGIN_VERSION}"
    image, _, tag = service("grafana")["image"].partition(":")
    assert image == "grafana/grafana"
    version = tuple(int(part) for part in re.findall(r"\d+", tag)[:3])
    assert len(version) == 3, f"grafana image {tag!r} is not pinned to a release"
    assert version >= PLUGIN_MIN_GRAFANA, f"{PLUGIN} {PLUGIN_VERSION} needs Grafana 11.6+"


def test_worker_healthcheck_asks_health_on_the_metrics_port():
    check = service("worker").get("healthcheck")
    assert check, "worker has no healthcheck"
    test = check["test"]
    command = " ".join(test[1:]) if isinstance(test, list) else test
    urls = re.findall(r"https?://[^'\"\s]+", command)
    assert len(urls) == 1, command
    url = urlsplit(urls[0])
    settings = worker_settings()
    assert url.path == "/health"
    assert url.port == settings.metrics_port
    assert settings.metrics_host in ("0.0.0.0", "::", url.hostname)
    # The command runs inside the worker image: python is there (FROM python:…), curl is not.
    dockerfile = (ROOT / service("worker")["build"] / "Dockerfile").read_text()
    assert re.search(r"^FROM python:", dockerfile, re.MULTILINE)
    program = test[1] if isinstance(test, list) and test[0] == "CMD" else command.split()[0]
    assert program in ("python", "python3"), f"healthcheck runs {program!r}"


def test_example_receiver_runs_only_in_its_profile():
    receiver = service("example-receiver")
    assert receiver.get("profiles") == ["example-receiver"]
    assert receiver["image"].startswith("python:3.11")
    compile(receiver["command"][-1], "example-receiver", "exec")  # the server is valid Python
    # The example target in .env.example reaches it.
    example = (ROOT / ".env.example").read_text()
    url = re.search(r'"url":\s*"(http://[^"]+)"', example)
    assert url, ".env.example shows no example webhook target"
    target = urlsplit(url.group(1))
    assert target.hostname == "example-receiver"
    assert f'("", {target.port})' in receiver["command"][-1]


def test_env_example_lists_every_variable_compose_reads():
    used = set(_VARIABLE.findall(compose_text()))
    listed = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert {name for name, _ in used} == listed, "compose and .env.example name different variables"


def test_smoke_script_is_executable_strict_bash():
    script = ROOT / "deploy/compose-smoke.sh"
    text = script.read_text()
    assert script.stat().st_mode & 0o111, "not executable"
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", str(script)], check=True)


def test_intake_runs_the_worker_image_with_valid_settings_and_a_healthcheck_on_its_port():
    intake = service("intake")
    assert intake["build"] == service("worker")["build"]
    assert intake["command"] == ["intake"]  # after the image's entrypoint, `logweir`
    env = {key: defaults(value) for key, value in environment("intake").items()}
    fields = {f"LOGWEIR_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    with mock.patch.dict(os.environ, env, clear=True):
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.intake_tokens, "the intake refuses to start without tokens"
    assert settings.intake_host in ("0.0.0.0", "::")
    assert f"{settings.intake_port}:{settings.intake_port}" in intake["ports"]
    command = " ".join(intake["healthcheck"]["test"][1:])
    [url] = re.findall(r"https?://[^'\"\s]+", command)
    assert (urlsplit(url).path, urlsplit(url).port) == ("/health", settings.intake_port)


def test_clickhouse_has_the_backups_disk_of_logweir_backup_on_a_volume_of_its_own():
    from pipeline.stack.clickhouse import BACKUP_DISK

    config_d = PurePosixPath("/etc/clickhouse-server/config.d")
    found = []
    for source, target in mounts("clickhouse"):
        if target.parent == config_d and source.startswith("."):
            root = ET.parse(ROOT / source).getroot()
            disk = root.find(f"storage_configuration/disks/{BACKUP_DISK}")
            if disk is not None:
                allowed = [e.text for e in root.findall("backups/allowed_disk")]
                found.append((disk.findtext("type"), disk.findtext("path"), allowed))
    assert len(found) == 1, f"no config.d file of clickhouse declares disk {BACKUP_DISK!r}"
    [(kind, path, allowed)] = found
    assert kind == "local" and allowed == [BACKUP_DISK]
    volumes = {target: source for source, target in mounts("clickhouse")}
    source = volumes.get(PurePosixPath(path or ""))
    assert source in (compose().get("volumes") or {}), f"{path} is not on a named volume"
    assert source != volumes[PurePosixPath("/var/lib/clickhouse")], "backups beside the data"


def test_worker_image_builds_the_c_module_and_runs_without_a_compiler():
    dockerfile = (ROOT / service("worker")["build"] / "Dockerfile").read_text()
    build, run = dockerfile.rsplit("\nFROM ", 1)
    assert "gcc" in build and "COPY pyproject.toml setup.py" in build
    assert "pip wheel" in build and "--from=build /wheels" in run and "gcc" not in run
