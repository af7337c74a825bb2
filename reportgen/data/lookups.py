"""Lookups: columns joined in from a second file, read exactly as a dataset's own file is read.

An orders file joined onto order lines to give each line its date is data like any other: its ragged
lines, undecodable bytes, blank, total and repeated header rows are counted with their lines, and too
many unusable lines stop the build through the same gate (``quality.check_quality``). A dataset row
whose key finds no match is counted too, with the first keys and lines, and shown wherever the
quality record is (``validate``, the data-quality appendix): 176 orders that lost their date would
otherwise drop out of revenue without a word.

A key that occurs twice in the lookup with different values takes its first row's (the file's order),
and the later rows are counted: the join never multiplies rows and never picks one at random.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.data.quality import DatasetQuality, line_numbers, lookup_quality
from reportgen.data.sources import Source, columns_of, open_source, reopen_in_code_page, undecodable
from reportgen.data.sql import clean_text, lit, one_row, q
from reportgen.data.structure import RowShape, structure_case
from reportgen.errors import DataError

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset, Lookup
    from reportgen.config.models import LoadedConfig

#: A key repeated in a lookup with other values: the first row is used, the later ones counted.
CONFLICT = "key repeated with other values"
#: A lookup row with values but no key: it can never match.
NO_KEY = "row without a key"


@dataclass(frozen=True)
class Joined:
    """One lookup joined onto a dataset: its quality record and the join flag column of the joined view
    (true when the dataset row gave a key that the lookup does not have)."""

    lookup: Lookup
    flag: str
    key_expr: str  # the dataset's key, trimmed text, over the numbered source view
    quality: DatasetQuality

    @property
    def label(self) -> str:
        return f"{self.lookup.column} not in {Path(self.lookup.path).name}"


def with_lookups(con: duckdb.DuckDBPyConnection, view: str, name: str, ds: Dataset, loaded: LoadedConfig,
                 workdir: Path) -> tuple[str, list[Joined]]:
    """Left-join the lookups onto the numbered source view; returns the joined view and what each join
    found. Each lookup is read, checked and de-duplicated on its key first."""
    if not ds.lookups:
        return view, []
    found = columns_of(con, view)
    select, joins, joined = ["r.*"], [], []
    for i, lk in enumerate(ds.lookups):
        if lk.column not in found:
            from reportgen.data.columns import close_match

            raise DataError(f"dataset {name!r}: lookup joins on column {lk.column!r}, which is not in the source"
                            f"{close_match(lk.column, found)}; columns found: "
                            f"{', '.join(c for c in found if c != '__row')}")
        table, quality = read_lookup(con, f"{name}__lookup{i}", name, lk, loaded, workdir)
        alias, flag = f"l{i}", f"__lk{i}"
        key_expr = clean_text(f"r.{q(lk.column)}")
        joins.append(f"LEFT JOIN {q(table)} {alias} ON {key_expr} = {alias}.__key")
        select += [f"{alias}.{q(c)} AS {q(c)}" for c in lk.columns if c not in found]
        select.append(f"({key_expr} IS NOT NULL AND {alias}.__key IS NULL) AS {q(flag)}")
        joined.append(Joined(lk, flag, clean_text(q(lk.column)), quality))
    out = f"{view}__joined"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(out)} AS SELECT {', '.join(select)} FROM {q(view)} r "
                + " ".join(joins))
    return out, joined


def read_lookup(con: duckdb.DuckDBPyConnection, lk_name: str, dataset: str, lk: Lookup, loaded: LoadedConfig,
                workdir: Path) -> tuple[str, DatasetQuality]:
    """The lookup's usable rows, one per key (``__key`` and the columns it brings), as a table; and its
    quality record (lines read, ragged and rule-rejected lines with their numbers)."""
    from reportgen.config.datasets import Dataset as DatasetModel

    spec = DatasetModel(path=lk.path, format=lk.format, sheet=lk.sheet, delimiter=lk.delimiter, encoding=lk.encoding)
    source = open_source(con, lk_name, spec, loaded, workdir)
    cols = dict(source.columns) or columns_of(con, source.view)
    key = lk.key or lk.column
    for col in [key, *lk.columns]:
        if col not in cols:
            from reportgen.data.columns import close_match

            raise DataError(f"dataset {dataset!r}: lookup file {lk.path} has no column {col!r}"
                            f"{close_match(col, cols)}; columns found: {', '.join(cols)}")
    rows = f"{lk_name}__rows"
    _read_rows(con, rows, source, key, lk, cols, loaded)
    if undecodable(con, source):  # encoding: auto met bytes that are not UTF-8: read it again, once
        source = reopen_in_code_page(con, source, lk_name, spec, workdir)
        _read_rows(con, rows, source, key, lk, cols, loaded)
    counts = dict(con.execute(f"SELECT __rule, count(*) FROM {q(rows)} WHERE __rule IS NOT NULL GROUP BY 1"
                              ).fetchall())
    first_rows = dict(con.execute(f"SELECT __rule, list(__row ORDER BY __row)[1:5] FROM {q(rows)} "
                                  "WHERE __rule IS NOT NULL GROUP BY 1").fetchall()) if counts else {}
    table = f"{lk_name}__keys"
    brought = ", ".join(q(c) for c in lk.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(table)} AS SELECT __key, {brought} FROM {q(rows)} "
                "WHERE __rule IS NULL AND __first")
    n = int(one_row(con, f"SELECT count(*) FROM {q(rows)}")[0])
    quality = lookup_quality(con, f"{dataset} lookup", source, n, {k: int(v) for k, v in counts.items()},
                             {k: list(v) for k, v in first_rows.items()})
    con.execute(f"DROP TABLE {q(rows)}")
    return table, quality


def _read_rows(con: duckdb.DuckDBPyConnection, rows: str, source: Source, key: str, lk: Lookup,
               cols: dict[str, str], loaded: LoadedConfig) -> None:
    """Read every line once (which fills the rejects table), numbered, with each row's rule label and
    whether it is the first row of its key."""
    quality = loaded.config.quality
    wanted = [key, *[c for c in lk.columns if c != key]]
    shape = RowShape({c: clean_text(q(c)) for c in wanted}, [], [], clean_text(q(next(iter(cols)))))
    structural = structure_case(shape, quality) or "NULL"
    brought = [c for c in lk.columns]
    distinct = "count(DISTINCT " + ("row(" + ", ".join(q(c) for c in brought) + ")" if brought else "1") + ")"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(rows)} AS "
                f"WITH numbered AS (SELECT row_number() OVER () AS __row, {clean_text(q(key))} AS __key, "
                + ", ".join(q(c) for c in brought) + f", {structural} AS __struct FROM {q(source.view)}), "
                "firsts AS (SELECT *, CASE WHEN __struct IS NULL AND __key IS NOT NULL THEN row_number() OVER "
                "(PARTITION BY __key ORDER BY __row) END = 1 AS __first, "
                f"CASE WHEN __struct IS NULL AND __key IS NOT NULL THEN {distinct} OVER (PARTITION BY __key) END "
                "AS __variants FROM numbered) "
                f"SELECT *, coalesce(__struct, CASE WHEN __key IS NULL THEN {lit(NO_KEY)} "
                f"WHEN NOT __first AND __variants > 1 THEN {lit(CONFLICT)} END) AS __rule FROM firsts")


def join_coverage(con: duckdb.DuckDBPyConnection, staged: str, view: str, joined: list[Joined], *,
                  structured: bool) -> list[tuple[Joined, int, int, list[tuple[int, str]]]]:
    """Per lookup: dataset rows whose key found no match, distinct such keys, and the first (row, key).
    Rows that are not data (``structured``: the staged table labels them) are not counted."""
    if not joined:
        return []
    data_row = " AND __struct IS NULL" if structured else ""
    parts = ", ".join(f"count(*) FILTER (WHERE {q(j.flag)}{data_row})" for j in joined)
    counts = one_row(con, f"SELECT {parts} FROM {q(staged)}")
    out: list[tuple[Joined, int, int, list[tuple[int, str]]]] = []
    for j, n in zip(joined, counts, strict=True):
        if not n:
            out.append((j, 0, 0, []))
            continue
        missed = f"__row IN (SELECT __row FROM {q(staged)} WHERE {q(j.flag)}{data_row})"
        keys = one_row(con, f"SELECT count(DISTINCT {j.key_expr}) FROM {q(view)} WHERE {missed}")[0]
        first = con.execute(f"SELECT __row, {j.key_expr} FROM {q(view)} WHERE {missed} ORDER BY __row LIMIT 5"
                            ).fetchall()
        out.append((j, int(n), int(keys), [(int(r), str(k)) for r, k in first]))
    return out


def with_join_coverage(con: duckdb.DuckDBPyConnection, quality: DatasetQuality, source: Source,
                       coverage: list[tuple[Joined, int, int, list[tuple[int, str]]]], mapping: dict[str, str],
                       name: str) -> DatasetQuality:
    """The dataset's record with its lookups' records and their join coverage: rows whose key found no
    match are counted per lookup and noted with their first keys and lines; those that lost a required
    column count against the rejected-row gate (they cannot be used where it is needed)."""
    from reportgen.kpis.catalogue import CANONICAL_DATASETS

    required = {s.name for s in CANONICAL_DATASETS.get(name, ()) if s.required}
    notes = list(quality.notes)
    examples = list(quality.examples)
    where = source.path.name if source.path else name
    unmatched: dict[str, int] = {}
    gated = 0
    for j, n, keys, first in coverage:
        lk_q = j.quality
        rejected = ", ".join(f"{v} {k}" for k, v in lk_q.rows_rejected.items())
        notes.append(f"lookup {j.lookup.path}: {lk_q.rows_read} rows read" + (f" ({rejected})" if rejected else ""))
        notes += [f"lookup {j.lookup.path}: {note}" for note in lk_q.notes]
        if not n:
            continue
        unmatched[j.label] = n
        lines = line_numbers(con, source, [r for r, _ in first])
        shown = ", ".join(f"{k!r} (line {line})" for (_, k), line in zip(first, lines, strict=True))
        brings = [canon for src, canon in j.lookup.columns.items() if mapping.get(canon) == src]
        lost = sorted(set(brings) & required)
        notes.append(f"{n} row{'s' if n != 1 else ''} with a {j.lookup.column} not in {j.lookup.path} "
                     f"({keys} key{'s' if keys != 1 else ''}): {shown}" + (", ..." if n > len(first) else "")
                     + f"; no {', '.join(brings)} for {'them' if n != 1 else 'it'}")
        if lost:
            gated += n
            examples += [f"{where}:{line}: {j.lookup.column} {k!r} not in {j.lookup.path}, so no {', '.join(lost)}"
                         for (_, k), line in zip(first, lines, strict=True)]
    return replace(quality, notes=tuple(notes), examples=tuple(examples),
                   lookups=tuple(j.quality for j, *_ in coverage), unmatched=unmatched, unmatched_required=gated)
