"""Message templates: the variable parts of a message masked or learnt, so that one event
gets one stable TemplateId.

Masking (`masking`) replaces what patterns recognise; mining (`miner`) learns, by comparing
messages, the variable words no pattern knows (user and host names, program names). Bodies
repeat (structured logs log "cache miss" again and again, and masked texts repeat even more):
both are looked up before any work is done.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.enrich.masking import mask
from pipeline.enrich.miner import Cluster, Miner, template_id

__all__ = ["Templates", "mask", "template_id", "template_of"]

# Bodies up to this long are remembered with their cluster (long ones rarely repeat); each
# cache is emptied when full, which is cheaper per event than LRU bookkeeping.
_BODY_CHARS = 160
_CACHE_ENTRIES = 16_384


class Templates:
    """(TemplateId, template) of message bodies, from one miner and its caches."""

    def __init__(self, miner: Miner | None = None) -> None:
        self.miner = miner if miner is not None else Miner()
        # Keyed by the body (or masked text), or by (logger, body) for a record with a logger.
        self._bodies: dict[str | tuple[str, str], Cluster] = {}
        self._masked: dict[str | tuple[str, str], Cluster] = {}

    def template_of(self, body: str, logger: str = "") -> tuple[int, str]:
        """(TemplateId, template) of a message body, of the logger that wrote it if known:
        the same message from two loggers is two events."""
        cluster = self._bodies.get((logger, body) if logger else body)
        if cluster is None:
            cluster = self._cluster(body, logger)
        return cluster.id, cluster.template

    def templates_of(self, bodies: list[str], loggers: list[str]) -> tuple[list[int], list[str]]:
        """`template_of` of each body and its logger, in order, as two columns."""
        ids: list[int] = []
        templates: list[str] = []
        cached = self._bodies.get  # the dict is emptied when full, never replaced
        for body, logger in zip(bodies, loggers, strict=True):
            cluster = cached((logger, body) if logger else body)
            if cluster is None:
                cluster = self._cluster(body, logger)
            ids.append(cluster.id)
            templates.append(cluster.template)
        return ids, templates

    def _cluster(self, body: str, logger: str) -> Cluster:
        """The cluster of a body not in the body cache: masked, then looked up or mined."""
        masked = mask(body)
        masked_key = (logger, masked) if logger else masked
        cluster = self._masked.get(masked_key)
        if cluster is None:
            cluster = self.miner.add(masked, logger)
            if len(self._masked) >= _CACHE_ENTRIES:
                self._masked.clear()
            self._masked[masked_key] = cluster
        if len(body) <= _BODY_CHARS:
            if len(self._bodies) >= _CACHE_ENTRIES:
                self._bodies.clear()
            self._bodies[(logger, body) if logger else body] = cluster
        return cluster

    def resolve(self, template_id: int) -> int:
        """The id that `template_id` (one this miner gave out) stands for now."""
        return self.miner.resolve(template_id)

    def text(self, template_id: int) -> str:
        """The current template of an id, or "" if this miner does not know it."""
        cluster = self.miner.cluster(template_id)
        return "" if cluster is None else cluster.template

    def absorb(
        self,
        templates: Iterable[tuple[int, str, str]] = (),
        aliases: Iterable[tuple[int, int]] = (),
    ) -> list[tuple[int, int]]:
        """Learn stored templates and aliases (see `Miner.absorb` and `Miner.adopt`); the
        (alias, id) pairs this found, to be stored."""
        generation = self.miner.generation
        self.miner.absorb(templates)
        self.miner.adopt(aliases)
        if self.miner.generation != generation:
            self._bodies.clear()
            self._masked.clear()
        return self.miner.take_merges()


_DEFAULT = Templates()


def template_of(body: str, logger: str = "") -> tuple[int, str]:
    """(TemplateId, template) of a body, from this process's own miner (scripts, tests); the
    worker's enricher has one of its own, shared through ClickHouse (see `store`)."""
    return _DEFAULT.template_of(body, logger)
