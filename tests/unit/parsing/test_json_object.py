"""JSON objects: aliases to fields, nesting to dotted attributes, anything else left to text."""

from __future__ import annotations

from pipeline.parsing import json_object, parse


def test_invalid_json_falls_back_to_text_with_a_flag():
    record = parse(b'{"level": "error", oops}')
    assert record.format == "text" and "json_invalid" in record.flags


def test_attributes_are_capped():
    line = ("{" + ",".join(f'"k{i}": {i}' for i in range(1000)) + "}").encode()
    record = json_object.parse(line)
    assert record is not None
    assert len(record.attributes) == 256 and "attributes_capped" in record.flags


def test_flatten_keeps_lists_and_empty_objects_as_values():
    assert json_object.flatten({"a": {"b": {"c": 1}}, "d": [1], "e": {}}) == {
        "a.b.c": 1,
        "d": [1],
        "e": {},
    }
