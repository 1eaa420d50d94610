"""The enricher registry: an enricher registers under its name where it is defined.

An enricher is `(LogRecord, Message) -> None` and fills or fixes one aspect of the record in
place. One that needs settings registers a factory `(Settings) -> Enricher`, called once when
the chain is built. Every module of `pipeline/enrich/` is imported before names are looked up,
so a new enricher is one module with a decorated function; LOGWEIR_ENRICHERS picks the ones
that run, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipeline.errors import SettingsError
from pipeline.ingest.message import Message
from pipeline.plugins import import_all
from pipeline.settings import Settings
from schemas.records import LogRecord

Enricher = Callable[[LogRecord, Message], None]
Factory = Callable[[Settings], Enricher]

_FACTORIES: dict[str, Factory] = {}
_loaded = False


def enricher(name: str) -> Callable[[Enricher], Enricher]:
    """Register an enricher that needs no settings under `name`."""

    def register(enrich: Enricher) -> Enricher:
        _add(name, lambda _settings: enrich)
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


def chain(settings: Settings) -> list[Enricher]:
    """The enrichers named in `Settings.enrichers`, built in that order."""
    check(settings.enrichers)
    return [_FACTORIES[name](settings) for name in settings.enrichers]


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import_all("pipeline.enrich")
