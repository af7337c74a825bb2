"""A burst computes every segment's measures in one pass over the whole data (engine.partition): each
segment's metric table is the one its own copy of the data gives, every KPI, period, window and
breakdown, on the conformance data, with the staged queries and with the one-stage ones."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reportgen.data import load_canonical_folder
from reportgen.data.segment import segment_values
from reportgen.engine import compute_metrics, resolve_kpis
from reportgen.engine import metrics as engine_metrics
from reportgen.engine import partition as engine_partition
from reportgen.engine import plan as engine_plan
from reportgen.kpis.periods import parse_period, period_range
from reportgen.pipeline.build import Segment, segment_copy
from tests.shared import CONFORMANCE, needs_shared
from tests.test_staged import DIMENSIONS, _same

PERIODS = period_range(parse_period("2023-01", "month"), parse_period("2024-12", "month"))


def _segment_tables(folder: Path, dimension: str, *, shared: bool, two_stage: bool,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Each segment's metric table, and how often the measure queries ran (per segment / for all)."""
    calls = {"per segment": 0, "for all": 0}
    own, together = engine_metrics.run_queries, engine_partition.query_frames

    def per_segment(*args: object) -> object:
        calls["per segment"] += 1
        return own(*args)  # type: ignore[arg-type]

    def for_all(*args: object) -> object:
        calls["for all"] += 1
        return together(*args)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(engine_metrics, "run_queries", per_segment)
        m.setattr(engine_partition, "query_frames", for_all)
        if not two_stage:
            m.setattr(engine_plan, "stageable", lambda anchor: False)
        if not shared:
            m.setattr(engine_metrics, "segment_measures", lambda *args: None)
        data = load_canonical_folder(folder)
        tables = {}
        for value in segment_values(data, dimension):
            with segment_copy(data, Segment(dimension, value)) as part:
                dims = [d for d in DIMENSIONS if d != dimension and any(d in c for c in part.columns.values())]
                table = compute_metrics(part, resolve_kpis(None), PERIODS, breakdowns=dims,
                                        windows=("ytd", "qtd", "r12")).table
            tables[value] = table.sort_values(list(table.columns[:4])).reset_index(drop=True)
    return tables, calls


@needs_shared
@pytest.mark.parametrize("case, dimension, two_stage", [
    ("crm-24m", "rep", True), ("crm-24m", "region", False), ("seed-examples", "source", True),
    ("seed-examples", "rep", False),
])
def test_each_segment_of_a_burst_gets_the_metrics_of_its_own_rows(case: str, dimension: str, two_stage: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CONFORMANCE / case / "data"
    shared, calls = _segment_tables(folder, dimension, shared=True, two_stage=two_stage, monkeypatch=monkeypatch)
    alone, alone_calls = _segment_tables(folder, dimension, shared=False, two_stage=two_stage,
                                         monkeypatch=monkeypatch)
    assert len(shared) > 1 and shared.keys() == alone.keys()
    assert calls == {"per segment": 0, "for all": 1}  # one pass, whatever the number of segments
    assert alone_calls == {"per segment": len(alone), "for all": 0}
    for value in shared:
        _same(shared[value], alone[value])


def test_a_value_holding_the_separator_is_computed_on_its_own(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-pass key joins a value and a segment with a control character; data that holds it in the
    burst's column is computed segment by segment, with the same result."""
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_date,close_date,stage,amount,rep,region,customer_id\n"
        "1,2024-01-05,2024-01-20,won,100,ann\x1fx,North,c1\n"
        "2,2024-01-10,2024-02-10,won,50,bob,South,c2\n"
        "3,2024-02-01,2024-02-20,lost,70,ann\x1fx,South,c3\n", encoding="utf-8")
    # a local load removes control characters from text (data.safe_text); a pushed-down dataset's text
    # is not scrubbed, so the engine must still cope: keep the character here
    monkeypatch.setattr("reportgen.data.load.scrub_text", lambda *args, **kwargs: {})
    shared, calls = _segment_tables(tmp_path, "rep", shared=True, two_stage=True, monkeypatch=monkeypatch)
    alone, _ = _segment_tables(tmp_path, "rep", shared=False, two_stage=True, monkeypatch=monkeypatch)
    assert calls == {"per segment": 2, "for all": 0}
    for value in shared:
        _same(shared[value], alone[value])
