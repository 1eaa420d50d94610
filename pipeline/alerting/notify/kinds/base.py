"""What a webhook kind is: how an alert becomes the body POSTed to a target of that kind, and
whether the body is signed. A kind's module builds its payload and registers it here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schemas.alerting import Alert


@dataclass(frozen=True, slots=True)
class Kind:
    name: str  # what `kind` says in LOGWEIR_WEBHOOKS
    body: Callable[[Alert, str], bytes]  # (alert, target name) → the request body
    # Signed: X-Logweir-Timestamp and X-Logweir-Signature when LOGWEIR_WEBHOOK_SECRET is set.
    signed: bool = False


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise TypeError(f"two webhook kinds are named {kind.name!r}")
    KINDS[kind.name] = kind
    return kind
