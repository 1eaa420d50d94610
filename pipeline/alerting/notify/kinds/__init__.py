"""Webhook kinds: a module per kind, each registering itself where it is defined.

Adding a kind is adding a module here (a payload builder registered as a `base.Kind`) and its
test in tests/unit/alerting/notify/kinds/: LOGWEIR_WEBHOOKS accepts it and the notifier
delivers it, with nothing else to edit.
"""

from __future__ import annotations

from pipeline.alerting.notify.kinds.base import KINDS, Kind, register
from pipeline.plugins import import_all

__all__ = ["KINDS", "Kind", "get", "names", "register"]

import_all(__name__, skip=("base",))


def names() -> list[str]:
    return sorted(KINDS)


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown webhook kind {name!r}: one of {', '.join(names())}") from None
