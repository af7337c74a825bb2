"""The warm cache of loaded data (reportgen/data/cache.py): a second load of unchanged data gives the
same tables and quality records without reading the files; any change to what the load reads is a
new entry; a damaged entry or an unwritable folder costs speed, never a wrong number or a failure."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from reportgen.config.load import load_config
from reportgen.data import cache, digests, load_datasets
from tests.shared import CONFORMANCE, needs_shared

TODAY = date(2026, 1, 5)


def _config(folder: Path, data: Path) -> Path:
    """A config over every canonical CSV of ``data`` (copied, so the test may change them)."""
    names = []
    for csv in sorted(data.glob("*.csv")):
        shutil.copy(csv, folder / csv.name)
        names.append(csv.stem)
    cfg = folder / "sc.yaml"
    cfg.write_text("scorecard: {as_of: 2025-12-31}\ndatasets:\n"
                   + "".join(f"  {n}: {{path: {n}.csv}}\n" for n in names))
    return cfg


def _one_deal(folder: Path) -> Path:
    (folder / "deals.csv").write_text("deal_id,created_date,close_date,stage,amount\n"
                                      "D1,2025-01-05,2025-01-20,won,100\n")
    cfg = folder / "sc.yaml"
    cfg.write_text("scorecard: {as_of: 2025-01-31}\ndatasets:\n  deals: {path: deals.csv}\n")
    return cfg


def _same_tables(a, b) -> None:
    assert a.columns == b.columns and a.types == b.types and a.quality == b.quality
    for name in a.columns:
        ta = a.con.execute(f'SELECT * FROM "{name}"').df()
        tb = b.con.execute(f'SELECT * FROM "{name}"').df()
        assert list(ta.dtypes) == list(tb.dtypes), name
        key = list(ta.columns)
        pd_sorted = [t.sort_values(key, na_position="first").reset_index(drop=True) for t in (ta, tb)]
        assert pd_sorted[0].equals(pd_sorted[1]), name


@needs_shared
def test_a_warm_load_gives_the_same_tables_and_records_as_a_cold_one(tmp_path: Path, cache_folder: Path) -> None:
    loaded = load_config(_config(tmp_path, CONFORMANCE / "crm-24m" / "data"))
    cold = load_datasets(loaded, today=TODAY)
    cache.wait()  # the entry is written while the build goes on
    key = cache.fingerprint(loaded, TODAY)
    assert key and (cache_folder / f"{key}{cache.BODY}").is_file() and (cache_folder / f"{key}.json").is_file()
    # the entry alone rebuilds the data: restore it into a fresh connection without any file read
    from reportgen.data import LoadedData, connect

    warm = LoadedData(connect(), {}, {})
    assert cache.restore(warm.con, key, warm)
    _same_tables(cold, warm)
    _same_tables(cold, load_datasets(loaded, today=TODAY))  # and through the loader's front door


def test_any_change_to_what_the_load_reads_is_a_new_entry(tmp_path: Path, cache_folder: Path) -> None:
    (tmp_path / "deals.csv").write_text("deal_id,created_date,close_date,stage,amount\n"
                                        "D1,2025-01-05,2025-01-20,won,100\nD2,2025-01-06,2025-01-21,won,200\n")
    cfg = tmp_path / "sc.yaml"
    cfg.write_text("scorecard: {as_of: 2025-01-31}\ndatasets:\n  deals: {path: deals.csv}\n")
    loaded = load_config(cfg)
    first = cache.fingerprint(loaded, TODAY)
    assert load_datasets(loaded, today=TODAY).con.execute("SELECT sum(amount) FROM deals").fetchone() == (300,)
    # one byte changed, same size, same modification time: still a new key and the new numbers
    stat = (tmp_path / "deals.csv").stat()
    (tmp_path / "deals.csv").write_text((tmp_path / "deals.csv").read_text().replace(",200", ",900"))
    os.utime(tmp_path / "deals.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (tmp_path / "deals.csv").stat().st_size == stat.st_size
    assert cache.fingerprint(loaded, TODAY) != first
    assert load_datasets(loaded, today=TODAY).con.execute("SELECT sum(amount) FROM deals").fetchone() == (1000,)
    # the scorecard's day and the config's settings are part of the key
    assert cache.fingerprint(loaded, date(2026, 1, 6)) != cache.fingerprint(loaded, TODAY)
    cfg.write_text(cfg.read_text().replace("{path: deals.csv}", "{path: deals.csv, data_through: 2025-01-25}"))
    assert cache.fingerprint(load_config(cfg), TODAY) != cache.fingerprint(loaded, TODAY)


def test_a_damaged_entry_loads_cold_with_the_same_result(tmp_path: Path, cache_folder: Path) -> None:
    cfg = _one_deal(tmp_path)
    loaded = load_config(cfg)
    load_datasets(loaded, today=TODAY)
    cache.wait()
    key = cache.fingerprint(loaded, TODAY)
    (cache_folder / f"{key}{cache.BODY}").write_bytes(b"not a database" * 100)
    data = load_datasets(loaded, today=TODAY)
    assert data.con.execute("SELECT sum(amount) FROM deals").fetchone() == (100,)
    assert data.quality["deals"].rows_read == 1
    (cache_folder / f"{key}.json").write_text("{not json")
    assert load_datasets(loaded, today=TODAY).con.execute("SELECT count(*) FROM deals").fetchone() == (1,)


def test_off_writes_nothing_and_an_unwritable_folder_is_no_failure(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _one_deal(tmp_path)
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", "off")
    assert cache.cache_dir() is None and cache.fingerprint(load_config(cfg), TODAY)
    load_datasets(load_config(cfg), today=TODAY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv", "sc.yaml"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(blocker / "cache"))  # cannot be a folder
    assert load_datasets(load_config(cfg), today=TODAY).con.execute("SELECT count(*) FROM deals").fetchone() == (1,)


def test_a_sql_dataset_is_never_cached(tmp_path: Path, cache_folder: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "crm.db") as db:
        db.execute("CREATE TABLE deals (deal_id TEXT, created_date TEXT, close_date TEXT, stage TEXT, amount REAL)")
        db.execute("INSERT INTO deals VALUES ('D1', '2025-01-05', '2025-01-20', 'won', 100)")
    cfg = tmp_path / "sc.yaml"
    cfg.write_text(f"scorecard: {{as_of: 2025-01-31}}\ndatasets:\n"
                   f"  deals: {{url: 'sqlite:///{tmp_path / 'crm.db'}', table: deals}}\n")
    loaded = load_config(cfg)
    assert cache.fingerprint(loaded, TODAY) is None
    load_datasets(loaded, today=TODAY)
    assert not cache_folder.exists() or not any(cache_folder.iterdir())


def test_cache_clear_from_the_command_line(tmp_path: Path, cache_folder: Path) -> None:
    cfg = _one_deal(tmp_path)
    load_datasets(load_config(cfg), today=TODAY)
    cache.wait()
    assert len(list(cache_folder.glob("*.json"))) == 1
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache_folder)}
    run = [sys.executable, "-m", "reportgen", "cache"]
    assert subprocess.run([*run, "path"], capture_output=True, text=True, env=env).stdout.strip() == str(cache_folder)
    out = subprocess.run([*run, "clear"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"removed 1 cached entries from {cache_folder}"
    assert not list(cache_folder.iterdir())


def test_builds_from_a_warm_cache_write_the_same_files_and_segments_stay_whole(tmp_path: Path,
                                                                              cache_folder: Path) -> None:
    from datetime import UTC, datetime

    from reportgen.pipeline.build import Segment, compute_for_config

    cfg = _one_deal(tmp_path)
    cfg.write_text(cfg.read_text().replace("{as_of: 2025-01-31}", "{as_of: 2025-01-31, allow_partial_period: true}"))
    (tmp_path / "deals.csv").write_text("deal_id,created_date,close_date,stage,amount,region\n"
                                        "D1,2025-01-05,2025-01-20,won,100,North\n"
                                        "D2,2025-01-06,2025-01-31,won,250,South\n")
    loaded, now = load_config(cfg), datetime(2026, 1, 5, tzinfo=UTC)
    cold = compute_for_config(loaded, now=now).table
    cache.wait()
    meta = next(cache_folder.glob("*.json"))
    os.utime(meta, (0, 0))
    shutil.rmtree(cache_folder / "metrics")  # the computed metrics are cached too (test_metric_cache.py)
    warm = compute_for_config(loaded, now=now).table
    assert meta.stat().st_mtime > 0  # the entry was used (and marked recently used)
    assert cold.equals(warm)
    # a segment's build deletes the other rows in place: from the cache it gets a copy, and the
    # entry is left whole for the next build
    north = compute_for_config(loaded, now=now, segment=Segment("region", "North"))
    assert north.row("revenue", "2025-01")["value"] == 100
    shutil.rmtree(cache_folder / "metrics")
    assert compute_for_config(loaded, now=now).row("revenue", "2025-01")["value"] == 350
    # the command line, twice: the same metric CSV
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache_folder)}
    for out in ("a", "b"):
        argv = [sys.executable, "-m", "reportgen", "compute", str(cfg), "-o", str(tmp_path / out / "m.csv")]
        run = subprocess.run(argv, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
    assert (tmp_path / "a" / "m.csv").read_bytes() == (tmp_path / "b" / "m.csv").read_bytes()


def test_an_entry_deferred_to_the_end_of_the_queries_is_written_by_exit_at_the_latest(tmp_path: Path,
                                                                                      cache_folder: Path) -> None:
    """The entry's writer starts once the engine's queries are done (they would share the cores); a
    command that never says so (``compute --explain`` only loads and plans) still leaves the entry."""
    cfg = _one_deal(tmp_path)
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache_folder)}
    run = subprocess.run([sys.executable, "-m", "reportgen", "compute", str(cfg), "--explain"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    key = cache.fingerprint(load_config(cfg), date.today())
    assert (cache_folder / f"{key}{cache.BODY}").is_file() and (cache_folder / f"{key}.json").is_file()
    assert not list(cache_folder.glob(".tmp-*"))


@pytest.mark.parametrize("size", [0, 1, 10, 11, 25])
def test_a_file_hashes_to_the_sha256_of_its_bytes_in_any_number_of_pieces(tmp_path: Path, size: int,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    monkeypatch.setattr(digests, "HASH_CHUNK", 5)  # pieces of 5 bytes: empty, one piece, exact pieces, a remainder
    path = tmp_path / "f.csv"
    path.write_bytes(bytes(range(size)))
    assert digests.hash_bytes(path) == hashlib.sha256(bytes(range(size))).digest()


def test_a_remembered_hash_is_used_only_while_the_file_is_provably_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    folder, path = tmp_path / "cache", tmp_path / "deals.csv"
    path.write_bytes(b"id,amount\n1,100\n")
    reads: list[Path] = []
    real_hash = digests.hash_bytes
    monkeypatch.setattr(digests, "hash_bytes", lambda p: reads.append(p) or real_hash(p))

    # written a moment ago: hashed every time, nothing remembered (a write in the same clock tick
    # would leave the status as it is)
    assert digests.file_digest(path, folder) == hashlib.sha256(path.read_bytes()).digest()
    assert digests.file_digest(path, folder) and len(reads) == 2
    assert not (folder / digests.FOLDER).exists()

    # settled (its last change 10 s before the hash): remembered, then not read again
    later = time.time_ns() + 10_000_000_000
    monkeypatch.setattr(digests.time, "time_ns", lambda: later)
    digests.file_digest(path, folder)
    assert digests.file_digest(path, folder) == hashlib.sha256(path.read_bytes()).digest() and len(reads) == 3

    # rewritten with the same size and its modification time put back (cp -p, touch -r): ctime moved
    stat = path.stat()
    path.write_bytes(b"id,amount\n1,900\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert digests.file_digest(path, folder) == hashlib.sha256(b"id,amount\n1,900\n").digest()
    assert len(reads) == 4

    # replaced by another file (a new export moved into place): another inode
    other = tmp_path / "new.csv"
    other.write_bytes(b"id,amount\n1,555\n")
    os.replace(other, path)
    assert digests.file_digest(path, folder) == hashlib.sha256(b"id,amount\n1,555\n").digest()
    # a damaged record is read past, never trusted
    for record in (folder / digests.FOLDER).glob("*.json"):
        record.write_text("{not json")
    assert digests.file_digest(path, folder) == hashlib.sha256(b"id,amount\n1,555\n").digest()
    assert len(reads) == 6


def test_prune_keeps_the_most_recently_used_entries_and_clears_half_written_files(tmp_path: Path) -> None:
    for age, key in enumerate(["new", "mid", "old"]):
        for suffix in (".json", ".parquet"):
            (tmp_path / f"{key}{suffix}").write_text("x")
            os.utime(tmp_path / f"{key}{suffix}", (1_000_000 - age, 1_000_000 - age))
    (tmp_path / ".tmp-killed.parquet").write_text("x")
    os.utime(tmp_path / ".tmp-killed.parquet", (0, 0))  # a writer killed long ago
    (tmp_path / ".tmp-writing.parquet").write_text("x")  # one writing now
    cache.prune(tmp_path, 2, ".parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-writing.parquet", "mid.json", "mid.parquet",
                                                          "new.json", "new.parquet"]


def test_prune_keeps_fewer_entries_when_their_bodies_pass_the_byte_bound(tmp_path: Path) -> None:
    for age, (key, size) in enumerate([("new", 600), ("mid", 600), ("old", 10)]):
        (tmp_path / f"{key}.json").write_text("x")
        (tmp_path / f"{key}.arrows").write_bytes(b"x" * size)
        for suffix in (".json", ".arrows"):
            os.utime(tmp_path / f"{key}{suffix}", (1_000_000 - age, 1_000_000 - age))
    cache.prune(tmp_path, 8, ".arrows", keep_bytes=1000)  # new + mid = 1,200 bytes: mid and older go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.arrows", "new.json"]
    cache.prune(tmp_path, 8, ".arrows", keep_bytes=100)  # the most recent stays whatever its size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.arrows", "new.json"]


def test_an_entry_that_reads_back_with_other_types_is_not_used(tmp_path: Path, cache_folder: Path) -> None:
    """The Arrow round trip must give the very DuckDB types the load made (a DECIMAL read back as a
    DOUBLE would change sums in the last digit): an entry whose tables do not is forgotten, and the
    data is loaded from its file."""
    import json

    cfg = _one_deal(tmp_path)
    loaded = load_config(cfg)
    load_datasets(loaded, today=TODAY)
    cache.wait()
    key = cache.fingerprint(loaded, TODAY)
    meta = cache_folder / f"{key}.json"
    record = json.loads(meta.read_text())
    columns = record["datasets"]["deals"]["duckdb"]
    assert any(name == "amount" for name, _ in columns)
    record["datasets"]["deals"]["duckdb"] = [[name, "VARCHAR"] for name, _ in columns]  # as if written otherwise
    meta.write_text(json.dumps(record))
    data = load_datasets(loaded, today=TODAY)
    assert data.con.execute("SELECT sum(amount) FROM deals").fetchone() == (100,)
    assert data.quality["deals"].rows_read == 1
    cache.wait()  # the cold load wrote the entry again, with the types it has
    again = json.loads(meta.read_text())["datasets"]["deals"]["duckdb"]
    assert again == columns
    restored = load_datasets(loaded, today=TODAY)
    assert restored.con.execute("SELECT sum(amount) FROM deals").fetchone() == (100,)
