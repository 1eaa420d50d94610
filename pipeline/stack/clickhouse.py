"""The local ClickHouse server: start it detached, wait for /ping, stop it with KILL QUERY."""

from __future__ import annotations

import contextlib
import sys
import urllib.error
import urllib.request
from xml.sax.saxutils import escape

from pipeline.errors import StackError
from pipeline.settings import Settings
from pipeline.stack.process import Daemon, port_open

# Placed in the server's keep-alive query; killing that query stops the server.
KEEPALIVE_MARK = "logweir-keepalive"
# Ready in ~0.2 s warm; a cold first start on a slow disk takes longer.
START_TIMEOUT = 90.0
# ClickHouse rotates its own log at this size and keeps this many gzipped older files.
LOG_ROTATE_SIZE = "10M"
LOG_ROTATE_COUNT = 5
# Threads for ClickHouse's periodic table tasks (merge assignment, cleanup). The chdb build
# defaults to 2 (a server to 512); with logweir's ~15 tables it then paused tasks and warned
# about it ~10 times a second (9 MB of log an hour, idle). 16 was measured quiet with 250
# MergeTree tables; the threads start only when needed.
SCHEDULE_POOL_SIZE = 16
# The disk `logweir backup` writes to (BACKUP … TO Disk('backups', name)); docker compose
# declares the same disk in deploy/clickhouse/backups.xml.
BACKUP_DISK = "backups"


class ClickHouseServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.clickhouse_host
        self.port = settings.clickhouse_port
        self.tcp_port = settings.clickhouse_tcp_port
        self.directory = settings.state_dir.resolve() / "clickhouse"
        # clickhouse.log: the launcher's output (start-up errors, "clickhouse stopped");
        # clickhouse-server.log: the server's own log, which ClickHouse renames when it rotates
        # it, so the launcher must not write there.
        self.daemon = Daemon("clickhouse", self.directory)
        self.server_log = self.directory / "clickhouse-server.log"
        self.backup_directory = (settings.backup_path or settings.state_dir / "backups").resolve()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def running(self) -> bool:
        return self.daemon.pid() is not None and self.ping()

    def start(self) -> bool:
        if self.host not in ("127.0.0.1", "localhost"):
            raise StackError(
                f"LOGWEIR_CLICKHOUSE_URL points at {self.host}: the local stack only runs on "
                "127.0.0.1; unset it, or run your own server"
            )
        if self.running():
            return False
        for port in (self.port, self.tcp_port):
            if port_open(self.host, port):
                raise StackError(
                    f"port {port} on {self.host} is taken by another program: stop it, or set "
                    "LOGWEIR_CLICKHOUSE_URL / LOGWEIR_CLICKHOUSE_TCP_PORT to free ports"
                )
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        self.backup_directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "config.xml").write_text(self._config())
        self.daemon.spawn(
            [
                sys.executable,
                "-m",
                "pipeline.stack.clickhouse_server",
                str(self.directory),
                KEEPALIVE_MARK,
            ],
            cwd=self.directory,
        )
        # Start-up errors make clickhouse-local exit with code 0: only /ping proves it is up.
        self.daemon.wait_ready(self.ping, START_TIMEOUT, "ClickHouse")
        return True

    def stop(self) -> bool:
        if self.daemon.pid() is None:
            return self.daemon.stop()
        # SIGTERM kills clickhouse-local abruptly; ending the keep-alive query lets it shut
        # down its servers and flush parts.
        kill = (
            f"KILL QUERY WHERE query LIKE '%{KEEPALIVE_MARK}%' "
            "AND query NOT LIKE '%KILL QUERY%' ASYNC"
        )
        with contextlib.suppress(urllib.error.URLError, OSError):
            urllib.request.urlopen(
                urllib.request.Request(self.url, data=kill.encode()), timeout=5
            ).close()
        if self.daemon.wait_exit(15):
            self.daemon.pid_file.unlink(missing_ok=True)
            return True
        return self.daemon.stop()

    def _config(self) -> str:
        # clickhouse-local ignores <logger><level> and logs at trace (every query's text, 39 MB
        # in 40 min) unless its --log-level option is given: the top-level `log-level` key here
        # (measured with 26.9). No <errorlog>: at warning it would repeat the same lines.
        return f"""<clickhouse>
    <log-level>{self.settings.clickhouse_log_level}</log-level>
    <background_schedule_pool_size>{SCHEDULE_POOL_SIZE}</background_schedule_pool_size>
    <background_streaming_schedule_pool_size>{SCHEDULE_POOL_SIZE}</background_streaming_schedule_pool_size>
    <listen_host>{escape(self.host)}</listen_host>
    <http_port>{self.port}</http_port>
    <tcp_port>{self.tcp_port}</tcp_port>
    <logger>
        <log>{escape(str(self.server_log))}</log>
        <size>{LOG_ROTATE_SIZE}</size>
        <count>{LOG_ROTATE_COUNT}</count>
        <console>0</console>
    </logger>
    <storage_configuration>
        <disks>
            <{BACKUP_DISK}>
                <type>local</type>
                <path>{escape(str(self.backup_directory))}/</path>
            </{BACKUP_DISK}>
        </disks>
    </storage_configuration>
    <backups>
        <allowed_disk>{BACKUP_DISK}</allowed_disk>
    </backups>
</clickhouse>
"""
