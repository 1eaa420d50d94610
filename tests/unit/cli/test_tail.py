"""How `logweir tail` prints a row: text, coloured text on a terminal, JSON lines."""

from __future__ import annotations

import orjson

from pipeline.cli.tail import _coloured_line, _json_line, _text_line
from pipeline.query.tail import Row

ROW = Row(
    timestamp_ns=1_772_600_767_123_456_789,  # 2026-03-04T05:06:07.123456789Z
    service="checkout",
    severity_text="ERROR",
    severity_number=17,
    body="card declined \x1b[2J",
    template_id=42,
    trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    span_id="00f067aa0ba902b7",
    attributes={"user.id": "u1"},
    topic="logs.raw",
    partition=3,
    incarnation=0,
    offset=1200,
    event_index=0,
    table_partition="20260304",
)


def test_text_line():
    assert _text_line(ROW) == "2026-03-04T05:06:07.123Z ERROR checkout card declined \x1b[2J\n"


def test_coloured_line_colours_the_level_and_defuses_escapes_in_the_body():
    line = _coloured_line(ROW)
    assert "\x1b[31mERROR" in line  # red
    assert line.endswith("card declined \\x1b[2J\n")


def test_json_line_has_the_column_names_and_the_whole_time():
    d = orjson.loads(_json_line(ROW))
    assert d["Timestamp"] == "2026-03-04T05:06:07.123456789Z"
    assert (d["ServiceName"], d["SeverityNumber"], d["TemplateId"]) == ("checkout", 17, 42)
    assert (d["KafkaPartition"], d["KafkaOffset"], d["LogAttributes"]) == (
        3,
        1200,
        {"user.id": "u1"},
    )
    assert "table_partition" not in d and "TablePartition" not in d
