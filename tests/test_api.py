"""The public Python API as docs/api.md shows it, against the committed sample config."""
from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import reportgen

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def test_import_is_light() -> None:
    code = "import sys, reportgen; print(any(m in sys.modules for m in ('pandas', 'duckdb', 'weasyprint')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_notebook_example_computes_the_table(repo_root: Path) -> None:
    loaded = reportgen.load_config(repo_root / "configs" / "example.yaml")
    metrics = reportgen.compute(loaded, period="2025-06", now=NOW)
    june = metrics.table.query("period == '2025-06' and dimension == '' and window == ''")
    revenue = june.set_index("kpi").loc["revenue"]
    assert revenue["value"] == metrics.row("revenue", "2025-06")["value"]
    # the same numbers from the export itself, without reportgen: won deals closed in June 2025
    import pandas as pd

    deals = pd.read_csv(repo_root / "samples" / "data" / "deals.csv", parse_dates=["close_date"])
    won = deals[(deals["stage"] == "won") & (deals["close_date"].dt.strftime("%Y-%m") == "2025-06")]
    assert revenue["value"] == pytest.approx(won["amount"].sum(), abs=0.005) and won["amount"].sum() > 0
    assert metrics.row("deals_won", "2025-06")["value"] == len(won)
    assert not math.isnan(metrics.window_row("revenue", "2025-06", "ytd")["value"])
    assert list(metrics.series("revenue").index)[-1] == "2025-06"


def test_build_writes_the_pdf_and_bad_segments_are_one_line(repo_root: Path, tmp_path: Path) -> None:
    config = repo_root / "configs" / "example.yaml"
    built = reportgen.build(str(config), audience="executive", period="2025-06", output_dir=tmp_path, now=NOW)
    assert [b.audience for b in built] == ["executive"] and built[0].pdf.is_file() and built[0].pages <= 2
    with pytest.raises(reportgen.ReportgenError, match="expected DIMENSION=VALUE"):
        reportgen.compute(config, segment="West", now=NOW)
