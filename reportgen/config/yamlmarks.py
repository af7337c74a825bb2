"""Load YAML safely while remembering where every key and value came from.

Config errors must point at ``file:line:column`` (the user fixes a file, not a Python object), so the
loader keeps a table from key path (``("kpis", 3, "id")``) to source position. Duplicate keys are
rejected: PyYAML silently keeps the last one, which hides typos like a second ``target:``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from reportgen.errors import ConfigError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a source file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class MarkedYaml:
    """Plain Python data plus where each node was written (key marks and value marks)."""

    data: Any
    key_marks: dict[KeyPath, Mark]
    value_marks: dict[KeyPath, Mark]
    file: str

    def mark(self, path: KeyPath) -> Mark:
        """Best position for a path: the key if it exists, else the value, else the nearest parent."""
        for length in range(len(path), -1, -1):
            sub = tuple(path[:length])
            if sub in self.key_marks:
                return self.key_marks[sub]
            if sub in self.value_marks:
                return self.value_marks[sub]
        return Mark(self.file, 1, 1)

    def value_mark(self, path: KeyPath) -> Mark:
        return self.value_marks.get(tuple(path)) or self.mark(path)


def _mark(node: yaml.Node, file: str) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, path: KeyPath, file: str, keys: dict[KeyPath, Mark], values: dict[KeyPath, Mark]) -> None:
    values[path] = _mark(node, file)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError(
                    f"{_mark(key_node, file)}: duplicate key {key!r} (first at line {seen[key].line}); "
                    "YAML would silently keep only the last one - remove or rename one of them"
                )
            seen[key] = _mark(key_node, file)
            keys[path + (key,)] = seen[key]
            _walk(value_node, path + (key,), file, keys, values)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            keys[path + (index,)] = _mark(item, file)
            _walk(item, path + (index,), file, keys, values)


MAX_CONFIG_BYTES = 1_000_000
"""A scorecard config is a few KB; a megabyte is a generated or hostile file."""
MAX_EXPANDED_NODES = 100_000
"""Nodes after aliases are expanded: a 300-byte "billion laughs" document expands to billions."""
MAX_DEPTH = 40
"""Nesting of mappings and lists: a config is about six levels deep; PyYAML composes a node by
recursion, so 20,000 nested ``[`` were a ``RecursionError``."""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting deeper than MAX_DEPTH as it composes (PyYAML's scanner and
    parser are iterative, its composer recursive: the depth is checked before any deep recursion)
    and turning a date that is not on the calendar (``2025-02-30``) into a marked YAML error."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep; a config is a few levels of "
                    "mappings and lists", self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> date:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a real calendar date ({exc}); write YYYY-MM-DD",
                node.start_mark) from None


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp)


def load_marked_yaml(text: str, file: str | Path) -> MarkedYaml:
    """Parse ``text`` with the safe loader and record marks. Syntax errors become ``ConfigError``.

    Size is checked before parsing and the alias-expanded size before anything is expanded (the
    composed node graph shares aliased nodes, so counting it is cheap), so an alias bomb fails in
    milliseconds with one line instead of filling memory.
    """
    file = str(file)
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file}: the config is {len(text):,} characters, over the limit of {MAX_CONFIG_BYTES:,}; "
                          "a scorecard config is a few KB - split it or remove generated content")
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is not None:
            _check_expanded_size(node, file)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark
        pos = f"{file}:{where.line + 1}:{where.column + 1}" if where else file
        raise ConfigError(f"{pos}: invalid YAML: {exc.problem}{_quote_hint(text, where)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: invalid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        if loader is not None:
            loader.dispose()
    keys: dict[KeyPath, Mark] = {}
    values: dict[KeyPath, Mark] = {}
    if node is not None:
        _walk(node, (), file, keys, values)
    return MarkedYaml(data if data is not None else {}, keys, values, file)


def _check_expanded_size(root: yaml.Node, file: str) -> None:
    """Count the nodes the document has once aliases are expanded, without expanding them."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise ConfigError(f"{_mark(node, file)}: an alias refers to the node that contains it; "
                              "a config cannot be recursive")
        in_progress.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise ConfigError(f"{_mark(node, file)}: with its aliases (*name) expanded the config has over "
                                  f"{MAX_EXPANDED_NODES:,} values; write the values out or use fewer aliases")
        in_progress.discard(key)
        sizes[key] = total
        return total

    size(root)


def _quote_hint(text: str, where: yaml.Mark | None) -> str:
    """A cron expression left unquoted (``schedule: 0 6 * * 1``) is a YAML error about ``*``; say so."""
    if where is None:
        return ""
    lines = text.splitlines()
    line = lines[where.line] if where.line < len(lines) else ""
    if "*" in line or "schedule" in line:
        return " - a cron expression must be quoted, e.g. schedule: '0 6 * * 1'"
    return ""
