"""A TCP port on 127.0.0.1 that counts every connection made to it, whatever the protocol.

For proving that nothing reached out: HTTP (url, s3, azure), the native protocol (remote),
MySQL, PostgreSQL, HDFS, MongoDB or Redis clients all have to connect first.
"""

from __future__ import annotations

import socket
import threading


class Listener:
    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()  # no answer: the client fails fast instead of waiting

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()
