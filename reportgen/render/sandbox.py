"""Templates run in a sandbox with a budget, and their errors read as one line.

A template is code a user hands us: built-in or not, every template renders in Jinja's
``ImmutableSandboxedEnvironment`` (no ``__globals__``, no ``__class__``, no mutation of context
lists, ``str.format`` checked), so a template can read the values it is given and nothing else.
A sandbox does not bound time or memory, so this module adds a budget: a deadline checked wherever
the template calls, reads an attribute or iterates a ``range``; repetition (``'x' * n``, ``n ** m``)
and ranges are capped; format widths (``%0999999999d``, ``{:>999999999}``) are capped; the output is
generated in chunks and its size is checked as it grows; a template file is read only when it is a
regular file under a size cap (a FIFO would block the read, a 3 GB file fill memory).

Every Jinja failure (a missing name, a missing include, a syntax error, a refused attribute, an
exhausted budget) becomes one :class:`RenderError` line: ``template acme.html:12: 'custmer' is
undefined``.
"""
from __future__ import annotations

import functools
import hashlib
import operator
import re
import string
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reportgen.bounded import MAX_TEMPLATE_BYTES, explain, regular_file_problem
from reportgen.errors import RenderError

RENDER_SECONDS = 20.0
"""Wall-clock budget for rendering one template (the shipped ones take well under a second)."""
MAX_OUTPUT_CHARS = 50_000_000
"""An HTML scorecard is a few MB with inlined fonts; more than this is a runaway loop."""
MAX_RANGE = 100_000
MAX_REPEAT = 1_000_000
"""Longest string or list a template may build with ``*``; the largest number ``**`` may produce."""
MAX_FORMAT_WIDTH = 1_000
"""Widest field or longest precision in a format (``%08.2f``, ``{:>12}``): ``%0999999999d`` asks
for a gigabyte of zeros in one call, before any budget check could run."""


class TemplateBudgetExceeded(SecurityError):
    """The template used more time or memory than one scorecard needs."""


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus a deadline and caps on ranges, repetition and powers."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def __init__(self, *args: Any, seconds: float = RENDER_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds = seconds
        self.deadline = float("inf")
        self.globals["range"] = self._range
        self.filters["format"] = _bounded_format_filter

    def start_clock(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateBudgetExceeded(f"rendering took longer than {self.seconds:g} s (a runaway loop?)")

    def _range(self, *args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise TemplateBudgetExceeded(f"range of {len(numbers)} numbers is over the limit of {MAX_RANGE}")
        return self._ticking(numbers)

    def _ticking(self, numbers: range) -> Iterator[int]:
        for i, n in enumerate(numbers):
            if i % 256 == 0:
                self.check_clock()
            yield n

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.check_clock()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check_clock()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.check_clock()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Any:
        """``str.format`` as the sandbox checks it, with field widths bounded."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None

        def bounded(*args: Any, **kwargs: Any) -> str:
            check_format_widths(value.__self__, printf=False)
            return str(wrapped(*args, **kwargs))

        return bounded

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        self.check_clock()
        if operator_name == "%":
            if isinstance(left, str):
                check_format_widths(left, printf=True)
            return operator.mod(left, right)
        if operator_name == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int):
                    if len(seq) * max(count, 0) > MAX_REPEAT:
                        raise TemplateBudgetExceeded(f"repeating a value {count} times is over the limit")
            return operator.mul(left, right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            if abs(right) > 64 and abs(left) > 1:
                raise TemplateBudgetExceeded(f"{left} ** {right} is over the limit")
        return operator.pow(left, right)


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBERS = re.compile(r"\d+")


def check_format_widths(fmt: str, *, printf: bool) -> None:
    """Refuse a ``%`` or ``str.format`` format whose width or precision is over MAX_FORMAT_WIDTH."""
    if printf:
        numbers = [n for m in _PRINTF_SPEC.finditer(fmt) for n in m.groups() if n and n != "*"]
    else:
        try:
            specs = [spec for _, field, spec, _ in string.Formatter().parse(fmt) if field is not None and spec]
        except ValueError:
            return  # malformed: str.format itself raises, as one line
        numbers = [n for spec in specs for n in _NUMBERS.findall(spec)]
    for number in numbers:
        if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
            raise TemplateBudgetExceeded(f"a format width of {number.lstrip('0')} is over the limit of "
                                         f"{MAX_FORMAT_WIDTH:,}")


def _bounded_format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's ``format`` filter (``"%s - %s"|format(a, b)``) with field widths bounded."""
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments at the same time")
    text = str(value)
    check_format_widths(text, printf=True)
    return text % (kwargs or args)


class ContainedFileSystemLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that reads only regular files of at most MAX_TEMPLATE_BYTES and refuses a
    file whose real path (symlinks followed) leaves its folder."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        from jinja2.loaders import split_template_path

        for folder in self.searchpath:  # the file Jinja would read: checked before it is opened
            candidate = Path(folder, *split_template_path(template))
            problem = regular_file_problem(candidate, MAX_TEMPLATE_BYTES)
            if problem is None:
                break
            if problem != "not found":
                raise RenderError(f"template {template}: {candidate}: {explain(problem, 'template')}")
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(root).resolve()) for root in self.searchpath):
            raise RenderError(f"template {template}: {filename} is a link to {real}, outside the template "
                              f"folder; copy the file into the folder instead of linking it")
        return source, filename, uptodate


