"""Reference for `compute`: a plain DuckDB scan of a deals file, as one whole process.

    python bench/duckdb_scan.py FILE.csv|FILE.parquet

Python start-up, ``import duckdb``, read the whole file and sum won amounts by close month: the least
any tool must do to compute one deals KPI from this file with this stack.
"""
import sys

import duckdb

path = sys.argv[1]
src = f"read_csv('{path}')" if path.endswith(".csv") else f"read_parquet('{path}')"
rows = duckdb.sql(f"SELECT date_trunc('month', close_date) AS m, sum(amount) FROM {src} "
                  "WHERE stage = 'won' GROUP BY 1").fetchall()
print(len(rows))
