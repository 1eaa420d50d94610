"""Template mining: masked messages of one shape that differ in a few words share a cluster.

Masking (`masking`) catches the variables patterns can recognise; the rest are found by
comparing messages, as Drain does (He et al., ICWS 2017; drain3 is the implementation we
measure against). Messages are grouped by logger, token count and first token (Drain's
fixed-depth prefix tree, flattened to one dictionary); within a group a message joins the
cluster it matches best, and the positions where they differ become `<*>` in the template. So
`Failed password for invalid user webmaster from <*>` and `… user root from <*>` become one
cluster, `… user <*> from <*>`. A message matches a cluster when, among the positions where
both hold a literal word (masked parts and `<*>` say nothing either way), at least
`similarity` of the words are equal and no two neighbouring words differ: a variable is one
word between constants, while two different words in a row are another phrase (`… - connection
attempt failed with error <*>` is not `… - Could not resolve <*> error <*>`).

Ids. A cluster is created with the id of its first template (`template_id`: a hash of the
text, so the same first message gives the same id on any worker, after any restart), and keeps
it while the template generalises. Clusters learnt elsewhere come in through `absorb` (another
worker's, read from ClickHouse, or this worker's own from before a restart) and `adopt` (ids
some worker found to be one event). When two clusters turn out to be one, the merged cluster
takes the smaller of their ids and the other becomes an alias of it (`take_merges` lists them
for ClickHouse). The smaller, not the older: it needs no clock and no knowledge of what was
stored when, so every worker that merges the same clusters picks the same id, whatever order
it learnt things in, and an alias always points to a smaller id, so chains end.

What it cannot tell, like Drain: a first word that varies (`root : TTY=pts/0 ; …`) splits an
event, because the first word keys the group (it is usually a constant: `Accepted password …`
and `Failed password …` are two events, and looking across groups merged far more of those
than it saved); two events that differ only in one word of a small set (`"GET …"`/`"POST …"`)
are one, as a variable word with few values cannot be told from them one message at a time.

Bounded: at most `max_clusters` clusters, and at most `max_leaf` per group (which bounds the
comparisons one message costs); aliases of ids without a cluster here, at most four times
`max_clusters`. Past either cluster cap, a message that matches no cluster is not learnt: it
gets the id of its masked text, as a stateless template would (stable, but without the
variables that only mining finds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from operator import eq

from pipeline.enrich.masking import WILDCARD

# In the message tokens compared with a template, masked parts become this character, which no
# template holds: they are never equal to anything.
_MASKED = "\x00"

# A cluster's group: (logger, token count, first token or `<*>`).
Key = tuple[str, int, str]


def template_id(template: str, scope: str = "") -> int:
    """The id of a template text (of a logger, if the record names one): 64 bits of its BLAKE2b
    hash, the same on every worker and in every release (stored ids are compared with new
    ones)."""
    text = f"{scope}\n{template}" if scope else template
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Cluster:
    """One template: its id, tokens (`<*>` where messages differ) and the ids merged into it."""

    __slots__ = ("aliases", "id", "key", "literal", "scope", "size", "template", "tokens")

    def __init__(self, cluster_id: int, tokens: tuple[str, ...], template: str, scope: str = ""):
        self.id = cluster_id
        self.tokens = tokens
        self.template = template
        self.scope = scope
        # Bit i set: token i of the template holds no `<*>`.
        self.literal = _literal_positions(tokens)
        self.key: Key | None = None  # its group in the miner; None: not learnt (past a cap)
        self.size = 0
        self.aliases: set[int] = set()  # other ids that now mean this cluster

    def __repr__(self) -> str:
        return f"Cluster({self.id:016x}, {self.template!r})"


class Miner:
    """Drain-style clusters of masked messages; see the module docstring."""

    def __init__(
        self, similarity: float = 0.5, max_clusters: int = 20_000, max_leaf: int = 200
    ) -> None:
        self.similarity = similarity
        self.max_clusters = max_clusters
        self.max_leaf = max_leaf
        self._leaves: dict[Key, list[Cluster]] = {}
        # Every id a learnt cluster has or had (its own and its aliases) → that cluster.
        self._ids: dict[int, Cluster] = {}
        # Aliases (from `adopt`) of ids this miner has no cluster for → the id they stand for.
        self._forward: dict[int, int] = {}
        self._count = 0
        # Merges since the last `take_merges`: (alias, id it stands for).
        self._merges: list[tuple[int, int]] = []
        # Bumped whenever a cluster disappears into another: cached clusters are then stale.
        self.generation = 0

    def __len__(self) -> int:
        return self._count

    @property
    def clusters(self) -> list[Cluster]:
        return [c for leaf in self._leaves.values() for c in leaf]

    def add(self, masked: str, scope: str = "") -> Cluster:
        """The cluster of a masked message (of the logger `scope`), learnt from it: created, or
        generalised where they differ."""
        tokens, key, leaf, cluster = self._match(masked, scope)
        if cluster is not None:
            _generalise(cluster, tokens)
            cluster.size += 1
            return cluster
        cluster_id = template_id(masked, scope)
        known = self._ids.get(cluster_id)
        if known is not None:
            # The first template of a cluster learnt before, which has generalised beyond
            # what this message matches: still that cluster.
            known.size += 1
            return known
        return self._create(cluster_id, masked, scope, tokens, key)

    def _match(
        self, masked: str, scope: str
    ) -> tuple[tuple[str, ...], Key, list[Cluster] | None, Cluster | None]:
        tokens = tuple(masked.split(" ")) if masked else ()
        n = len(tokens)
        first = tokens[0] if n else ""
        if WILDCARD in first or any(map(str.isdigit, first)):
            first = WILDCARD
        key = (scope, n, first)
        leaf = self._leaves.get(key)
        if leaf is None:
            return tokens, key, None, None
        if WILDCARD in masked:
            literal = tuple(masked.replace(WILDCARD, _MASKED).split(" "))
            positions = _literal_positions(tokens)
        else:
            literal, positions = tokens, (1 << n) - 1
        return tokens, key, leaf, _best(leaf, literal, positions, self.similarity)

    def _unlink(self, cluster: Cluster, key: Key) -> None:
        leaf = self._leaves[key]
        leaf.remove(cluster)
        if not leaf:
            del self._leaves[key]

    def _create(
        self, cluster_id: int, template: str, scope: str, tokens: tuple[str, ...], key: Key
    ) -> Cluster:
        """A new cluster, under `cluster_id` or the id that one is an alias of."""
        target = self._forward.pop(cluster_id, None)
        cluster = Cluster(cluster_id if target is None else target, tokens, template, scope)
        cluster.size = 1
        leaf = self._leaves.get(key)
        if self._count >= self.max_clusters or (leaf is not None and len(leaf) >= self.max_leaf):
            return cluster  # not learnt: a stateless template
        if leaf is None:
            leaf = self._leaves[key] = []
        leaf.append(cluster)
        cluster.key = key
        self._ids[cluster.id] = cluster
        if target is not None:
            cluster.aliases.add(cluster_id)
            self._ids[cluster_id] = cluster
        self._count += 1
        return cluster

    def resolve(self, template_id: int) -> int:
        """The id that `template_id` stands for now (itself unless it became an alias)."""
        cluster = self._ids.get(template_id)
        if cluster is not None:
            return cluster.id
        return self._forward.get(template_id, template_id)

    def cluster(self, template_id: int) -> Cluster | None:
        return self._ids.get(template_id)

    def absorb(self, templates: Iterable[tuple[int, str, str]]) -> None:
        """Learn stored clusters, each (id, logger, template): one that matches no cluster here
        becomes one, under its own id; one that matches a cluster of another id is the same
        event, and the two become one under the smaller id (the larger an alias: see
        `take_merges`). Miners that absorb the same templates in the same order build the same
        clusters, so give them in a fixed order (by id)."""
        for stored_id, scope, text in templates:
            known = self._ids.get(stored_id)
            if known is not None and known.template == text:
                continue
            tokens, key, _, match = self._match(text, scope)
            if match is None:
                if known is None:
                    self._create(stored_id, text, scope, tokens, key)
                elif known.key == key:
                    _generalise(known, tokens)
            elif known is None:
                _generalise(match, tokens)
                self._alias(match, stored_id)
            elif known is not match:
                self._merge(known, match)
            else:
                _generalise(match, tokens)

    def adopt(self, aliases: Iterable[tuple[int, int]]) -> None:
        """Learn (alias, id) pairs some worker found: clusters of both become one, under the
        smaller id; an alias of an id this miner has no cluster for is remembered, so that a
        cluster learnt under it later takes that id."""
        for alias, target in aliases:
            if alias == target:
                continue
            a, t = self._ids.get(alias), self._ids.get(target)
            if a is not None and t is not None:
                if a is not t:
                    self._merge(a, t)
            elif a is not None:
                self._alias(a, target)
            elif t is not None:
                self._alias(t, alias)
            elif alias in self._forward or len(self._forward) < 4 * self.max_clusters:
                current = self._forward.get(alias)
                self._forward[alias] = target if current is None else min(current, target)

    def _alias(self, cluster: Cluster, other: int) -> None:
        """`other` is one more id of `cluster`: the smaller of it and the cluster's id wins."""
        self._ids[other] = cluster
        if other < cluster.id:
            cluster.aliases.add(cluster.id)
            cluster.aliases.discard(other)
            cluster.id = other
            self._merges.extend((alias, other) for alias in sorted(cluster.aliases))
        elif other != cluster.id:
            cluster.aliases.add(other)
            self._merges.append((other, cluster.id))

    def _merge(self, a: Cluster, b: Cluster) -> None:
        """Two learnt clusters are one: the one with the larger id goes into the other."""
        keep, gone = (a, b) if a.id < b.id else (b, a)
        if gone.key is not None:
            self._unlink(gone, gone.key)
            self._count -= 1
        if keep.key == gone.key:
            _generalise(keep, gone.tokens)
        keep.size += gone.size
        for alias in (gone.id, *gone.aliases):
            self._ids[alias] = keep
            keep.aliases.add(alias)
        self._merges.extend((alias, keep.id) for alias in sorted(keep.aliases))
        self.generation += 1

    def take_merges(self) -> list[tuple[int, int]]:
        """The (alias, id) pairs found since the last call, each alias with its current id."""
        merges, self._merges = self._merges, []
        return sorted({alias: self.resolve(alias) for alias, _ in merges}.items())


