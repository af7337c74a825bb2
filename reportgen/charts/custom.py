"""Charts of one's own: a consultant's template embeds a chart the built-ins do not draw.

The config registers each chart by name, ``scorecard.charts: {margin_mix: "acme_charts:margin_mix"}``:
a function ``margin_mix`` in the file ``acme_charts.py`` in the config's folder or one of its
``template_dirs``. A template calls ``{{ custom_chart('margin_mix') }}``; the function is called once
per scorecard with the scorecard's :class:`~reportgen.engine.metrics.Metrics` and returns a matplotlib
``Figure`` (or ``(figure, alt_text)``). The figure is drawn in the scorecard's font and palette (set
as matplotlib's defaults while the function runs) and written as SVG with its text kept as text, so
it is sharp, searchable and selectable in the PDF like the built-in charts, and it becomes a figure
with its alt text in the tagged PDF.

Who may do this: a chart module is Python code and runs with the operator's rights, like the config
that names it. So it is found only by a plain module name (no dots, no path), only as a file inside
the config's folder or its template folders (which themselves lie inside the folders the config may
reach, see SECURITY.md), with symlinks followed: a file that leaves its folder is refused. Templates
stay sandboxed: they can call a registered chart by name, nothing else.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from reportgen.assets import FONT_FAMILY, font_stack, matplotlib_font_files
from reportgen.charts.svg import AC_COLOR, AXIS_COLOR, TEXT_COLOR
from reportgen.errors import RenderError

if TYPE_CHECKING:
    from reportgen.config.models import LoadedConfig
    from reportgen.engine.metrics import Metrics

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

ChartFunction = Callable[["Metrics"], Any]


@dataclass(frozen=True)
class ChartTheme:
    """What a custom chart borrows from the scorecard: its font and its colours."""

    font_family: str = FONT_FAMILY
    colors: tuple[str, ...] = (AC_COLOR,)
    text_color: str = TEXT_COLOR
    axis_color: str = AXIS_COLOR

    def rc_params(self) -> dict[str, Any]:
        """matplotlib defaults while the chart's function runs and while its figure is written."""
        from cycler import cycler

        return {
            "font.family": [*font_stack(self.font_family), "sans-serif"], "font.size": 8.0,
            "text.color": self.text_color, "axes.labelcolor": self.text_color,
            "xtick.color": self.text_color, "ytick.color": self.text_color,
            "axes.edgecolor": self.axis_color, "axes.prop_cycle": cycler(color=list(self.colors)),
            "axes.spines.top": False, "axes.spines.right": False,
            "svg.fonttype": "none",          # text stays text, in the page's font
            "svg.hashsalt": "reportgen",     # the same ids in every build (reproducible files)
        }


def theme_for(loaded: LoadedConfig) -> ChartTheme:
    """The scorecard's font and palette: its brand colours, then the actual's near-black."""
    sc = loaded.config.scorecard
    return ChartTheme(font_family=sc.font_family or FONT_FAMILY, colors=(sc.primary_color, sc.accent_color, AC_COLOR))


def chart_folders(loaded: LoadedConfig) -> list[Path]:
    """Where chart modules may live: the config's folder and its template folders (already confined)."""
    return [loaded.base_dir.resolve(), *(loaded.resolve(d) for d in loaded.config.scorecard.template_dirs)]


def resolve_chart(loaded: LoadedConfig, name: str) -> ChartFunction:
    """The function registered as ``name`` in ``scorecard.charts``; a ConfigError-style RenderError
    naming the key, what was expected and the fix when it cannot be found."""
    registered = loaded.config.scorecard.charts
    if name not in registered:
        from reportgen.config.issues import did_you_mean

        hint = did_you_mean(name, registered) or \
            f" (registered: {', '.join(registered) or 'none'}; add it under scorecard.charts)"
        raise RenderError(f"custom_chart({name!r}): no chart {name!r} in scorecard.charts{hint}")
    target = registered[name]
    where = f"{loaded.where(('scorecard', 'charts', name))}: scorecard.charts.{name}"
    module_name, sep, function_name = target.partition(":")
    if not sep or not _NAME.match(module_name) or not _NAME.match(function_name):
        raise RenderError(f"{where}: {target!r} is not 'module:function' (a Python file's name without .py, "
                          "then the function's name, e.g. 'acme_charts:margin_mix')")
    folders = chart_folders(loaded)
    path = _module_file(module_name, folders)
    if path is None:
        raise RenderError(f"{where}: no file {module_name}.py in {', '.join(str(f) for f in folders)}; "
                          "put the module beside the config or in a template folder")
    function = getattr(_load_module(path, where), function_name, None)
    if not callable(function):
        raise RenderError(f"{where}: {path.name} has no function {function_name!r}")
    return function  # type: ignore[no-any-return]  # a user's function: what it returns is checked on use


