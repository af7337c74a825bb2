"""Deterministic synthetic deals for the benchmarks, cached outside the repository.

    python bench/gen_data.py 1000000 [--cache DIR]

Writes ``deals-1m.csv`` and ``deals-1m.parquet`` (``10m`` for ten million, ``100k`` ...) into the cache
folder (``$REPORTGEN_BENCH_CACHE``, default ``~/.cache/reportgen-bench``). The schema and the random
model are those of the shared baseline generator (``../shared/baseline/gen_deals.py``): the same
seeds give the same rows, so reportgen and the hand-written baselines read exactly the same file and
the ratios compare like with like. Columns: deal_id, created_date, close_date (empty while open),
stage won/lost/open, amount, rep (50), region (6), product (10), source (8); 36 months of creation
dates, 2022-01 .. 2024-12. Written in chunks of one million rows, so ten million rows need little
memory. A file is written to a temporary name and renamed, so an interrupted run never leaves a
truncated file that a later run would trust.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and pyarrow are imported only to generate: timed scripts import this module
    import pyarrow as pa

START = "2022-01-01"
DAYS = 1096  # 2022-01-01 .. 2024-12-31
REPS = tuple(f"rep_{i:02d}" for i in range(50))
REGIONS = ("NA-East", "NA-West", "EMEA-North", "EMEA-South", "APAC", "LATAM")
PRODUCTS = tuple(f"product_{c}" for c in "ABCDEFGHIJ")
SOURCES = ("inbound", "outbound", "partner", "event", "referral", "web", "paid", "upsell")
CHUNK = 1_000_000
AS_OF = "2024-12-31"
"""The last day of the generated data: the benches report on December 2024."""


def cache_dir() -> Path:
    """Where generated data lives: big files never belong in the repository."""
    return Path(os.environ.get("REPORTGEN_BENCH_CACHE", Path.home() / ".cache" / "reportgen-bench"))


def label(rows: int) -> str:
    """``1000000`` -> ``1m``, ``100000`` -> ``100k``: short, stable file names."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def make_chunk(start_id: int, n: int, seed: int) -> pa.Table:
    """One chunk of deals; the same model and draw order as the baseline generator."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    created_off = rng.integers(0, DAYS, n)
    created = np.datetime64(START) + created_off.astype("timedelta64[D]")
    u = rng.random(n)
    age = (DAYS - created_off) / DAYS  # closer to the end of the window -> more likely still open
    p_open = 0.05 + 0.5 * np.clip(1 - age * 6, 0, 1)
    stage = np.where(u < p_open, "open", np.where(rng.random(n) < 0.28, "won", "lost"))
    cycle = rng.gamma(2.0, 30.0, n).astype(np.int64) + 1
    close = created + cycle.astype("timedelta64[D]")
    amount = np.round(rng.lognormal(mean=9.5, sigma=1.0, size=n), 2)
    rep, region = rng.integers(0, 50, n), rng.integers(0, 6, n)
    product, source = rng.integers(0, 10, n), rng.integers(0, 8, n)
    return pa.table({
        "deal_id": pa.array(np.arange(start_id, start_id + n, dtype=np.int64)),
        "created_date": pa.array(created.astype("datetime64[D]"), type=pa.date32()),
        "close_date": pa.array(close.astype("datetime64[D]"), mask=stage == "open", type=pa.date32()),
        "stage": pa.array(stage),
        "amount": pa.array(amount),
        "rep": pa.array(np.array(REPS)[rep]),
        "region": pa.array(np.array(REGIONS)[region]),
        "product": pa.array(np.array(PRODUCTS)[product]),
        "source": pa.array(np.array(SOURCES)[source]),
    })


def ensure_deals(rows: int, folder: Path | None = None) -> dict[str, Path]:
    """The CSV and Parquet files for ``rows`` deals, generated once and reused from the cache."""
    folder = folder or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / f"deals-{label(rows)}.csv", "parquet": folder / f"deals-{label(rows)}.parquet"}
    if all(p.exists() for p in paths.values()):
        return paths
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    tmp = {k: p.with_name(p.name + ".partial") for k, p in paths.items()}
    csv_w = pq_w = None
    done = k = 0
    while done < rows:
        m = min(CHUNK, rows - done)
        table = make_chunk(done + 1, m, 42 + k)
        if csv_w is None:
            csv_w = pacsv.CSVWriter(str(tmp["csv"]), table.schema)
            pq_w = pq.ParquetWriter(str(tmp["parquet"]), table.schema, compression="snappy")
        csv_w.write_table(table)
        pq_w.write_table(table, row_group_size=CHUNK)
        done, k = done + m, k + 1
    csv_w.close()
    pq_w.close()
    for key, path in paths.items():
        tmp[key].replace(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=lambda s: int(float(s)), help="number of deals, e.g. 1e6")
    parser.add_argument("--cache", type=Path, default=None, help="folder (default: $REPORTGEN_BENCH_CACHE)")
    args = parser.parse_args(argv)
    for path in ensure_deals(args.rows, args.cache).values():
        print(f"{path}\t{path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
