# The C module pipeline/sink/_native.c (see native.py).
from collections.abc import Sequence

def block(
    headers: tuple[bytes, ...],
    kinds: tuple[int, ...],
    columns: Sequence[Sequence[object]],
    rows: int,
) -> bytes: ...
