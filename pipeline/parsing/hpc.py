"""LANL HPC cluster event logs: `logid node component state epoch flag message`."""

from __future__ import annotations

import re

from pipeline.parsing import header, timestamps
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

NAME = "hpc"

# `134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: …`
_LEAD = rb"\d{1,12} [^ ]{1,64} [^ ]{1,64} [^ ]{1,64} \d{9,10} \d{1,3} "
_LINE = re.compile(
    r"(\d{1,12}) (\S{1,64}) (\S{1,64}) (\S{1,64}) (\d{9,10}) (\d{1,3}) (.*)", re.ASCII | re.DOTALL
)

# Last among the formats of lines starting with a digit: its guard is the dearest of them.
DETECT = (Claim(DIGITS, rank=60, guard=re.compile(_LEAD, re.ASCII).match),)


def parse(line: bytes) -> LogRecord | None:
    m = _LINE.match(line.decode("utf-8", "replace"))
    if m is None:
        return None
    log_id, node, component, state, epoch, flag, message = m.groups()
    ns = timestamps.to_ns(int(epoch))
    if ns is None:
        return None
    attributes = {"hpc.log_id": log_id, "hpc.state": state, "hpc.flag": flag}
    return header.record(NAME, ns, "", message, component, attributes, host=node)
