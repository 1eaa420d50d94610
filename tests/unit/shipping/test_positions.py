"""The positions file: offsets by file identity, saved atomically, clear errors when broken."""

from __future__ import annotations

import pytest

from pipeline.shipping.positions import PositionsCorrupt, PositionStore


def test_positions_survive_a_reload(tmp_path):
    path = tmp_path / "state" / "positions.json"
    store = PositionStore(path)
    store.set((1, 10), "/logs/a.log", 120)
    store.set((1, 11), "/logs/b.log", 7)
    store.save()
    again = PositionStore(path)
    assert again.get((1, 10)).offset == 120
    assert again.get((1, 11)).path == "/logs/b.log"
    assert again.get((2, 10)) is None


def test_dropped_entries_are_gone_after_save(tmp_path):
    store = PositionStore(tmp_path / "p.json")
    store.set((1, 10), "/logs/a.log", 120)
    store.save()
    store.drop((1, 10))
    store.save()
    assert PositionStore(tmp_path / "p.json").entries == {}


def test_save_leaves_no_temporary_files(tmp_path):
    store = PositionStore(tmp_path / "p.json")
    for offset in range(5):
        store.set((1, 10), "/logs/a.log", offset)
        store.save()
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_a_missing_file_is_an_empty_store(tmp_path):
    assert PositionStore(tmp_path / "none.json").entries == {}


def test_a_broken_file_says_how_to_recover(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(PositionsCorrupt, match="delete it"):
        PositionStore(path)
