"""Learnt templates shared through ClickHouse, so that every worker gives one event one id.

Where the state lives (migration 0018):

- `template_clusters`: every template id stored, with its most general text and when it was
  first stored, filled by a materialized view from the rows in their own insert: it holds
  exactly the ids of stored rows, and nothing a worker knew is lost when it dies.
- `template_aliases`: (alias, id) pairs, written by the workers when two of their clusters
  turn out to be one event; the smaller id wins (see `miner`), so an alias only ever points to
  a smaller id, and rows written again or by two workers agree.
- `template_canonical`: the view every report, window count and alert reads ids through.

How workers converge. A worker's miner learns on its own, and a thread of the worker (started
by the first record it templates in the worker's event loop; a script or test without a loop
mines alone and touches no database) every `template_sync_seconds`:

1. loads, the first time, the most recently used `template_max_clusters` clusters (by id, so
   that workers build the same clusters from the same table) and every alias; the worker's
   first batch waits for this (at most a few seconds), so after a restart it carries on with the
   ids it had, instead of learning them again under new ones;
2. then reads the ids stored (by any worker) and the aliases written since its last look, and
   the miner absorbs them: a stored cluster that matches one of its own is the same event, and
   the two become one under the smaller id;
3. writes the aliases that this found.

So when two workers each see an event first (say `user root` on one, `user webmaster` on the
other), they give it two ids for at most one interval; then each reads the other's cluster,
both merge the two under the smaller id, rows already stored under the larger one are read
through the alias, and new rows carry the smaller id. A restart is the same case with one
worker: its clusters come back from the table under the ids they had.

When ClickHouse cannot be reached the worker goes on mining alone, logs one line when sharing
fails and one when it works again, and catches up (new ids and aliases) on its next look.

Bounds: a look reads at most `_PER_LOOK` new ids (a flood of new shapes, say random junk, is
not absorbed whole: some duplicates of it may then stay apart) and the first one at most
`template_max_clusters` clusters and four times as many aliases; an event idle for so long that
it is not among the clusters loaded may come back under a new id after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from pipeline.enrich.templates import Templates
from pipeline.errors import first_line

log = logging.getLogger(__name__)

CLUSTERS = "template_clusters"
ALIASES = "template_aliases"
CANONICAL = "template_canonical"

# SQL: `WITH_CANONICAL` starts a query in which `canonical_id(column)` is the id a template id
# stands for now (itself unless it became an alias); the alias map is read once per query.
WITH_CANONICAL = (
    "WITH (SELECT CAST((groupArray(Alias), groupArray(TemplateId)), 'Map(UInt64, UInt64)') "
    f"FROM {CANONICAL}) AS _canonical"
)


def canonical_id(column: str = "TemplateId") -> str:
    """SQL (in a query that starts with WITH_CANONICAL): the id `column` stands for now."""
    return f"transform({column}, mapKeys(_canonical), mapValues(_canonical), {column})"


def general_texts(canonical_ids: str) -> str:
    """SQL (in a query that starts with WITH_CANONICAL): (Canonical, Text), the most general
    template text of each template whose current id is one of `canonical_ids` (a subquery).
    The rows' own Template is the text when each was stored, often before the template
    generalised (`log_templates` keeps any one of them)."""
    return f"""SELECT {canonical_id()} AS Canonical, argMax(T, countSubstrings(T, '<*>')) AS Text
    FROM (
        SELECT TemplateId, argMaxMerge(Template) AS T FROM {CLUSTERS}
        WHERE {canonical_id()} IN ({canonical_ids}) GROUP BY TemplateId
    )
    GROUP BY Canonical"""


# The first look: the clusters used last, not those that stand for others.
_LOAD = f"""
SELECT TemplateId, any(ScopeName), argMaxMerge(Template)
FROM {CLUSTERS}
WHERE TemplateId NOT IN (SELECT Alias FROM {ALIASES})
GROUP BY TemplateId
ORDER BY max(LastStored) DESC, TemplateId
LIMIT {{limit:UInt32}}
"""
_NEW = f"""
SELECT TemplateId, any(ScopeName), argMaxMerge(Template)
FROM {CLUSTERS}
WHERE FirstStored > fromUnixTimestamp64Milli({{since:Int64}})
GROUP BY TemplateId
ORDER BY TemplateId
LIMIT {{limit:UInt32}}
"""
# New ids absorbed per look, at most.
_PER_LOOK = 5000
_ALIASES = f"""
SELECT Alias, min(TemplateId) FROM {ALIASES}
WHERE Updated > fromUnixTimestamp64Milli({{since:Int64}})
GROUP BY Alias ORDER BY Alias
LIMIT {{limit:UInt32}}
"""
# Rows become visible when their insert ends, stamped when it began: each look reads again
# what was stored in this many milliseconds before the previous one (absorbing a known
# cluster again changes nothing).
_OVERLAP_MS = 60_000
# Longest the first batch waits for the first look.
FIRST_LOAD_SECONDS = 5.0


@dataclass(slots=True)
class Update:
    """What one look at ClickHouse found: clusters (id, logger, template) and aliases."""

    templates: list[tuple[int, str, str]] = field(default_factory=list)
    aliases: list[tuple[int, int]] = field(default_factory=list)


def load(client: Client, limit: int) -> Update:
    """The clusters used last (sorted by id) and every alias."""
    rows = client.query(_LOAD, parameters={"limit": limit}).result_rows
    aliases = client.query(_ALIASES, parameters={"since": 0, "limit": 4 * limit}).result_rows
    return Update(
        sorted((int(i), str(s), str(t)) for i, s, t in rows), [(int(a), int(t)) for a, t in aliases]
    )


def since(client: Client, since_ms: int, limit: int) -> Update:
    """The clusters first stored and the aliases written after `since_ms` (Unix ms)."""
    parameters = {"since": since_ms, "limit": limit}
    rows = client.query(_NEW, parameters=parameters).result_rows
    aliases = client.query(_ALIASES, parameters=parameters).result_rows
    return Update(
        [(int(i), str(s), str(t)) for i, s, t in rows], [(int(a), int(t)) for a, t in aliases]
    )


def write_aliases(client: Client, aliases: list[tuple[int, int]]) -> None:
    client.insert(ALIASES, [list(pair) for pair in aliases], column_names=["Alias", "TemplateId"])


def server_ms(client: Client) -> int:
    return int(client.command("SELECT toUnixTimestamp64Milli(now64(3))"))  # type: ignore[arg-type]


class TemplateSync:
    """Keeps one `Templates` in step with ClickHouse (see the module docstring).

    Only the thread that templates records touches the miner: the background thread talks to
    ClickHouse, leaves what it read in `inbox` and has `apply` run on the event loop's thread
    (which also runs it before a record when something is waiting), and writes back the
    aliases `apply` found."""

    def __init__(
        self,
        templates: Templates,
        connect: Callable[[], Client],
        interval: float,
        max_clusters: int,
    ) -> None:
        self.templates = templates
        self._connect = connect
        self._interval = interval
        self._limit = max_clusters
        # Read by the templating thread before every record: not None when there is
        # something to apply (or, at first, `_START`: the thread is to be started).
        self.inbox: Update | None = _START
        self._lock = threading.Lock()
        self._outbox: list[tuple[int, int]] = []
        self._first = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._watermark: int | None = None
        self._client: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failing = False

    def apply(self) -> None:
        """On the templating thread: start sharing at the first call (inside an event loop
        only), then absorb what the background thread read."""
        if self.inbox is _START:
            self.inbox = None
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # a script or a test: the miner works alone
            self.start(loop)
            self._first.wait(FIRST_LOAD_SECONDS)
        with self._lock:
            update, self.inbox = self.inbox, None
        if update is not None:
            merges = self.templates.absorb(update.templates, update.aliases)
            if merges:
                with self._lock:
                    self._outbox.extend(merges)

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the background thread; with `loop`, what it reads is applied on that loop's
        thread as soon as it is read, records or not (else before the next record only)."""
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="template-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.exchange()
            self._first.set()
            self._stopping.wait(self._interval)

    def exchange(self) -> None:
        """One look: write the aliases found, read what is new; failures are logged once."""
        with self._lock:
            merges, self._outbox = self._outbox, []
        try:
            client = self._client = self._client or self._connect()
            if merges:
                write_aliases(client, merges)
                merges = []
            now = server_ms(client)
            if self._watermark is None:
                update = load(client, self._limit)
            else:
                update = since(client, self._watermark, min(self._limit, _PER_LOOK))
            self._watermark = now - _OVERLAP_MS
            if update.templates or update.aliases:
                self._deliver(update)
        except Exception as exc:  # noqa: BLE001 - sharing must never stop templating
            self._client = None
            with self._lock:
                self._outbox[:0] = merges
            if not self.failing:
                self.failing = True
                log.warning(
                    "templates are not shared through ClickHouse (%s): this worker mines on "
                    "its own and catches up when it answers; retrying every %.0f s",
                    first_line(exc, 200),
                    self._interval,
                )
            return
        if self.failing:
            self.failing = False
            log.info("templates are shared through ClickHouse again")

    def _deliver(self, update: Update) -> None:
        with self._lock:
            pending = self.inbox
            if pending is not None and pending is not _START:
                pending.templates.extend(update.templates)
                pending.aliases.extend(update.aliases)
            else:
                self.inbox = update
        if self._loop is not None and self._first.is_set():
            # An idle worker merges too: the aliases of rows already stored do not wait for
            # the next record.
            with contextlib.suppress(RuntimeError):  # closed: the worker is stopping
                self._loop.call_soon_threadsafe(self.apply)


_START = Update()
