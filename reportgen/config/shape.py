"""The first validation pass, shape (pydantic), made to report every problem and still let the others run.

Pydantic stops at the model: with one wrong value nothing is built, so the meaning, file and
delivery checks used to wait for a second run (and a third). Here every shape error becomes an
:class:`Issue` (file:line:column, the key path, what was found, the nearest valid key), and the nodes
it names are set aside until the rest validates: that partial config is what the other checks read.
Its list indices differ where an item was set aside, so it comes with marks moved to its own indices
and a map back to the file's (:class:`Pruned`).
"""
from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reportgen.config.issues import Issue, closest
from reportgen.config.models import Config, LoadedConfig, dotted_path
from reportgen.config.yamlmarks import KeyPath, Mark, MarkedYaml

_PARTIAL: weakref.WeakKeyDictionary[LoadedConfig, Pruned] = weakref.WeakKeyDictionary()
"""Configs loaded with shape errors (for checking only), with what was set aside."""

MAX_ROUNDS = 8
"""Setting a wrong node aside may uncover a missing key in its parent: a few rounds settle any config."""
_GONE = object()


@dataclass
class Pruned:
    """The config that remains once the wrong nodes are set aside, its marks, and its list indices' origin."""

    config: Config | None
    marks: MarkedYaml
    origin: dict[KeyPath, list[int]] = field(default_factory=dict)
    """For a list (by its path in the partial config): the file's index of each item kept."""
    aside: dict[KeyPath, Any] = field(default_factory=dict)
    """The nodes set aside, by their key path in the file, with what the file had there."""

    def names_aside(self, section: str) -> set[str]:
        """Names whole entries of ``section`` had before they were set aside: datasets or audiences by
        their key, KPIs by their id. A check must not call a name unknown because its entry had a shape error."""
        names = set()
        for path, value in self.aside.items():
            if len(path) != 2 or path[0] != section:
                continue
            if isinstance(path[1], str):
                names.add(path[1])
            elif isinstance(value, str):
                names.add(value)  # a KPI written as its bare id
            elif isinstance(value, dict) and isinstance(value.get("id"), str):
                names.add(value["id"])
        return names

    def original(self, key: KeyPath) -> KeyPath:
        """The key path in the file of a key path in the partial config."""
        return _file_loc(key, self.origin)


def validate_shape(marked: MarkedYaml) -> tuple[Pruned, list[Issue]]:
    """``Config`` from the marked data with every shape issue; the config is partial when there are issues.

    Setting a node aside can uncover more: a dataset's own check runs only once its fields validate,
    so later rounds report what they find too, except a key missing because it was the one set aside."""
    try:
        return Pruned(Config.model_validate(marked.data), marked), []
    except ValidationError as exc:
        errors = exc.errors()
    issues: list[Issue] = []
    data = copy.deepcopy(marked.data)
    origin: dict[KeyPath, list[int]] = {}
    aside: dict[KeyPath, Any] = {}
    for _ in range(MAX_ROUNDS):
        found = [(err, _file_loc(tuple(err["loc"]), origin)) for err in errors]
        issues += shape_issues([(err, loc) for err, loc in found
                                if not (err["type"] == "missing" and loc in aside)], marked)
        for err, loc in found:
            if not _set_aside(data, loc, err["type"], aside):
                return Pruned(None, marked), issues
        kept, origin = _without_gone(data)
        try:
            config = Config.model_validate(kept)
        except ValidationError as exc:
            errors = exc.errors()
            continue
        return Pruned(config, _moved_marks(marked, kept, origin), origin, aside), issues
    return Pruned(None, marked), issues


def _file_loc(loc: KeyPath, origin: dict[KeyPath, list[int]]) -> KeyPath:
    """``loc`` in the partial config -> the same node's key path in the file (list indices mapped back)."""
    out: list[str | int] = []
    for n, part in enumerate(loc):
        kept = origin.get(tuple(loc[:n]))
        out.append(kept[part] if isinstance(part, int) and kept is not None and part < len(kept) else part)
    return tuple(out)


