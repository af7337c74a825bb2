"""Benchmark SQL pushdown: `compute` over a deals table in PostgreSQL, pushed down vs read whole.

    python bench/bench_pushdown.py [--rows 1000000] [--repeat 1] [--url postgresql+psycopg://...]

Without ``--url`` it starts a throwaway PostgreSQL server in a temporary folder (the test fixture's
code: initdb + pg_ctl, durability off, stopped at the end). It loads the generated deals
(``bench/gen_data.py``, cached in ``~/.cache/reportgen-bench``) into a table ``bench_deals`` with native
types (COPY from the cached CSV), then, in the same run, times the full load + compute of a scorecard
(every deals KPI, 24 months with comparisons, breakdowns by region and rep):

  - pushdown: the canonical table is built and every KPI aggregated inside PostgreSQL;
  - local: ``pushdown: false``, every row read with pandas.read_sql into DuckDB (the path before pushdown).

It prints each time (load = source to canonical table with its quality record; compute = every KPI
query), the rows that crossed the wire each way, and checks that both metric tables are the same.
Run it as a script, not as a test: times depend on the machine.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLE = "bench_deals"
COLUMNS = ("deal_id bigint, created_date date, close_date date, stage text, amount double precision, rep text, "
           "region text, product text, source text")


def load_table(url: str, csv: Path) -> float:
    """(Re)create ``bench_deals`` from the generated CSV with COPY; return the seconds it took."""
    import psycopg

    t = time.perf_counter()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} ({COLUMNS})")
        with conn.cursor() as cur, cur.copy(f"COPY {TABLE} FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                csv.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.execute(f"ANALYZE {TABLE}")
    return time.perf_counter() - t


def run(url: str, pushdown: bool) -> tuple[float, float, object, object]:
    """Load + compute once; (load seconds, compute seconds, transfer counters, metric table)."""
    from reportgen.config.load import load_config
    from reportgen.pipeline.build import compute_for_config, load_data

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yaml"
        cfg.write_text(
            "scorecard: {as_of: 2024-12-31, history: 24, breakdowns: [region, rep]}\n"
            "datasets:\n"
            f"  deals: {{url: '{url}', table: {TABLE}, pushdown: {'true' if pushdown else 'false'}}}\n"
        )
        loaded = load_config(cfg)
        t = time.perf_counter()
        data = load_data(loaded, today=datetime(2025, 1, 1, tzinfo=UTC).date())
        t_load = time.perf_counter() - t
        metrics = compute_for_config(loaded, now=datetime(2025, 1, 1, tzinfo=UTC), data=data)
        return t_load, time.perf_counter() - t - t_load, data.transfer, metrics.table


def same_table(a: object, b: object) -> int:
    """Number of values that differ between two metric tables (0 when the same)."""
    import pandas as pd

    assert isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame)
    keys = ["kpi", "period", "dimension", "segment", "window"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    if len(a) != len(b) or not a[keys].equals(b[keys]):
        return max(len(a), len(b))
    diff = 0
    for col in ("value", "prior", "year_ago", "target"):
        for x, y in zip(a[col].astype(float), b[col].astype(float)):
            if not ((math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)):
                diff += 1
    return diff


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--url", default=None, help="an existing PostgreSQL (SQLAlchemy URL); default: start one")
    args = ap.parse_args(argv)

    from bench.gen_data import ensure_deals

    csv = ensure_deals(args.rows)["csv"]
    import duckdb  # noqa: F401  - import cost excluded from both sides
    import pandas  # noqa: F401
    import sqlglot  # noqa: F401

    server = stop = base = os_user = None
    url = args.url
    if url is None:
        from tests.fixtures.postgres import _run_pg, _server_os_user, find_pg_bindir, start_postgres

        bindir = find_pg_bindir()
        if bindir is None:
            sys.exit("PostgreSQL server binaries not found: run scripts/setup.sh")
        os_user = _server_os_user()
        base = Path(tempfile.mkdtemp(prefix="reportgen-pg-bench-"))
        base.chmod(0o755)
        server, stop = start_postgres(base, bindir, os_user)
        url = server.url
    try:
        print(f"PostgreSQL: loaded {args.rows:,} deals into {TABLE} in {load_table(url, csv):.1f} s")
        results = {}
        for mode in ("pushdown", "local"):
            runs = [run(url, mode == "pushdown") for _ in range(args.repeat)]
            results[mode] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                             runs[0][2], runs[0][3])
        print(f"{'mode':9} {'total s':>8} {'load s':>7} {'compute s':>10} {'rows fetched':>13} {'rows sent up':>13} "
              f"{'queries':>8} {'rows read whole':>16}")
        for mode, (load, comp, tr, _) in results.items():
            print(f"{mode:9} {load + comp:8.2f} {load:7.2f} {comp:10.2f} {tr.rows_fetched:13,} "  # type: ignore[attr-defined]
                  f"{tr.rows_sent:13,} {tr.queries:8,} {tr.rows_read_whole:16,}")  # type: ignore[attr-defined]
        diff = same_table(results["pushdown"][3], results["local"][3])
        n = len(results["local"][3])  # type: ignore[arg-type]
        print(f"metric table: {n:,} rows; {'identical' if diff == 0 else f'{diff} values DIFFER'} between the two")
        if diff:
            sys.exit(1)
    finally:
        if stop is not None and base is not None:
            from tests.fixtures.postgres import _run_pg

            _run_pg(stop, os_user, cwd=base, timeout=60)
            import shutil

            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