def _literal_positions(tokens: tuple[str, ...]) -> int:
    bits = 0
    for i, token in enumerate(tokens):
        if WILDCARD not in token:
            bits |= 1 << i
    return bits


def _best(
    leaf: list[Cluster], tokens: tuple[str, ...], positions: int, similarity: float
) -> Cluster | None:
    """The cluster of `leaf` that `tokens` (masked parts as `_MASKED`, literal at the bits of
    `positions`) matches best, if it matches one (see the module docstring)."""
    scored: list[tuple[float, int, Cluster]] = []
    for cluster in leaf:
        equal = sum(map(eq, cluster.tokens, tokens))
        both = (cluster.literal & positions).bit_count()
        if equal == both:
            return cluster  # equal wherever both are literal: none matches better
        if equal >= similarity * both:
            scored.append((equal / both, -len(scored), cluster))
    for _, _, cluster in sorted(scored, reverse=True):
        if not _neighbours_differ(cluster, tokens, positions):
            return cluster
    return None


def _neighbours_differ(cluster: Cluster, tokens: tuple[str, ...], positions: int) -> bool:
    """Whether two neighbouring positions hold different literal words in both."""
    both = cluster.literal & positions
    previous = False
    for i, (a, b) in enumerate(zip(cluster.tokens, tokens, strict=True)):
        differs = a != b and (both >> i) & 1 == 1
        if differs and previous:
            return True
        previous = differs
    return False


def _generalise(cluster: Cluster, tokens: tuple[str, ...]) -> None:
    """`<*>` in the template wherever `tokens` differ from it."""
    merged = tuple(a if a == b else WILDCARD for a, b in zip(cluster.tokens, tokens, strict=True))
    if merged != cluster.tokens:
        cluster.tokens = merged
        cluster.template = " ".join(merged)
        cluster.literal = _literal_positions(merged)
