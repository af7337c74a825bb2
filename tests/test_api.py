"""The public Python API as docs/api.md shows it, against the committed sample config."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import reportgen

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def test_import_is_light() -> None:
    code = "import sys, reportgen; print(any(m in sys.modules for m in ('pandas', 'duckdb', 'weasyprint')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _won_deals(repo_root: Path) -> pd.DataFrame:
    """The sample CRM's won deals with their close month, read with pandas alone (not reportgen)."""
    deals = pd.read_csv(repo_root / "samples" / "data" / "deals.csv", parse_dates=["close_date"])
    won = deals[deals["stage"] == "won"].copy()
    won["month"] = won["close_date"].dt.strftime("%Y-%m")
    return won


def test_notebook_example_computes_the_table(repo_root: Path) -> None:
    """Every number checked here is recomputed from deals.csv with pandas, per kpi-spec's definitions."""
    loaded = reportgen.load_config(repo_root / "configs" / "example.yaml")
    metrics = reportgen.compute(loaded, period="2025-06", now=NOW)
    won = _won_deals(repo_root)
    revenue = won.groupby("month")["amount"].sum()
    count = won.groupby("month").size()
    june = metrics.table.query("period == '2025-06' and dimension == '' and window == ''").set_index("kpi")
    assert june.loc["revenue", "value"] == pytest.approx(revenue["2025-06"])
    assert june.loc["revenue", "prior"] == pytest.approx(revenue["2025-05"])
    assert june.loc["revenue", "year_ago"] == pytest.approx(revenue["2024-06"])
    assert june.loc["revenue", "pct_prior"] == pytest.approx(revenue["2025-06"] / revenue["2025-05"] - 1)
    assert june.loc["deals_won", "value"] == count["2025-06"]
    assert june.loc["average_deal_size", "value"] == pytest.approx(revenue["2025-06"] / count["2025-06"])
    ytd = won[(won["month"] >= "2025-01") & (won["month"] <= "2025-06")]["amount"].sum()
    assert metrics.window_row("revenue", "2025-06", "ytd")["value"] == pytest.approx(ytd)
    series = metrics.series("revenue")
    assert list(series.index)[-1] == "2025-06"
    assert series.to_dict() == pytest.approx({m: revenue.get(m, 0.0) for m in series.index})


def test_build_writes_the_pdf_and_bad_segments_are_one_line(repo_root: Path, tmp_path: Path) -> None:
    config = repo_root / "configs" / "example.yaml"
    built = reportgen.build(str(config), audience="executive", period="2025-06", output_dir=tmp_path, now=NOW)
    assert [b.audience for b in built] == ["executive"] and built[0].pdf.is_file() and built[0].pages <= 2
    with pytest.raises(reportgen.ReportgenError, match="expected DIMENSION=VALUE"):
        reportgen.compute(config, segment="West", now=NOW)
