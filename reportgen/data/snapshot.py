"""Snapshot datasets: a file that pictures a state as of a day (inventory, headcount, customer status)
rather than listing things that happened.

Such a file has no date of its own to place rows by, or every row carries the same as-of date, so
the usual coverage (first to last date) says nothing useful about it. Its coverage is its as-of days
(kpi-spec.md, "Coverage", applied to a picture): each covers the period holding it, up to that day.
This module makes the as-of column exist (``snapshot.as_of``: one date for the whole file) and records
the as-of days that had happened by the scorecard's day in the dataset's quality record, where the
engine's coverage and snapshot measures read them.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from reportgen.data.columns import close_match
from reportgen.data.quality import happened_sql
from reportgen.data.sql import q
from reportgen.errors import DataError

if TYPE_CHECKING:
    from reportgen.config.datasets import Dataset
    from reportgen.data.loaded import LoadedData


def with_as_of(ds: Dataset) -> Dataset:
    """The dataset with ``snapshot.as_of`` as a constant column named ``snapshot.date``: one typed date
    on every row, so the loaders, the cache and the engine see one shape for both spellings."""
    if ds.snapshot is None or ds.snapshot.as_of is None:
        return ds
    return ds.model_copy(update={"constants": {**ds.constants, ds.snapshot.date: ds.snapshot.as_of}})


def record_snapshots(data: LoadedData, name: str, ds: Dataset, today: date) -> None:
    """Check the as-of column and record its days that had happened by ``today`` (the scorecard's day,
    the same rule as every other date: a snapshot dated later says nothing yet) in ``data.quality``."""
    if ds.snapshot is None:
        return
    column = ds.snapshot.date
    columns = data.columns[name]
    if column not in columns:
        raise DataError(f"dataset {name!r}: snapshot column {column!r} not found{close_match(column, columns)}; "
                        f"columns: {', '.join(columns)}. Set datasets.{name}.snapshot.date to the column holding "
                        f"each row's as-of date, or give the file's one date as snapshot.as_of: YYYY-MM-DD")
    kind = str(data.con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = ? AND "
                                "column_name = ?", [name, column]).fetchall()[0][0]).upper()
    if not kind.startswith(("DATE", "TIMESTAMP")):
        raise DataError(f"dataset {name!r}: snapshot column {column!r} holds {kind.lower()}, not dates; map the "
                        f"as-of column, or declare it under datasets.{name}.types: {{{column}: date}}")
    day = f"CAST({q(column)} AS DATE)"
    was_then = happened_sql(name, column, {}, today)
    rows = data.con.execute(f"SELECT DISTINCT {day} AS d, {was_then} AS h FROM {q(name)} "
                            f"WHERE {q(column)} IS NOT NULL ORDER BY 1").fetchall()
    days = tuple(r[0] for r in rows if r[1])
    later = [r[0] for r in rows if not r[1]]
    quality = data.quality[name]
    notes = quality.notes
    if later:
        notes += (f"snapshot{'s' if len(later) > 1 else ''} as of {', '.join(d.isoformat() for d in later[:3])}"
                  f"{', ...' if len(later) > 3 else ''} after the scorecard's day ({today.isoformat()}) left out",)
    data.quality[name] = replace(quality, snapshot=column, snapshots=days, notes=notes)
