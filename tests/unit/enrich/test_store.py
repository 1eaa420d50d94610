"""Sharing learnt templates through ClickHouse (here a fake client that answers the store's
queries from memory)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

from pipeline.enrich import store
from pipeline.enrich.masking import mask
from pipeline.enrich.miner import template_id
from pipeline.enrich.store import TemplateSync, canonical_id
from pipeline.enrich.templates import Templates


class FakeClickHouse:
    """template_clusters and template_aliases in memory; `down` makes every call fail."""

    def __init__(self) -> None:
        self.clusters: dict[int, tuple[str, str, int]] = {}  # id → (logger, text, stored ms)
        self.aliases: dict[int, int] = {}
        self.now = 1_000_000
        self.down = False
        self.inserts: list[list[list[int]]] = []

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("Connection refused")

    def command(self, sql: str) -> int:
        self._check()
        assert "now64" in sql
        return self.now

    def query(self, sql: str, parameters: dict[str, Any]) -> SimpleNamespace:
        self._check()
        if sql is store._LOAD:
            rows = [(i, s, t) for i, (s, t, _) in self.clusters.items() if i not in self.aliases]
        elif sql is store._NEW:
            rows = [
                (i, s, t) for i, (s, t, ms) in self.clusters.items() if ms > parameters["since"]
            ]
        else:
            assert sql is store._ALIASES
            rows = sorted(self.aliases.items())
        return SimpleNamespace(result_rows=rows[: parameters["limit"]])

    def insert(self, table: str, rows: list[list[int]], column_names: list[str]) -> None:
        self._check()
        assert table == store.ALIASES and column_names == ["Alias", "TemplateId"]
        self.inserts.append(rows)
        for alias, target in rows:
            self.aliases[alias] = min(target, self.aliases.get(alias, target))


def sync_for(fake: FakeClickHouse, templates: Templates | None = None) -> TemplateSync:
    connects: list[int] = []

    def connect() -> FakeClickHouse:
        connects.append(1)
        return fake

    sync = TemplateSync(templates or Templates(), connect, 0.01, 1000)  # type: ignore[arg-type]
    sync.connects = connects  # type: ignore[attr-defined]
    return sync


def test_without_an_event_loop_the_miner_works_alone():
    fake = FakeClickHouse()
    sync = sync_for(fake)
    sync.apply()
    assert sync.inbox is None and sync._thread is None and not sync.connects  # type: ignore[attr-defined]


def test_in_the_event_loop_the_first_record_waits_for_the_stored_clusters():
    fake = FakeClickHouse()
    fake.clusters[5] = ("", "user <*> logged in from <*>", fake.now)
    fake.aliases[template_id(mask("disk 1 of a is full"))] = 3
    sync = sync_for(fake)

    async def first_record() -> tuple[int, str]:
        sync.apply()  # as the enricher does before its first record
        return sync.templates.template_of("user bob logged in from 10.0.0.1")

    try:
        assert asyncio.run(first_record()) == (5, "user <*> logged in from <*>")
        # an alias of an id this worker has no cluster for names the cluster it makes later
        assert sync.templates.template_of("disk 1 of a is full")[0] == 3
    finally:
        sync.stop()


def test_a_cluster_learnt_twice_is_merged_and_the_alias_written():
    fake = FakeClickHouse()
    templates = Templates()
    own = templates.template_of("user root logged in from 10.0.0.1")[0]
    other = own - 1 if own > 1 else own + 1  # another worker's id for the same event
    fake.clusters[other] = ("", "user <*> logged in from <*>", fake.now)
    sync = sync_for(fake, templates)
    sync.inbox = None  # started by hand: no thread
    sync.exchange()  # reads the other worker's cluster
    sync.apply()  # absorbs it
    sync.exchange()  # writes the alias
    small, large = sorted((own, other))
    assert fake.aliases == {large: small}
    assert templates.template_of("user bob logged in from 10.0.0.2")[0] == small


def test_a_failure_is_logged_once_and_what_was_found_is_written_later(caplog):
    fake = FakeClickHouse()
    sync = sync_for(fake)
    sync.inbox = None
    sync.exchange()
    sync._outbox.append((9, 4))
    fake.down = True
    with caplog.at_level(logging.INFO, logger="pipeline.enrich.store"):
        for _ in range(3):
            sync.exchange()
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "mines on its own" in caplog.records[0].getMessage()
        fake.down = False
        fake.now += 1000
        sync.exchange()
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert fake.aliases == {9: 4}


def test_each_look_reads_only_what_is_new():
    fake = FakeClickHouse()
    sync = sync_for(fake)
    sync.inbox = None
    fake.clusters[7] = ("", "old <*>", fake.now - 10 * store._OVERLAP_MS)
    sync.exchange()  # the first look loads everything
    assert sync.inbox is not None and [t[0] for t in sync.inbox.templates] == [7]
    sync.apply()
    fake.now += 5000
    fake.clusters[8] = ("", "new <*>", fake.now)
    sync.exchange()
    assert [t[0] for t in sync.inbox.templates] == [8]


def test_canonical_sql_reads_an_id_through_the_alias_map():
    sql = canonical_id("TemplateId")
    assert sql == "transform(TemplateId, mapKeys(_canonical), mapValues(_canonical), TemplateId)"
    assert (
        store.WITH_CANONICAL.startswith("WITH (SELECT")
        and "template_canonical" in store.WITH_CANONICAL
    )
