"""Following files like `tail -F`: globs re-read, rotation by rename and truncation noticed."""

from __future__ import annotations

import fnmatch
import glob
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pipeline.shipping.positions import Identity, PositionStore

# A line longer than this is cut into pieces of this size, so one read stays bounded.
READ_BYTES = 1024 * 1024
# A file renamed out of the patterns (rotated) is kept open this long after its last new
# byte: the application may write its last lines there before it reopens the new file.
ROTATED_GRACE_SECONDS = 5.0


def identity_of(stat: os.stat_result) -> Identity:
    return stat.st_dev, stat.st_ino


@dataclass(slots=True)
class Lines:
    """Complete lines read from one file, each with the offset just past its newline."""

    identity: Identity
    path: str
    lines: list[tuple[bytes, int]]
    # The file shrank since the last read: it was truncated and is read again from 0.
    truncated: bool = False


@dataclass(slots=True)
class Followed:
    path: str
    handle: BinaryIO
    offset: int
    matched: bool = True
    last_data: float = field(default_factory=time.monotonic)


class Follower:
    """The files matching some patterns, each read from its saved position on.

    Files are known by identity (device, inode): a rotated file keeps its position under its
    new name, and the rest of it is read before it is let go.
    """

    def __init__(
        self, patterns: list[str], store: PositionStore, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.patterns = [os.path.abspath(os.path.expanduser(p)) for p in patterns]
        self.store = store
        self.clock = clock
        self.files: dict[Identity, Followed] = {}
        self._resume_saved()

    def scan(self) -> None:
        """Open files that newly match, rename known ones, mark those no longer matched."""
        seen: set[Identity] = set()
        for path in self._matching():
            try:
                identity = identity_of(os.stat(path))
            except OSError:  # gone between the glob and the stat: the next scan decides
                continue
            seen.add(identity)
            followed = self.files.get(identity)
            if followed is not None:
                followed.path, followed.matched = path, True
                continue
            saved = self.store.get(identity)
            self._open(identity, path, saved.offset if saved else 0)
        for identity, followed in self.files.items():
            if identity not in seen:
                followed.matched = False

    def read(self, budget: int = READ_BYTES) -> Iterator[Lines]:
        """New complete lines of every file, up to about `budget` bytes per file."""
        for identity, followed in list(self.files.items()):
            chunk = self._read_one(identity, followed, budget)
            if chunk is not None:
                yield chunk

    def retired(self) -> list[Identity]:
        """Close files that were renamed away and stayed quiet past the grace period."""
        now = self.clock()
        gone = [
            identity
            for identity, f in self.files.items()
            if not f.matched and now - f.last_data >= ROTATED_GRACE_SECONDS
        ]
        for identity in gone:
            self.files.pop(identity).handle.close()
        return gone

    def release_unmatched(self) -> list[Identity]:
        """Close every file no longer matched, at once (when shipping what is there and exiting)."""
        gone = [identity for identity, f in self.files.items() if not f.matched]
        for identity in gone:
            self.files.pop(identity).handle.close()
        return gone

    def close(self) -> None:
        for followed in self.files.values():
            followed.handle.close()
        self.files.clear()

    def _matching(self) -> list[str]:
        found = {
            path
            for pattern in self.patterns
            for path in glob.glob(pattern, recursive=True)
            if os.path.isfile(path)
        }
        return sorted(found)

    def _resume_saved(self) -> None:
        # Saved files under these patterns, or rotated next to them, are found by identity:
        # at their saved path, or renamed in the same directory while the shipper was away.
        for identity, position in list(self.store.entries.items()):
            if not any(
                fnmatch.fnmatch(position.path, pattern)
                or fnmatch.fnmatch(os.path.dirname(position.path), os.path.dirname(pattern))
                for pattern in self.patterns
            ):
                continue
            path = _locate(identity, position.path)
            if path is None:
                self.store.drop(identity)
            else:
                self._open(identity, path, position.offset)

    def _open(self, identity: Identity, path: str, offset: int) -> None:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open across renames
        except OSError:
            return
        if identity_of(os.fstat(handle.fileno())) != identity:  # replaced since the stat
            handle.close()
            return
        self.files[identity] = Followed(path, handle, offset, last_data=self.clock())

    def _read_one(self, identity: Identity, followed: Followed, budget: int) -> Lines | None:
        size = os.fstat(followed.handle.fileno()).st_size
        truncated = size < followed.offset
        if truncated:
            followed.offset = 0
        if size == followed.offset:
            return Lines(identity, followed.path, [], True) if truncated else None
        followed.handle.seek(followed.offset)
        data = followed.handle.read(min(budget, size - followed.offset))
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) < budget:
                # An unfinished last line: read again once its writer ends it.
                return Lines(identity, followed.path, [], True) if truncated else None
            cut = len(data)  # a piece of an overlong line: it ends where the data ends
        pieces = data[:cut].split(b"\n")
        if data[cut - 1 : cut] == b"\n":
            pieces.pop()
        lines: list[tuple[bytes, int]] = []
        end = followed.offset
        for piece in pieces:
            end = min(end + len(piece) + 1, followed.offset + cut)
            lines.append((piece.rstrip(b"\r"), end))
        followed.offset += cut
        followed.last_data = self.clock()
        return Lines(identity, followed.path, lines, truncated)


def _locate(identity: Identity, path: str) -> str | None:
    """Where the file with this identity is now: at `path`, or renamed in its directory."""
    try:
        if identity_of(os.stat(path)) == identity:
            return path
    except OSError:
        pass
    directory = Path(path).parent
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return None
    for entry in entries:
        try:
            if entry.is_file() and identity_of(entry.stat()) == identity:
                return entry.path
        except OSError:
            continue
    return None
