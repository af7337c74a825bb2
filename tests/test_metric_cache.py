"""The warm cache of computed metrics (reportgen/pipeline/metric_cache.py): a second compute of an
unchanged config gives the same metrics without loading or querying; a change to anything a number
depends on (a data file, the config, the day, the request, the code) computes afresh; a damaged entry
costs speed, never a wrong number; a failing check is never skipped."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from reportgen.config.load import load_config
from reportgen.data import cache
from reportgen.errors import DataError
from reportgen.kpis.periods import parse_period
from reportgen.pipeline import metric_cache
from reportgen.pipeline.build import Segment, compute_for_config

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _config(folder: Path, *, target: int = 300) -> Path:
    (folder / "deals.csv").write_text(
        "deal_id,created_date,close_date,stage,amount,region\n"
        "D1,2024-11-25,2024-12-01,won,80,North\n"
        "D2,2024-12-03,2024-12-31,lost,50,South\n"
        "D3,2025-01-05,2025-01-20,won,100,North\n"
        "D4,2025-01-06,2025-01-31,won,250,South\n")
    cfg = folder / "sc.yaml"
    cfg.write_text("scorecard: {as_of: 2025-01-31, history: 2, breakdowns: [region]}\n"
                   "datasets:\n  deals: {path: deals.csv}\n"
                   f"kpis: [{{id: revenue, target: {target}}}, deals_won, win_rate]\n")
    return cfg


def _no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any load of the data fail: what follows must come from the metric cache."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was loaded")

    monkeypatch.setattr("reportgen.pipeline.build.load_data", refuse)


def test_a_warm_compute_gives_the_same_metrics_without_loading(tmp_path: Path, cache_folder: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_config(_config(tmp_path))
    cold = compute_for_config(loaded, now=NOW)
    cache.wait()
    assert len(list((cache_folder / "metrics").glob("*.parquet"))) == 1
    with monkeypatch.context() as m:
        _no_load(m)
        warm = compute_for_config(load_config(tmp_path / "sc.yaml"), now=NOW)
    pd.testing.assert_frame_equal(cold.table, warm.table, check_exact=True)  # values, dtypes, missing cells
    assert warm.unavailable == cold.unavailable and warm.quality == cold.quality
    assert [p.label for p in warm.periods] == [p.label for p in cold.periods] == ["2024-12", "2025-01"]
    assert list(warm.kpis) == list(cold.kpis) and warm.grain == cold.grain and warm.windows == cold.windows
    # the numbers themselves, against the file: January's won amount and win rate
    assert warm.row("revenue", "2025-01")["value"] == 100 + 250
    assert warm.row("revenue", "2025-01")["target"] == 300
    assert warm.row("win_rate", "2024-12")["value"] == pytest.approx(1 / 2)
    t = warm.table
    south = t[(t.kpi == "revenue") & (t.period == "2025-01") & (t.dimension == "region") & (t.segment == "South")]
    assert south["value"].tolist() == [250]


def test_anything_a_number_depends_on_computes_afresh(tmp_path: Path, cache_folder: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path)
    assert compute_for_config(load_config(cfg), now=NOW).row("revenue", "2025-01")["target"] == 300
    # the config outside the datasets section (a target): a new key, the new target
    cfg.write_text(cfg.read_text().replace("target: 300", "target: 400"))
    assert compute_for_config(load_config(cfg), now=NOW).row("revenue", "2025-01")["target"] == 400
    # a data file's bytes
    csv = tmp_path / "deals.csv"
    csv.write_text(csv.read_text().replace("won,250,South", "won,260,South"))
    assert compute_for_config(load_config(cfg), now=NOW).row("revenue", "2025-01")["value"] == 360
    # the request: a segment, a period
    loaded = load_config(cfg)
    assert compute_for_config(loaded, now=NOW, segment=Segment("region", "North")).row(
        "revenue", "2025-01")["value"] == 100
    assert compute_for_config(loaded, now=NOW, period="2024-12").periods[-1].label == "2024-12"
    # the code: another version of reportgen is another key
    jan = parse_period("2025-01", "month")
    ask = {"report": jan, "start": jan, "segment": None, "breakdowns": None, "breakdown_kpis": None}
    key_now = metric_cache.metrics_key(loaded, "data", **ask)
    monkeypatch.setattr(metric_cache, "_code_version", lambda: "another version")
    assert metric_cache.metrics_key(loaded, "data", **ask) != key_now


def test_the_day_is_part_of_the_key(tmp_path: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path)
    compute_for_config(load_config(cfg), now=NOW)
    with monkeypatch.context() as m:
        _no_load(m)
        compute_for_config(load_config(cfg), now=NOW)  # the same day: from the cache
        with pytest.raises(AssertionError, match="loaded"):  # the next day: future-date rules may differ
            compute_for_config(load_config(cfg), now=datetime(2026, 1, 6, tzinfo=UTC))


def test_a_damaged_entry_computes_again_with_the_same_result(tmp_path: Path, cache_folder: Path) -> None:
    loaded = load_config(_config(tmp_path))
    cold = compute_for_config(loaded, now=NOW).table
    entry = next((cache_folder / "metrics").glob("*.parquet"))
    entry.write_bytes(b"not parquet" * 50)
    again = compute_for_config(loaded, now=NOW).table
    pd.testing.assert_frame_equal(cold, again, check_exact=True)
    assert entry.read_bytes().startswith(b"PAR1")  # written again, whole
    next((cache_folder / "metrics").glob("*.json")).write_text("{not json")
    pd.testing.assert_frame_equal(cold, compute_for_config(loaded, now=NOW).table, check_exact=True)


def test_a_failing_period_guard_is_never_served_from_the_cache(tmp_path: Path, cache_folder: Path) -> None:
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace("as_of: 2025-01-31", "as_of: 2025-02-28"))  # the data ends Jan 31
    for _ in range(2):
        with pytest.raises(DataError, match="before the reporting period 2025-02 begins"):
            compute_for_config(load_config(cfg), now=NOW)
    assert not list((cache_folder / "metrics").glob("*.json"))


def test_builds_twice_from_the_command_line_write_the_same_files_and_clear_counts_them(
        tmp_path: Path, cache_folder: Path) -> None:
    cfg = _config(tmp_path)
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache_folder)}
    for out in ("a", "b"):
        argv = [sys.executable, "-m", "reportgen", "build", str(cfg), "--now", "2026-01-05T08:00:00+00:00",
                "-o", str(tmp_path / out)]
        run = subprocess.run(argv, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
    for name in ("sc-executive.pdf", "sc-executive.html", "sc-executive-metrics.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert len(list((cache_folder / "metrics").glob("*.json"))) == 1
    out = subprocess.run([sys.executable, "-m", "reportgen", "cache", "clear"], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"removed 2 cached entries from {cache_folder}"
    assert not list((cache_folder / "metrics").iterdir())
