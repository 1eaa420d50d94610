"""The miner: clusters, and ids that converge across workers and restarts.

Workers are simulated by miners sharing a fake of the ClickHouse state (`SharedState`): the
clusters their rows stored, and the aliases they wrote, exchanged as `store.TemplateSync`
exchanges them.
"""

from __future__ import annotations

import random
import string
from collections import defaultdict

from pipeline.enrich.masking import WILDCARD, mask
from pipeline.enrich.miner import Miner, template_id
from pipeline.enrich.templates import Templates

USERS = ["root", "webmaster", "admin", "test", "oracle", "guest", "ubuntu", "git", "pi", "bob"]
HOSTS = ["alpha", "bravo", "charlie", "delta"]
EVENTS = {
    "failed": "Failed password for invalid user {u} from 10.0.{n}.1 port {n}22 ssh2",
    "accepted": "Accepted publickey for {u} from 10.1.{n}.7 port {n}01 ssh2",
    "invalid": "Invalid user {u} from 10.2.{n}.3",
    "closed": "pam_unix(sshd:session): session closed for user {u}",
    "opened": "pam_unix(sshd:session): session opened for user {u} by (uid={n})",
    "sudo": "sudo: {u} : TTY=pts/{n} ; PWD=/home/{u} ; USER=root ; COMMAND=/bin/ls",
    "nodes": "node {h} joined the cluster as member {n}",
    "disk": "disk {n} of {h} is full",
}


