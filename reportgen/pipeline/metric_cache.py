"""A warm cache of computed metrics: a config whose data, settings and code did not change is not
computed again.

The warm cache of loaded data (``reportgen.data.cache``) saves the read; the engine's queries over the
typed tables still cost most of a second on a 1M-row export, and they give the same table every time the
same inputs come back: a template edit in `reportgen serve`, a consultant re-running a build to look at a
page, a scheduler's retry. So after a build computes its metrics, the metric table and what explains it
are kept under a key of everything the numbers depend on:

- the loaded data's key (``data.cache.fingerprint``: every data file's bytes, the ``datasets``,
  ``quality`` and ``scorecard`` sections, the scorecard's day);
- the whole config (KPIs, targets, benchmarks, audiences: anything that may change a number);
- what was asked: the reporting period, the first period, the segment, the breakdowns and the KPIs
  broken down;
- the source of every reportgen module (a new version computes afresh).

An entry is written only after the load passed its quality gate and the reporting period passed its
guard, so restoring one skips no check that could have failed: the same inputs passed them. The table
is stored as Parquet (no code runs on reading it, unlike a pickle) and the explanations as JSON; the
KPI definitions are resolved again from the config. Entries live in ``metrics/`` of the data cache's
folder, are cleared with it (``reportgen cache clear``) and the ``KEEP`` most recently used are kept.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.data import cache as data_cache

if TYPE_CHECKING:
    from datetime import date

    from reportgen.config.models import LoadedConfig
    from reportgen.engine import Metrics
    from reportgen.kpis.periods import Period

#: Entries kept (the least recently used beyond it are removed after a store).
KEEP = 32
#: Bump when the entry's layout changes.
LAYOUT = 1
FOLDER = "metrics"


def data_key(loaded: LoadedConfig, today: date) -> str | None:
    """The key of the config's loaded data (``data.cache.fingerprint``), or None when the cache is off
    or the data cannot be cached (a SQL dataset): then neither cache is used."""
    return data_cache.fingerprint(loaded, today) if data_cache.cache_dir() is not None else None


def metrics_key(loaded: LoadedConfig, data_key: str, *, report: Period, start: Period, segment: object,
                breakdowns: list[str] | None, breakdown_kpis: list[str] | None) -> str:
    """The key of the metrics computed from the data ``data_key`` for this request."""
    digest = hashlib.sha256()
    asked = {"report": report.label, "start": start.label, "segment": repr(segment),
             "breakdowns": breakdowns, "breakdown_kpis": breakdown_kpis}
    digest.update(f"layout {LAYOUT}\n{_code_version()}\n{data_key}\n".encode())
    digest.update(json.dumps(asked, sort_keys=True).encode())
    digest.update(loaded.config.model_dump_json().encode())
    return digest.hexdigest()


def restore_metrics(key: str, loaded: LoadedConfig, periods: list[Period]) -> Metrics | None:
    """The metrics stored under ``key``, or None (absent or unusable: the caller computes them)."""
    folder = metrics_dir()
    if folder is None:
        return None
    meta, table_path = folder / f"{key}.json", folder / f"{key}.parquet"
    if not meta.is_file():  # a miss answers before pandas is imported: the load starts at once
        return None
    import pandas as pd

    from reportgen.engine import Metrics, resolve_kpis

    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
        table = pd.read_parquet(table_path)
        dtypes = record["dtypes"]
        if list(table.columns) != list(dtypes) or record["periods"] != [p.label for p in periods]:
            raise ValueError("entry does not match its record")
        table = table.astype({c: t for c, t in dtypes.items() if str(table[c].dtype) != t})
        quality = {name: data_cache.quality_of(q) for name, q in record["quality"].items()}
        metrics = Metrics(table, resolve_kpis(loaded.config.kpis), dict(record["unavailable"]), periods,
                          quality, record["grain"], tuple(record["windows"]))
    except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:  # pyarrow raises ValueError
        # subclasses (ArrowInvalid) on a damaged file
        data_cache.forget((meta, table_path), exc)
        return None
    with contextlib.suppress(OSError):
        os.utime(meta)  # most recently used
    return metrics


def store_metrics(key: str, metrics: Metrics) -> None:
    """Keep ``metrics`` under ``key`` (atomically: the JSON record is written last, so a reader sees
    a whole entry or none). A cache that cannot be written costs the next build its speed, never a
    failure."""
    folder = metrics_dir()
    if folder is None:
        return
    record: dict[str, Any] = {
        "dtypes": {c: str(t) for c, t in metrics.table.dtypes.items()},
        "periods": [p.label for p in metrics.periods],
        "unavailable": metrics.unavailable,
        "quality": {name: data_cache.record_of(q) for name, q in metrics.quality.items()},
        "grain": metrics.grain,
        "windows": list(metrics.windows),
    }
    tmp_table = tmp_meta = ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_table = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        metrics.table.to_parquet(tmp_table, index=False)
        fd, tmp_meta = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp_table, folder / f"{key}.parquet")
        os.replace(tmp_meta, folder / f"{key}.json")
        data_cache.prune(folder, KEEP, ".parquet")
    except (OSError, ValueError, TypeError, ImportError):  # full disk, read-only home: the next computes
        for path in (tmp_table, tmp_meta):
            if path:
                with contextlib.suppress(OSError):
                    os.remove(path)


def metrics_dir() -> Path | None:
    """The metric entries' folder (inside the data cache's), or None when the cache is off."""
    folder = data_cache.cache_dir()
    return None if folder is None else folder / FOLDER


def clear(folder: Path | None = None) -> int:
    """Remove every metric entry; the number of entries removed."""
    return data_cache.clear(folder or metrics_dir(), (".json", ".parquet"))


@cache
def _code_version() -> str:
    """A hash of the source of every reportgen module (any change to the code may change a number) and
    the libraries that compute and store the table; DuckDB's version is in the data key already."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    from importlib.metadata import version  # without importing pandas (another thread may be at it)

    return f"{digest.hexdigest()} pandas {version('pandas')} pyarrow {version('pyarrow')}"
