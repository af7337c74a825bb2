"""Export shapes the mapping can express (issue 19, item 9): computed columns, ``types:`` on any dataset,
typed constants, id-like columns kept as text."""
from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from reportgen.config.load import load_config
from reportgen.data import load_datasets
from reportgen.errors import ConfigError
from reportgen.pipeline.build import compute_for_config

TODAY = date(2026, 1, 1)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _cfg(tmp_path: Path, files: dict[str, str], config: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "c.yaml").write_text(textwrap.dedent(config))
    return tmp_path / "c.yaml"


LINES = ("order_id,order_date,unit_price,quantity,discount\n"
         "10248,2025-01-04,14.00,12,0\n10248,2025-01-04,9.80,10,0.15\n10249,2025-01-05,42.40,40,0.05\n"
         "10250,2025-02-08,7.70,10,0\n10251,2025-02-08,\"1,000.50\",2,0.5\n")
EXPECTED = {"2025-01": 14.0 * 12 + 9.8 * 10 * 0.85 + 42.4 * 40 * 0.95, "2025-02": 7.7 * 10 + 1000.5 * 2 * 0.5}


@pytest.mark.parametrize("typed", [True, False])
def test_a_computed_line_amount_sums_like_independent_arithmetic(tmp_path: Path, typed: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen.data import load as load_module

    if not typed:
        monkeypatch.setattr(load_module, "load_typed", lambda *args, **kwargs: False)
    cfg = _cfg(tmp_path, {"lines.csv": LINES}, """\
        scorecard: {as_of: 2025-02-28, allow_partial_period: true, breakdowns: []}
        datasets:
          deals:
            path: lines.csv
            columns: {order_id: deal_id, order_date: [created_date, close_date]}
            computed: {amount: unit_price * quantity * (1 - discount)}
            constants: {stage: won}
            order_lines: true
        kpis: [revenue, deals_won]
        """)
    metrics = compute_for_config(load_config(cfg), now=NOW, first="2025-01")
    for month, value in EXPECTED.items():
        assert metrics.row("revenue", month)["value"] == pytest.approx(value)
    assert metrics.quality["deals"].loader == ("typed read" if typed else "general")


def test_a_computed_expression_is_checked_like_a_kpi_formula(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"lines.csv": LINES}, """\
        datasets:
          deals:
            path: lines.csv
            computed: {amount: unit_price ** quantity}
        """)
    with pytest.raises(ConfigError, match=r"c.yaml:4:24: computed column 'amount': formula 'unit_price \*\* "
                                          r"quantity': only \+ - \* / are allowed"):
        load_config(cfg)


def test_types_keep_an_extra_column_on_a_canonical_dataset(tmp_path: Path) -> None:
    spend = ("date,category,amount,impressions\n2025-01-01,marketing,100,\"12,000\"\n"
             "2025-01-31,marketing,50,3000\n")
    cfg = _cfg(tmp_path, {"spend.csv": spend}, """\
        scorecard: {as_of: 2025-01-31, breakdowns: []}
        datasets:
          spend: {path: spend.csv, decimal: ".", types: {impressions: number}}
        kpis:
          - {id: impressions, measure: {dataset: spend, agg: sum, column: impressions, date: date}, unit: count}
        """)
    metrics = compute_for_config(load_config(cfg), now=NOW)
    assert metrics.row("impressions", "2025-01")["value"] == 15000


def test_a_yaml_date_constant_is_a_date_and_ids_stay_text(tmp_path: Path) -> None:
    churn = "EmployeeID,churned\n1178,1\n1179,0\n1180,1\n"
    cfg = _cfg(tmp_path, {"churn.csv": churn}, """\
        scorecard: {as_of: 2024-12-31, breakdowns: [EmployeeID]}
        datasets:
          churn: {path: churn.csv, constants: {as_of: 2024-12-31}}
        kpis:
          - {id: churned, measure: {dataset: churn, agg: sum, column: churned, date: as_of}, unit: count}
        """)
    data = load_datasets(load_config(cfg), today=TODAY)
    assert data.types["churn"] == {"EmployeeID": "text", "churned": "number", "as_of": "date"}
    assert data.con.execute("SELECT list(EmployeeID ORDER BY EmployeeID), min(as_of) FROM churn").fetchone() == (
        ["1178", "1179", "1180"], date(2024, 12, 31))


def test_a_float_id_from_parquet_prints_as_an_integer(tmp_path: Path) -> None:
    frame = pd.DataFrame({"deal_id": ["A", "B"], "created_date": pd.to_datetime(["2025-01-02", "2025-01-03"]),
                          "close_date": pd.to_datetime(["2025-01-20", "2025-01-21"]), "stage": ["won", "won"],
                          "amount": [1.0, 2.0], "customer_id": [1178.0, None]})
    frame.to_parquet(tmp_path / "d.parquet")
    cfg = _cfg(tmp_path, {}, """\
        scorecard: {as_of: 2025-01-31}
        datasets:
          deals: {path: d.parquet}
        """)
    data = load_datasets(load_config(cfg), today=TODAY)
    assert data.con.execute("SELECT list(customer_id ORDER BY deal_id) FROM deals").fetchone() == (["1178", None],)
