"""Write a large, clean deals dataset for benchmarks: ``deals.csv``, ``deals.parquet``, ``targets.csv``.

    python bench/make_bench_data.py --deals 1000000 --out bench/data

The deals use the same outcome model as the committed sample (``samples/generate.py``): the same reps,
products, cycles, win rates, seasonality and growth over 24 months. The bench numbers are then about
data that looks like the sample, only bigger. There is no lead funnel, because drawing ten million
leads only to throw them away would make the generator slower than the thing it benchmarks. Creation
dates come straight from the seasonal volume profile. ``bench/data/`` is git-ignored.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from samples.generate import (
    REPEAT_DEAL_SHARE,
    REPS,
    SOURCE_LEAD_SHARE,
    SOURCES,
    Calendar,
    deals_csv_frame,
    deals_table,
    draw_dates,
    draw_deal_outcomes,
    make_calendar,
    monthly_revenue,
    numbered_ids,
    seasonal_plan,
)


def bench_deals(n_deals: int, *, seed: int = 7, start: str = "2024-01-01", months: int = 24) -> pd.DataFrame:
    """``n_deals`` deals with canonical content plus the internal columns ``deals_csv_frame`` reads."""
    cal = make_calendar(start, months)
    rng = np.random.default_rng(seed)
    created = np.sort(draw_dates(rng, n_deals, cal))
    repeat = rng.random(n_deals) < REPEAT_DEAL_SHARE
    repeat[:1] = False  # the first deal has no earlier account to repeat
    rep_idx = rng.integers(0, len(REPS), n_deals)
    source_idx = rng.choice(len(SOURCES), size=n_deals, p=SOURCE_LEAD_SHARE)
    deals = draw_deal_outcomes(rng, created, rep_idx, source_idx, repeat, cal)
    deals["deal_id"] = numbered_ids("D", n_deals, 7)
    deals["customer_id"] = _customer_ids(rng, repeat)
    return deals


def _customer_ids(rng: np.random.Generator, repeat: np.ndarray) -> np.ndarray:
    """New deals open new accounts. A repeat deal reuses the account of an earlier new deal.

    The deals are in creation order, so "earlier" is a prefix.
    """
    new_so_far = np.cumsum(~repeat)
    account = np.where(repeat, np.floor(rng.random(len(repeat)) * new_so_far) + 1, new_so_far)
    width = max(6, len(str(int(new_so_far[-1]) if len(repeat) else 0)))
    return np.char.add("C", np.char.zfill(account.astype(np.int64).astype(str), width)).astype(object)


def bench_targets(deals: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """A monthly company revenue target a little above the seasonal trend, like the sample's plan."""
    plan = np.round(seasonal_plan(monthly_revenue(deals, cal), cal, 1.05), -3)
    return pd.DataFrame({"period": cal.period_labels(), "kpi": "revenue",
                         "value": np.char.mod("%.10g", plan), "scope": "all"})


def deals_arrow(deals: pd.DataFrame) -> pa.Table:
    """The canonical deals as typed Arrow columns (dates as date32, money as float64, null profit)."""
    table = deals_table(deals, deals["deal_id"].to_numpy(), deals["customer_id"].to_numpy())
    columns = {}
    for name in table.columns:
        values = table[name].to_numpy()
        if name.endswith("_date"):
            columns[name] = pa.array(values.astype("datetime64[D]"), type=pa.date32())
        elif name in ("amount", "profit"):
            columns[name] = pa.array(values, type=pa.float64(), from_pandas=True)
        else:
            columns[name] = pa.array(values, type=pa.string())
    return pa.table(columns)


def write_bench_data(out_dir: Path, n_deals: int, *, seed: int = 7, start: str = "2024-01-01",
                     months: int = 24) -> dict[str, Path]:
    """Write the three bench files and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cal = make_calendar(start, months)
    deals = bench_deals(n_deals, seed=seed, start=start, months=months)
    paths = {"deals_csv": out_dir / "deals.csv", "deals_parquet": out_dir / "deals.parquet",
             "targets": out_dir / "targets.csv"}
    deals_csv_frame(deals).to_csv(paths["deals_csv"], index=False, lineterminator="\n")
    pq.write_table(deals_arrow(deals), paths["deals_parquet"])
    bench_targets(deals, cal).to_csv(paths["targets"], index=False, lineterminator="\n")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000, help="number of deals")
    parser.add_argument("--out", type=Path, default=Path("bench/data"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    paths = write_bench_data(args.out, args.deals, seed=args.seed, start=args.start, months=args.months)
    for path in paths.values():
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    print(f"{args.deals:,} deals in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
