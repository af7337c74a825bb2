"""Loading a config file: marked YAML -> shape (pydantic) -> meaning, every problem in one run.

Shape errors do not hide meaning errors: :mod:`reportgen.config.shape` sets the wrong nodes aside and
the meaning checks read the rest, so a config with five problems reports five lines, each at
file:line:column with the key path, what was found and the nearest valid name.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reportgen.config.issues import Issue, in_file_order, raise_on_errors
from reportgen.config.meaning import check_meaning
from reportgen.config.models import LoadedConfig
from reportgen.config.shape import original_key, remember, validate_shape
from reportgen.config.yamlmarks import Mark, load_marked_yaml
from reportgen.errors import ConfigError


def load_config(path: str | Path) -> LoadedConfig:
    """Read, parse and validate a config file; raise one ``ConfigError`` listing every problem."""
    loaded, issues = collect_issues(path)
    raise_on_errors(issues)
    assert loaded is not None  # no error: the whole config validated
    return loaded


def parse_config(text: str, path: str | Path) -> LoadedConfig:
    """Validate config text; ``path`` is used for messages and relative paths."""
    loaded, issues = collect_text_issues(text, path)
    raise_on_errors(issues)
    assert loaded is not None
    return loaded


def collect_issues(path: str | Path) -> tuple[LoadedConfig | None, list[Issue]]:
    """Every YAML, shape and meaning issue of the file at ``path`` (see :func:`collect_text_issues`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Issue("error", "", (), f"config file not found: {path}")]
    except UnicodeDecodeError as exc:
        return None, [Issue("error", str(path), (), f"the config is not UTF-8 text ({exc.reason} at byte "
                                                   f"{exc.start})", "save it as UTF-8")]
    return collect_text_issues(text, path)


def collect_text_issues(text: str, path: str | Path) -> tuple[LoadedConfig | None, list[Issue]]:
    """The config and every issue of its text. With shape errors the config is the part that validated
    (for the other checks to read, never to build from); ``None`` when not even that could be read."""
    path = Path(path)
    try:
        marked = load_marked_yaml(text, path)
    except ConfigError as exc:  # YAML syntax, size, duplicate keys: nothing further can be read
        return None, [_issue_from_line(line, str(path)) for line in str(exc).splitlines()]
    if not isinstance(marked.data, dict):
        return None, [Issue("error", Mark(str(path), 1, 1), (), "a config must be a mapping with at least 'datasets'")]
    pruned, issues = validate_shape(marked)
    if pruned.config is None:
        return None, issues
    loaded = LoadedConfig(pruned.config, path, pruned.marks, text)
    remember(loaded, pruned)
    issues += [replace(i, key=original_key(loaded, i.key)) for i in check_meaning(loaded)]
    return loaded, in_file_order(issues)


def _issue_from_line(line: str, file: str) -> Issue:
    """An issue from a one-line error ``file:line:col: message`` raised before anything was parsed."""
    head, sep, rest = line.partition(": ")
    parts = head.rsplit(":", 2)
    if sep and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return Issue("error", Mark(parts[0], int(parts[1]), int(parts[2])), (), rest)
    return Issue("error", "", (), line) if line.startswith(file) else Issue("error", file, (), line)
