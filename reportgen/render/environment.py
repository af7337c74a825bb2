"""Templates: one Jinja environment factory (the budgeted sandbox) and where templates are found."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from reportgen.config.models import LoadedConfig
from reportgen.render.formats import Formats
from reportgen.render.sandbox import BudgetedSandbox, make_sandbox

BUILTIN_TEMPLATES = ("executive", "sales_manager", "client")
BUILTIN_PREFIX = "builtin"
"""``{% extends "builtin:executive.html" %}`` reaches the shipped template even when a user folder
has a file of the same name (that is how an override extends what it overrides)."""


def builtin_template_dir() -> Path:
    """Shipped templates: inside the installed package first, else the repository's ``templates/``."""
    package = Path(__file__).resolve().parents[1]  # reportgen/
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


def template_dirs(loaded: LoadedConfig) -> list[Path]:
    """The user's ``template_dirs`` (relative to the config file), in the order they are searched."""
    return [loaded.resolve(d) for d in loaded.config.scorecard.template_dirs]


_DEFAULT_FORMATS = Formats()


def make_environment(user_dirs: Sequence[Path] = (), formats: Formats = _DEFAULT_FORMATS) -> BudgetedSandbox:
    """The one Jinja environment every scorecard is rendered with: the budgeted sandbox.

    Every template, shipped or the user's, is code we did not review at run time, so all of them
    render sandboxed (see :mod:`reportgen.render.sandbox`). Autoescape is on for every template whatever its
    ending (a KPI name or a commentary is user text); undefined names fail loudly (StrictUndefined);
    user folders come before the built-ins, and ``builtin:<name>`` always means the shipped template.
    Compiled templates are kept in the warm cache's folder (``REPORTGEN_CACHE_DIR``; off turns it off).
    """
    from reportgen.data.cache import cache_dir

    folder = cache_dir()  # compiled templates live beside the warm cache of data, and go with it
    # named by this module's source too: how filters are registered decides what Jinja may compile in
    bytecode = folder / "templates" / _source_version() if folder is not None else None
    env = make_sandbox(user_dirs, builtin_template_dir(), BUILTIN_PREFIX, bytecode_dir=bytecode)
    filters: dict[str, Callable[..., Any]] = {
        "value": formats.value, "compact": formats.compact, "delta": formats.delta, "change": formats.change,
        "period": formats.period, "period_short": formats.period_short, "date": formats.date,
        "number": formats.number, "t": formats.t,
    }
    env.filters.update({name: _at_render(f) for name, f in filters.items()})
    env.globals.update({"fmt": formats, "t": formats.t})
    return env


@lru_cache(maxsize=1)
def _source_version() -> str:
    return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()


def _at_render(format_value: Callable[..., Any]) -> Callable[..., Any]:
    """A filter Jinja cannot run while it compiles: given a constant (``{{ 'Recommendations'|t }}``),
    Jinja calls a plain filter at compile time and writes its result into the compiled template, so
    the code would carry one locale's words and numbers. Compiled templates are kept between
    processes and shared by every locale (``sandbox.make_sandbox``): a filter that asks for the
    render context is always called as the page renders."""
    @jinja2.pass_context
    def at_render(_context: Any, *args: Any, **kwargs: Any) -> Any:
        return format_value(*args, **kwargs)

    return at_render


def shared_environment(user_dirs: Sequence[Path] = (), formats: Formats = _DEFAULT_FORMATS) -> BudgetedSandbox:
    """The environment of :func:`make_environment`, made once per (template folders, locale, currency)
    in this process and reused.

    Why: a fresh environment compiles every template again (base, macros, the audience's template,
    the e-mail body), about a tenth of a second per scorecard; in a burst or batch that is paid once
    instead of once per report. Jinja's loader still checks each file's modification time, so an
    edited template is recompiled. Renders run one at a time in a process (the budget's deadline is
    per environment), which is how the pipeline and the batch workers use it.
    """
    return _cached_environment(tuple(Path(d) for d in user_dirs), formats)


@lru_cache(maxsize=32)
def _cached_environment(user_dirs: tuple[Path, ...], formats: Formats) -> BudgetedSandbox:
    return make_environment(user_dirs, formats)


def template_name(template: str) -> str:
    """``executive`` -> ``executive.html``; a user's file name is used as it is."""
    return f"{template}.html" if template in BUILTIN_TEMPLATES else template