def render_template(env: BudgetedSandbox, name: str, context: dict[str, Any]) -> str:
    """Render ``name`` with ``context`` inside the budget; every failure is one RenderError line."""
    env.start_clock()
    try:
        template = env.get_template(name)
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateBudgetExceeded(f"output is over {MAX_OUTPUT_CHARS:,} characters")
            chunks.append(chunk)
            env.check_clock()
        return "".join(chunks)
    except RenderError:
        raise
    except (jinja2.TemplateError, OverflowError, RecursionError, MemoryError) as exc:
        raise RenderError(template_error_line(exc, name, env)) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise RenderError(template_error_line(exc, name, env)) from None
    finally:
        env.deadline = float("inf")


def template_error_line(exc: BaseException, name: str, env: jinja2.Environment | None = None) -> str:
    """``template acme.html:12: 'custmer' is undefined``: the innermost template frame of the error."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"template {exc.name or exc.filename or name}:{exc.lineno}: syntax error: {exc.message}"
    where, line = name, None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith((".html", ".htm", ".txt", ".j2")) or frame.filename == "<template>":
            where, line = Path(frame.filename).name if frame.filename != "<template>" else name, frame.lineno
    at = f"template {where}{f':{line}' if line else ''}: "
    if isinstance(exc, jinja2.TemplatesNotFound):
        return f"{at}none of {', '.join(map(repr, exc.templates))} found{_searched(env)}"
    if isinstance(exc, jinja2.TemplateNotFound):
        missing = exc.name or name
        hint = "" if str(missing).endswith(".html") else "; a user template is a file name ending in .html"
        return f"{at if missing != name else ''}template {missing!r} not found{_searched(env)}{hint}"
    message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
    if isinstance(exc, SecurityError) and not isinstance(exc, TemplateBudgetExceeded):
        message = f"not allowed in a template: {message}"
    elif not isinstance(exc, (jinja2.TemplateError,)):
        message = f"{type(exc).__name__}: {message}"
    return f"{at}{message.splitlines()[0] if message else type(exc).__name__}"


def _searched(env: jinja2.Environment | None) -> str:
    folders: list[str] = []
    loader = getattr(env, "loader", None)
    for sub in getattr(loader, "loaders", [loader]):
        folders += [str(p) for p in getattr(sub, "searchpath", [])]
    return f" (searched {', '.join(dict.fromkeys(folders))})" if folders else ""


def make_sandbox(user_dirs: Sequence[Path], builtin_dir: Path, prefix: str,
                 bytecode_dir: Path | None = None) -> BudgetedSandbox:
    """The sandboxed environment: user folders first, then the built-ins, ``<prefix>:name`` = built-in.

    ``bytecode_dir`` keeps each template's compiled code between processes (Jinja's bytecode cache,
    as Python's ``__pycache__`` keeps modules'): compiling the executive page and its macros is about
    0.1-0.3 s of every build. An entry is used only for the same file with the same source (Jinja
    checks the source's checksum), and the folder's name carries Jinja's version and this module's
    source, which decide the code generated. The sandbox is enforced by the environment as the code
    runs, so compiled code from the cache is checked exactly as freshly compiled code is."""
    builtin = ContainedFileSystemLoader(str(builtin_dir))
    loader = jinja2.ChoiceLoader([
        *(ContainedFileSystemLoader(str(d)) for d in user_dirs),
        builtin,
        jinja2.PrefixLoader({prefix: builtin}, delimiter=":"),
    ])
    bytecode = None
    if bytecode_dir is not None:
        folder = bytecode_dir / f"jinja-{jinja2.__version__}-{_sandbox_version()}"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(folder))
        except OSError:  # an unwritable cache folder costs the compile, never the build
            bytecode = None
    return BudgetedSandbox(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True, bytecode_cache=bytecode)


@functools.cache
def _sandbox_version() -> str:
    return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()
