"""The built-in enrichers: time, skew, retention, service, host, truncate, template.

Each has a record form and a column form (for the columnar prepare step); both make the same
rows, which tests/unit/ingest/test_columnar_identity.py checks over real-world input.
"""

from __future__ import annotations

from itertools import compress, count, repeat
from operator import mul, not_, sub

from pipeline.clickhouse import connect
from pipeline.enrich.miner import Miner
from pipeline.enrich.registry import Enrichment, enricher, enricher_from_settings
from pipeline.enrich.store import TemplateSync
from pipeline.enrich.templates import Templates
from pipeline.ingest._scan import extremes
from pipeline.ingest.message import Message
from pipeline.ops.retention import days_by_range
from pipeline.settings import Settings
from schemas.records import LogColumns, LogRecord

UNKNOWN_SERVICE = "unknown"

# DateTime64(9) ends in April 2262; a later time cannot be stored (the insert would fail).
MAX_TIMESTAMP_NS = 9_200_000_000_000_000_000


def fill_time_columns(rows: LogColumns) -> None:
    times, flags, kafka_ms = rows.timestamp_ns, rows.flags, rows.kafka_ms
    # The column forms first look at a whole column in C and go row by row only where a row
    # needs them: a Python loop costs a tenth of a microsecond per row.
    if not times:
        return
    earliest, latest = extremes(times)
    if earliest > 0 and latest <= MAX_TIMESTAMP_NS:
        return
    for i, ns in enumerate(times):
        if ns <= 0:
            times[i] = kafka_ms[i] * 1_000_000
            flags[i].append("time_missing")
        elif ns > MAX_TIMESTAMP_NS:
            rows.attributes[i]["logweir.time_out_of_range"] = str(ns)
            times[i] = kafka_ms[i] * 1_000_000
            flags[i].append("time_out_of_range")


@enricher("time", columns=fill_time_columns)
def fill_time(record: LogRecord, message: Message) -> None:
    """A record with no readable (or storable) time takes the Kafka message time, and says so."""
    if record.timestamp_ns <= 0:
        record.timestamp_ns = message.timestamp_ms * 1_000_000
        record.flags.append("time_missing")
    elif record.timestamp_ns > MAX_TIMESTAMP_NS:
        record.attributes["logweir.time_out_of_range"] = str(record.timestamp_ns)
        record.timestamp_ns = message.timestamp_ms * 1_000_000
        record.flags.append("time_out_of_range")


def within(times: list[int], kafka_ms: list[int], ahead_ns: int | None, behind_ns: int) -> bool:
    """Whether every row's time is at most `ahead_ns` after its Kafka time (None: any) and
    at most `behind_ns` before it, judged from the columns' extremes alone: a pass in C over
    each column, where the exact check makes two int objects per row. The usual batch passes;
    one that does not gets the exact check."""
    earliest, latest = extremes(times)
    kafka_earliest, kafka_latest = extremes(kafka_ms)
    if ahead_ns is not None and latest - kafka_earliest * 1_000_000 > ahead_ns:
        return False
    return kafka_latest * 1_000_000 - earliest <= behind_ns


@enricher_from_settings("skew")
def flag_skew(settings: Settings) -> Enrichment:
    """Flag (not change) event times far ahead of or behind the Kafka time."""
    future_ns = int(settings.max_future_skew_seconds * 1e9)
    past_ns = int(settings.max_past_skew_seconds * 1e9)

    def enrich(record: LogRecord, message: Message) -> None:
        skew = record.timestamp_ns - message.timestamp_ms * 1_000_000
        if skew > future_ns:
            record.flags.append("time_future")
        elif -skew > past_ns:
            record.flags.append("time_past")

    def enrich_columns(rows: LogColumns) -> None:
        flags, times, kafka_ms = rows.flags, rows.timestamp_ns, rows.kafka_ms
        if not times or within(times, kafka_ms, future_ns, past_ns):
            return
        skews = list(map(sub, times, map(mul, kafka_ms, repeat(1_000_000))))
        if max(skews) <= future_ns and -min(skews) <= past_ns:
            return
        for i, skew in enumerate(skews):
            if skew > future_ns:
                flags[i].append("time_future")
            elif -skew > past_ns:
                flags[i].append("time_past")

    return Enrichment(enrich, enrich_columns)


@enricher_from_settings("retention")
def keep_within_retention(settings: Settings) -> Enrichment:
    """A record older than its severity's retention would be deleted by the table's TTL on
    arrival, unseen: it is stored at the Kafka time instead, its own time kept as an attribute
    and the record flagged `time_expired`."""
    default_ns = settings.retention_days * 86_400 * 1_000_000_000
    by_severity = [
        (lo, hi, days * 86_400 * 1_000_000_000) for lo, hi, days in days_by_range(settings)
    ]

    def enrich(record: LogRecord, message: Message) -> None:
        kafka_ns = message.timestamp_ms * 1_000_000
        keep_ns = default_ns
        for lo, hi, days_ns in by_severity:
            if lo <= record.severity <= hi:
                keep_ns = days_ns
                break
        if record.timestamp_ns < kafka_ns - keep_ns:
            record.attributes["logweir.original_time_ns"] = str(record.timestamp_ns)
            record.timestamp_ns = kafka_ns
            record.flags.append("time_expired")

    shortest_ns = min([default_ns] + [days_ns for _, _, days_ns in by_severity])

    def enrich_columns(rows: LogColumns) -> None:
        times, severities, kafka_ms = rows.timestamp_ns, rows.severity, rows.kafka_ms
        # Within the shortest retention of Kafka time, no row is expired.
        if not times or within(times, kafka_ms, None, shortest_ns):
            return
        if min(map(sub, times, map(mul, kafka_ms, repeat(1_000_000)))) >= -shortest_ns:
            return
        for i, ns in enumerate(times):
            kafka_ns = kafka_ms[i] * 1_000_000
            keep_ns = default_ns
            for lo, hi, days_ns in by_severity:
                if lo <= severities[i] <= hi:
                    keep_ns = days_ns
                    break
            if ns < kafka_ns - keep_ns:
                rows.attributes[i]["logweir.original_time_ns"] = str(ns)
                times[i] = kafka_ns
                rows.flags[i].append("time_expired")

    return Enrichment(enrich, enrich_columns)


