"""DuckDB's thread count travels as a parameter (reportgen/data/load.py ``connect``), from a batch job
down to the connection its data is loaded into; no environment variable carries it between layers."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reportgen.batch import BuildJob, SendJob, with_duckdb_threads
from reportgen.config.load import load_config
from reportgen.data.load import DUCKDB_THREADS, connect
from reportgen.delivery.deliver import SendGroup
from reportgen.delivery.groupdata import SharedData
from reportgen.pipeline.build import load_data
from tests.test_cache import _one_deal

TODAY = date(2025, 2, 3)


def _threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


def test_connect_takes_the_thread_count_it_is_given() -> None:
    assert _threads(connect(threads=1)) == 1
    assert _threads(connect(threads=3)) == 3
    assert _threads(connect()) == DUCKDB_THREADS == 2


def test_the_environment_no_longer_sizes_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old hidden channel: batch's worker set REPORTGEN_DUCKDB_THREADS and the loader read it."""
    monkeypatch.setenv("REPORTGEN_DUCKDB_THREADS", "1")
    assert _threads(connect()) == 2


def test_a_pipeline_load_and_a_delivery_share_use_the_threads_passed_down(tmp_path: Path) -> None:
    loaded = load_config(_one_deal(tmp_path))
    assert _threads(load_data(loaded, today=TODAY, duckdb_threads=1).con) == 1
    assert _threads(load_data(loaded, today=TODAY).con) == 2
    now = datetime(2025, 2, 3, 8, tzinfo=UTC)
    assert _threads(SharedData(loaded, now, duckdb_threads=1).get().con) == 1


def test_a_batch_worker_s_share_of_the_cores_travels_in_its_job(tmp_path: Path) -> None:
    build = BuildJob(tmp_path / "sc.yaml", "executive")
    group = SendGroup(tmp_path / "sc.yaml", "monthly", "2025-01", None, (), datetime(2025, 2, 3, tzinfo=UTC),
                      tmp_path)
    assert with_duckdb_threads(build, 1) == BuildJob(tmp_path / "sc.yaml", "executive", duckdb_threads=1)
    assert with_duckdb_threads(SendJob(group), 1) == SendJob(group, duckdb_threads=1)
    assert build.duckdb_threads is None  # jobs are values: the original is unchanged
