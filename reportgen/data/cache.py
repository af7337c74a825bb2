"""A warm cache of loaded data: a config whose data files, settings and loader did not change is not
read and typed again.

Reading and typing is most of a build's data time (about 1 s of a 1M-row CSV), and the same config is
built again and again: a consultant re-running after a template edit, `reportgen serve`, a scheduler's
retries. So after a load, the canonical tables go into a file of Arrow IPC streams in the cache folder, with the
quality record beside them, under a fingerprint of everything the load reads:

- the bytes of every file the config's datasets and lookups name (hashed, not dated: a file rewritten
  with the same size within the same clock tick must not bring back last run's numbers; the hash is
  remembered while the file provably did not change, ``reportgen.data.digests``);
- the config's ``datasets``, ``quality`` and ``scorecard`` sections;
- the source of the modules that load data (any change to reportgen's loader is a new key);
- the scorecard's day (``today``): future-date rules and coverage read it.

All or nothing: one entry holds every dataset of the config, so a dataset that reads another (an FX
table, a lookup) can never meet a stale partner. A config with a SQL dataset is never cached (its rows
live in a database this cache cannot fingerprint). ``REPORTGEN_CACHE_DIR`` moves the folder;
``REPORTGEN_CACHE_DIR=off`` turns it off; ``reportgen cache clear`` empties it. The folder keeps the
``KEEP`` most recently used entries.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, fields
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.data.digests import hashed, remembered
from reportgen.data.quality import DatasetQuality
from reportgen.data.sql import q
from reportgen.errors import ReportgenError
from reportgen.prefetch import prefetch

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.models import LoadedConfig
    from reportgen.data.loaded import LoadedData

#: Entries kept in the folder (the least recently used beyond it are removed after a store).
KEEP = 8
#: ... and no more than this many bytes of their bodies (1M deals take 76 MB).
KEEP_BYTES = 2 * 1024**3
#: Bump when the entry's layout changes (2: Arrow IPC bodies instead of DuckDB files).
LAYOUT = 2
OFF = ("off", "0", "false", "no")


def cache_dir(environ: dict[str, str] | None = None) -> Path | None:
    """The cache folder, or None when ``REPORTGEN_CACHE_DIR`` turns the cache off."""
    env = os.environ if environ is None else environ
    value = env.get("REPORTGEN_CACHE_DIR", "").strip()
    if value.lower() in OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reportgen" / "data"


def fingerprint(loaded: LoadedConfig, today: date) -> str | None:
    """The key of this config's loaded data on ``today``, or None when it cannot be cached (a SQL
    dataset, a file that is missing or outside the path policy: the loader reports those itself)."""
    config = loaded.config
    folder = cache_dir()
    digest = hashlib.sha256()
    digest.update(f"layout {LAYOUT}\n{code_version()}\n{today.isoformat()}\n".encode())
    digest.update(config.model_dump_json(include={"datasets", "quality", "scorecard"}).encode())
    for name, ds in sorted(config.datasets.items()):
        if not ds.path or ds.url:
            return None
        paths: list[tuple[tuple[str | int, ...], str]] = [(("datasets", name, "path"), ds.path)]
        paths += [(("datasets", name, "lookups", i, "path"), lk.path) for i, lk in enumerate(ds.lookups or [])]
        for key, path in paths:
            try:
                real = loaded.resolve(path, key=key)
                digest.update(f"\n{key}\n".encode())
                known = remembered(real, folder)
                if known is None:  # a new or changed export: the load that most likely follows needs
                    prefetch("duckdb")  # DuckDB, imported while this hashes (hashing lets go of the GIL)
                digest.update(known or hashed(real, folder))
            except (OSError, ReportgenError, ValueError):
                return None
    return digest.hexdigest()


def restore(con: duckdb.DuckDBPyConnection, key: str, data: LoadedData) -> bool:
    """Fill ``data`` from the entry ``key``; False (nothing changed) when there is none or it is unusable.

    Each dataset's Arrow table is read from the memory-mapped body (no copy) and copied once into a
    table of the connection (1M rows: 0.08 s). A table whose DuckDB types differ from those it was
    written with is not used: the entry is forgotten and the data loaded cold."""
    import duckdb
    import pyarrow as pa
    import pyarrow.ipc as ipc

    folder = cache_dir()
    if folder is None:
        return False
    body, meta = folder / f"{key}{BODY}", folder / f"{key}.json"
    made: list[str] = []
    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
        with pa.memory_map(str(body)) as mapped:
            buffer = mapped.read_buffer()
            for name, entry in record["datasets"].items():
                table = ipc.open_stream(pa.BufferReader(buffer.slice(*entry["arrow"]))).read_all()
                view = f"reportgen_cache_{uuid.uuid4().hex}"
                con.register(view, table)
                try:
                    con.execute(f"CREATE TABLE main.{q(name)} AS SELECT * FROM {q(view)}")
                finally:
                    con.unregister(view)
                made.append(name)
                described = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE main.{q(name)})").fetchall()
                if [list(row) for row in described] != entry["duckdb"]:
                    raise ValueError(f"dataset {name!r} reads back with other types")
    except (OSError, ValueError, KeyError, TypeError, IndexError, pa.ArrowException, duckdb.Error) as exc:
        # absent, damaged, written by another version: undo what was made, load cold
        for name in made:
            con.execute(f"DROP TABLE IF EXISTS main.{q(name)}")
        forget((body, meta), exc)
        return False
    for name, entry in record["datasets"].items():
        data.columns[name] = list(entry["columns"])
        data.types[name] = dict(entry["types"])
        data.quality[name] = quality_of(entry["quality"])
    with contextlib.suppress(OSError):
        os.utime(meta)  # most recently used
    return True


BODY = ".arrows"
"""The suffix of an entry's body: each dataset as an Arrow IPC stream, one after the other."""
BATCH_ROWS = 122_880
"""Rows per Arrow batch as an entry is written (DuckDB's own vector size times 60)."""


