"""Large inputs are loaded into a temporary DuckDB file instead of memory (data.load.ON_DISK_ABOVE_BYTES):
the numbers are the same either way, and the file lives in the private spill folder."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reportgen.data import load as data_load
from reportgen.data import load_canonical_folder
from reportgen.engine import compute_metrics, resolve_kpis
from reportgen.kpis.periods import parse_period, period_range
from tests.shared import CONFORMANCE, needs_shared


def _database(con) -> str:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return str(row[0] if row else "")


def _table(folder: Path) -> tuple[pd.DataFrame, str]:
    data = load_canonical_folder(folder)
    metrics = compute_metrics(data, resolve_kpis(None), period_range(parse_period("2024-01", "month"),
                              parse_period("2024-12", "month")), breakdowns=["region", "rep"], windows=("ytd",))
    return metrics.table, _database(data.con)


@needs_shared
def test_on_disk_and_in_memory_give_the_same_metric_table(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CONFORMANCE / "crm-24m" / "data"
    in_memory, where = _table(folder)
    assert where in ("", "None")  # :memory:
    monkeypatch.setattr(data_load, "ON_DISK_ABOVE_BYTES", 0)
    on_disk, where = _table(folder)
    assert where.endswith(".duckdb") and Path(where).parent == Path(data_load._spill_folder())
    pd.testing.assert_frame_equal(in_memory, on_disk, rtol=1e-12)


def test_each_on_disk_load_has_its_own_file_removed_with_its_connection(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two configs loaded in one process (a batch, the API) must never share tables; a scheduler that
    runs for months must not pile up database files."""
    monkeypatch.setattr(data_load, "ON_DISK_ABOVE_BYTES", 0)
    for name, amount in (("a", 100), ("b", 999)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "deals.csv").write_text(
            f"deal_id,created_date,close_date,stage,amount\n1,2024-01-05,2024-01-20,won,{amount}\n")
    first, second = load_canonical_folder(tmp_path / "a"), load_canonical_folder(tmp_path / "b")
    paths = {_database(first.con), _database(second.con)}
    assert len(paths) == 2 and all(Path(p).exists() for p in paths)
    assert first.con.execute("SELECT sum(amount) FROM deals").fetchone()[0] == 100
    first.con.close()
    del first
    import gc

    gc.collect()
    assert [Path(p).exists() for p in sorted(paths, key=lambda p: p != _database(second.con))] == [True, False]
