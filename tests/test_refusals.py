"""Every refusal names the setting that changes it (issue 19, item 10), asserted by its exact message."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli.app import main
from reportgen.config.load import load_config
from reportgen.data import load_datasets
from reportgen.errors import DataError, ReportgenError
from reportgen.pipeline.build import compute_for_config

TODAY = date(2026, 1, 1)


def _write(tmp_path: Path, files: dict[str, str], config: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "c.yaml").write_text(config)
    return tmp_path / "c.yaml"


def _validate(cfg: Path) -> str:
    result = CliRunner().invoke(main, ["validate", str(cfg)])
    assert result.exit_code != 0
    return result.output


def test_a_misspelt_dataset_name_gets_did_you_mean(tmp_path: Path) -> None:
    cfg = _write(tmp_path, {"leads.csv": "lead_id,created_date\nL1,2025-01-02\n"},
                 "scorecard: {as_of: 2025-01-31}\ndatasets:\n  leadz: {path: leads.csv}\n")
    assert (f"error: {cfg}:3:10: dataset 'leadz' is not a canonical dataset - did you mean 'leads'? (a custom dataset "
            "needs a name that is not this close to one)") in _validate(cfg)


def test_missing_default_breakdowns_suggest_an_empty_list(tmp_path: Path) -> None:
    cfg = _write(tmp_path, {"subs.csv": "customer_id,start_date,end_date,mrr\nC1,2025-01-01,,10\n"},
                 "scorecard: {as_of: 2025-01-31}\ndatasets:\n  subscriptions: {path: subs.csv}\n")
    assert _validate(cfg) == (f"error: {cfg}:1:1: the default breakdowns region, rep, product, source are not "
                              "columns of any dataset (columns: customer_id) - set scorecard.breakdowns: [] or list "
                              "the dimensions your data has\n")


def test_the_gate_shows_the_rows_the_settings_and_order_lines(tmp_path: Path) -> None:
    body = ("deal_id,created_date,close_date,stage,amount\nA,2025-01-02,2025-01-30,Won,10\n"
            "A,2025-01-02,2025-01-30,Won,5\nA,2025-01-03,2025-01-30,Won,7\nB,2025-01-03,2025-01-29,Won,-3\n")
    cfg = _write(tmp_path, {"deals.csv": body},
                 "scorecard: {as_of: 2025-01-31}\ndatasets:\n  deals: {path: deals.csv, stages: {won: [Won]}}\n")
    with pytest.raises(DataError) as info:
        load_datasets(load_config(cfg), today=TODAY)
    assert str(info.value) == (
        "dataset 'deals' (deals.csv): 3 of 4 rows (75.0%) cannot be used, over the 1% allowed "
        "(quality.max_rejected_share): 2 duplicate deal_id, 1 won deal with a negative amount; if each row is one "
        "line of an order, set order_lines: true for the dataset to sum the lines into one deal per order\n"
        "deals.csv:3: duplicate deal_id (kept with quality.duplicate_ids: keep)\n"
        "deals.csv:4: duplicate deal_id (kept with quality.duplicate_ids: keep)\n"
        "deals.csv:5: won deal with a negative amount (kept with quality.negative_amounts: keep)")


def test_data_ending_a_day_short_of_the_month_suggests_data_through(tmp_path: Path) -> None:
    body = ("deal_id,created_date,close_date,stage,amount\nA,2025-01-01,2025-01-02,Won,10\n"
            "B,2025-01-02,2025-01-30,Won,5\n")
    cfg = _write(tmp_path, {"deals.csv": body},
                 "scorecard: {as_of: 2025-01-31, breakdowns: []}\n"
                 "datasets:\n  deals: {path: deals.csv, stages: {won: [Won]}}\nkpis: [revenue]\n")
    with pytest.raises(ReportgenError) as info:
        compute_for_config(load_config(cfg), now=datetime(2026, 1, 1, tzinfo=UTC))
    assert str(info.value).endswith(
        "or choose --period "
        "(compute: --to), or, if the export covers the period through its last day with no later rows, set "
        "data_through: 2025-01-31 for dataset 'deals'")


def test_a_config_target_losing_to_the_targets_file_is_noted(tmp_path: Path) -> None:
    deals = "deal_id,created_date,close_date,stage,amount\nA,2025-01-01,2025-01-31,Won,1\n"
    cfg = _write(tmp_path, {"deals.csv": deals,
                            "targets.csv": "period,kpi,value\n2025-01,revenue,100\n2025-01,win_rate,0.3\n"},
                 "scorecard: {as_of: 2025-01-31, breakdowns: []}\n"
                 "datasets:\n  deals: {path: deals.csv, stages: {won: [Won]}}\n  targets: {path: targets.csv}\n"
                 "kpis: [{id: revenue, target: 50}, deals_won]\n")
    data = load_datasets(load_config(cfg), today=TODAY)
    assert data.quality["targets"].notes == (
        "the targets file's rows for revenue win over the config's target for that KPI (which fills only the "
        "periods the file lacks)",)
