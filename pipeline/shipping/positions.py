"""Where each followed file was shipped up to, kept in a small JSON file written atomically."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipeline.errors import LogweirError

# (st_dev, st_ino): what a file is, whatever its name is now.
Identity = tuple[int, int]


class PositionsCorrupt(LogweirError):
    """The positions file cannot be read."""


@dataclass(slots=True)
class Position:
    path: str
    offset: int


class PositionStore:
    """Offsets by file identity, saved with the path each file was last seen at."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[Identity, Position] = self._load()

    def get(self, identity: Identity) -> Position | None:
        return self.entries.get(identity)

    def set(self, identity: Identity, path: str, offset: int) -> None:
        self.entries[identity] = Position(path, offset)

    def drop(self, identity: Identity) -> None:
        self.entries.pop(identity, None)

    def save(self) -> None:
        """Replace the file in one rename, so a crash leaves the old or the new one, whole."""
        files = [
            {"path": p.path, "device": dev, "inode": ino, "offset": p.offset}
            for (dev, ino), p in sorted(self.entries.items(), key=lambda item: item[1].path)
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps({"version": 1, "files": files}, option=orjson.OPT_INDENT_2))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self) -> dict[Identity, Position]:
        try:
            data = orjson.loads(self.path.read_bytes())
            return {
                (int(f["device"]), int(f["inode"])): Position(str(f["path"]), int(f["offset"]))
                for f in data["files"]
            }
        except FileNotFoundError:
            return {}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PositionsCorrupt(
                f"positions file {self.path} is unreadable ({type(exc).__name__}): fix it, or "
                "delete it to ship every file from its start again"
            ) from None
