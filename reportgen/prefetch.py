"""A CLI process's start-up and exit for speed: heavy libraries imported in a background thread while
the data loads, a garbage collector tuned for WeasyPrint's many short-lived objects (:func:`tune_gc`),
and no full collection of the heap as the process exits (:func:`freeze_heap`).

Why: a one-off `reportgen build` spends about a third of its wall time importing pandas and WeasyPrint,
and another third in DuckDB reading the file, which releases the GIL. Starting the imports in a thread
just before the data is read lets the two overlap on a second core; whoever needs a module first simply
waits for Python's import lock, so nothing is imported twice or half-way.

Only third-party libraries are prefetched (never reportgen's own modules, which the main thread imports
in its own order), and an import that fails here is ignored: the main thread's own import raises it
where it has a meaning. The thread is joined at exit so the interpreter never shuts down mid-import.
"""
from __future__ import annotations

import atexit
import importlib
import os
import threading

_started: set[str] = set()


def prefetch(*modules: str) -> threading.Thread | None:
    """Start importing ``modules`` (in order) in a background thread; None if all were started before
    (or ``REPORTGEN_PREFETCH=0``, which the benchmarks use to measure what this buys)."""
    todo = [m for m in modules if m not in _started]
    if not todo or os.environ.get("REPORTGEN_PREFETCH") == "0":
        return None
    _started.update(todo)

    def run() -> None:
        for name in todo:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the main thread's import reports it where it matters
                pass

    thread = threading.Thread(target=run, name="reportgen-prefetch", daemon=True)
    thread.start()
    atexit.register(thread.join)
    return thread


#: Allocations between two young-generation collections of the garbage collector in a CLI process.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Collect garbage less often in this process (young generation every 50,000 allocations instead
    of 700). Why: WeasyPrint lays a page out as hundreds of thousands of short-lived Python objects,
    and Python's default collects its young generation every 700, scanning objects that are still in
    use: a scorecard's PDF takes about 6% less time (0.265 s -> 0.249 s warm, alternating runs). The
    memory a cycle holds is freed a little later, which a short CLI process does not feel. Only the
    command line (``reportgen.cli.app.main``) and its batch workers (``reportgen.batch.warm_up``) do
    this; a program that imports reportgen keeps its own policy."""
    import gc

    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def freeze_heap() -> None:
    """Put every object alive now out of the garbage collector's reach, as a command finishes.

    Why: as Python shuts down it runs one last full collection, which walks every object the
    process still holds (pandas, DuckDB's results, WeasyPrint's fonts and boxes) only to find that
    almost all of them are reachable: about 0.3 s at the end of a 1M-row `reportgen build`, a tenth
    of its wall time, for nothing the user sees. Frozen objects are skipped by that collection; the
    rest of the shutdown is unchanged (``atexit`` handlers and ``weakref.finalize`` callbacks still
    remove temporary files, modules are still torn down, streams still flushed). Only the command
    line calls this, when its context closes (``reportgen.cli.app.main``)."""
    import gc

    gc.freeze()
