"""The CPU-time budget of one match: the second layer against backtracking (`grok_safety` is
the first, at start-up).

Polynomial backtracking (`%{DATA} %{DATA} \\[…` on a long line with many spaces and no `[`) is
legal and still slow, so a pattern with several unbounded repetitions matches under a CPU-time
budget on lines long enough to need it. A virtual interval timer (SIGVTALRM, CPU time of this
process) is armed around the match; the regex engine checks for signals while it runs, so the
handler's exception stops it. Signals are handled in the main thread only: elsewhere (or where
setitimer does not exist) the match runs unguarded and only the first layer applies. The worker
parses in its main thread.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable

from pipeline.parsing.user_formats.grok_safety import unbounded_repeats

# CPU time one match may take before the line is passed on.
MATCH_SECONDS = 0.05
# Above this many steps (~n^k for k unbounded repetitions) a line gets the deadline.
_STEPS_WITHOUT_DEADLINE = 1e6


class MatchTimeout(Exception):
    """A match ran past its CPU-time budget."""


_armed = False
_handler_installed = False
_MAIN = threading.main_thread().ident


def _on_timer(signum: int, frame: object) -> None:
    # A timer that fires just after a match ended finds nothing armed and does nothing.
    if _armed:
        raise MatchTimeout


def install_handler() -> bool:
    """Take SIGVTALRM for deadlines (main thread, once); False where that cannot be done or
    another handler holds it, and matches then run unguarded."""
    global _handler_installed
    if _handler_installed:
        return True
    if not hasattr(signal, "setitimer") or threading.get_ident() != _MAIN:
        return False
    if signal.getsignal(signal.SIGVTALRM) not in (signal.SIG_DFL, None):
        return False
    signal.signal(signal.SIGVTALRM, _on_timer)
    _handler_installed = True
    return True


def deadline_applies(regex: str, flags: int = 0) -> int | None:
    """The line length from which a match needs the deadline; None when it never does."""
    degree = unbounded_repeats(regex, flags)
    if degree < 2:
        return None  # one unbounded repetition in an anchored match: linear
    return int(_STEPS_WITHOUT_DEADLINE ** (1 / degree))


def bounded(
    match: Callable[[str], re.Match[str] | None], seconds: float, from_length: int | None
) -> Callable[[str], re.Match[str] | None]:
    """`match`, raising MatchTimeout when one call takes more than `seconds` of CPU time on a
    line of at least `from_length` characters (never when from_length is None)."""
    if from_length is None:
        return match
    setitimer, timer = signal.setitimer, signal.ITIMER_VIRTUAL
    get_ident = threading.get_ident

    def guarded(text: str) -> re.Match[str] | None:
        global _armed
        if len(text) < from_length or not _handler_installed or get_ident() != _MAIN:
            return match(text)
        setitimer(timer, seconds)
        _armed = True
        try:
            return match(text)
        finally:
            _armed = False
            setitimer(timer, 0)

    return guarded
