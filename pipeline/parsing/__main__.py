"""`python -m pipeline.parsing`: the detection order, formats tried per first byte of a line."""

from __future__ import annotations

from pipeline.parsing import registry


def _spans(values: bytes) -> str:
    """`0-9`, `A-Z`, `\\x80-\\xff`: the bytes as runs of consecutive values."""
    runs: list[list[int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    show = [
        repr(bytes([lo]))[2:-1] + ("" if lo == hi else "-" + repr(bytes([hi]))[2:-1])
        for lo, hi in runs
    ]
    return " ".join(show)


if __name__ == "__main__":
    for first, names in registry.load().order():
        print(f"{_spans(first):<12} {', '.join(names)}")