def fill_service_columns(rows: LogColumns) -> None:
    services, headers, keys = rows.service, rows.headers, rows.key
    some_headers = any(headers)  # the usual batch: no message has headers
    # A batch's keys are a few services' over and over: each decoded once, its rows sharing
    # the name (one string, not one a row).
    names: dict[bytes, str] = {}
    for i in compress(count(), map(not_, services)):  # the rows with no service
        header = headers[i].get("service") if some_headers else None
        if header:
            services[i] = header.decode("utf-8", "replace")
        elif key := keys[i]:
            name = names.get(key)
            if name is None:
                name = names[key] = key.decode("utf-8", "replace")
            services[i] = name
        else:
            services[i] = rows.topic_suffix[i] or UNKNOWN_SERVICE


@enricher("service", columns=fill_service_columns)
def fill_service(record: LogRecord, message: Message) -> None:
    """Service from the record, else the `service` header, the key, or `<raw topic>.<service>`."""
    if record.service:
        return
    header = message.headers.get("service")
    if header:
        record.service = header.decode("utf-8", "replace")
    elif message.key:
        record.service = message.key.decode("utf-8", "replace")
    elif message.topic_suffix:
        record.service = message.topic_suffix
    else:
        record.service = UNKNOWN_SERVICE


def fill_host_columns(rows: LogColumns) -> None:
    hosts = rows.host
    if not any(rows.headers):  # the usual batch: no message has headers
        return
    for i, host in enumerate(hosts):
        if not host:
            header = rows.headers[i].get("host")
            if header:
                hosts[i] = header.decode("utf-8", "replace")


@enricher("host", columns=fill_host_columns)
def fill_host(record: LogRecord, message: Message) -> None:
    """Host from the record, else the `host` header."""
    if not record.host:
        header = message.headers.get("host")
        if header:
            record.host = header.decode("utf-8", "replace")


@enricher_from_settings("truncate")
def truncate_body(settings: Settings) -> Enrichment:
    """Cut a body longer than max_body_bytes (UTF-8) at a character boundary, flagged with its
    size."""
    max_bytes = settings.max_body_bytes

    def enrich(record: LogRecord, _message: Message) -> None:
        # len(str) <= len(bytes): only strings that could be too long pay for the encode.
        if len(record.body) * 4 <= max_bytes:
            return
        encoded = record.body.encode("utf-8", "replace")
        if len(encoded) <= max_bytes:
            return
        record.body = encoded[:max_bytes].decode("utf-8", "ignore")
        record.flags.append("truncated")
        record.attributes["logweir.original_bytes"] = str(len(encoded))

    def enrich_columns(rows: LogColumns) -> None:
        bodies = rows.body
        if not bodies or max(map(len, bodies)) * 4 <= max_bytes:
            return
        for i, body in enumerate(bodies):
            if len(body) * 4 <= max_bytes:
                continue
            encoded = body.encode("utf-8", "replace")
            if len(encoded) <= max_bytes:
                continue
            bodies[i] = encoded[:max_bytes].decode("utf-8", "ignore")
            rows.flags[i].append("truncated")
            rows.attributes[i]["logweir.original_bytes"] = str(len(encoded))

    return Enrichment(enrich, enrich_columns)


@enricher_from_settings("template")
def template_enricher(settings: Settings) -> Enrichment:
    """TemplateId and template of the body: masked, then mined (see templates), with what is
    learnt shared with the other workers through ClickHouse (see store)."""
    mined = Templates(Miner(settings.template_similarity, settings.template_max_clusters))
    template_of = mined.template_of
    if not settings.template_sync_seconds:

        def enrich_alone(record: LogRecord, _message: Message) -> None:
            record.template_id, record.template = template_of(record.body, record.logger)

        def enrich_columns_alone(rows: LogColumns) -> None:
            rows.template_id, rows.template = mined.templates_of(rows.body, rows.logger)

        return Enrichment(enrich_alone, enrich_columns_alone)
    sync = TemplateSync(
        mined,
        lambda: connect(settings),
        settings.template_sync_seconds,
        settings.template_max_clusters,
    )

    def enrich(record: LogRecord, _message: Message) -> None:
        if sync.inbox is not None:
            sync.apply()
        record.template_id, record.template = template_of(record.body, record.logger)

    def enrich_columns(rows: LogColumns) -> None:
        # What other workers learnt is applied before the batch, as the record form applies
        # it before a row: the sync's thread leaves it at no particular row, so either is an
        # order the miner could have seen.
        if sync.inbox is not None:
            sync.apply()
        rows.template_id, rows.template = mined.templates_of(rows.body, rows.logger)

    return Enrichment(enrich, enrich_columns)