def _module_file(module_name: str, folders: Sequence[Path]) -> Path | None:
    for folder in folders:
        candidate = folder / f"{module_name}.py"
        if not candidate.is_file():
            continue
        real = candidate.resolve()
        if not real.is_relative_to(folder):
            raise RenderError(f"chart module {candidate} is a link to {real}, outside its folder {folder}: refused")
        return real
    return None


_modules: dict[tuple[Path, int, int], ModuleType] = {}
_modules_lock = threading.Lock()


def _load_module(path: Path, where: str) -> ModuleType:
    """The chart file run once per process and version of the file (a changed file is loaded again),
    as a module of its own that is not put into ``sys.modules``."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    with _modules_lock:
        if key in _modules:
            return _modules[key]
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(f"reportgen_chart_{digest}", path)
        if spec is None or spec.loader is None:
            raise RenderError(f"{where}: {path} cannot be loaded as a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise RenderError(f"{where}: {path.name} failed to load: {type(exc).__name__}: {exc}") from exc
        _modules[key] = module
        return module


_fonts_registered = False


def _register_fonts() -> None:
    """Inter for matplotlib's text measurement (it reads the OTF files; the page uses the WOFF2 ones)."""
    global _fonts_registered
    if not _fonts_registered:
        from matplotlib import font_manager

        for path in matplotlib_font_files():
            font_manager.fontManager.addfont(str(path))
        _fonts_registered = True


_ID = re.compile(r'\bid="([^"]+)"')


def figure_svg(figure: Any, *, alt: str, prefix: str) -> str:
    """A matplotlib figure as inline SVG like the built-in charts': sized by CSS (viewBox, no width or
    height), ``class="rg-chart"`` with ``role="img"`` and an ``aria-label`` (the alt text of its figure
    in the tagged PDF), ids prefixed so two charts on one page never share one, no XML prologue, no
    date in its metadata and no ``<style>`` that would leak into the page."""
    from html import escape

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    ids = set(_ID.findall(svg))
    if ids:
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = re.sub(rf'\bid="({names})"', lambda m: f'id="{prefix}-{m[1]}"', svg)
        svg = re.sub(rf'#({names})\b', lambda m: f"#{prefix}-{m[1]}", svg)
    root_end = svg.index(">")
    root = re.sub(r'\s(width|height)="[^"]*"', "", svg[:root_end])
    root += f' class="rg-chart" role="img" aria-label="{escape(alt, quote=True)}"'
    return root + svg[root_end:]


@dataclass
class CustomCharts:
    """``custom_chart('name')`` for one scorecard's templates: each registered chart drawn once (the
    screen and the print rendering share it) and returned as safe inline SVG."""

    loaded: LoadedConfig
    metrics: Metrics
    theme: ChartTheme
    _drawn: dict[str, Markup] = field(default_factory=dict)

    def __call__(self, name: str) -> Markup:
        if name not in self._drawn:
            self._drawn[name] = Markup(self._draw(str(name)))
        return self._drawn[name]

    def _draw(self, name: str) -> str:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        function = resolve_chart(self.loaded, name)
        _register_fonts()
        # matplotlib types rc keys as a Literal of every name: a dict built here is checked by it at run time
        with matplotlib.rc_context(self.theme.rc_params()):  # type: ignore[arg-type]
            try:
                result = function(self.metrics)
            except Exception as exc:
                raise RenderError(f"custom chart {name!r} ({self.loaded.config.scorecard.charts[name]}) failed: "
                                  f"{type(exc).__name__}: {exc}") from exc
            figure, alt = result if isinstance(result, tuple) and len(result) == 2 else (result, None)
            if not isinstance(figure, Figure):
                raise RenderError(f"custom chart {name!r} ({self.loaded.config.scorecard.charts[name]}) returned "
                                  f"{type(figure).__name__}, expected a matplotlib Figure (or (figure, alt_text))")
            try:
                alt = str(alt) if alt else _default_alt(name, figure)
                return figure_svg(figure, alt=alt, prefix=f"cc-{re.sub(r'[^A-Za-z0-9_-]', '-', name)}")
            finally:
                plt.close(figure)


def _default_alt(name: str, figure: Any) -> str:
    """Without an alt text from the function: the figure's titles, else the chart's name."""
    titles = [t for t in ([figure.get_suptitle()] if hasattr(figure, "get_suptitle") else []) +
              [ax.get_title() for ax in figure.axes] if t]
    return "; ".join(titles) or name.replace("_", " ")
