"""Following files: new lines, rotation by rename, truncation, resuming from saved positions."""

from __future__ import annotations

import os

from pipeline.shipping.follow import Follower
from pipeline.shipping.positions import PositionStore


def read_all(follower: Follower) -> list[bytes]:
    follower.scan()
    return [line for chunk in follower.read() for line, _ in chunk.lines]


def write(path, text: str, mode: str = "a") -> None:
    with open(path, mode) as out:
        out.write(text)


def test_complete_lines_are_read_once_and_a_partial_line_waits(tmp_path):
    log = tmp_path / "a.log"
    write(log, "one\ntwo\nthr")
    follower = Follower([str(log)], PositionStore(tmp_path / "p.json"))
    assert read_all(follower) == [b"one", b"two"]
    assert read_all(follower) == []
    write(log, "ee\n")
    assert read_all(follower) == [b"three"]


def test_lines_carry_the_offset_past_their_newline(tmp_path):
    log = tmp_path / "a.log"
    write(log, "one\r\ntwo\n")
    follower = Follower([str(log)], PositionStore(tmp_path / "p.json"))
    follower.scan()
    (chunk,) = follower.read()
    assert chunk.lines == [(b"one", 5), (b"two", 9)]


def test_new_files_matching_the_glob_are_picked_up(tmp_path):
    follower = Follower([str(tmp_path / "*.log")], PositionStore(tmp_path / "p.json"))
    assert read_all(follower) == []
    write(tmp_path / "b.log", "hello\n")
    write(tmp_path / "b.txt", "not matched\n")
    assert read_all(follower) == [b"hello"]


def test_a_renamed_file_is_read_to_its_end_and_the_new_one_from_its_start(tmp_path):
    log = tmp_path / "a.log"
    write(log, "1\n")
    follower = Follower([str(log)], PositionStore(tmp_path / "p.json"))
    assert read_all(follower) == [b"1"]
    write(log, "2\n")
    os.rename(log, tmp_path / "a.log.1")
    write(log, "3\n")
    assert sorted(read_all(follower)) == [b"2", b"3"]
    assert [f.matched for f in follower.files.values()].count(False) == 1
    assert len(follower.release_unmatched()) == 1


def test_a_truncated_file_is_read_again_from_the_start(tmp_path):
    log = tmp_path / "a.log"
    write(log, "a long first line\n")
    follower = Follower([str(log)], PositionStore(tmp_path / "p.json"))
    assert read_all(follower) == [b"a long first line"]
    write(log, "short\n", mode="w")
    follower.scan()
    (chunk,) = follower.read()
    assert chunk.truncated and chunk.lines == [(b"short", 6)]


def test_saved_positions_resume_even_after_a_rename_while_away(tmp_path):
    log = tmp_path / "a.log"
    write(log, "old\nunshipped\n")
    stat = os.stat(log)
    store = PositionStore(tmp_path / "p.json")
    store.set((stat.st_dev, stat.st_ino), str(log), len(b"old\n"))
    os.rename(log, tmp_path / "a.log.1")
    write(log, "new\n")
    assert sorted(read_all(Follower([str(log)], store))) == [b"new", b"unshipped"]


def test_an_overlong_line_is_read_in_pieces(tmp_path):
    log = tmp_path / "a.log"
    write(log, "x" * 25 + "\n")
    follower = Follower([str(log)], PositionStore(tmp_path / "p.json"))
    follower.scan()
    pieces = [line for chunk in follower.read(budget=10) for line in chunk.lines]
    pieces += [line for chunk in follower.read(budget=10) for line in chunk.lines]
    pieces += [line for chunk in follower.read(budget=10) for line in chunk.lines]
    assert pieces == [(b"x" * 10, 10), (b"x" * 10, 20), (b"x" * 5, 26)]
