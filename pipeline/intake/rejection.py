"""Why a request is refused: an HTTP status and one line a client can act on."""

from __future__ import annotations


class Rejected(Exception):
    """Answer `status` with `reason`; `retry_after` seconds for 429 and 503."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


def bad_request(reason: str) -> Rejected:
    return Rejected(400, reason)
