"""One segment's rows, for a scorecard sent to that segment's owner (bursting, ``build --segment``)."""
from __future__ import annotations

from reportgen.config.issues import did_you_mean
from reportgen.data.loaded import LoadedData, pull_local
from reportgen.data.sql import lit, q
from reportgen.errors import DataError


def segment_values(data: LoadedData, dimension: str) -> list[str]:
    """Every value the dimension takes in any dataset that has it."""
    values: set[str] = set()
    for name, cols in data.columns.items():
        if dimension in cols and name != "targets":
            rows = data.query(f"SELECT DISTINCT CAST({q(dimension)} AS VARCHAR) FROM {q(name)} "
                              f"WHERE {q(dimension)} IS NOT NULL").values
            values |= {r[0] for r in rows}
    return sorted(values)


def restrict_to_segment(data: LoadedData, dimension: str, value: str) -> LoadedData:
    """Keep only one segment's rows.

    A dataset with the dimension column keeps only the matching rows. A dataset *without* it cannot be
    attributed to the segment, so it is dropped (its KPIs become unavailable) rather than showing
    company-wide numbers to a regional manager. Targets keep the rows scoped to the segment, which
    then act as the segment's own (``all``) targets. A value that occurs in no dataset is an error
    naming the nearest value: a typo must not produce a scorecard of zeros.

    The tables are cut down in place (a copy of a million-row table per segment would double the
    memory of a burst): the ``data`` passed in shares the connection and must not be used afterwards.
    """
    if not any(dimension in cols for cols in data.columns.values()):
        raise DataError(f"cannot select {dimension}={value!r}: no dataset has a {dimension!r} column")
    values = segment_values(data, dimension)
    if value not in values:
        hint = did_you_mean(value, values, cutoff=0.5)
        shown = ", ".join(repr(v) for v in values[:12]) + (" ..." if len(values) > 12 else "")
        raise DataError(f"segment {dimension}={value!r} does not occur in the data{hint} (values: {shown})")
    con = data.con
    columns = dict(data.columns)
    for name, cols in data.columns.items():
        if name in data.remote:  # pushed down: only the segment's rows come back (a dataset without it: none)
            where = f"{q(dimension)} IS NOT DISTINCT FROM {lit(value)}" if dimension in cols else "false"
            pull_local(data, name, "", where="true" if name == "targets" else where)
        if name == "targets":
            if "scope" in cols:
                con.execute("DELETE FROM targets WHERE coalesce(scope, 'all') <> ?", [value])
                con.execute("UPDATE targets SET scope = 'all'")
            else:
                con.execute("DELETE FROM targets")
            continue
        if dimension in cols:
            con.execute(f"DELETE FROM {q(name)} WHERE {q(dimension)} IS DISTINCT FROM ?", [value])
        else:
            con.execute(f"DROP TABLE {q(name)}")
            del columns[name]
    return LoadedData(con, columns, data.quality, data.types, transfer=data.transfer, partition=data.partition)
