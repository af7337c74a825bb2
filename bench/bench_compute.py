"""Benchmark `compute` over a large deals file against a plain DuckDB scan of the same file.

    python bench/bench_compute.py [--deals 1000000] [--format csv|parquet|both] [--repeat 3]

Generates the data once into bench/data/ (git-ignored) with bench/make_bench_data.py, then, in the
same run and on the same file, times:
  - baseline: a plain DuckDB scan that reads the file and sums won amounts by close month;
  - reportgen: the full `compute` (load with typing and data-quality counts, every deals KPI for 24
    months with comparisons, breakdowns by region and rep), in-process, imports excluded.
It prints each time and the ratio reportgen / baseline. Run it as a script, not as a test: times
depend on the machine, ratios much less so.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ensure_data(n: int, out: Path) -> Path:
    marker = out / f"deals-{n}.ok"
    if not marker.exists():
        from bench.make_bench_data import write_bench_data

        t = time.perf_counter()
        write_bench_data(out, n)
        marker.write_text("ok")
        print(f"generated {n:,} deals in {time.perf_counter() - t:.1f} s")
    return out


def baseline(path: Path) -> float:
    import duckdb

    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    src = f"read_csv('{path}')" if path.suffix == ".csv" else f"read_parquet('{path}')"
    con.execute(f"SELECT date_trunc('month', CAST(close_date AS DATE)) m, sum(amount) FROM {src} "
                "WHERE stage = 'won' GROUP BY 1").fetchall()
    con.close()
    return time.perf_counter() - t


def reportgen_compute(data_dir: Path, fmt: str) -> tuple[float, int]:
    from datetime import datetime

    from reportgen.config.load import load_config
    from reportgen.pipeline.build import compute_for_config

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yaml"
        cfg.write_text(
            "scorecard: {as_of: 2025-12-31, history: 24, breakdowns: [region, rep]}\n"
            "datasets:\n"
            f"  deals: {{path: {data_dir / ('deals.' + fmt)}}}\n"
            f"  targets: {{path: {data_dir / 'targets.csv'}}}\n"
        )
        t = time.perf_counter()
        metrics = compute_for_config(load_config(cfg), now=datetime(2026, 1, 1, tzinfo=UTC))
        return time.perf_counter() - t, len(metrics.table)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deals", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["csv", "parquet", "both"], default="both")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "data")
    args = ap.parse_args(argv)
    data_dir = ensure_data(args.deals, args.out)
    import duckdb  # noqa: F401  - import cost excluded from both sides
    import pandas  # noqa: F401

    print(f"{'format':8} {'baseline s':>11} {'reportgen s':>12} {'ratio':>7} {'rows out':>9}")
    for fmt in (["csv", "parquet"] if args.format == "both" else [args.format]):
        base = [baseline(data_dir / f"deals.{fmt}") for _ in range(args.repeat)]
        ours = [reportgen_compute(data_dir, fmt) for _ in range(args.repeat)]
        b, r = statistics.median(base), statistics.median(t for t, _ in ours)
        print(f"{fmt:8} {b:11.2f} {r:12.2f} {r / b:6.1f}x {ours[0][1]:9,}")


if __name__ == "__main__":
    main()
