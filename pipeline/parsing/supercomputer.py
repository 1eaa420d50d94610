"""Supercomputer system logs as published by Sandia and LLNL (Blue Gene/L RAS, Thunderbird,
Spirit, Liberty): an alert category (`-` for none), the epoch, the date and the node, then a
Blue Gene/L RAS record or a syslog line."""

from __future__ import annotations

import re

from pipeline.parsing import header, syslog, timestamps
from pipeline.parsing.registry import UPPER, Claim
from schemas.records import LogRecord

NAME = "supercomputer"

# `- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 ` / `KERNDTLB 1118536327 2005.06.11 NULL `
_LEAD = rb"[-A-Z_]{1,16} \d{9,10} \d{4}\.\d\d\.\d\d \S"
_HEAD = re.compile(r"([-A-Z_]{1,16}) (\d{9,10}) \d{4}\.\d\d\.\d\d (\S+) ", re.ASCII)
# Blue Gene/L: `2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO msg` (the stamp
# is the site's local time: only its fraction is taken, the epoch says the instant)
_RAS = re.compile(
    r"\d{4}-\d\d-\d\d-\d\d\.\d\d\.(\d\d)\.(\d{1,9}) (\S+) (\S+) (\S+) ([A-Za-z]+) (.*)",
    re.ASCII | re.DOTALL,
)
# Thunderbird & co.: `Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: msg` (local time too)
_SYSLOG_TIME = re.compile(r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:(\d\d) ", re.ASCII)

DETECT = (Claim(b"-" + UPPER + b"_", rank=15, guard=re.compile(_LEAD, re.ASCII).match),)


def parse(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    m = _HEAD.match(text)
    if m is None:
        return None
    alert, epoch, node = m.groups()
    seconds = int(epoch)
    ns = timestamps.to_ns(seconds)
    if ns is None:
        return None
    pos = m.end()
    attributes: dict[str, str] = {}
    if alert != "-":
        attributes["supercomputer.alert"] = alert
    ras = _RAS.match(text, pos)
    if ras is not None:
        second, fraction, _location, kind, component, level, message = ras.groups()
        if int(second) == seconds % 60:
            ns += int(fraction[:9].ljust(9, "0"))
        attributes["supercomputer.event_type"] = kind
        return header.record(NAME, ns, level, message, component, attributes, host=node)
    record = LogRecord(body="", format=NAME, timestamp_ns=ns, attributes=attributes)
    stamp = _SYSLOG_TIME.match(text, pos)
    if stamp is not None:
        syslog.tagged(record, text, stamp.end())
        if record.host and record.host != node:
            attributes["supercomputer.location"] = record.host
    else:
        record.body = text[pos:]
    record.host = node
    syslog.sniff_level(record)
    return record