def lines(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        event = rng.choice(sorted(EVENTS))
        body = EVENTS[event].format(u=rng.choice(USERS), h=rng.choice(HOSTS), n=rng.randint(1, 99))
        out.append((event, body))
    return out


class SharedState:
    """What ClickHouse holds: every id stored with its most general template (the rows'
    materialized view), and the aliases workers wrote."""

    def __init__(self) -> None:
        self.clusters: dict[int, tuple[str, str]] = {}  # id → (logger, template)
        self.order: list[int] = []  # ids in the order they were first stored
        self.aliases: dict[int, int] = {}

    def store(self, rows: list[tuple[int, str]]) -> None:
        for cluster_id, template in rows:
            old = self.clusters.get(cluster_id)
            if old is None:
                self.order.append(cluster_id)
            if old is None or template.count(WILDCARD) > old[1].count(WILDCARD):
                self.clusters[cluster_id] = ("", template)

    def write(self, aliases: list[tuple[int, int]]) -> None:
        for alias, target in aliases:
            assert target < alias, "an alias points to a smaller id"
            self.aliases[alias] = min(target, self.aliases.get(alias, target))

    def canonical(self, cluster_id: int) -> int:
        """As the template_canonical view (which follows chains of two) and beyond."""
        while cluster_id in self.aliases:
            cluster_id = self.aliases[cluster_id]
        return cluster_id

    def since(self, seen: int) -> list[tuple[int, str, str]]:
        return sorted((i, *self.clusters[i]) for i in self.order[seen:])

    def load(self) -> list[tuple[int, str, str]]:
        return sorted((i, *self.clusters[i]) for i in self.order if i not in self.aliases)


class Worker:
    def __init__(self, state: SharedState, restart: bool = False) -> None:
        self.state = state
        self.templates = Templates()
        self.rows: list[tuple[int, str]] = []
        self.seen = 0
        self.emitted: dict[str, set[int]] = defaultdict(set)
        if restart:
            self.state.write(self.templates.absorb(state.load(), sorted(state.aliases.items())))
            self.seen = len(state.order)

    def process(self, batch: list[tuple[str, str]]) -> None:
        for event, body in batch:
            cluster_id, template = self.templates.template_of(body)
            self.rows.append((cluster_id, template))
            self.emitted[event].add(cluster_id)

    def flush(self) -> None:
        """The batch's insert: its rows reach the shared state."""
        self.state.store(self.rows)
        self.rows = []

    def look(self) -> None:
        """One exchange with the shared state, as TemplateSync does it."""
        new = self.state.since(self.seen)
        self.seen = len(self.state.order)
        self.state.write(self.templates.absorb(new, sorted(self.state.aliases.items())))


def run_together(workers: list[Worker], streams: list[list[tuple[str, str]]], batch: int) -> None:
    for start in range(0, max(map(len, streams)), batch):
        for worker, stream in zip(workers, streams, strict=True):
            worker.process(stream[start : start + batch])
            worker.flush()
        for worker in workers:
            worker.look()


def test_one_event_one_cluster_and_events_apart():
    templates = Templates()
    found = defaultdict(set)
    for event, body in lines(1, 2000):
        found[event].add(templates.template_of(body)[0])
    assert all(len(ids) == 1 for ids in found.values()), found
    assert len({ids.pop() for ids in found.values()}) == len(EVENTS)


def test_two_workers_that_see_different_lines_first_converge_on_one_id_per_event():
    state = SharedState()
    a, b = Worker(state), Worker(state)
    run_together([a, b], [lines(2, 3000), lines(3, 3000)], batch=50)
    for _ in range(2):  # the last batches' clusters reach the other worker
        for worker in (a, b):
            worker.look()
    for event in EVENTS:
        ids = a.emitted[event] | b.emitted[event]
        # Some ids were emitted before the workers knew of each other's clusters: read
        # through the aliases (as reports and alerts read them), they are one id.
        assert len({state.canonical(i) for i in ids}) == 1, (event, ids, state.aliases)
    # and from now on both give each event that id, whatever line comes first
    probe = lines(4, 400)
    for event, body in probe:
        ia, ib = a.templates.template_of(body)[0], b.templates.template_of(body)[0]
        assert ia == ib == state.canonical(ia), event


def test_merged_clusters_take_the_smaller_id_and_aliases_point_down():
    one, two = Templates(), Templates()
    id_root = one.template_of("user root logged in from 10.0.0.1")[0]
    id_bob = two.template_of("user bob logged in from 10.0.0.2")[0]
    merges = one.absorb([(id_bob, "", "user bob logged in from <*>")])
    small, large = sorted((id_root, id_bob))
    assert merges == [(large, small)]
    assert one.template_of("user carol logged in from 10.0.0.3") == (
        small,
        "user <*> logged in from <*>",
    )
    assert one.resolve(large) == small


def test_a_restarted_worker_keeps_the_ids_it_had():
    state = SharedState()
    before = Worker(state)
    before.process(lines(5, 1000))
    before.flush()
    after = Worker(state, restart=True)
    after.process(lines(6, 1000))  # other users, other order: would seed other ids alone
    for event in EVENTS:
        assert after.emitted[event] == before.emitted[event], event
    assert not after.templates.absorb(state.since(after.seen))  # nothing new to merge


def test_a_worker_that_learnt_apart_from_the_others_merges_into_their_ids():
    # It mined alone for a while (ClickHouse down), then catches up.
    state = SharedState()
    a, alone = Worker(state), Worker(state)
    a.process(lines(7, 500))
    a.flush()
    alone.process(lines(8, 500))
    alone.flush()
    alone.look()  # everything at once: its clusters and the other's
    a.look()
    for event in EVENTS:
        ids = a.emitted[event] | alone.emitted[event]
        assert len({state.canonical(i) for i in ids}) == 1, event


def test_an_alias_learnt_before_its_cluster_names_the_cluster_made_later():
    templates = Templates()
    seed = template_id(mask("disk 7 of alpha is full"))
    templates.absorb(aliases=[(seed, 5)])
    assert templates.template_of("disk 7 of alpha is full")[0] == 5
    assert templates.resolve(seed) == 5


def test_two_clusters_of_one_worker_merge_when_another_worker_found_them_one():
    templates = Templates()
    x = templates.template_of("worker alpha started")[0]
    y = templates.template_of("worker started with alpha beta gamma")[0]
    merges = templates.absorb(aliases=[(max(x, y), min(x, y))])
    assert merges == [(max(x, y), min(x, y))]
    assert templates.template_of("worker alpha started")[0] == min(x, y)
    assert templates.template_of("worker started with alpha beta gamma")[0] == min(x, y)


def test_past_the_caps_new_shapes_keep_stable_masked_ids():
    miner = Miner(max_clusters=50, max_leaf=10)
    rng = random.Random(9)
    words = ["".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(3000)]
    for i in range(0, 3000, 3):
        miner.add(" ".join(words[i : i + 3]))
    assert len(miner) <= 50
    unknown = "zz qq ww ee rr tt yy"
    assert miner.add(unknown).id == miner.add(unknown).id == template_id(unknown)
    assert miner.add(unknown).key is None  # not learnt


def test_a_crowded_group_stops_learning():
    miner = Miner(max_leaf=5)
    for word in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]:
        miner.add(f"start {word}-{word} {word}x {word}y {word}z")
    assert len(miner) == 5
