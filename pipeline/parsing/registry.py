"""The format registry: which formats exist, and the order detection offers them a line in.

A format is a module of `pipeline/parsing/` exposing

    NAME    its name: the `format` column, the `format` header, LOGWEIR_TOPIC_FORMATS values
    parse   `(raw: bytes) -> LogRecord | None`; None means "not my format"
    DETECT  the `Claim`s naming the lines detection should offer it, or FALLBACK: the format
            (text) that takes every line no other format took

and, optionally, for the columnar prepare step (pipeline/ingest/columnar.py)

    parse_group  `(lines: list[bytes]) -> list[Parsed | None]`: each line's fields as `parse`
            would make them, with no LogRecord built; None sends a line to `parse` (refused,
            or anything the group form does not handle exactly as `parse` does)

and is registered by being there: `load()` imports every module of the package and adds
those with a NAME. Parsers built at start-up (user-defined formats) call `FORMATS.add`.

Detection order is data: for each possible first byte, the claims on it sorted by rank (then
format name). A claim's guard looks at a few leading bytes so that a parser's regex runs only
on lines that can be its format. `python -m pipeline.parsing` prints the order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Final, cast

from pipeline.errors import SettingsError
from pipeline.plugins import import_all
from schemas.records import LogRecord, Severity

Parser = Callable[[bytes], LogRecord | None]
# A record's fields: timestamp_ns, severity, level, service, host, logger, trace_id, span_id,
# body, attributes, flags (LogRecord's, in this order).
Parsed = tuple[int, Severity, str, str, str, str, str, str, str, dict[str, str], list[str]]
GroupParser = Callable[[list[bytes]], list[Parsed | None]]
Guard = Callable[[bytes], object]  # a true result: worth running the parser

DIGITS: Final = b"0123456789"
UPPER: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTERS: Final = UPPER + UPPER.lower()
EVERY_BYTE: Final = bytes(range(256))
FALLBACK: Final = "fallback"


def every_byte_but(excluded: bytes) -> bytes:
    return bytes(b for b in EVERY_BYTE if b not in excluded)


class Prefix(bytes):
    """A guard that passes the lines starting with these bytes. The columnar step's first pass
    compares them in C (pipeline/ingest/_scan.c) rather than calling the guard."""

    __slots__ = ()

    def __call__(self, line: bytes) -> bool:
        return line.startswith(self)


@dataclass(frozen=True, slots=True)
class Claim:
    """Offer the format lines that start with one of `first` (an empty line counts as NUL).

    Among the claims on one first byte, lower `rank` is tried first; a format that must see a
    line before another that would also accept it takes the lower rank. `guard` is a cheap
    check of the leading bytes, no regex over the line. A claim with `refused_flag` ends
    detection when its parser refuses: the line is fallback text carrying that flag.
    """

    first: bytes
    rank: int
    guard: Guard | None = None
    refused_flag: str = ""


@dataclass(frozen=True, slots=True)
class Format:
    """What a format module exposes, or what start-up code registers for a built parser."""

    name: str
    parse: Parser
    detect: tuple[Claim, ...] | str  # claims, or FALLBACK
    parse_group: GroupParser | None = None


# What detection runs per first byte, prepared once: the claims in order, consecutive ones
# with the same guard in one group so that it runs once (java, python and syslog all look
# for `yyyy-`), each as (parse, refused_flag).
_Group = tuple[Guard | None, tuple[tuple[Parser, str], ...]]
# For the columnar step, per first byte: each guard (None: always) with the group of the format
# detection offers a line to first when it passes (see Registry.group_forms).
GroupTable = tuple[tuple[tuple[Guard | None, int], ...], ...]


def _no_fallback(line: bytes) -> LogRecord:
    raise RuntimeError("no fallback format is registered")


class Registry:
    """Formats by name, and detection over their claims."""

    def __init__(self) -> None:
        # By name, in name order: error messages and benchmarks list them alphabetically.
        self.parsers: dict[str, Parser] = {}
        self._formats: dict[str, Format] = {}
        self._groups: list[tuple[_Group, ...]] = [() for _ in range(256)]
        self._fallback_name = ""
        self._fallback: Callable[[bytes], LogRecord] = _no_fallback
        # The columnar step's groups (`group_table` says which a line is in): the formats with
        # a group form, then None, the lines detection offers first to a format without one
        # (they take `parse`). Lines a group form refuses take `parse` too, which goes on down
        # the detection order, so a group form needs to be right only for its own lines.
        self.group_forms: tuple[Format | None, ...] = (None,)
        self.group_table: GroupTable = ((),) * 256
        self.fallback_group = 0

    def add(self, fmt: Format) -> None:
        """Register a format; a second format of the same name is a programming error."""
        if fmt.name in self._formats:
            raise ValueError(f"format {fmt.name!r} is registered twice")
        if fmt.detect == FALLBACK:
            if self._fallback_name:
                raise ValueError(
                    f"formats {self._fallback_name!r} and {fmt.name!r} both claim to be the "
                    "fallback: only one format may take every line"
                )
            self._fallback_name = fmt.name
            # The fallback's contract: it accepts every line.
            self._fallback = cast(Callable[[bytes], LogRecord], fmt.parse)
        elif isinstance(fmt.detect, str):
            raise ValueError(f"format {fmt.name!r}: DETECT is claims or FALLBACK")
        self._formats[fmt.name] = fmt
        by_name = sorted(self._formats.values(), key=lambda f: f.name)
        self.parsers.clear()
        self.parsers.update((f.name, f.parse) for f in by_name)
        self._regroup()

    def remove(self, name: str) -> None:
        """Unregister a format: user formats are replaced when their file is read again."""
        del self._formats[name]
        if name == self._fallback_name:
            self._fallback_name, self._fallback = "", _no_fallback
        del self.parsers[name]
        self._regroup()

    def _regroup(self) -> None:
        self._groups = [self._groups_for(first) for first in range(256)]
        forms = [f for f in self._formats.values() if f.parse_group]
        index = {f.parse: i for i, f in enumerate(forms)}
        detection = len(forms)
        self.group_forms = (*forms, None)
        # The first step of a guard's group is the format detection offers the line to.
        self.group_table = tuple(
            tuple((guard, index.get(steps[0][0], detection)) for guard, steps in groups)
            for groups in self._groups
        )
        fallback = self._formats.get(self._fallback_name)
        self.fallback_group = index.get(fallback.parse, detection) if fallback else detection

    def add_module(self, module: ModuleType) -> None:
        """Register a format module (one with NAME); helper modules are left alone."""
        name = getattr(module, "NAME", None)
        if name is None:
            return
        parse, detect = getattr(module, "parse", None), getattr(module, "DETECT", None)
        if not isinstance(name, str) or not callable(parse) or detect is None:
            raise TypeError(
                f"{module.__name__}: a format module exposes NAME (str), parse(raw) and DETECT"
            )
        self.add(Format(name, parse, detect, getattr(module, "parse_group", None)))

    def _claims_on(self, first: int) -> list[tuple[int, str, Claim, Parser]]:
        """The claims on one first byte, in the order detection tries them."""
        return sorted(
            (
                (claim.rank, fmt.name, claim, fmt.parse)
                for fmt in self._formats.values()
                if not isinstance(fmt.detect, str)
                for claim in fmt.detect
                if first in claim.first
            ),
            key=lambda found: found[:2],
        )

    def _groups_for(self, first: int) -> tuple[_Group, ...]:
        groups: list[tuple[Guard | None, list[tuple[Parser, str]]]] = []
        for *_, claim, parse in self._claims_on(first):
            if groups and groups[-1][0] is claim.guard:
                groups[-1][1].append((parse, claim.refused_flag))
            else:
                groups.append((claim.guard, [(parse, claim.refused_flag)]))
        return tuple((guard, tuple(steps)) for guard, steps in groups)

    def parse(self, line: bytes, forced_format: str | None = None) -> LogRecord:
        """Parse with a forced format, or detect: the record of the first format in detection
        order that accepts the line."""
        if forced_format:
            return self._forced(line, forced_format)
        # Detection inline rather than a call to detect(): a frame less on every line.
        for guard, steps in self._groups[line[0] if line else 0]:
            if guard is None or guard(line):
                for parse, refused_flag in steps:
                    record = parse(line)
                    if record is not None:
                        return record
                    if refused_flag:
                        record = self._fallback(line)
                        record.flags.append(refused_flag)
                        return record
        return self._fallback(line)

    def detect(self, line: bytes) -> LogRecord:
        """The record of the first format in detection order that accepts the line."""
        return self.parse(line)

    def _forced(self, line: bytes, forced_format: str) -> LogRecord:
        """The forced format's record, or detection's flagged `format_mismatch`."""
        parser = self.parsers.get(forced_format)
        if parser is None:
            raise ValueError(f"unknown format {forced_format!r}: one of {', '.join(self.parsers)}")
        record = parser(line)
        if record is None:
            record = self.parse(line)
            record.flags.append("format_mismatch")
        return record

    def check(self, name: str, setting: str) -> None:
        """A setting that names a format: unknown names stop start-up with the choices."""
        if name not in self.parsers:
            raise SettingsError(
                f"{setting} names unknown format {name!r}: use one of {', '.join(self.parsers)}"
            )

    def order(self) -> list[tuple[bytes, list[str]]]:
        """Detection order: (first bytes, names of the formats tried on them), fallback last."""
        fallback = [self._fallback_name] if self._fallback_name else []
        groups: list[tuple[bytes, list[str]]] = []
        for first in range(256):
            names = [name for _, name, _, _ in self._claims_on(first)] + fallback
            if groups and groups[-1][1] == names:
                groups[-1] = (groups[-1][0] + bytes([first]), names)
            else:
                groups.append((bytes([first]), names))
        return groups


FORMATS = Registry()
_loaded = False


def load() -> Registry:
    """FORMATS, with every format module of pipeline/parsing/ registered (on the first call)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in import_all("pipeline.parsing"):
            FORMATS.add_module(module)
    return FORMATS
