"""WeasyPrint: a fetcher that serves only the project's own assets, one shared FontConfiguration,
the scorecard's stylesheets parsed once per process, and ``write_pdf`` returning bytes plus the
warnings WeasyPrint logged."""
from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from reportgen.bounded import MAX_ASSET_BYTES, regular_file_problem
from reportgen.errors import RenderError
from reportgen.pdf.printdoc import split_styles
from reportgen.pdf.uasheet import lean_html_class, uses_notes

MEMORY_SCHEME = "reportgen-asset"
"""``reportgen-asset:<name>`` URLs are served from the in-memory assets given to the fetcher."""

class RefusedURL(ValueError):
    """A document asked for something that is not one of the project's own assets."""


class AssetFetcher:
    """Marker base of the fetchers :func:`asset_fetcher` builds (on WeasyPrint's ``URLFetcher``,
    subclassed lazily so importing this module does not import WeasyPrint)."""


def asset_fetcher(roots: Sequence[Path] = (), files: Sequence[Path] = (),
                  memory: Mapping[str, tuple[bytes, str]] | None = None) -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URLs, files under ``roots`` (fonts, templates) or
    listed in ``files`` (the logo), and ``reportgen-asset:<name>`` from ``memory``; it refuses
    everything else, http(s) above all, so a template can never make a scorecard phone home."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed_roots = [Path(r).resolve() for r in roots]
    allowed_files = {Path(f).resolve() for f in files}
    in_memory = dict(memory or {})

    class _Fetcher(URLFetcher, AssetFetcher):  # type: ignore[misc]  # WeasyPrint has no type hints: URLFetcher is Any
        policy = (tuple(allowed_roots), tuple(sorted(allowed_files)))
        """The files it serves (in-memory assets aside): a stylesheet parsed with it is reused only
        with a fetcher of the same policy (see :func:`stylesheet`)."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == MEMORY_SCHEME:
                name = url.split(":", 1)[1]
                if name in in_memory:
                    body, mime = in_memory[name]
                    return URLFetcherResponse(url, body, {"Content-Type": mime})
            if scheme == "file":
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if path in allowed_files or any(path.is_relative_to(r) for r in allowed_roots):
                    return super().fetch(url, headers)
            raise RefusedURL(f"refused {url!r}: a scorecard loads only its own fonts, logo and charts")

    return _Fetcher(allowed_protocols=["data", "file", MEMORY_SCHEME])


@lru_cache(maxsize=1)
def font_configuration() -> Any:
    """One FontConfiguration for the process: @font-face files are loaded once, not per report."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def weasyprint_warnings() -> Iterator[list[str]]:
    """Collect what WeasyPrint logs at WARNING and above while the block runs."""
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


STYLESHEETS_KEPT = 16
"""Parsed stylesheets kept per process: a run uses one or two per template and configuration."""

_stylesheets: OrderedDict[tuple[str, str, Any], tuple[Any, tuple[str, ...]]] = OrderedDict()
_stylesheets_lock = threading.Lock()


@atexit.register
def _release_fonts() -> None:
    """Drop the parsed stylesheets and the shared FontConfiguration while the interpreter is whole:
    left to the final teardown, FontConfiguration.__del__ finds its modules gone and prints a
    traceback ("Exception ignored in ...") after an otherwise clean run."""
    with _stylesheets_lock:
        _stylesheets.clear()
    font_configuration.cache_clear()


