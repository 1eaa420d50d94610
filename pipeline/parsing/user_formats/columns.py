"""Where a user format's groups go: columns (by `columns:`, else by the group's name) and
LogAttributes (every other group under its name, or the name `attributes:` gives it), except
the groups in `drop:`; each name checked against the pattern's groups.
"""

from __future__ import annotations

from typing import Any

from pipeline.parsing.user_formats import grok
from pipeline.parsing.user_formats.compiled import COLUMNS
from pipeline.parsing.user_formats.yaml_file import Reader, unknown

# A group named like this fills the column when `columns` does not say otherwise.
_DEFAULT_GROUPS = {column: (column,) for column in COLUMNS} | {"message": ("message", "body")}


def mapping(
    reader: Reader, here: tuple[str, ...], spec: dict[str, Any], groups: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Column → group and group → attribute name, checked against the pattern's groups."""
    known = list(dict.fromkeys(groups))
    listing = ", ".join(known)

    def group_named(path: tuple[str, ...], value: Any) -> str | None:
        if not isinstance(value, str):
            reader.problem(path, "must name a group of the pattern")
            return None
        if value not in known:
            reader.problem(
                path,
                f"the pattern has no group {value!r}{grok.suggest(value, known)} "
                f"(its groups: {listing})",
            )
            return None
        return value

    columns: dict[str, str] = {}
    given = spec.get("columns") or {}
    if not isinstance(given, dict):
        reader.problem((*here, "columns"), "must map columns to groups, e.g. {time: stamp}")
        given = {}
    for column, value in given.items():
        path = (*here, "columns", str(column))
        column = "message" if column == "body" else column
        if column not in COLUMNS:
            reader.problem(path, unknown("column", str(column), COLUMNS), at_key=True)
        elif (group := group_named(path, value)) is not None:
            columns[column] = group
    for column in COLUMNS:
        if column not in columns:
            for candidate in _DEFAULT_GROUPS[column]:
                if candidate in known:
                    columns[column] = candidate
                    break
    in_columns = set(columns.values())

    dropped: set[str] = set()
    drop = spec.get("drop") or []
    if isinstance(drop, str):
        drop = [drop]
    if not isinstance(drop, list):
        reader.problem((*here, "drop"), "must be a list of group names")
        drop = []
    for i, value in enumerate(drop):
        if (group := group_named((*here, "drop", str(i)), value)) is not None:
            dropped.add(group)

    renames = spec.get("attributes") or {}
    if not isinstance(renames, dict):
        reader.problem((*here, "attributes"), "must map attribute names to groups")
        renames = {}
    attributes = {group: group for group in known if group not in in_columns | dropped}
    for key, value in renames.items():
        path = (*here, "attributes", str(key))
        if not isinstance(key, str) or not grok.semantic_name(key):
            reader.problem(path, "an attribute name is letters, digits, `_`, `.`, `@` or `-`", True)
        elif (group := group_named(path, value)) is not None:
            if group in dropped:
                reader.problem(path, f"group {group!r} is also in drop")
            attributes[group] = key
    return columns, attributes
