"""A formats file read as YAML, the line and column of every key and value kept, so that each
problem found in it names its file, line, column and field; FormatsFileError lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import SettingsError
from pipeline.parsing.user_formats import grok


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a formats file: where, in which format and field, and what."""

    file: str
    line: int | None
    column: int | None
    where: str  # "formats.nginx_custom.pattern", "patterns.PG_TIME", "YAML"
    message: str

    def __str__(self) -> str:
        at = self.file
        if self.line is not None:
            at += f":{self.line}"
            if self.column is not None:
                at += f":{self.column}"
        return f"{at}: {self.where}: {self.message}"


class FormatsFileError(SettingsError):
    """A formats file that cannot be used; str() is one line, `problems` has them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = len(problems) - 1
        first = str(problems[0])
        if more:
            first += f" (and {more} more: `logweir formats check {problems[0].file}` lists them)"
        super().__init__(first)


class Reader:
    """A formats file being read: its values, the position of every value, the problems."""

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.problems: list[Problem] = []
        self.marks: dict[tuple[str, ...], tuple[int, int]] = {}  # where each value starts
        self.key_marks: dict[tuple[str, ...], tuple[int, int]] = {}  # where each key is

    def problem(self, path: tuple[str, ...], message: str, at_key: bool = False) -> None:
        """Record a problem at a value (or at its key: a name that is wrong)."""
        line, column = self._position(path, at_key)
        where = ".".join(path) if path else "file"
        self.problems.append(Problem(self.file, line, column, where, message))

    def unknown_keys(
        self, path: tuple[str, ...], given: Iterable[Any], known: Sequence[str], hint: str = ""
    ) -> None:
        """A problem at each key of `given` that is not one of `known`."""
        for key in given:
            if key not in known:
                self.problem((*path, str(key)), unknown("key", str(key), known, hint), at_key=True)

    def _position(self, path: tuple[str, ...], at_key: bool) -> tuple[int | None, int | None]:
        if at_key and path in self.key_marks:
            return self.key_marks[path]
        while path and path not in self.marks:
            path = path[:-1]
        found = self.marks.get(path)
        return found if found is not None else (None, None)

    def load(self, text: str) -> Any:
        import yaml  # at start-up only, and only with a formats file

        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            self._walk(node, ())
            return loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
            self.problems.append(Problem(self.file, line, column, "YAML", detail or str(exc)))
        except yaml.YAMLError as exc:
            self.problems.append(Problem(self.file, None, None, "YAML", str(exc)))
        finally:
            loader.dispose()
        return None

    def _walk(self, node: Any, path: tuple[str, ...]) -> None:
        import yaml

        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                here = (*path, key)
                at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in seen:
                    self.key_marks[here] = at
                    self.problem(
                        here, f"{key!r} is given twice (first on line {seen[key]})", at_key=True
                    )
                    continue
                self.key_marks[here] = at
                seen[key] = key_node.start_mark.line + 1
                self._walk(value_node, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, str(i)))


def unknown(what: str, name: str, known: Sequence[str], hint: str = "") -> str:
    """`unknown key (did you mean …?): one of a, b, c`; `hint` says what is known instead."""
    choices = hint or f"one of {', '.join(known)}"
    return f"unknown {what}{grok.suggest(name, list(known))}: {choices}"
