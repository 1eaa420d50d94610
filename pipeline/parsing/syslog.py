"""Syslog RFC 5424 (with structured data) and RFC 3164 (BSD), with or without the <PRI> part."""

from __future__ import annotations

import re
import time

from pipeline.parsing import severity, timestamps
from pipeline.parsing import text as plain
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

FACILITIES = (
    *("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron"),
    *("authpriv", "ftp", "ntp", "security", "console", "solaris-cron"),
    *(f"local{n}" for n in range(8)),
)

_PRI = re.compile(r"<(\d{1,3})>", re.ASCII)
# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, then STRUCTURED-DATA and MSG.
_HEADER_5424 = re.compile(r"1 (\S+) (\S+) (\S+) (\S+) (\S+) ", re.ASCII)
_SD_ELEMENT = re.compile(r'\[([^\s\]="]+)((?: [^\s\]="]+="[^"\\]*(?:\\.[^"\\]*)*")*) ?\]', re.ASCII)
_SD_PARAM = re.compile(r'([^\s\]="]+)="([^"\\]*(?:\\.[^"\\]*)*)"', re.ASCII)
_SD_ESCAPE = re.compile(r'\\(["\\\]])')
# Mmm dd hh:mm:ss (day space-padded); rsyslog's high-precision template writes RFC 3339.
_BSD_STAMP = re.compile(
    r"([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ", re.ASCII
)
# HOSTNAME TAG[PID]: MSG, where the hostname is missing in what local programs send.
_TAGGED = re.compile(r"(?:([^\s:\[\]]+) )?([^\s:\[\]]+)(?:\[([^\]\s]*)\])?: ", re.ASCII)

NAME = "syslog"
# `<PRI>…`; without PRI an RFC 3339 (after the formats that start with a date) or an RFC 3164
# time (`Mmm dd`, initials of the month names).
DETECT = (
    Claim(b"<", rank=10),
    Claim(DIGITS, rank=40, guard=timestamps.leads_with_iso_date),
    Claim(bytes({name.encode()[0] for name in timestamps.MONTHS}), rank=40),
)


def parse(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    pri = _PRI.match(text)
    if pri is None:
        return _bsd(text, None, 0)
    value = int(pri.group(1))
    if value > 191:
        return None
    if text.startswith("1 ", pri.end()):
        return _rfc5424(text, value, pri.end())
    return _bsd(text, value, pri.end())


def _rfc5424(text: str, pri: int, pos: int) -> LogRecord | None:
    m = _HEADER_5424.match(text, pos)
    if m is None:
        return None
    stamp, host, app, procid, msgid = m.groups()
    record = _record(pri, "rfc5424")
    if stamp != "-":
        ns = timestamps.from_iso(stamp)
        if ns is None:
            return None
        record.timestamp_ns = ns
    record.host = "" if host == "-" else host
    record.service = "" if app == "-" else app
    attributes = record.attributes
    if procid != "-":
        attributes["process.pid" if procid.isdigit() else "syslog.procid"] = procid
    if msgid != "-":
        attributes["syslog.msgid"] = msgid
    pos = m.end()
    if text.startswith("-", pos):
        pos += 1
    else:
        start = pos
        while (element := _SD_ELEMENT.match(text, pos)) is not None:
            sd_id = element.group(1)
            for name, value in _SD_PARAM.findall(element.group(2)):
                if "\\" in value:
                    value = _SD_ESCAPE.sub(r"\1", value)
                attributes[f"syslog.sd.{sd_id}.{name}"] = value
            pos = element.end()
        if pos == start:
            return None
    message = text[pos + 1 :] if text.startswith(" ", pos) else text[pos:]
    # RFC 5424 marks UTF-8 messages with a BOM.
    record.body = message[1:] if message[:1] == "\ufeff" else message
    return record


def _bsd(text: str, pri: int | None, pos: int) -> LogRecord | None:
    stamped = _bsd_time(text, pos)
    if stamped is None:
        return None
    ns, pos = stamped
    tagged = _TAGGED.match(text, pos)
    if tagged is None and pri is None:
        return None  # without <PRI>, only `host tag[pid]: msg` is clearly syslog
    record = _record(pri, "rfc3164")
    record.timestamp_ns = ns
    if tagged is None:
        host, _, record.body = text[pos:].partition(" ")
        record.host = host
        return record
    host, tag, procid = tagged.groups()
    record.body = text[tagged.end() :]
    record.host = host or ""
    record.service = tag
    if procid:
        record.attributes["process.pid" if procid.isdigit() else "syslog.procid"] = procid
    if pri is None:
        record.level = plain.sniff_level(record.body[:256])
        record.severity = severity.from_level(record.level)
    return record


def _bsd_time(text: str, pos: int) -> tuple[int, int] | None:
    """UTC ns and the position after the time and its space."""
    m = _BSD_STAMP.match(text, pos)
    if m is None:
        iso = timestamps.LEADING_ISO.match(text, pos)
        if iso is None:
            return None
        end = iso.end()
        # The ISO pattern takes a following space itself when no zone follows it.
        if text[end - 1 : end] != " ":
            if text[end : end + 1] != " ":
                return None
            end += 1
        ns = timestamps.from_iso_match(iso)
        return None if ns is None else (ns, end)
    month_name, day, hour, minute, second, fraction = m.groups()
    month = timestamps.MONTHS.get(month_name)
    if month is None:
        return None
    # No year in the line: the one that puts it closest to now.
    seconds = timestamps.nearest_year(
        month, int(day), int(hour), int(minute), int(second), time.time()
    )
    ns = timestamps.to_ns(seconds, fraction)
    return None if ns is None else (ns, m.end())


def _record(pri: int | None, protocol: str) -> LogRecord:
    record = LogRecord(body="", format=NAME, attributes={"syslog.protocol": protocol})
    if pri is not None:
        facility, level = divmod(pri, 8)
        record.level = severity.SYSLOG_LEVELS[level]
        record.severity = severity.from_level(level)
        record.attributes["syslog.facility"] = FACILITIES[facility]
    return record