def _set_aside(data: Any, loc: KeyPath, kind: str, aside: dict[KeyPath, Any]) -> bool:
    """Mark the node an error names as gone (its parent when a key is missing); False if that is the root."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node and node[part] is not _GONE:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node) and node[part] is not _GONE:
            node = node[part]
        else:
            break
        path.append(part)
    if kind == "missing" and len(path) == len(loc):  # the key is there (a bare form the model rewrites)
        path.pop()
    if not path:
        return False
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    aside[tuple(path)] = parent[path[-1]]
    parent[path[-1]] = _GONE
    return True


def _without_gone(data: Any) -> tuple[Any, dict[KeyPath, list[int]]]:
    """The data without the nodes set aside, and for every list the original index of each item kept."""
    origin: dict[KeyPath, list[int]] = {}

    def walk(node: Any, path: KeyPath) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, path + (k,)) for k, v in node.items() if v is not _GONE}
        if isinstance(node, list):
            kept = [i for i, v in enumerate(node) if v is not _GONE]
            if len(kept) != len(node):
                origin[path] = kept
            return [walk(node[i], path + (n,)) for n, i in enumerate(kept)]
        return node

    return walk(data, ()), origin


def _moved_marks(marked: MarkedYaml, kept: Any, origin: dict[KeyPath, list[int]]) -> MarkedYaml:
    """The file's marks re-keyed by the partial config's list indices (so its issues point at the right line)."""
    if not origin:
        return marked
    pruned = Pruned(None, marked, origin)
    lookup: dict[KeyPath, KeyPath] = {}

    def walk(node: Any, path: KeyPath) -> None:
        lookup[path] = pruned.original(path)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in children:
            walk(v, path + (k,))

    walk(kept, ())

    def moved(table: dict[KeyPath, Mark]) -> dict[KeyPath, Mark]:
        return {new: table[old] for new, old in lookup.items() if old in table}

    return MarkedYaml(kept, moved(marked.key_marks), moved(marked.value_marks), marked.file)


def _model_at(loc: KeyPath, model: type[BaseModel] = Config) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` (to suggest its field names)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = current.model_fields.get(str(part))
            if found is None:
                # a dict of models: the key is a user name (dataset or audience), keep the value type
                continue
            current = _inner_model(found.annotation)
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """Find the BaseModel inside list[...], dict[str, ...], X | None annotations."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def shape_issues(errors: list[tuple[ErrorDetails, KeyPath]], marked: MarkedYaml) -> list[Issue]:
    """Pydantic's errors (each with its key path in the file) as issues pointing at file:line:column with the
    key path and a did-you-mean."""
    issues = []
    for err, loc in errors:
        # an unknown key is pointed at by its key; a wrong value by the value itself
        where = marked.mark(loc) if err["type"] in ("extra_forbidden", "missing") else marked.value_mark(loc)
        if isinstance(err.get("input"), dict):  # a model-level check naming one of the mapping's keys
            named = [k for k in err["input"] if f".{k} " in err["msg"] or f"'{k}'" in err["msg"]]
            if named:
                where = marked.mark(loc + (named[0],))
        dotted = dotted_path(loc)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            parent = _model_at(loc[:-1])
            valid = sorted(parent.model_fields) if parent else []
            near = closest(key, valid)
            hint = f"did you mean {near!r}?" if near else ""
            if key == "password" and "password_env" in valid:
                hint = "a password is never written in the config; name an environment variable in password_env"
            elif not hint and valid:
                hint = f"(valid keys: {', '.join(valid)})"
            issues.append(Issue("error", where, loc, f"unknown key {key!r} in {dotted_path(loc[:-1]) or 'the config'}",
                                hint))
        elif err["type"] == "missing":
            issues.append(Issue("error", where, loc, f"{dotted}: required key missing"))
        else:
            found = err.get("input")
            shown = found.isoformat() if isinstance(found, date) else repr(found)  # 9999-12-31, not date(...)
            found_text = f"; found {shown}" if not isinstance(found, (dict, list)) else ""
            message = err["msg"].removeprefix("Value error, ")
            issues.append(Issue("error", where, loc, f"{dotted}: {message}{found_text}"))
    return issues


def remember(loaded: LoadedConfig, pruned: Pruned) -> None:
    """Keep what was set aside of ``loaded`` (a partial config) for the checks that read it."""
    if pruned.origin or pruned.aside:
        _PARTIAL[loaded] = pruned


def original_key(loaded: LoadedConfig, key: KeyPath) -> KeyPath:
    """The key path in the file of a key path in ``loaded`` (they differ only in a partial config)."""
    pruned = _PARTIAL.get(loaded)
    return pruned.original(key) if pruned is not None else key


def names_set_aside(loaded: LoadedConfig, section: str) -> set[str]:
    """Names of ``section``'s entries set aside for a shape error (see :meth:`Pruned.names_aside`)."""
    pruned = _PARTIAL.get(loaded)
    return pruned.names_aside(section) if pruned is not None else set()
