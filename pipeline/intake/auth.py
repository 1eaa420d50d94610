"""Bearer tokens, the service a token may write, and a rate limit per token."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipeline.intake.rejection import Rejected
from pipeline.shipping.throttle import TokenBucket


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: the service its token is bound to ("" = any) and its rate bucket."""

    service: str
    bucket: TokenBucket | None


class Auth:
    """`tokens` maps each token to the service it may write ("" for any); `rate` events per
    second per token (0: no limit)."""

    def __init__(
        self, tokens: Mapping[str, str], rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # A bucket holds one second of events: a request is admitted while its token is not in
        # debt, and may take more than the bucket holds (the next ones then wait). So a request
        # larger than one second's worth is never refused for ever.
        self._callers = [
            (
                token.encode(),
                Caller(service, TokenBucket(rate, max(rate, 1.0), clock) if rate else None),
            )
            for token, service in tokens.items()
        ]

    def caller(self, authorization: str | None) -> Caller:
        """The caller an `Authorization: Bearer <token>` header names; 401 otherwise."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Rejected(401, "send the header 'Authorization: Bearer <token>'")
        offered = token.strip().encode()
        found = None
        for known, caller in self._callers:  # every token compared, in constant time each
            if hmac.compare_digest(known, offered):
                found = caller
        if found is None:
            raise Rejected(401, "unknown token: use one of LOGWEIR_INTAKE_TOKENS")
        return found

    @staticmethod
    def service(caller: Caller, requested: str) -> str:
        """The service a request writes: the token's own, or what the request asked for."""
        if caller.service and requested and requested != caller.service:
            raise Rejected(
                403, f"this token writes service {caller.service!r} only, not {requested!r}"
            )
        return caller.service or requested

    @staticmethod
    def admit(caller: Caller, events: int) -> None:
        """Take `events` from the caller's bucket; 429 with Retry-After while it is in debt."""
        if caller.bucket is None:
            return
        wait = caller.bucket.take(0)
        if wait > 0:
            raise Rejected(
                429,
                "rate limit of this token (LOGWEIR_INTAKE_RATE_EVENTS_PER_SECOND) reached: retry "
                "after the Retry-After seconds",
                retry_after=max(1, math.ceil(wait)),
            )
        caller.bucket.take(events)
