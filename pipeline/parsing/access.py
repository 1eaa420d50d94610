"""Apache/Nginx access logs (common, combined, + request time) with OTel HTTP attribute names."""

from __future__ import annotations

import re
from functools import lru_cache

import ua_parser

from pipeline.parsing import _access as compiled
from pipeline.parsing import header, timestamps
from pipeline.parsing.registry import Claim, Parsed, every_byte_but
from schemas.records import LogRecord, Severity

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
# host ident authuser [time] "request" status bytes, then optionally (combined) "referer"
# "user-agent", nginx's "$http_x_forwarded_for", and a request time: nginx $request_time
# (seconds, always with a dot) or Apache %D (integer microseconds). Anything after that is
# kept in `access.extra` rather than rejecting the line.
_LINE = re.compile(
    rf"(\S+) (\S+) (\S+) \[([^\]]+)\] {_QUOTED} (\d{{3}}|-) (\d+|-)"
    rf"(?: {_QUOTED} {_QUOTED}(?: {_QUOTED})?)?"
    r"(?: (\d{1,15}(?:\.\d{1,9})?))?(?: (.*))?$",
    re.ASCII | re.DOTALL,
)
_TIME = re.compile(
    r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-]\d{4})$",
    re.ASCII,
)
_UNESCAPE = re.compile(r"\\([\"\\])")
# Longer user agents are rare and mostly hostile: not worth a regex pass and a cache slot.
_MAX_AGENT = 512

_SEVERITY_BY_CLASS = {"5": Severity.ERROR, "4": Severity.WARN}
# Built at import (~0.1 s, at worker start-up), not inside the first batch with an access log.
_AGENTS = ua_parser.parser

NAME = "access"
# Detection's look at the start: `client - ` (a client of at most 63 bytes: the longest IPv6
# address is 45, hostnames in access logs are rarely longer) and a `[` within 80 bytes of the
# space, as the regex rb"[^ ]{1,63} - (?=[^\[]{0,76}\[)" matches it. In C: tried on nearly
# every line that is not JSON, the regex's call and match object were 2% of a worker's time.
# Not offered lines that look like JSON, syslog with PRI or a bracketed header.
DETECT = (Claim(every_byte_but(b"{<["), rank=10, guard=compiled.client_dash_bracket),)


def parse(line: bytes) -> LogRecord | None:
    parsed = _fields(line)
    if parsed is None:
        return None
    ns, severity, body, attributes = parsed
    # An access line has no message of its own: the body is the line, as OTel's filelog
    # receiver keeps it, and everything above is also in attributes for queries.
    return LogRecord(
        body=body, format=NAME, timestamp_ns=ns, severity=severity, attributes=attributes
    )


def parse_group(lines: list[bytes]) -> list[Parsed | None]:
    """`parse` of each line, as fields (see registry.Parsed): in C (_access.c) but for the
    lines it leaves to `_fields` (not ASCII)."""
    out, unsure = compiled.fields_group(lines)
    for i in unsure:
        parsed = _fields(lines[i])
        if parsed is not None:
            ns, severity, body, attributes = parsed
            out[i] = (ns, severity, "", "", "", "", "", "", body, attributes, [])
    return out


def _fields(line: bytes) -> tuple[int, Severity, str, dict[str, str]] | None:
    """Time, severity, body and attributes of an access line, or None."""
    m = header.match(_LINE, line)
    if m is None:
        return None
    client, ident, user, when, request, status, size = m.group(1, 2, 3, 4, 5, 6, 7)
    referer, agent, forwarded, duration, extra = m.group(8, 9, 10, 11, 12)
    ns = _time_ns(when)
    if ns is None:
        return None
    attributes = {"client.address": client}
    if ident != "-":
        attributes["access.ident"] = ident
    if user != "-":
        attributes["user.name"] = user
    if "\\" in request:
        request = _UNESCAPE.sub(r"\1", request)
    if request and request != "-":
        add_request(request, attributes)
    if status != "-":
        attributes["http.response.status_code"] = status
    attributes["http.response.body.size"] = "0" if size == "-" else size
    if referer and referer != "-":
        attributes["http.request.header.referer"] = referer
    if agent and agent != "-":
        if "\\" in agent:
            agent = _UNESCAPE.sub(r"\1", agent)
        attributes["user_agent.original"] = agent
        if len(agent) <= _MAX_AGENT:
            attributes.update(user_agent(agent))
    if forwarded and forwarded != "-":
        attributes["http.request.header.x-forwarded-for"] = forwarded
    if duration:
        seconds = duration if "." in duration else str(int(duration) / 1_000_000)
        attributes["http.server.request.duration"] = seconds
    if extra:
        attributes["access.extra"] = extra
    return ns, _SEVERITY_BY_CLASS.get(status[0], Severity.INFO), m.string, attributes


def add_request(request: str, attributes: dict[str, str]) -> None:
    """`GET /a?b HTTP/1.1` → method, url.path, url.query, protocol; anything else url.original."""
    method, _, rest = request.partition(" ")
    target, _, protocol = rest.partition(" ")
    if method and target and protocol.startswith("HTTP/"):
        attributes["http.request.method"] = method
        path, question, query = target.partition("?")
        attributes["url.path"] = path
        if question:
            attributes["url.query"] = query
        attributes["network.protocol.name"] = "http"
        attributes["network.protocol.version"] = protocol[5:]
    else:
        # Scanners send garbage or bare paths: keep them whole rather than guess.
        attributes["url.original"] = request


@lru_cache(maxsize=4096)
def _time_ns(when: str) -> int | None:
    """`10/Oct/2000:13:55:36 -0700` → UTC ns; cached since a busy server logs each second often."""
    m = _TIME.match(when)
    if m is None:
        return None
    day, month_name, year, hour, minute, second, fraction, zone = m.groups()
    month = timestamps.MONTHS.get(month_name)
    offset = timestamps.zone_offset(zone)
    if month is None or offset is None:
        return None
    seconds = timestamps.civil_seconds(
        int(year), month, int(day), int(hour), int(minute), int(second)
    )
    return timestamps.to_ns(seconds, fraction, offset)


@lru_cache(maxsize=4096)
def user_agent(agent: str) -> tuple[tuple[str, str], ...]:
    """OTel/ECS user_agent.* attributes from ua-parser; cached because the same agents repeat."""
    result = _AGENTS.parse(agent)
    found: list[tuple[str, str]] = []
    if result.user_agent is not None:
        ua = result.user_agent
        found.append(("user_agent.name", ua.family))
        if ua.major:
            found.append(("user_agent.version", _version(ua.major, ua.minor, ua.patch)))
    os = result.os
    if os is not None:
        found.append(("user_agent.os.name", os.family))
        if os.major:
            found.append(("user_agent.os.version", _version(os.major, os.minor, os.patch)))
    if result.device is not None:
        found.append(("user_agent.device.name", result.device.family))
        if result.device.family == "Spider":  # ua-parser's family for crawlers
            found.append(("user_agent.synthetic.type", "bot"))
    return tuple(found)


def _version(*parts: str | None) -> str:
    return ".".join(p for p in parts if p)


# The C form's rules that are this module's: the time and the user agent (cached here), the
# severities, the longest agent read.
compiled.configure(
    time_ns=_time_ns,
    user_agent=user_agent,
    info=Severity.INFO,
    warn=Severity.WARN,
    error=Severity.ERROR,
    max_agent=_MAX_AGENT,
)
