"""The PDF layout under real limits: a forked process with a wall-clock deadline and a memory cap.

Why: the template's budget (:mod:`reportgen.render.sandbox`) ends when the HTML is written; WeasyPrint's layout of
that HTML was unbounded (a 50,000-row table ran past 120 s at 1.2 GB, 10,000 nested ``<div>`` were
a ``RecursionError``, ``letter-spacing: 1e9px`` an ``OverflowError``). The layout now runs in a
child forked from this process (:class:`_LayoutProcess`), before the data step where a command
knows it will lay out (:func:`start_layout_process`: the child then imports WeasyPrint on another
core), else at the first PDF. It caps its address space (``RLIMIT_AS``) at its size plus the memory
budget and lays out one document after another, so its caches stay warm; the document goes to it
and the PDF comes back through pipes. The parent waits at most the time budget and kills it after.
The batch's worker processes each fork their own, so a batch is bounded the same way.

Every way the child can fail is one :class:`RenderError` line naming the limit and its setting:
``REPORTGEN_PDF_SECONDS`` (default 60) and ``REPORTGEN_PDF_MEMORY_MB`` (default 1024), chosen by
the operator. Without ``fork`` (Windows) the layout runs in this process, unbounded.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import selectors
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.bounded import MAX_ASSET_BYTES
from reportgen.errors import RenderError, ReportgenError

PDF_SECONDS = 60.0
"""Wall-clock budget of one PDF layout; a shipped scorecard takes 0.3-0.6 s."""
PDF_MEMORY_MB = 1024
"""Address space the layout may add to the process; a shipped scorecard adds well under 200 MB."""


@dataclass(frozen=True)
class PdfLimits:
    """The budget of one PDF layout."""

    seconds: float = PDF_SECONDS
    memory_mb: int = PDF_MEMORY_MB

    @classmethod
    def from_environment(cls) -> PdfLimits:
        """The operator's ``REPORTGEN_PDF_SECONDS`` / ``REPORTGEN_PDF_MEMORY_MB``, else the defaults."""
        return cls(_positive("REPORTGEN_PDF_SECONDS", PDF_SECONDS, float),
                   int(_positive("REPORTGEN_PDF_MEMORY_MB", PDF_MEMORY_MB, int)))


def _positive(name: str, default: float, kind: type[int] | type[float]) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if not value > 0 or value != value or value == float("inf"):
        raise ReportgenError(f"environment variable {name}={text!r}: expected a positive number "
                             f"(default {default:g})")
    return value


@dataclass(frozen=True)
class PdfRequest:
    """One document for the layout process: the print HTML and what its fetcher may serve."""

    html: str
    base_url: str
    roots: tuple[Path, ...]
    files: tuple[Path, ...]
    memory: dict[str, tuple[bytes, str]]
    pdf_a: bool = False


@dataclass(frozen=True)
class LayoutWarmUp:
    """What the layout process can prepare before the first document arrives: the stylesheets every
    document of this config starts with, parsed with a fetcher of the same policy (the parsed sheets
    are kept per process, :func:`reportgen.pdf.writer.stylesheet`)."""

    base_url: str
    roots: tuple[Path, ...]
    files: tuple[Path, ...]
    styles: tuple[str, ...]


def start_layout_process(limits: PdfLimits | None = None, warm_up: LayoutWarmUp | None = None) -> bool:
    """Fork the layout process now instead of at the first PDF, and let it prepare ``warm_up``.

    Why: called before the data step, the child imports WeasyPrint and parses the stylesheets on the
    second core while this process loads and computes (WeasyPrint is then never imported here): a
    warm build's first PDF no longer waits for 0.4 s of import and 0.1 s of parsing. A batch worker
    calls it at its own warm-up. False where there is no ``fork`` (the layout runs in this process)."""
    if not hasattr(os, "fork"):
        return False
    with _lock:
        worker = _layout_process(limits or PdfLimits.from_environment())
        if warm_up is not None:
            _send(worker.requests, warm_up)
    return True


def _layout_process(limits: PdfLimits) -> _LayoutProcess:
    """This process's layout process for ``limits`` (caller holds ``_lock``)."""
    global _worker
    if (_worker is None or _worker.pid_of_parent != os.getpid() or _worker.limits != limits
            or not _worker.alive()):
        if _worker is not None and _worker.pid_of_parent == os.getpid():
            _worker.stop()
        _worker = _LayoutProcess(limits)
    return _worker


def write_pdf_bounded(request: PdfRequest, limits: PdfLimits | None = None) -> tuple[bytes, list[str]]:
    """:func:`reportgen.pdf.writer.write_pdf` of ``request`` in the layout process, under ``limits``."""
    limits = limits or PdfLimits.from_environment()
    if not hasattr(os, "fork"):
        return _layout(request)
    with _lock:
        global _worker
        _worker = _layout_process(limits)
        try:
            result = _worker.run(request)
        except BaseException:
            _worker.stop()
            _worker = None
            raise
        if result[0] == "memory":  # the child has exited: the next document gets a fresh one
            _worker.stop()
            _worker = None
    if result[0] == "ok":
        return result[1], result[2]
    if result[0] == "memory":
        raise RenderError(f"the PDF layout needed more than {limits.memory_mb:,} MB of memory "
                          "(REPORTGEN_PDF_MEMORY_MB); show fewer rows or raise the limit")
    raise RenderError(result[1])


