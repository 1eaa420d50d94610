"""From one raw Kafka message to a stored-ready LogRecord or a DeadLetter; never raises."""

from __future__ import annotations

from pipeline import enrichment, parsing
from pipeline.message import Message
from pipeline.settings import Settings
from schemas.records import DeadLetter, LogRecord


class Ingestor:
    """Parses and enriches messages; any failure becomes a DeadLetter with the reason."""

    def __init__(self, settings: Settings) -> None:
        self._max_body_bytes = settings.max_body_bytes
        self._raw_topic_prefix = f"{settings.topic_raw}."

    def message(
        self,
        topic: str,
        partition: int,
        offset: int,
        timestamp_ms: int,
        value: bytes | None,
        key: bytes | None,
        headers: object,
    ) -> Message:
        """A Message from client-level fields (headers as a mapping or (name, value) pairs)."""
        items = headers.items() if isinstance(headers, dict) else (headers or ())
        return Message(
            topic=topic,
            partition=partition,
            offset=offset,
            timestamp_ms=timestamp_ms,
            value=value or b"",
            key=key,
            headers={str(k): bytes(v or b"") for k, v in items},
            topic_suffix=topic.removeprefix(self._raw_topic_prefix)
            if topic.startswith(self._raw_topic_prefix)
            else "",
        )

    def process(self, message: Message) -> LogRecord | DeadLetter:
        line = message.value.strip()
        if not line:
            return self._dead(message, "empty", "the message has no content")
        forced = message.headers.get("format")
        try:
            record = parsing.parse(line, forced.decode("ascii", "replace") if forced else None)
            if not line.isascii():
                _flag_invalid_utf8(record, line)
            enrichment.fill_time(record, message)
            enrichment.fill_service(record, message)
            enrichment.truncate_body(record, self._max_body_bytes)
            enrichment.fill_template(record)
        except ValueError as exc:  # a forced format that does not exist
            return self._dead(message, "bad_format_header", str(exc))
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the stream
            return self._dead(message, "parser_error", f"{type(exc).__name__}: {exc}"[:500])
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


def _flag_invalid_utf8(record: LogRecord, line: bytes) -> None:
    # Parsers decode with replacement characters; the flag tells users the body was altered.
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        record.flags.append("invalid_utf8")
