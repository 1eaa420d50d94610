"""Key/value objects to fields: aliases by rank, nulls, times."""

from __future__ import annotations

from pipeline.parsing import fields


def test_a_null_alias_fills_no_field_and_stays_an_attribute():
    line = b"{}"
    with_value = fields.to_fields({"msg": "a", "message": "b", "level": "warn"}, line)
    with_null = fields.to_fields({"msg": "a", "message": None, "level": "warn"}, line)
    assert with_value[8] == "b" and with_value[9] == {"msg": "a"}
    assert with_null[8] == "a" and with_null[9] == {"message": ""}


def test_a_time_with_a_fraction_and_an_offset():
    line = b"{}"
    parsed = fields.to_fields({"time": "2026-11-30T01:02:03.5+01:00"}, line)
    assert parsed[0] == 1_795_996_923_500_000_000  # 2026-11-30T00:02:03.5Z