def _layout(request: PdfRequest) -> tuple[bytes, list[str]]:
    from reportgen.pdf.writer import asset_fetcher, bounded_asset_fetcher, write_pdf

    fetcher, refusals = bounded_asset_fetcher(asset_fetcher(request.roots, request.files, request.memory))
    return _checked(write_pdf(request.html, base_url=request.base_url, fetcher=fetcher, pdf_a=request.pdf_a),
                    refusals)


_lock = threading.Lock()
_worker: _LayoutProcess | None = None


class _LayoutProcess:
    """A child forked once per process that lays out one document after another.

    Forked from a process with no other thread (:func:`_forks_cleanly`), it imports WeasyPrint itself,
    in parallel with its parent; forked from one with threads, it starts with WeasyPrint imported by the
    parent (a thread may be importing a module the child needs, or hold a lock the child's imports
    take, and a fork keeps it locked forever). It lives
    on, so its fonts, parsed stylesheets and WeasyPrint's own caches stay warm (a child per document
    lost them: 0.35 s -> 0.55 s a PDF). Its address space is capped once, when its imports are done.
    After a timeout it is killed, after a memory failure or a death it is replaced; the next document
    gets a fresh one."""

    def __init__(self, limits: PdfLimits) -> None:
        imports_in_child = _forks_cleanly()
        if not imports_in_child:
            _import_before_fork()
        self.limits = limits
        self.pid_of_parent = os.getpid()
        to_child, self.requests = os.pipe()
        self._replies, to_parent = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            _close_inherited(keep=(to_child, to_parent))
            _serve(to_child, to_parent, limits, imports_in_child)
        os.close(to_child)
        os.close(to_parent)
        atexit.register(self.stop)

    def run(self, request: PdfRequest) -> tuple[Any, ...]:
        _send(self.requests, request)
        reply = _receive(self._replies, time.monotonic() + self.limits.seconds)
        if reply is _TIMEOUT:
            self.stop()
            raise RenderError(f"the PDF layout took longer than {self.limits.seconds:g} s "
                              "(REPORTGEN_PDF_SECONDS); show fewer rows or raise the limit")
        if reply is None:
            status = self.stop()
            how = (f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
                   else f"exit status {os.waitstatus_to_exitcode(status)}")
            raise RenderError(f"the PDF layout process died ({how}), probably over its memory limit of "
                              f"{self.limits.memory_mb:,} MB (REPORTGEN_PDF_MEMORY_MB)")
        assert isinstance(reply, tuple)
        return reply

    def alive(self) -> bool:
        """False once the child has exited (killed by the system between two documents, say)."""
        if self.pid <= 0:
            return False
        try:
            running = os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            running = False
        if not running:  # reaped: its pid may be reused, so it is never signalled again
            self.pid = 0
            for fd in (self.requests, self._replies):
                with contextlib.suppress(OSError):
                    os.close(fd)
        return running

    def stop(self) -> int:
        """End the child (killed if still running) and return its wait status."""
        if self.pid <= 0:
            return 0
        pid, self.pid = self.pid, 0
        for fd in (self.requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return os.waitpid(pid, 0)[1]


_TIMEOUT = object()

LAYOUT_MODULES = ("weasyprint", "weasyprint.urls", "weasyprint.text.fonts", "weasyprint.css.counters",
                  "weasyprint.html", "reportgen.pdf.writer", "reportgen.pdf.printdoc", "reportgen.pdf.uasheet")
"""What the layout imports. Imported here before the fork: a fork copies only the thread that calls
it, so a module another thread was importing at that moment (the start-up prefetch of WeasyPrint)
would stay locked in the child forever; importing it here waits for that thread to finish it."""


def _close_inherited(keep: tuple[int, ...]) -> None:
    """Close every file descriptor the child inherited but its own pipes and the standard streams.

    Why: a pipe or socket of the parent (a browser driver's, a server's connection, the other ends of
    this child's own pipes) held open by the child is never closed for the process at the other end,
    which then waits for an end of file that comes only when the child exits: a test session's headless
    Chromium took the 60 s of its shutdown timeout to stop because of it."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)


NATIVE_THREADS = ("numpy", "duckdb", "pyarrow")
"""Libraries that start threads of their own once imported or used (OpenBLAS's pool, DuckDB's workers,
Arrow's pool), which ``threading`` does not count."""


def _forks_cleanly() -> bool:
    """True when this process has one thread: no other Python thread, and none of the libraries that
    start native threads imported yet (``reportgen build`` forks before it imports any of them)."""
    return threading.active_count() == 1 and not any(name in sys.modules for name in NATIVE_THREADS)


def _import_before_fork() -> None:
    import importlib

    for name in LAYOUT_MODULES:
        importlib.import_module(name)


def _imported() -> tuple[str, str] | None:
    """Import the layout's modules in the child; the reply to every document if that failed (a
    WeasyPrint whose system libraries are missing), else None."""
    try:
        _import_before_fork()
    except Exception as exc:  # noqa: BLE001 - reported as the reply to the document, one line
        return ("error", f"WeasyPrint could not be loaded: {type(exc).__name__}: {_first_line(exc)}")
    return None


def _warm(warm_up: LayoutWarmUp) -> None:
    """Parse the stylesheets, ignoring any failure: the first document meets and reports it. (Laying
    out a small page as well made the first document 0.015 s faster for 0.05 s more here.)"""
    from reportgen.pdf.writer import asset_fetcher, stylesheet

    with contextlib.suppress(Exception):
        fetcher = asset_fetcher(warm_up.roots, warm_up.files)
        for css in warm_up.styles:
            stylesheet(css, base_url=warm_up.base_url, fetcher=fetcher)


def _send(fd: int, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int, deadline: float = float("inf")) -> object:
    """The next message; ``None`` when the other end closed, ``_TIMEOUT`` past ``deadline``."""
    buffer = bytearray()
    wanted = 8
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            if len(buffer) >= wanted:
                if wanted == 8:
                    wanted = 8 + int.from_bytes(buffer[:8], "big")
                    continue
                return pickle.loads(bytes(buffer[8:wanted]))
            left = deadline - time.monotonic()
            if left <= 0:
                return _TIMEOUT
            if not selector.select(None if left == float("inf") else left):
                continue
            chunk = os.read(fd, min(1 << 20, wanted - len(buffer)))
            if not chunk:
                return None
            buffer += chunk


def _serve(requests: int, replies: int, limits: PdfLimits, imports: bool = False) -> None:
    """The layout process: import WeasyPrint (when the parent did not), cap the address space, then
    prepare what it is sent to prepare and lay out documents until the parent goes."""
    code = 0
    try:
        import resource

        quiet = os.open(os.devnull, os.O_WRONLY)  # the layout's warnings travel in the reply; what Python
        os.dup2(quiet, 2)  # prints itself as memory runs out ("Exception ignored in ...") is noise
        unusable = _imported() if imports else None
        cap = _address_space() + limits.memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        while isinstance(request := _receive(requests), (PdfRequest, LayoutWarmUp)):
            if isinstance(request, LayoutWarmUp):
                if unusable is None:
                    _warm(request)
                continue
            result = unusable or _layout_result(request, cap)
            try:
                _send(replies, result)
            except MemoryError:
                _send(replies, ("memory",))
            if result[0] == "memory":
                break  # a process that ran out of memory may be in any state: the next one is fresh
    except BaseException:  # noqa: BLE001 - the parent sees the pipe close and reports the status
        code = 70
    finally:
        os._exit(code)


MEMORY_MARGIN = 64 * 1024 * 1024
"""A failure with the peak address space this close to the cap is the cap's doing."""


def _layout_result(request: PdfRequest, cap: int = 0) -> tuple[Any, ...]:
    """The reply for one document. Out of memory, Python raises ``MemoryError``, but a C library
    may fail otherwise (``SystemError: error return without exception set``, ``ENOMEM``): any
    failure with the peak address space at the cap is reported as the memory limit."""
    try:
        return ("ok", *_layout(request))
    except MemoryError:
        return ("memory",)
    except Exception as exc:  # noqa: BLE001 - sorted out below, one line each
        if cap and _address_space("VmPeak") >= cap - MEMORY_MARGIN:
            return ("memory",)
        return _failure(exc)


def _failure(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, RecursionError):
        return ("error", "the PDF layout gave up: the HTML nests elements too deep (RecursionError); "
                         "flatten the template's markup")
    if isinstance(exc, OverflowError):
        return ("error", f"the PDF layout gave up: a size in the template's CSS is too large "
                         f"(OverflowError: {_first_line(exc)}); use a smaller length")
    if isinstance(exc, ReportgenError):
        return ("error", _first_line(exc))
    return ("error", f"the PDF layout failed: {type(exc).__name__}: {_first_line(exc)}")


def _checked(result: tuple[bytes, list[str]], refusals: Sequence[str]) -> tuple[bytes, list[str]]:
    if refusals:
        raise RenderError(f"the PDF refers to {refusals[0]}; an image or font of the template folder "
                          f"must be a regular file of at most {MAX_ASSET_BYTES:,} bytes")
    return result


def _address_space(field: str = "VmSize") -> int:
    """This process's virtual size (``VmSize``; the cap is relative to what it already maps) or its
    peak (``VmPeak``), in bytes; 0 where ``/proc`` is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
