"""Time `build` of the executive scorecard end to end, split into data, charts, HTML and PDF, and
compare with WeasyPrint rendering a minimal one-page document in the same process.

Run: python bench/bench_build.py [--runs 3]. The first run pays imports and font loading; the
table shows it separately from the warm median.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def minimal_pdf_seconds(runs: int) -> float:
    """Median wall time of WeasyPrint on a one-line page with the same shared font configuration."""
    from reportgen.render import asset_fetcher, write_pdf

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        write_pdf("<p>Hello</p>", base_url=REPO.as_uri() + "/", fetcher=asset_fetcher())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    t_import = time.perf_counter()
    from reportgen.config.load import load_config
    from reportgen.pipeline.build import build

    loaded = load_config(REPO / "configs" / "example.yaml")
    now = datetime(2026, 1, 5, tzinfo=UTC)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs + 1):
            t0 = time.perf_counter()
            (built,) = build(loaded, now=now, audience="executive", output_dir=Path(tmp), exports=False)
            total = time.perf_counter() - t0
            rows.append({**built.timings, "total": total})
            if i == 0:
                first_with_imports = time.perf_counter() - t_import
    minimal = minimal_pdf_seconds(5)
    warm = {k: statistics.median(r[k] for r in rows[1:]) for k in rows[0]}
    print(f"executive scorecard, {built.pages} pages, {args.runs} warm runs (median); first run incl. imports "
          f"{first_with_imports:.2f} s\n")
    print(f"{'step':<10}{'first':>9}{'warm':>9}{'share':>8}")
    for key in ("data", "charts", "html", "pdf", "total"):
        share = f"{warm[key] / warm['total']:.0%}" if key != "total" else ""
        print(f"{key:<10}{rows[0][key]:>8.3f}s{warm[key]:>8.3f}s{share:>8}")
    print(f"\nminimal one-page WeasyPrint PDF: {minimal * 1000:.1f} ms; scorecard PDF step / minimal = "
          f"{warm['pdf'] / minimal:.0f}x, whole build / minimal = {warm['total'] / minimal:.0f}x")


if __name__ == "__main__":
    main()
