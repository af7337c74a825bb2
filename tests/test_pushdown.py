"""SQL pushdown against the real PostgreSQL test server: a SQL dataset's canonical table is built and every
KPI aggregated inside the database, with exactly the metric table and quality record of the local path
(every row read with pandas), and only aggregated rows coming back.

Each case is computed twice from the same PostgreSQL tables, once pushed down and once with
``pushdown: false``, and the conformance cases are also checked against their CSV folders loaded
locally (whose values ``test_conformance`` checks against the expected files).
"""
from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen.config.load import load_config
from reportgen.data import LoadedData, load_canonical_folder, load_datasets, restrict_to_segment
from reportgen.engine import compute_metrics, resolve_kpis
from reportgen.kpis.catalogue import CANONICAL_DATASETS
from reportgen.kpis.periods import parse_period, period_range
from tests.shared import CONFORMANCE, needs_shared

TODAY = date(2025, 3, 15)
VALUE_COLUMNS = ["value", "prior", "year_ago", "target", "benchmark"]


def _typed(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A canonical CSV's text columns as the native types a database would hold."""
    kinds = {s.name: s.type for s in CANONICAL_DATASETS.get(dataset, ())}
    out = frame.copy()
    for col in out.columns:
        kind = kinds.get(col)
        if kind == "number":
            out[col] = pd.to_numeric(out[col])
        elif kind == "date":
            out[col] = pd.to_datetime(out[col], format="ISO8601").dt.date
        elif kind == "timestamp":
            out[col] = pd.to_datetime(out[col], format="ISO8601")
    return out


def _to_pg(engine: object, table: str, frame: pd.DataFrame) -> None:
    frame.to_sql(table, engine, index=False, if_exists="replace")  # type: ignore[call-overload]


def _config(tmp_path: Path, datasets: dict[str, str], extra: str = "") -> Path:
    lines = ["datasets:"]
    for name, spec in datasets.items():
        lines.append(f"  {name}:")
        lines += [f"    {line}" for line in spec.strip().splitlines()]
    cfg = tmp_path / f"c{len(list(tmp_path.glob('c*.yaml')))}.yaml"
    cfg.write_text("\n".join(lines) + "\n" + extra)
    return cfg


def _load(cfg: Path) -> LoadedData:
    return load_datasets(load_config(cfg), today=TODAY)


def assert_same_table(pushed: pd.DataFrame, local: pd.DataFrame) -> None:
    keys = [c for c in ("kpi", "period", "dimension", "segment", "window") if c in local.columns]
    a = pushed.sort_values(keys).reset_index(drop=True)
    b = local.sort_values(keys).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) and len(a) > 0
    pd.testing.assert_frame_equal(a.drop(columns=[c for c in VALUE_COLUMNS if c in a]),
                                  b.drop(columns=[c for c in VALUE_COLUMNS if c in b]))
    for col in (c for c in VALUE_COLUMNS if c in a):
        for x, y, key in zip(a[col], b[col], a[keys].itertuples(index=False)):
            fx, fy = float(x), float(y)
            same = (math.isnan(fx) and math.isnan(fy)) or math.isclose(fx, fy, rel_tol=1e-9, abs_tol=1e-9)
            assert same, f"{col} of {tuple(key)}: pushed down {x}, local {y}"


def assert_same_quality(pushed: LoadedData, local: LoadedData) -> None:
    assert set(pushed.quality) == set(local.quality)
    for name, p in pushed.quality.items():
        lq = local.quality[name]
        for field in ("rows_read", "rows_rejected", "first_date", "last_date", "missing_values", "first_dates",
                      "last_dates", "unreadable_columns"):
            assert getattr(p, field) == getattr(lq, field), (name, field)


# --- the conformance cases, loaded into PostgreSQL -----------------------------------------------------

CASES = sorted(p for p in CONFORMANCE.glob("*") if (p / "data").is_dir()) if CONFORMANCE.is_dir() else []


def _case_shape(case: Path) -> tuple[list, list[str], list[str]]:
    expected = pd.read_csv(case / "expected.csv", dtype={"period": str})
    labels = sorted(expected["period"].unique())
    periods = period_range(parse_period(labels[0], "month"), parse_period(labels[-1], "month"))
    dims: list[str] = []
    if (case / "expected_breakdowns.csv").is_file():
        dims = sorted(pd.read_csv(case / "expected_breakdowns.csv")["dimension"].unique())
    windows: list[str] = []
    if (case / "expected_windows.csv").is_file():
        windows = sorted(pd.read_csv(case / "expected_windows.csv", dtype={"window": str})["window"].unique())
    return periods, dims, windows