def stylesheet(css: str, *, base_url: str, fetcher: Any) -> Any:
    """``weasyprint.CSS`` for a ``<style>`` text, parsed once per process for the same text, base URL
    and fetcher policy; what WeasyPrint logged while parsing it is logged again on every later use.

    Why: the scorecard's CSS is the same in every report of a burst or batch, and WeasyPrint parsed
    it again for each document (about a tenth of the PDF's time). A ``CSS`` object is made to be
    applied to many documents; the ``@font-face`` rules in it were registered with the one shared
    ``FontConfiguration``, which already kept their fonts for the process. A text naming an in-memory
    asset is parsed each time (what ``reportgen-asset:`` serves differs per report), and so is any
    text for a fetcher not made by :func:`asset_fetcher` (its policy is unknown)."""
    from weasyprint import CSS

    policy = getattr(fetcher, "policy", None)
    key = (css, base_url, policy)
    cacheable = policy is not None and MEMORY_SCHEME not in css
    with _stylesheets_lock:
        cached = _stylesheets.get(key) if cacheable else None
        if cached is not None:
            _stylesheets.move_to_end(key)
    if cached is not None:
        sheet, logged = cached
        for message in logged:  # as if parsed now: tests and the build treat them as failures
            logging.getLogger("weasyprint").warning("%s", message)
        return sheet
    with weasyprint_warnings() as messages:
        sheet = CSS(string=css, base_url=base_url, url_fetcher=fetcher, font_config=font_configuration())
    if cacheable:
        with _stylesheets_lock:
            _stylesheets[key] = (sheet, tuple(messages))
            while len(_stylesheets) > STYLESHEETS_KEPT:
                _stylesheets.popitem(last=False)
    return sheet


ACCESSIBLE_VARIANT = "pdf/ua-1"
"""WeasyPrint's PDF/UA-1 output: a tagged PDF (structure tree in reading order: headings, lists,
tables, figures with their alt text), the document language, ``/MarkInfo /Marked`` and the title
shown in the viewer's title bar (``DisplayDocTitle``), plus PDF/UA identification in the XMP metadata."""


def write_pdf(html: str, *, base_url: str, fetcher: Any, pdf_a: bool = False,
              tagged: bool = True) -> tuple[bytes, list[str]]:
    """WeasyPrint the documented way: HTML string + base URL + fetcher -> PDF bytes (and warnings).

    The ``<style>`` elements of the head go to WeasyPrint as stylesheets parsed once per process
    (:func:`stylesheet`), in document order, when :func:`~reportgen.pdf.printdoc.split_styles`
    finds that this keeps their meaning; otherwise the document goes whole, as it always did. A split
    document without footnotes or notes is rendered with the lean user-agent stylesheet
    (:mod:`.uasheet`).

    ``tagged`` (the default) writes an accessible PDF (:data:`ACCESSIBLE_VARIANT`): a screen reader
    or a copy-paste follows the structure tree instead of guessing an order from the drawing."""
    from weasyprint import HTML

    options: dict[str, Any] = {"font_config": font_configuration()}
    if pdf_a:  # PDF/A-3b, tagged as well: WeasyPrint applies pdf_tags on top of any variant
        options.update(pdf_variant="pdf/a-3b", pdf_tags=tagged)
    elif tagged:
        options["pdf_variant"] = ACCESSIBLE_VARIANT
    with weasyprint_warnings() as warnings:
        try:
            split = split_styles(html)
            document_class = HTML
            if split is not None:
                html, styles = split
                options["stylesheets"] = [stylesheet(css, base_url=base_url, fetcher=fetcher) for css in styles]
                if not uses_notes([html, *styles]):
                    document_class = lean_html_class()
            pdf = document_class(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(**options)
        except OSError as exc:  # WeasyPrint unpacks fonts into temporary files: a full disk fails there
            raise RenderError(f"WeasyPrint could not write its temporary files: {exc.strerror or exc}") from None
    return pdf, list(warnings)


def bounded_asset_fetcher(fetcher: Any, limit: int = MAX_ASSET_BYTES) -> tuple[Any, list[str]]:
    """``fetcher`` made to refuse a ``file:`` URL that is not a regular file under ``limit`` bytes,
    and the list its refusals are written to. WeasyPrint turns any fetch error into a warning and
    goes on without the image; the caller fails the scorecard on a refusal instead (a FIFO would
    hang the read, a 3 GB image would exhaust memory)."""
    refusals: list[str] = []
    original = fetcher.fetch

    def fetch(url: str, headers: Any = None) -> Any:
        if url.split(":", 1)[0].lower() == "file":
            path = Path(unquote(urlsplit(url).path))
            problem = regular_file_problem(path, limit)
            if problem and problem != "not found":  # not found: WeasyPrint's own warning says so
                refusals.append(f"{path}: {problem}")
                raise ValueError(f"{path}: {problem}")
        return original(url, headers)

    fetcher.fetch = fetch  # an instance attribute: WeasyPrint calls fetcher(url) -> self.fetch(url)
    return fetcher, refusals
