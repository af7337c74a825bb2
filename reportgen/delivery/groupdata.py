"""A delivery's data, read once for all its groups, and the check that a burst segment occurs in it."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reportgen.config.issues import did_you_mean
from reportgen.config.models import LoadedConfig
from reportgen.errors import DeliveryError

if TYPE_CHECKING:
    from reportgen.data import LoadedData
    from reportgen.pipeline.build import Segment


class SharedData:
    """A delivery's data, loaded at most once for all its groups (a burst to fifty reps reads the
    file once, not fifty times); a load that failed fails every group with the same error."""

    def __init__(self, loaded: LoadedConfig, now: datetime, *, duckdb_threads: int | None = None) -> None:
        self.loaded = loaded
        self.now = now  # the delivery's clock: every date rule of the load reads it
        self.duckdb_threads = duckdb_threads  # a batch worker's share of the cores
        self._data: LoadedData | None = None
        self._error: BaseException | None = None
        self._values: dict[str, set[str]] = {}

    def segment_values(self, dimension: str) -> set[str]:
        """Every value of ``dimension`` in the data, found by one scan for all the burst's groups
        (checking each segment against the whole table cost a scan of it per segment)."""
        if dimension not in self._values:
            self._values[dimension] = segment_values(self.get(), dimension)
        return self._values[dimension]

    def get(self) -> LoadedData:
        if self._error is not None:
            raise self._error
        if self._data is None:
            from reportgen.pipeline.build import load_data

            try:
                self._data = load_data(self.loaded, today=self.now.date(), duckdb_threads=self.duckdb_threads)
            except Exception as exc:
                self._error = exc
                raise
        return self._data


def segment_values(data: LoadedData, dimension: str) -> set[str]:
    """The values of ``dimension`` in any dataset of ``data`` (targets aside), as text."""
    values: set[str] = set()
    for table, columns in data.columns.items():
        if dimension in columns and table != "targets":
            rows = data.query(  # in DuckDB, or in the database of a pushed-down dataset
                f'SELECT DISTINCT CAST("{dimension}" AS VARCHAR) FROM "{table}" '
                f'WHERE "{dimension}" IS NOT NULL').values
            values.update(value for (value,) in rows)
    return values


def check_segment_exists(data: LoadedData, segment: Segment, values: set[str] | None = None) -> None:
    """Raise ``DeliveryError`` naming the nearest value if no row of any dataset has this segment
    (``values``: the dimension's values when already known, see :meth:`SharedData.segment_values`)."""
    if values is None:
        values = segment_values(data, segment.dimension)
    if segment.value not in values:
        hint = did_you_mean(segment.value, values) or f" (values: {', '.join(sorted(values)[:10])})"
        raise DeliveryError(f"{segment.dimension} {segment.value!r} does not occur in the data{hint}")
