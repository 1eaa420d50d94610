# The C module pipeline/parsing/_access.c (see access.py, where it is configured).
from collections.abc import Callable

from pipeline.parsing.registry import Parsed
from schemas.records import Severity

def configure(
    *,
    time_ns: Callable[[str], int | None],
    user_agent: Callable[[str], tuple[tuple[str, str], ...]],
    info: Severity,
    warn: Severity,
    error: Severity,
    max_agent: int,
) -> None: ...
def fields_group(lines: list[bytes]) -> tuple[list[Parsed | None], list[int]]: ...
def client_dash_bracket(line: bytes) -> bool: ...