def store(con: duckdb.DuckDBPyConnection, key: str, data: LoadedData, *, background: bool = False) -> None:
    """Write ``data``'s tables and records as the entry ``key`` (atomically: a reader sees the whole
    entry or none). A cache that cannot be written costs the next build its speed, never a failure.

    The tables go out as Arrow IPC, uncompressed: DuckDB hands them over as Arrow (0.06 s for 1M rows)
    and the file is a plain write, 0.14 s of CPU in all, where a DuckDB file took 0.44 s (it compresses
    every column) and a cold build paid for it: on two cores the views, the HTML and the PDF layout that
    follow the queries leave one core free for about 0.3 s, which the Arrow write fits in and the DuckDB
    one did not (a cold build with the cache was 1.10-1.16x the same build without it). The price is
    disk: 76 MB for 1M deals instead of 10 MB (``KEEP_BYTES`` bounds the folder).

    ``background`` writes in a thread of its own, started when :func:`start_pending` says the engine's
    queries are done (started at once, it took cores from the queries); the process starts and waits
    for it before it exits at the latest (``wait``). Only for data nobody changes in place afterwards."""
    folder = cache_dir()
    if folder is None or data.remote:
        return
    record = {"datasets": {name: {"columns": data.columns[name], "types": data.types.get(name, {}),
                                  "quality": record_of(data.quality[name])} for name in data.columns}}
    cursor = con.cursor()  # its own connection to the same database: usable from another thread
    args = (cursor, list(data.columns), record, folder, key)
    if not background:
        _write(*args)
        return
    thread = threading.Thread(target=_write, args=args, name="reportgen-cache-store")
    with _LOCK:
        if not _PENDING and not _EXIT_HOOK:
            atexit.register(wait)  # after the work folders' clean-up was registered: runs before it
            _EXIT_HOOK.append(True)
        _PENDING.append(thread)


def start_pending() -> None:
    """Start writing the entries ``store`` deferred: the caller's queries over the data are done."""
    with _LOCK:
        for thread in _PENDING:
            if thread.ident is None:
                thread.start()


def wait() -> None:
    """Write the entries ``store`` deferred and wait for them (tests; and at exit, so an entry is
    never lost because nobody called :func:`start_pending`)."""
    start_pending()
    with _LOCK:
        pending = list(_PENDING)
        _PENDING.clear()
    for thread in pending:
        thread.join()


_PENDING: list[threading.Thread] = []
_EXIT_HOOK: list[bool] = []
_LOCK = threading.Lock()


