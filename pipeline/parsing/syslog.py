"""Syslog RFC 5424 (with structured data) and RFC 3164 (BSD), with or without the <PRI> part."""

from __future__ import annotations

import re

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
    r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ", re.ASCII
)
# HOSTNAME TAG[PID]: MSG, where the hostname is missing in what local programs send. Tags seen
# in the wild besides `tag`, `tag[pid]` and `tag(pam_unix)[pid]`: names with spaces before
# `[pid]` (macOS `Google Chrome Helper[123]`), `[pid]` followed by `(…)` (macOS
# `sandboxd[129] ([31211])`) and a version after the name (sysklogd's `syslogd 1.4.1`).
_TAGGED = re.compile(
    r"(?:([^\s:\[\]]+) )?"
    r"(?:([^\s:\[\]](?:[^:\[\]\n]*?[^\s:\[\]])?)\[([^\]\s]*)\](?: (\([^)\s]*\)))?"
    r"|([^\s:\[\]]+)(?: (v?\d[\w.-]*))?): ",
    re.ASCII,
)
_HOST = re.compile(r"[\w.-]+ ", re.ASCII)
# C daemons (sshd, postfix, …) start a message with its level: `error: …`, `fatal: …`.
_LEVEL_PREFIX = re.compile(
    r"(?i:(error|fatal|warning|warn|notice|info|debug|crit|critical|alert|emerg|panic)): ",
    re.ASCII,
)

NAME = "syslog"
# `<PRI>…`; without PRI an RFC 3339 (after the formats that start with a date) or an RFC 3164
# time (`Mmm dd`, initials of the month names).
DETECT = (
    Claim(b"<", rank=10),
    Claim(DIGITS, rank=40, guard=timestamps.leads_with_iso_date),
    # Without PRI, a line that starts with a letter is syslog only from an RFC 3164 time on:
    # the time's pattern over bytes (no Python frame) keeps other words from the parser.
    Claim(
        bytes({name.encode()[0] for name in timestamps.MONTHS}),
        rank=40,
        guard=re.compile(_BSD_STAMP.pattern.encode(), re.ASCII).match,
    ),
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
    month_first = text[pos : pos + 1].isalpha()
    stamped = _bsd_time(text, pos)
    if stamped is None:
        return None
    ns, pos = stamped
    record = _record(pri, "rfc3164")
    record.timestamp_ns = ns
    if not tagged(record, text, pos) and pri is None:
        # Without <PRI> and tag, an RFC 3164 time and a host name (`Jul  1 09:04:37 mbp ---
        # last message repeated 2 times ---`) still make a syslog line; an ISO time and a
        # word could be anything (text reads its time and level).
        host = _HOST.match(text, pos) if month_first else None
        if host is None:
            return None
        record.host = host.group()[:-1]
        record.body = text[host.end() :]
    if pri is None:
        sniff_level(record)
    return record


def tagged(record: LogRecord, text: str, pos: int) -> bool:
    """Host, tag, pid and body from `HOSTNAME TAG[PID]: MSG` at pos; False if not that shape
    (then the body is what follows pos, the first word taken as the host)."""
    m = _TAGGED.match(text, pos)
    if m is None:
        host, _, record.body = text[pos:].partition(" ")
        record.host = host
        return False
    host, tag, procid, detail, plain_tag, version = m.groups()
    record.body = text[m.end() :]
    record.host = host or ""
    record.service = tag or plain_tag
    attributes = record.attributes
    if procid:
        attributes["process.pid" if procid.isdigit() else "syslog.procid"] = procid
    if detail:
        attributes["syslog.tag_detail"] = detail[1:-1]
    if version:
        attributes["service.version"] = version
    return True


def sniff_level(record: LogRecord) -> None:
    """A level for a line without <PRI>: the message's leading `error: ` or the like, else an
    upper-case level word near its start."""
    m = _LEVEL_PREFIX.match(record.body)
    record.level = m.group(1) if m is not None else plain.sniff_level(record.body[:256])
    record.severity = severity.from_level(record.level)


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
    ns = timestamps.to_ns(timestamps.yearless(month_name, day, hour, minute, second), fraction)
    return None if ns is None else (ns, m.end())


def _record(pri: int | None, protocol: str) -> LogRecord:
    record = LogRecord(body="", format=NAME, attributes={"syslog.protocol": protocol})
    if pri is not None:
        facility, level = divmod(pri, 8)
        record.level = severity.SYSLOG_LEVELS[level]
        record.severity = severity.from_level(level)
        record.attributes["syslog.facility"] = FACILITIES[facility]
    return record