@needs_shared
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case_pushed_down_matches_local(case: Path, postgres_url: str, tmp_path: Path) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    prefix = case.name.replace("-", "_")
    datasets = {}
    rows = 0
    for csv in sorted((case / "data").glob("*.csv")):
        frame = _typed(pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""]), csv.stem)
        _to_pg(engine, f"{prefix}_{csv.stem}", frame)
        datasets[csv.stem] = f"url: {postgres_url}\ntable: {prefix}_{csv.stem}"
        rows += len(frame)
    engine.dispose()
    periods, dims, windows = _case_shape(case)
    kpis = resolve_kpis(None)
    pushed = load_datasets(load_config(_config(tmp_path, datasets)))
    assert set(pushed.remote) == set(datasets), {k: v.notes for k, v in pushed.quality.items()}
    local = load_canonical_folder(case / "data")
    got = compute_metrics(pushed, kpis, periods, breakdowns=dims, windows=windows)
    want = compute_metrics(local, kpis, periods, breakdowns=dims, windows=windows)
    assert_same_table(got.table, want.table)
    assert got.unavailable == want.unavailable
    assert_same_quality(pushed, local)
    t = pushed.transfer
    assert t.rows_read_whole == 0 and t.queries > 0 and t.rows_fetched > 0


# --- a generated CRM table with every rule firing, mapped and renamed ----------------------------------

def _generated(n: int = 20_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 790, n), unit="D")
    stage = rng.choice(["Closed Won", "Closed Lost", "Open", "In Progress"], n, p=[0.35, 0.35, 0.2, 0.1])
    close = [c + timedelta(days=int(d)) if s.startswith("Closed") else None
             for c, d, s in zip(created.date, rng.integers(-5, 120, n), stage)]
    amount = rng.gamma(2.0, 5000.0, n).round(2)
    amount[rng.random(n) < 0.01] *= -1  # won deals with negative amounts
    amount = np.where(rng.random(n) < 0.01, np.nan, amount)  # missing amounts
    ids = [f"D{i:06d}" for i in range(n)]
    for i in rng.integers(0, n, 50):  # duplicate ids
        ids[int(i)] = ids[int(i) - 1]
    return pd.DataFrame({
        "opp_id": ids,
        "opened": created.date,
        "closed": close,
        "phase": stage,
        "value": amount,
        "owner": rng.choice([f"rep{i:02d}" for i in range(12)], n),
        "territory": rng.choice(["North", "South", "East", "West", None], n),
        "product": rng.choice(["Core", "Pro", "Enterprise"], n),
        "account": [f"C{i:04d}" for i in rng.integers(0, 3000, n)],
    })


GENERATED = """
columns: {opp_id: deal_id, opened: created_date, closed: close_date, phase: stage, value: amount,
          owner: rep, territory: region, account: customer_id}
stages: {won: [Closed Won], lost: [Closed Lost], open: [Open, In Progress]}
"""


@pytest.fixture(scope="module")
def generated_table(postgres_url: str) -> str:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    _to_pg(engine, "gen_deals", _generated())
    engine.dispose()
    return "gen_deals"


@pytest.mark.parametrize("source", ["table: gen_deals", "query: SELECT * FROM gen_deals WHERE owner <> 'rep11'"])
def test_generated_table_pushed_down_matches_local(source: str, generated_table: str, postgres_url: str,
                                                   tmp_path: Path) -> None:
    spec = f"url: {postgres_url}\n{source}\n{GENERATED}"
    extra = "quality: {max_rejected_share: 0.05}\n"
    pushed = _load(_config(tmp_path, {"deals": spec}, extra))
    local = _load(_config(tmp_path, {"deals": spec + "pushdown: false\n"}, extra))
    assert set(pushed.remote) == {"deals"} and not local.remote
    q = pushed.quality["deals"]
    assert {"duplicate deal_id", "won deal with a negative amount", "closed before created"} <= set(q.rows_rejected)
    assert_same_quality(pushed, local)
    assert any("computed in the database" in n for n in q.notes)
    periods = period_range(parse_period("2023-01", "month"), parse_period("2025-02", "month"))
    kpis = resolve_kpis(None)
    got = compute_metrics(pushed, kpis, periods, breakdowns=["rep", "region", "product"], windows=["ytd"])
    want = compute_metrics(local, kpis, periods, breakdowns=["rep", "region", "product"], windows=["ytd"])
    assert_same_table(got.table, want.table)
    assert pushed.transfer.rows_read_whole == 0
    assert local.transfer.rows_read_whole == q.rows_read and local.transfer.rows_fetched == 0


