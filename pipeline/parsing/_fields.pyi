# The C module pipeline/parsing/_fields.c (see fields.py, where it is configured).
from collections.abc import Callable

from pipeline.parsing.registry import Parsed
from schemas.records import Severity

def configure(
    *,
    roles: dict[str, tuple[int, int]],
    level_words: dict[str, Severity],
    from_any: Callable[[object], int | None],
    from_level: Callable[[str | int | float | None], Severity],
    text: Callable[[object], str],
    loads: Callable[[bytes], object],
    decode_error: type[Exception],
    unspecified: Severity,
    max_attributes: int,
) -> None: ...
def to_fields(items: dict[str, object], line: bytes) -> Parsed: ...
def json_group(lines: list[bytes]) -> list[Parsed | None]: ...
def json_flat(line: bytes) -> dict[str, object] | None: ...
def logfmt_group(lines: list[bytes]) -> tuple[list[Parsed | None], list[int]]: ...
