"""Where the time of one executive build goes, phase by phase, in one fresh process.

    python bench/profile_build.py [--rows 1e6] [--format csv|parquet]

Splits `reportgen build --audience executive` on the generated deals (bench/gen_data.py) into:
importing the config module (which pulls in pandas), the other heavy imports (DuckDB, WeasyPrint),
loading the data (typing, date detection, quality counts), computing the KPIs, rendering (view
context and charts, HTML, PDF) and the metric exports (CSV + XLSX) that `build` writes by default.
For a function-level view run ``python -m cProfile -s cumtime -m reportgen build ...`` (cProfile
inflates pure-Python parts such as openpyxl several-fold; use it for "what", this for "how much").
"""
from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args(argv)
    from bench.gen_data import ensure_deals
    from bench.workloads import write_config

    data = ensure_deals(args.rows)[args.format]
    marks = [("start-up and argparse", time.perf_counter())]
    from reportgen.config.load import load_config

    marks.append(("import reportgen.config.models (pandas via expressions)", time.perf_counter()))
    import duckdb  # noqa: F401
    import weasyprint  # noqa: F401

    from reportgen.pipeline import build as B

    marks.append(("import duckdb, weasyprint, reportgen.pipeline.build", time.perf_counter()))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        loaded = load_config(write_config(out / "bench.yaml", data))
        now = datetime(2026, 1, 5, tzinfo=UTC)
        loaded_data = B.load_data(loaded, today=now.date())
        marks.append(("load data (read, type, quality)", time.perf_counter()))
        metrics = B.compute_for_config(loaded, now=now, data=loaded_data, breakdown_kpis=["revenue"])
        marks.append(("compute KPIs", time.perf_counter()))
        (built,) = B.build(loaded, now=now, audience="executive", output_dir=out, exports=False, metrics=metrics)
        marks.append(("render: context+charts, HTML, PDF", time.perf_counter()))
        audience = B.audiences_of(loaded)["executive"]
        B.write_metric_exports(metrics, audience, out / "m.csv", out / "m.xlsx")
        marks.append((f"metric exports CSV + XLSX ({len(metrics.table)} rows)", time.perf_counter()))
    previous = T0
    print(f"executive build, {args.rows:,} rows {args.format}")
    for name, at in marks:
        print(f"  {at - previous:6.2f} s  {name}")
        previous = at
    print(f"  {previous - T0:6.2f} s  total (render split: " +
          ", ".join(f"{k} {v:.2f} s" for k, v in built.timings.items() if k != "data") + ")")


if __name__ == "__main__":
    main()