def _write(cursor: duckdb.DuckDBPyConnection, names: list[str], record: dict[str, Any], folder: Path,
           key: str) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    tmp = ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=BODY)
        with os.fdopen(fd, "wb") as f, pa.PythonFile(f, mode="w") as sink:
            for name in names:  # each table streamed in batches: a copy of 10M rows would not fit in memory
                entry = record["datasets"][name]
                entry["duckdb"] = [list(row) for row in cursor.execute(
                    f"SELECT column_name, column_type FROM (DESCRIBE main.{q(name)})").fetchall()]
                batches = cursor.sql(f"SELECT * FROM main.{q(name)}").to_arrow_reader(BATCH_ROWS)
                start = sink.tell()
                with ipc.new_stream(sink, batches.schema) as writer:
                    for batch in batches:
                        writer.write_batch(batch)
                entry["arrow"] = [start, sink.tell() - start]
        cursor.close()
        os.replace(tmp, folder / f"{key}{BODY}")
        tmp = ""
        meta_tmp = folder / f".tmp-{key}.json"
        meta_tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(meta_tmp, folder / f"{key}.json")
        prune(folder, KEEP, BODY, KEEP_BYTES)
    except Exception:  # noqa: BLE001 - a background writer never puts a traceback in a build: the next loads cold
        if tmp:
            with contextlib.suppress(OSError):
                os.remove(tmp)


def clear(folder: Path | None = None, suffixes: tuple[str, ...] = (BODY, ".json", ".duckdb", ".wal")) -> int:
    """Remove every entry of the cache folder (files ending in ``suffixes``: this cache's by default,
    the metric cache passes its own); the number of entries removed (one ``.json`` record each)."""
    folder = folder or cache_dir()
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.suffix in suffixes and path.is_file():
            removed += path.suffix == ".json"
            path.unlink(missing_ok=True)
    return removed


@cache
def code_version() -> str:
    """A hash of the source of every module whose change can change loaded data (config, data, kpis)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    for package in ("config", "data", "kpis"):
        for path in sorted((root / package).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    from importlib.metadata import version  # the installed DuckDB's, without importing it (0.1 s)

    digest.update(version("duckdb").encode())
    return digest.hexdigest()


_DATE_FIELDS = ("first_date", "last_date", "data_through")
_DATE_MAPS = ("first_dates", "last_dates")


def record_of(quality: DatasetQuality) -> dict[str, Any]:
    out = asdict(quality)
    out["lookups"] = [record_of(lk) for lk in quality.lookups]  # each lookup file's own record
    for name in _DATE_FIELDS:
        out[name] = out[name].isoformat() if out[name] is not None else None
    for name in _DATE_MAPS:
        out[name] = {k: v.isoformat() for k, v in out[name].items()}
    out["snapshots"] = [d.isoformat() for d in quality.snapshots]
    return out


def quality_of(record: dict[str, Any]) -> DatasetQuality:
    known = {f.name for f in fields(DatasetQuality)}
    values = {k: v for k, v in record.items() if k in known}
    for name in _DATE_FIELDS:
        values[name] = date.fromisoformat(values[name]) if values.get(name) else None
    for name in _DATE_MAPS:
        values[name] = {k: date.fromisoformat(v) for k, v in values.get(name, {}).items()}
    values["lookups"] = [quality_of(lk) for lk in values.get("lookups", [])]
    values["snapshots"] = [date.fromisoformat(d) for d in values.get("snapshots", [])]
    for name, value in list(values.items()):
        if isinstance(value, list):
            values[name] = tuple(value)
    return DatasetQuality(**values)


def forget(paths: tuple[Path, ...], exc: BaseException) -> None:
    """An entry that is absent or cannot be used: remove what is left of it (nothing to say: a cold
    load or a fresh compute follows, and it gives the same result). For this cache and the metrics'."""
    if isinstance(exc, FileNotFoundError):
        return
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def prune(folder: Path, keep: int, body_suffix: str, keep_bytes: int | None = None) -> None:
    """Keep the ``keep`` most recently used entries (a ``.json`` record and its ``body_suffix`` file),
    fewer if their bodies would take more than ``keep_bytes`` (the most recent is always kept), and
    remove the half-written files of a process that was killed while writing one (an hour old: no
    write takes that long). For this cache and the metrics'."""
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    kept, size = 0, 0
    for meta in entries[:keep]:
        with contextlib.suppress(OSError):
            size += meta.with_suffix(body_suffix).stat().st_size
        if kept and keep_bytes is not None and size > keep_bytes:
            break
        kept += 1
    stale = [p for p in folder.glob(".tmp-*") if p.stat().st_mtime < time.time() - 3600]
    # every file of a pruned entry, whatever its suffix (an older layout's body, a DuckDB .wal)
    for path in stale + [p for meta in entries[kept:] for p in folder.glob(f"{meta.stem}.*")]:
        with contextlib.suppress(OSError):
            path.unlink()
