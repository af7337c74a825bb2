"""A burst's measures in one pass: every segment's measure queries run once over the whole data.

A burst sends each rep (region, client...) a scorecard of their own rows. Each segment's scorecard is
computed from its own copy of the data (``pipeline.build.segment_copy``), and the measure queries of a
segment, run over a few thousand rows, cost about as much as over all of them: their cost is the
joins to the period tables, not the rows. So the first segment runs its plan once over the whole
data with the burst's dimension added to every group (``MeasureQuery.partition``), the way the
breakdowns already share one query, and every segment then takes its own slice of those results.

Why the slices are the segment's own results: a segment's data is exactly the rows of the whole data
whose dimension equals its value, in every dataset its KPIs read (datasets without the dimension are
dropped from a segment, so no query reads them), and grouping by a column before aggregating gives
each group the aggregate of its own rows. ``tests/test_partition.py`` compares the two on the
conformance cases. Only the measure queries are shared: targets, coverage, breakdown segments and
everything after the queries are still the segment's own.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reportgen.data.sql import q
from reportgen.engine.plan import (
    PARTITION_SEPARATOR,
    Interval,
    MeasureQuery,
    MeasureRows,
    _intervals,
    measures_by_dimension,
    query_frames,
)
from reportgen.kpis.periods import Period

if TYPE_CHECKING:
    import pandas as pd

    from reportgen.data import LoadedData


@dataclass
class SegmentResults:
    """One plan's query results over the whole data, cut by the burst's value."""

    by_value: list[dict[str, pd.DataFrame]]  # per query: value -> its rows (without ``__p``)
    empty: list[pd.DataFrame]  # per query: no rows, the same columns (a segment a query found nothing for)

    def measures(self, queries: list[MeasureQuery], value: str) -> dict[str, list[MeasureRows]]:
        frames = [rows.get(value, none) for rows, none in zip(self.by_value, self.empty, strict=True)]
        return measures_by_dimension(queries, frames)


def segment_measures(data: LoadedData, queries: list[MeasureQuery],
                     periods: Sequence[Period | Interval]) -> dict[str, list[MeasureRows]] | None:
    """The measures of one burst segment (as ``run_queries`` returns them) from a pass over the whole
    data shared by all segments; None when ``data`` is not a burst segment or the pass cannot serve it
    (a dimension that is not text in some dataset, a value holding the separator)."""
    part = data.partition
    if part is None or not queries:
        return None
    whole = part.whole
    datasets = {query.anchor.dataset for query in queries}
    if any(whole.types.get(ds, {}).get(part.dimension) != "text" for ds in datasets):
        return None
    if PARTITION_SEPARATOR in part.value:
        return None
    key = ("segment measures", part.dimension, tuple(query.sql() for query in queries), tuple(_intervals(periods)))
    results = whole.burst_cache.get(key)
    if results is None:
        results = _run_partitioned(whole, queries, periods, part.dimension, datasets)
        whole.burst_cache.clear()  # one plan per burst: the previous one will not be asked again
        whole.burst_cache[key] = results
    if not isinstance(results, SegmentResults):  # a value holds the separator: each segment on its own
        return None
    return results.measures(queries, part.value)


def _run_partitioned(whole: LoadedData, queries: list[MeasureQuery], periods: Sequence[Period | Interval],
                     dimension: str, datasets: set[str]) -> SegmentResults | str:
    for ds in sorted(datasets):
        hit = whole.query(f"SELECT count(*) AS n FROM {q(ds)} WHERE strpos(CAST({q(dimension)} AS VARCHAR), "
                          f"chr({ord(PARTITION_SEPARATOR)})) > 0")
        if int(hit["n"].iloc[0]):
            return "a value holds the separator"
    partitioned = [replace(query, partition=dimension) for query in queries]
    frames = query_frames(whole, partitioned, periods)
    by_value: list[dict[str, pd.DataFrame]] = []
    empty: list[pd.DataFrame] = []
    for query, frame in zip(queries, frames, strict=True):
        if query.anchor.per_segment_relation:  # "value<sep>segment" in one key: take the value apart
            pieces = frame["__s0"].str.split(PARTITION_SEPARATOR, n=1, expand=True)
            frame = frame.assign(__p=pieces[0], __s0=pieces[1]) if len(frame) else frame.assign(__p=frame["__s0"])
        by_value.append({str(value): rows.drop(columns="__p") for value, rows in frame.groupby("__p", sort=False)})
        empty.append(frame.drop(columns="__p").iloc[:0])
    return SegmentResults(by_value, empty)