def test_only_aggregated_rows_travel(generated_table: str, postgres_url: str, tmp_path: Path) -> None:
    """Whole-company KPIs over 26 months: a few hundred aggregate rows come back for 20,000 deals, and the
    helper rows sent up (periods and days) do not depend on the table's size."""
    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}"
    pushed = _load(_config(tmp_path, {"deals": spec}, "quality: {max_rejected_share: 0.05}\n"))
    periods = period_range(parse_period("2023-01", "month"), parse_period("2025-02", "month"))
    metrics = compute_metrics(pushed, resolve_kpis(None), periods)
    t = pushed.transfer
    assert t.rows_read_whole == 0 and t.queries > 0
    assert 0 < t.rows_fetched < 20_000 / 20, t
    assert t.rows_sent < 20_000, t
    assert metrics.company["value"].notna().any()


def test_segment_of_pushed_down_data_reads_only_its_rows(generated_table: str, postgres_url: str,
                                                         tmp_path: Path) -> None:
    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}"
    extra = "quality: {max_rejected_share: 0.05}\n"
    pushed = restrict_to_segment(_load(_config(tmp_path, {"deals": spec}, extra)), "region", "West")
    local = restrict_to_segment(_load(_config(tmp_path, {"deals": spec + "pushdown: false\n"}, extra)),
                                "region", "West")
    periods = period_range(parse_period("2024-01", "month"), parse_period("2024-12", "month"))
    kpis = resolve_kpis(None)
    assert_same_table(compute_metrics(pushed, kpis, periods).table, compute_metrics(local, kpis, periods).table)
    west = int(local.con.execute("SELECT count(*) FROM deals").fetchone()[0])  # type: ignore[index]
    assert pushed.transfer.rows_read_whole == west < 20_000 / 3


# --- what falls back to the local path, and says so ----------------------------------------------------

def test_text_dates_fall_back_to_local_with_a_note(generated_table: str, postgres_url: str, tmp_path: Path) -> None:
    import sqlalchemy

    frame = _generated(500)
    frame["opened"] = [d.strftime("%d/%m/%Y") for d in frame["opened"]]  # dates stored as text, D/M/Y
    engine = sqlalchemy.create_engine(postgres_url)
    _to_pg(engine, "gen_text_dates", frame)
    engine.dispose()
    spec = f"url: {postgres_url}\ntable: gen_text_dates\n{GENERATED}"
    data = _load(_config(tmp_path, {"deals": spec}, "quality: {max_rejected_share: 0.5}\n"))
    assert not data.remote
    assert data.transfer.rows_read_whole == 500
    notes = data.quality["deals"].notes
    assert "every row read locally: created_date written as text (its format is read from the values)" in notes
    assert data.quality["deals"].date_formats["created_date"]  # settled from the values, as for a CSV


def test_pushdown_false_reads_locally_with_a_note(generated_table: str, postgres_url: str, tmp_path: Path) -> None:
    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}pushdown: false\n"
    data = _load(_config(tmp_path, {"deals": spec}, "quality: {max_rejected_share: 0.05}\n"))
    assert not data.remote
    assert "every row read locally: pushdown: false" in data.quality["deals"].notes


def test_stub_refuses_a_query_that_bypasses_the_seam(generated_table: str, postgres_url: str,
                                                     tmp_path: Path) -> None:
    import duckdb

    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}"
    data = _load(_config(tmp_path, {"deals": spec}, "quality: {max_rejected_share: 0.05}\n"))
    with pytest.raises(duckdb.Error, match="lives in"):
        data.con.execute("SELECT count(*) FROM deals").fetchall()
    assert int(data.query("SELECT count(*) AS n FROM deals")["n"][0]) == data.quality["deals"].rows_read - sum(
        v for k, v in data.quality["deals"].rows_rejected.items() if not k.startswith("won/lost without"))


@pytest.mark.parametrize("flt, pushed_down", [("rep LIKE 'rep0%' AND product <> 'Core'", True),
                                               ("levenshtein(rep, 'rep01') > 0", False)])
