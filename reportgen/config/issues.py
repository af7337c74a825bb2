"""What every config check returns: typed issues, and the one did-you-mean rule.

A check used to hand back English lines (``"file:3:5: unknown KPI 'x' - did you mean 'y'?"``): fine to
print, useless to a program that wants the level, the key or the suggestion. An :class:`Issue` keeps
them apart (as dbt-semantic-interfaces' ``ValidationIssue`` does) and prints as the same one line.
:func:`validate_safely` turns a check that crashes into an issue naming the check, so one broken
check never hides what the others found.
"""
from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from reportgen.config.yamlmarks import KeyPath, Mark
from reportgen.errors import ConfigError

if TYPE_CHECKING:
    from reportgen.config.models import LoadedConfig

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem of a config: how bad, where (file:line:column), which key, what, and the fix."""

    level: Level
    location: Mark | str
    """``file:line:column`` of the offending node (a file name alone when no position is known)."""
    key: KeyPath
    """The key path in the config, e.g. ``("audiences", "executive", "kpis", 1)``."""
    message: str
    """What was expected and what was found."""
    hint: str = ""
    """The fix or the nearest valid name (``did you mean 'revenue'?``); empty when there is none."""

    def __str__(self) -> str:
        where = f"{self.location}: " if str(self.location) else ""
        if not self.hint:
            return f"{where}{self.message}"
        sep = " " if self.hint.startswith("(") else " - "
        return f"{where}{self.message}{sep}{self.hint}"

    @property
    def is_error(self) -> bool:
        return self.level == "error"


class InvalidConfig(ConfigError):
    """A config with at least one error: every issue of the run, one line each when printed."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def issue_at(loaded: LoadedConfig, key: KeyPath, message: str, hint: str = "", *,
             level: Level = "error") -> Issue:
    """An issue about the value at ``key`` of ``loaded`` (its position taken from the YAML marks)."""
    location: Mark | str = loaded.source.value_mark(key) if loaded.source else str(loaded.path)
    return Issue(level, location, key, message, hint)


def raise_on_errors(issues: Iterable[Issue]) -> None:
    """Raise one :class:`InvalidConfig` listing every issue when any of them is an error."""
    found = list(issues)
    if any(i.is_error for i in found):
        raise InvalidConfig(found)


def in_file_order(issues: Iterable[Issue]) -> list[Issue]:
    """Each issue once, in the order of the file (an issue without a line first: it is about the whole file)."""
    def position(issue: Issue) -> tuple[str, int, int]:
        loc = issue.location
        return (loc.file, loc.line, loc.column) if isinstance(loc, Mark) else (str(loc), 0, 0)

    return sorted(dict.fromkeys(issues), key=position)


def closest(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate nearest to a mistyped ``name`` (``None`` when nothing is close).

    The one home of the did-you-mean rule: every suggestion reportgen makes (KPI ids, keys, templates,
    audiences, deliveries, columns, segment values) goes through here, so they all agree."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=cutoff)
    return close[0] if close else None


def suggestion(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str:
    """``did you mean 'x'?`` for an issue's hint, or ``""``."""
    near = closest(name, candidates, cutoff=cutoff)
    return f"did you mean {near!r}?" if near is not None else ""


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`` - did you mean 'x'?`` to append to a one-line message, or ``""``."""
    hint = suggestion(name, candidates, cutoff=cutoff)
    return f" - {hint}" if hint else ""


Check = Callable[["LoadedConfig"], list[Issue]]


def validate_safely(check: Check) -> Check:
    """``check`` that reports its own crash as an issue instead of stopping every other check.

    A check is code reading hostile input: when it raises something unforeseen the user still gets
    all the other issues and one line naming the broken check (``--verbose`` is not needed to see it).
    A ``ConfigError`` a check raises is an ordinary issue of the config."""

    @functools.wraps(check)
    def safe(loaded: LoadedConfig) -> list[Issue]:
        try:
            return list(check(loaded))
        except ConfigError as exc:
            return [Issue("error", str(loaded.path), (), line) for line in str(exc).splitlines()]
        except Exception as exc:  # noqa: BLE001 - the point of the wrapper: one crash, one issue
            name = getattr(check, "__name__", repr(check))
            return [Issue("error", str(loaded.path), (), f"the check {name} crashed: {type(exc).__name__}: {exc}",
                          "this is a bug in reportgen; the other checks ran - please report it with --verbose")]

    return safe
