"""Start, find and stop a detached background process that owns a pid file and a log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import StackError


class Daemon:
    """One background process: `<dir>/<name>.pid` and `<dir>/<name>.log`."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        self.pid_file = directory / f"{name}.pid"
        self.log_file = directory / f"{name}.log"

    def pid(self) -> int | None:
        """The pid if the process recorded in the pid file is still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        if _is_zombie(pid):
            return None
        return pid

    def spawn(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # survives the CLI that started it
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def wait_ready(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until true; if the process dies or time runs out, raise with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.pid() is None:
                raise StackError(f"{what} exited during start-up. {self.log_tail()}")
            time.sleep(0.1)
        raise StackError(f"{what} did not become ready within {timeout:.0f}s. {self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`; False if it was not running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        if not self.wait_exit(timeout):
            os.kill(pid, signal.SIGKILL)
            self.wait_exit(5)
        self.pid_file.unlink(missing_ok=True)
        return True

    def wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                return True
            time.sleep(0.05)
        return False

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        except FileNotFoundError:
            return f"(no log at {self.log_file})"
        return f"Last lines of {self.log_file}:\n" + "\n".join(text)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (the kernel's pick), for a listener started
    next."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
