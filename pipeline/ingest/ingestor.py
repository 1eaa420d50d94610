"""From one raw Kafka message to stored-ready LogRecords or DeadLetters; never raises."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pipeline import parsing
from pipeline.enrich import registry as enrichers
from pipeline.enrich.registry import ColumnEnricher
from pipeline.errors import SettingsError
from pipeline.ingest.message import Message
from pipeline.parsing import user_formats
from pipeline.settings import Settings
from schemas.records import DeadLetter, LogRecord

Hook = Callable[[LogRecord], LogRecord | None]


@dataclass(frozen=True, slots=True)
class Dropped:
    """A record a user hook chose to drop: counted, never stored."""

    hook: str


Outcome = LogRecord | DeadLetter | Dropped


class Ingestor:
    """Splits, parses and enriches messages; any failure becomes a DeadLetter with the reason."""

    def __init__(self, settings: Settings) -> None:
        self._raw_topic_prefix = f"{settings.topic_raw}."
        self._topic_suffixes: dict[str, str] = {}
        self._framing = settings.framing
        self.topic_formats = settings.topic_formats
        # Plug-in names are checked here at start-up, like hooks (not in Settings, which the
        # enricher registry imports). Formats are loaded now rather than in the first batch.
        formats = parsing.load()
        user_formats.install(settings.formats_file, formats)  # LOGWEIR_FORMATS_FILE
        for topic, name in self.topic_formats.items():
            formats.check(name, f"LOGWEIR_TOPIC_FORMATS[{topic!r}]")
        chain = enrichers.chain(settings)
        self._enrichers = [e.record for e in chain]
        # The chain's column forms when the columnar prepare step can take this worker's
        # batches: each enricher has one, and no hook needs to see each record.
        column_forms = [e.columns for e in chain]
        self.column_enrichers: list[ColumnEnricher] | None = (
            None if settings.hooks or None in column_forms else column_forms  # type: ignore[assignment]
        )
        self._hooks = [(name, load_hook(name)) for name in settings.hooks]

    def message(
        self,
        topic: str,
        partition: int,
        offset: int,
        timestamp_ms: int,
        value: bytes | None,
        key: bytes | None,
        headers: Mapping[str, bytes] | Iterable[tuple[str, bytes | None]] | None,
    ) -> Message:
        """A Message from client-level fields (headers as a mapping or (name, value) pairs)."""
        # Called for every Kafka message: the common case (no headers, a known topic) takes no
        # isinstance checks against ABCs and no string work.
        suffix = self._topic_suffixes.get(topic)
        if suffix is None:
            suffix = self.topic_suffix(topic)
        fields: dict[str, bytes] = {}
        if headers:
            items: Iterable[tuple[str, bytes | None]] = (
                headers.items() if isinstance(headers, Mapping) else headers
            )
            fields = {str(k): bytes(v or b"") for k, v in items}
        return Message(topic, partition, offset, timestamp_ms, value or b"", key, fields, suffix)

    def topic_suffix(self, topic: str) -> str:
        """The service of a `<raw topic>.<service>` topic, "" for any other."""
        suffix = self._topic_suffixes.get(topic)
        if suffix is None:
            suffix = self._topic_suffixes[topic] = (
                topic.removeprefix(self._raw_topic_prefix)
                if topic.startswith(self._raw_topic_prefix)
                else ""
            )
        return suffix

    def process(self, message: Message) -> list[Outcome]:
        """One outcome per event in the message, in order (index = position in the list)."""
        lines, fmt = self.split(message)
        if isinstance(lines, DeadLetter):
            return [lines]
        return [self._one(message, line, fmt) for line in lines]

    def split(self, message: Message) -> tuple[list[bytes] | DeadLetter, str | None]:
        """The message's events (framing) and its forced format, or why it has none."""
        value = message.value.strip()
        if not value:
            return self._dead(message, "empty", "the message has no content"), None
        header = message.headers.get("framing")
        framing = header.decode("ascii", "replace") if header else self._framing
        if framing not in ("auto", "message", "lines"):
            detail = f"framing header {framing!r}: one of auto, message, lines"
            return self._dead(message, "bad_framing_header", detail), None
        forced = message.headers.get("format")
        fmt = forced.decode("ascii", "replace") if forced else self.topic_formats.get(message.topic)
        if framing == "lines" or (framing == "auto" and _is_ndjson(value)):
            return [line for line in (ln.strip() for ln in value.split(b"\n")) if line], fmt
        return [value], fmt

    def _one(self, message: Message, line: bytes, fmt: str | None) -> Outcome:
        record = self.parse_line(message, line, fmt)
        if type(record) is DeadLetter:
            return record
        try:
            for enrich in self._enrichers:
                enrich(record, message)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001
            return self._dead(message, "enricher_error", _describe(exc))
        for name, hook in self._hooks:
            try:
                result = hook(record)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - user code: its failure is data
                return self._dead(message, "hook_error", f"{name}: {_describe(exc)}")
            if result is None:
                return Dropped(name)
            if not isinstance(result, LogRecord):
                return self._dead(
                    message,
                    "hook_error",
                    f"{name} returned {type(result).__name__}, not a LogRecord",
                )
            record = result
        return record

    def parse_line(self, message: Message, line: bytes, fmt: str | None) -> LogRecord | DeadLetter:
        """One event's record, before enrichment (the columnar prepare step enriches records
        with every other row of its batch), or its dead letter."""
        try:
            record = parsing.parse(line, fmt)
        except ValueError as exc:  # a forced format that does not exist
            return self._dead(message, "bad_format_header", str(exc))
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the stream
            return self._dead(message, "parser_error", _describe(exc))
        if not line.isascii() and not is_utf8(line):
            # Parsers decode with replacement characters; the flag tells users the body was
            # altered.
            record.flags.append("invalid_utf8")
        return record

    @staticmethod
    def _dead(message: Message, reason: str, detail: str) -> DeadLetter:
        return DeadLetter(
            reason=reason,
            detail=detail,
            raw=message.value,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            timestamp_ms=message.timestamp_ms,
        )


def load_hook(name: str) -> Hook:
    """Import "package.module:function"; a bad name stops start-up with a clear error."""
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise SettingsError(f"hook {name!r} (LOGWEIR_HOOKS) is not 'module:function'")
    try:
        hook = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise SettingsError(f"hook {name!r} (LOGWEIR_HOOKS) cannot be loaded: {exc}") from None
    if not callable(hook):
        raise SettingsError(f"hook {name!r} (LOGWEIR_HOOKS) is not callable")
    return hook  # type: ignore[no-any-return]


def _is_ndjson(value: bytes) -> bool:
    """Several lines, each a JSON object (checked by its brackets, parsed later)."""
    if b"\n" not in value or value[:1] != b"{":
        return False
    return all(
        line[:1] == b"{" and line[-1:] == b"}"
        for line in (ln.strip() for ln in value.split(b"\n"))
        if line
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
