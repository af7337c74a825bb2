"""Snapshot datasets and snapshot custom measures (issue 19, item 9): a file that pictures a state as of a
day (customer status, inventory) covers the period holding that day, up to it; a ``snapshot: true``
measure is a stock whose period value is its last snapshot's. Every expected value is independent
arithmetic with pandas over the same file, never the engine's own output."""
from __future__ import annotations

import math
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from reportgen.cli.app import main
from reportgen.config.load import load_config
from reportgen.errors import ConfigError, DataError
from reportgen.pipeline.build import compute_for_config
from reportgen.render.views import is_stock

NOW = datetime(2025, 2, 1, tzinfo=UTC)
EPOCH = {"SOURCE_DATE_EPOCH": str(int(NOW.timestamp()))}  # `compute` runs at NOW


def _cfg(tmp_path: Path, config: str) -> Path:
    (tmp_path / "c.yaml").write_text(textwrap.dedent(config))
    return tmp_path / "c.yaml"


def _customers(tmp_path: Path) -> pd.DataFrame:
    """A customer-status export as of one day: no date column at all."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(60)],
        "status": rng.choice(["active", "churned", "paused"], 60, p=[0.7, 0.2, 0.1]),
        "region": rng.choice(["North", "South", "West"], 60),
        "mrr": rng.integers(10, 500, 60).astype(float),
    })
    frame.to_csv(tmp_path / "customers.csv", index=False)
    return pd.read_csv(tmp_path / "customers.csv")


#: Month-end inventory counts, November missing; a mid-January count; a March count after ``NOW``.
SNAPSHOT_DAYS = ["2024-08-31", "2024-09-30", "2024-10-31", "2024-12-31", "2025-01-15", "2025-03-31"]


def _inventory(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = [(day, sku, region, int(rng.integers(0, 900)))
            for day in SNAPSHOT_DAYS for sku in ("A1", "B2", "C3", "D4") for region in ("North", "South")]
    frame = pd.DataFrame(rows, columns=["counted_on", "sku", "region", "units"])
    frame.to_csv(tmp_path / "inventory.csv", index=False)
    return pd.read_csv(tmp_path / "inventory.csv", parse_dates=["counted_on"])


INVENTORY = """\
    scorecard: {{as_of: {as_of}, grain: {grain}, breakdowns: [region]{extra}}}
    datasets:
      inventory:
        path: inventory.csv
        columns: {{counted_on: snapshot_date}}
        snapshot: {{date: snapshot_date}}
    kpis:
      - {{id: units_on_hand, measure: {{dataset: inventory, agg: sum, column: units, snapshot: true}}, unit: count}}
      - {{id: units_counted, unit: count,
         measure: {{dataset: inventory, agg: sum, column: units, date: snapshot_date}}}}
    """


def _units(frame: pd.DataFrame, day: str) -> float:
    return float(frame.loc[frame["counted_on"] == pd.Timestamp(day), "units"].sum())


def test_a_one_date_customer_snapshot_covers_its_month(tmp_path: Path) -> None:
    raw = _customers(tmp_path)
    cfg = _cfg(tmp_path, """\
        scorecard: {as_of: 2024-12-31, breakdowns: [region]}
        datasets:
          customers: {path: customers.csv, snapshot: {as_of: 2024-12-31}}
        kpis:
          - {id: active, measure: {dataset: customers, agg: count, filter: "status = 'active'", snapshot: true},
             unit: count}
          - {id: active_mrr, measure: {dataset: customers, agg: sum, column: mrr, filter: "status = 'active'",
             snapshot: true}, unit: money}
        """)
    metrics = compute_for_config(load_config(cfg), now=NOW)  # no refusal: December is covered
    active = raw[raw["status"] == "active"]
    december = metrics.row("active", "2024-12")
    assert december["value"] == len(active)
    assert december["coverage"] == ""
    assert metrics.row("active_mrr", "2024-12")["value"] == pytest.approx(active["mrr"].sum())
    november = metrics.row("active", "2024-11")  # before the snapshot: missing with the reason, never 0
    assert math.isnan(november["value"]) and november["note"] == "customers begin 2024-12-31"
    by_region = metrics.breakdown("active", "region", "2024-12").set_index("segment")["value"]
    assert by_region.to_dict() == active.groupby("region").size().astype(float).to_dict()
    assert is_stock(metrics.kpis["active"], metrics.kpis)  # a level: the page shows no year-to-date sum


def test_a_gap_month_between_snapshots_is_missing_with_its_reason(tmp_path: Path) -> None:
    raw = _inventory(tmp_path)
    cfg = _cfg(tmp_path, INVENTORY.format(as_of="2024-12-31", grain="month", extra=""))
    metrics = compute_for_config(load_config(cfg), now=NOW)
    for month, day in (("2024-09", "2024-09-30"), ("2024-10", "2024-10-31"), ("2024-12", "2024-12-31")):
        row = metrics.row("units_on_hand", month)
        assert (row["value"], row["coverage"]) == (_units(raw, day), "")
    november = metrics.row("units_on_hand", "2024-11")
    assert math.isnan(november["value"])
    assert (november["coverage"], november["note"]) == ("none", "inventory has no snapshot")
    flow = metrics.row("units_counted", "2024-11")  # a flow over the as-of column: the same coverage
    assert math.isnan(flow["value"]) and flow["note"] == "inventory has no snapshot"
    assert metrics.row("units_counted", "2024-10")["value"] == _units(raw, "2024-10-31")
    assert not is_stock(metrics.kpis["units_counted"], metrics.kpis)
    december = metrics.row("units_on_hand", "2024-12")
    assert math.isnan(december["prior"])  # never November carried forward from October
    assert december["year_ago_coverage"] == "none"
    south = metrics.breakdown("units_on_hand", "region", "2024-10").set_index("segment")["value"]["South"]
    assert south == raw[(raw["counted_on"] == "2024-10-31") & (raw["region"] == "South")]["units"].sum()
    with pytest.raises(DataError, match=r"^dataset 'inventory' has no snapshot in the reporting period 2024-11 "
                                        r"\(the nearest are as of 2024-10-31 and 2024-12-31\); choose --period"):
        compute_for_config(load_config(cfg), now=NOW, period="2024-11")


def test_a_quarter_takes_its_last_snapshot_and_compares_with_the_prior_one(tmp_path: Path) -> None:
    raw = _inventory(tmp_path)
    cfg = _cfg(tmp_path, INVENTORY.format(as_of="2024-12-31", grain="quarter", extra=""))
    metrics = compute_for_config(load_config(cfg), now=NOW)
    q4 = metrics.row("units_on_hand", "2024-Q4")
    assert q4["value"] == _units(raw, "2024-12-31")  # not the sum of October's and December's counts
    assert q4["prior"] == _units(raw, "2024-09-30")  # Q3: its last snapshot, September's
    assert q4["pct_prior"] == pytest.approx(_units(raw, "2024-12-31") / _units(raw, "2024-09-30") - 1)
    assert q4["coverage"] == ""
    kpi = metrics.kpis["units_on_hand"]
    assert not kpi.additive  # a stock's quarter target is not the sum of its months'


def test_a_snapshot_after_now_does_not_count(tmp_path: Path) -> None:
    raw = _inventory(tmp_path)
    cfg = _cfg(tmp_path, INVENTORY.format(as_of="2025-01-31", grain="month", extra=", allow_partial_period: true"))
    metrics = compute_for_config(load_config(cfg), now=NOW)
    january = metrics.row("units_on_hand", "2025-01")  # counted on the 15th: covered through it only
    assert january["value"] == _units(raw, "2025-01-15")
    assert (january["coverage"], january["note"]) == ("partial", "inventory end 2025-01-15")
    quality = metrics.quality["inventory"]
    assert quality.snapshots[-1] == date(2025, 1, 15) and quality.last_date == date(2025, 1, 15)
    assert "snapshot as of 2025-03-31 after the scorecard's day (2025-02-01) left out" in quality.notes
    with pytest.raises(DataError, match=r"^dataset 'inventory' ends 2025-01-15, before the reporting period "
                                        r"2025-03 begins"):
        compute_for_config(load_config(cfg), now=NOW, period="2025-03")
    strict = _cfg(tmp_path, INVENTORY.format(as_of="2025-01-31", grain="month", extra=""))
    with pytest.raises(DataError, match=r"^dataset 'inventory''s last snapshot in the reporting period 2025-01 is "
                                        r"as of 2025-01-15, before it ends \(2025-01-31\); set "
                                        r"scorecard.allow_partial_period: true"):
        compute_for_config(load_config(strict), now=NOW)
    later = compute_for_config(load_config(cfg), now=datetime(2025, 4, 2, tzinfo=UTC), period="2025-03")
    assert later.row("units_on_hand", "2025-03")["value"] == _units(raw, "2025-03-31")  # once it has happened


def test_misspelt_snapshot_keys_get_did_you_mean(tmp_path: Path) -> None:
    _customers(tmp_path)
    cfg = _cfg(tmp_path, """\
        datasets:
          customers: {path: customers.csv, snapshot: {as_off: 2024-12-31}}
        kpis:
          - {id: active, measure: {dataset: customers, agg: count, snapshop: true}, unit: count}
        """)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = str(err.value)
    assert "c.yaml:2:47: unknown key 'as_off' in datasets.customers.snapshot - did you mean 'as_of'?" in text
    assert "unknown key 'snapshop' in kpis[0].measure - did you mean 'snapshot'?" in text


def test_a_snapshot_measure_needs_a_snapshot_dataset(tmp_path: Path) -> None:
    _customers(tmp_path)
    cfg = _cfg(tmp_path, """\
        datasets:
          customers: {path: customers.csv}
        kpis:
          - {id: active, measure: {dataset: customers, agg: count, snapshot: true}, unit: count}
        """)
    with pytest.raises(ConfigError, match=r"c.yaml:4:70: measure of 'active' is a snapshot, but dataset 'customers' "
                                          r"declares no 'snapshot' \(add snapshot: \{as_of: YYYY-MM-DD\}"):
        load_config(cfg)


def test_the_cli_computes_a_snapshot_and_refuses_a_missing_as_of_column(tmp_path: Path) -> None:
    raw = _inventory(tmp_path)
    cfg = _cfg(tmp_path, INVENTORY.format(as_of="2024-12-31", grain="month", extra=""))
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(main, ["compute", str(cfg), "-o", str(out)], env=EPOCH)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    row = table[(table["kpi"] == "units_on_hand") & (table["period"] == "2024-12") & (table["dimension"] == "")]
    assert float(row["value"].iloc[0]) == _units(raw, "2024-12-31")
    bad = _cfg(tmp_path, INVENTORY.format(as_of="2024-12-31", grain="month", extra="").replace(
        "{date: snapshot_date}", "{date: snapshot_day}"))
    result = CliRunner().invoke(main, ["compute", str(bad), "-o", str(out)], env=EPOCH)
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1].endswith(
        "dataset 'inventory': snapshot column 'snapshot_day' not found (did you mean 'snapshot_date'?); columns: "
        "snapshot_date, sku, region, units. Set datasets.inventory.snapshot.date to the column holding each row's "
        "as-of date, or give the file's one date as snapshot.as_of: YYYY-MM-DD")


def test_the_warm_cache_keeps_a_snapshot_s_as_of_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen.data import LoadedData, cache, connect, load_datasets

    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path / "cache"))
    _inventory(tmp_path)
    loaded = load_config(_cfg(tmp_path, INVENTORY.format(as_of="2024-12-31", grain="month", extra="")))
    cold = load_datasets(loaded, today=NOW.date())
    cache.wait()
    warm = LoadedData(connect(), {}, {})
    assert cache.restore(warm.con, cache.fingerprint(loaded, NOW.date()) or "", warm)
    assert warm.quality["inventory"] == cold.quality["inventory"]
    assert warm.quality["inventory"].snapshots == tuple(date.fromisoformat(d) for d in SNAPSHOT_DAYS[:5])


def test_a_snapshot_in_postgresql_is_read_locally_with_a_note(postgres_url: str, tmp_path: Path) -> None:
    import sqlalchemy

    raw = _inventory(tmp_path)
    frame = raw.assign(counted_on=raw["counted_on"].dt.date)
    frame.to_sql("snap_inventory", sqlalchemy.create_engine(postgres_url), index=False, if_exists="replace")
    cfg = _cfg(tmp_path, f"""\
        scorecard: {{as_of: 2024-12-31, breakdowns: [region]}}
        datasets:
          inventory: {{url: "{postgres_url}", table: snap_inventory, snapshot: {{date: counted_on}},
                      types: {{sku: text, region: text, units: number, counted_on: date}}}}
        kpis:
          - {{id: units_on_hand, measure: {{dataset: inventory, agg: sum, column: units, snapshot: true}}, unit: count}}
        """)
    metrics = compute_for_config(load_config(cfg), now=NOW)
    assert metrics.row("units_on_hand", "2024-12")["value"] == _units(raw, "2024-12-31")
    assert math.isnan(metrics.row("units_on_hand", "2024-11")["value"])
    assert "every row read locally: snapshot datasets are read locally" in metrics.quality["inventory"].notes


@pytest.mark.parametrize(("config", "message"), [
    ("datasets:\n  deals: {path: customers.csv, snapshot: {as_of: 2024-12-31}}\n",
     "c.yaml:2:42: 'snapshot' applies to custom datasets; 'deals' is canonical and its KPIs are placed by its own "
     "dates (name the snapshot file's dataset, e.g. deals_snapshot)"),
    ("datasets:\n  customers: {path: customers.csv, snapshot: {as_of: 2024-12-31}}\nkpis:\n"
     "  - {id: n, unit: count, measure: {dataset: customers, agg: count, date: snapshot_date, snapshot: true}}\n",
     "c.yaml:4:68: kpis[0].measure: a snapshot measure is placed by its dataset's snapshot dates; remove 'date'"),
])
def test_snapshot_settings_that_contradict_themselves_are_refused(tmp_path: Path, config: str, message: str) -> None:
    _customers(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(_cfg(tmp_path, config))
    assert message in str(err.value)