def test_kpi_filters_run_in_the_database_or_fall_back(flt: str, pushed_down: bool, generated_table: str,
                                                      postgres_url: str, tmp_path: Path) -> None:
    """A filter with a LIKE pattern runs in PostgreSQL; one PostgreSQL lacks the function for (DuckDB's
    levenshtein) makes that dataset computed locally, with a note, and the same numbers."""
    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}"
    kpis = (f"kpis:\n  - revenue\n  - {{id: win_rate, filter: \"{flt}\"}}\n"
            "quality: {max_rejected_share: 0.05}\n")
    periods = period_range(parse_period("2024-01", "month"), parse_period("2024-12", "month"))
    pushed_cfg = load_config(_config(tmp_path, {"deals": spec}, kpis))
    local_cfg = load_config(_config(tmp_path, {"deals": spec + "pushdown: false\n"}, kpis))
    pushed, local = load_datasets(pushed_cfg, today=TODAY), load_datasets(local_cfg, today=TODAY)
    got = compute_metrics(pushed, resolve_kpis(pushed_cfg.config.kpis), periods)
    want = compute_metrics(local, resolve_kpis(local_cfg.config.kpis), periods)
    assert_same_table(got.table, want.table)
    assert got.table["value"].notna().any()
    if pushed_down:
        assert set(pushed.remote) == {"deals"} and pushed.transfer.rows_read_whole == 0
    else:
        assert "deals" in pushed.transfer.pulled and not pushed.remote
        assert any(n.startswith("computed locally: a query failed in the database")
                   for n in pushed.quality["deals"].notes)


def test_burst_segment_copy_of_pushed_down_data(generated_table: str, postgres_url: str, tmp_path: Path) -> None:
    """A burst's per-segment copy (``segment_copy``) fetches only that segment's rows and leaves the whole
    data pushed down for the next segment."""
    from reportgen.pipeline.build import Segment, segment_copy

    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}"
    extra = "quality: {max_rejected_share: 0.05}\n"
    pushed = _load(_config(tmp_path, {"deals": spec}, extra))
    local = _load(_config(tmp_path, {"deals": spec + "pushdown: false\n"}, extra))
    periods = period_range(parse_period("2024-01", "month"), parse_period("2024-06", "month"))
    kpis = resolve_kpis(None)
    for rep in ("rep03", "rep07"):
        with segment_copy(pushed, Segment("rep", rep)) as p, segment_copy(local, Segment("rep", rep)) as lo:
            assert_same_table(compute_metrics(p, kpis, periods).table, compute_metrics(lo, kpis, periods).table)
    assert set(pushed.remote) == {"deals"}
    assert 0 < pushed.transfer.rows_read_whole < 20_000 / 5


def test_any_local_helper_table_a_query_joins_is_copied_up_once(generated_table: str, postgres_url: str,
                                                                tmp_path: Path) -> None:
    """The seam does not know the engine's helper tables by name: whatever local table a query reads
    besides the pushed-down dataset (here a made-up month -> bucket map) is copied into the session,
    and copied again only when its rows change."""
    spec = f"url: {postgres_url}\ntable: gen_deals\n{GENERATED}"
    data = _load(_config(tmp_path, {"deals": spec}, "quality: {max_rejected_share: 0.05}\n"))
    data.con.execute("CREATE TEMP TABLE atoms AS SELECT DATE '2024-01-01' + INTERVAL (i) MONTH AS month, "
                     "i // 3 AS bucket FROM range(12) t(i)")
    sql = ("WITH won AS (SELECT date_trunc('month', close_date) AS month, amount FROM deals WHERE stage = 'won') "
           "SELECT a.bucket, count(*) AS n, sum(w.amount) AS amount FROM won w JOIN atoms a "
           "ON w.month = a.month GROUP BY a.bucket ORDER BY a.bucket")
    first = data.query(sql)
    assert data.transfer.rows_sent == 12 and len(first) == 4
    data.query(sql)
    assert data.transfer.rows_sent == 12  # same rows: not sent again
    data.con.execute("UPDATE atoms SET bucket = 0")
    assert len(data.query(sql)) == 1 and data.transfer.rows_sent == 24
    local = _load(_config(tmp_path, {"deals": spec + "pushdown: false\n"}, "quality: {max_rejected_share: 0.05}\n"))
    local.con.execute("CREATE TEMP TABLE atoms AS SELECT DATE '2024-01-01' + INTERVAL (i) MONTH AS month, "
                      "i // 3 AS bucket FROM range(12) t(i)")
    want = local.query(sql)
    assert first["n"].tolist() == want["n"].tolist()
    assert np.allclose(first["amount"].astype(float), want["amount"].astype(float), rtol=1e-12)


