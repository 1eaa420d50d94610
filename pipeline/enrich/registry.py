"""The enricher registry: an enricher registers under its name where it is defined.

An enricher is `(LogRecord, Message) -> None` and fills or fixes one aspect of the record in
place. One that needs settings registers a factory `(Settings) -> Enricher`, called once when
the chain is built. An enricher may also have a column form, `(LogColumns) -> None`, doing
the same to every row of a batch (a factory then returns an `Enrichment` holding both); the
columnar prepare step runs only when every enricher of the chain has one. Every module of
`pipeline/enrich/` is imported before names are looked up, so a new enricher is one module
with a decorated function; LOGWEIR_ENRICHERS picks the ones that run, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.errors import SettingsError
from pipeline.ingest.message import Message
from pipeline.plugins import import_all
from pipeline.settings import Settings
from schemas.records import LogColumns, LogRecord

Enricher = Callable[[LogRecord, Message], None]
ColumnEnricher = Callable[[LogColumns], None]


@dataclass(frozen=True, slots=True)
class Enrichment:
    """An enricher as built for a worker: its record form and its column form, if any."""

    record: Enricher
    columns: ColumnEnricher | None = None


Factory = Callable[[Settings], Enricher | Enrichment]

_FACTORIES: dict[str, Factory] = {}
_loaded = False


def enricher(name: str, columns: ColumnEnricher | None = None) -> Callable[[Enricher], Enricher]:
    """Register an enricher that needs no settings under `name`, with its column form."""

    def register(enrich: Enricher) -> Enricher:
        _add(name, lambda _settings: Enrichment(enrich, columns))
        return enrich

    return register


def enricher_from_settings(name: str) -> Callable[[Factory], Factory]:
    """Register a factory that builds the enricher `name` from the settings."""

    def register(factory: Factory) -> Factory:
        _add(name, factory)
        return factory

    return register


def _add(name: str, factory: Factory) -> None:
    if name in _FACTORIES:
        raise ValueError(f"enricher {name!r} is registered twice")
    _FACTORIES[name] = factory


def names() -> list[str]:
    """Every registered enricher, in the order the modules define them."""
    _load()
    return list(_FACTORIES)


def check(chosen: Iterable[str]) -> None:
    """Unknown names stop start-up with one line naming the known ones."""
    known = names()
    for name in chosen:
        if name not in known:
            raise SettingsError(
                f"LOGWEIR_ENRICHERS names unknown enricher {name!r}: use {', '.join(known)}"
            )


def chain(settings: Settings) -> list[Enrichment]:
    """The enrichers named in `Settings.enrichers`, built in that order."""
    check(settings.enrichers)
    built = (_FACTORIES[name](settings) for name in settings.enrichers)
    return [e if isinstance(e, Enrichment) else Enrichment(e) for e in built]


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import_all("pipeline.enrich")