def test_pushdown_true_is_refused_where_it_is_not_supported(tmp_path: Path) -> None:
    from reportgen.errors import DataError

    _generated(50).to_sql("deals", f"sqlite:///{tmp_path / 'crm.db'}", index=False)
    spec = f"url: sqlite:///{tmp_path / 'crm.db'}\ntable: deals\n{GENERATED}pushdown: true\n"
    with pytest.raises(DataError, match="pushdown: true is supported for PostgreSQL only, not 'sqlite'"):
        _load(_config(tmp_path, {"deals": spec}))
    data = _load(_config(tmp_path, {"deals": spec.replace("pushdown: true\n", "")},
                         "quality: {max_rejected_share: 0.5}\n"))
    assert "every row read locally: no pushdown for sqlite (PostgreSQL only)" in data.quality["deals"].notes


def test_data_errors_read_the_same_pushed_down(postgres_url: str, tmp_path: Path) -> None:
    """An unmapped stage stops the load with the same message either way (counted in the database)."""
    import sqlalchemy

    from reportgen.errors import DataError

    frame = _generated(300)
    frame.loc[[3, 10, 11], "phase"] = "Closed - Pending"
    engine = sqlalchemy.create_engine(postgres_url)
    _to_pg(engine, "gen_bad_stage", frame)
    engine.dispose()
    spec = f"url: {postgres_url}\ntable: gen_bad_stage\n{GENERATED}"
    messages = []
    for extra in ("", "pushdown: false\n"):
        with pytest.raises(DataError) as info:
            _load(_config(tmp_path, {"deals": spec + extra}))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "unmapped stage value(s) 'Closed - Pending' (3 rows)" in messages[0]


def test_duckdb_compensated_aggregates_become_the_databases_own() -> None:
    """The engine sums amounts with DuckDB's ``fsum`` and averages custom measures with ``favg`` (the
    same value on every run); a database a query is pushed down to gets its own SUM and AVG, FILTER kept."""
    from types import SimpleNamespace

    from reportgen.data.pushdown import RemoteDatabase

    sql = ("SELECT fsum(t.amount) FILTER (WHERE t.stage = 'won') AS won, favg(t.amount) AS mean, "
           "sum(t.days) AS days FROM deals AS t")
    pg = RemoteDatabase.transpile(SimpleNamespace(dialect="postgres"), sql)  # type: ignore[arg-type]
    assert "FSUM" not in pg.upper() and "FAVG" not in pg.upper()
    assert "SUM(t.amount) FILTER(WHERE t.stage = 'won')" in pg and "AVG(t.amount)" in pg and "SUM(t.days)" in pg


def test_rows_that_are_not_data_and_control_characters_read_the_same_pushed_down(postgres_url: str,
                                                                                tmp_path: Path) -> None:
    """A table filled from a spreadsheet carries what the file did: a blank row, a total row, a rep name
    with a control character. Pushed down, each is counted and left out (or scrubbed) exactly as the
    local path does it (issue 19: no row lost or invented without a word, on every path)."""
    import sqlalchemy

    frame = _generated(400)
    blank = {c: None for c in frame.columns}
    total = {**blank, "opp_id": "Total", "value": float(frame["value"].sum())}
    sub = {**blank, "opp_id": "Grand total", "value": 10.0}
    frame = pd.concat([frame, pd.DataFrame([blank, total, blank, sub])], ignore_index=True)
    frame.loc[7, "owner"] = "rep\x0701"
    engine = sqlalchemy.create_engine(postgres_url)
    _to_pg(engine, "gen_messy", frame)
    engine.dispose()
    spec = f"url: {postgres_url}\ntable: gen_messy\n{GENERATED}"
    extra = "quality: {max_rejected_share: 0.25}\n"
    pushed = _load(_config(tmp_path, {"deals": spec}, extra))
    local = _load(_config(tmp_path, {"deals": spec + "pushdown: false\n"}, extra))
    assert set(pushed.remote) == {"deals"}
    q, lq = pushed.quality["deals"], local.quality["deals"]
    assert lq.rows_rejected.get("blank row") == 2 and lq.rows_rejected.get("total row") == 2
    assert q.rows_rejected == lq.rows_rejected
    assert_same_quality(pushed, local)
    assert [n for n in q.notes if "control" in n] == [n for n in lq.notes if "control" in n] != []
    periods = period_range(parse_period("2023-01", "month"), parse_period("2025-02", "month"))
    kpis = resolve_kpis(None)
    got = compute_metrics(pushed, kpis, periods, breakdowns=["rep", "region"])
    want = compute_metrics(local, kpis, periods, breakdowns=["rep", "region"])
    assert_same_table(got.table, want.table)
    assert "rep\x0701" not in set(got.table["segment"])
