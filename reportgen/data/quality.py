"""What was read, what could not be used and why: the data-quality record and the gate before a build.

An executive cannot see on the page that a third of the amounts were unreadable; so a dataset that
loses more than ``quality.max_rejected_share`` of its rows (default 1%), or a column that cannot be
read at all, stops ``validate`` and ``build`` with the first offending rows, each as
``file:line: column 'amount': cannot read 'R$ 100.000' as a number (...)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from reportgen.data import formats as fmt
from reportgen.data.sql import clean_text, lit, one_row, q
from reportgen.data.structure import NOT_DATA, TOTAL, is_total_line
from reportgen.errors import DataError

if TYPE_CHECKING:
    import duckdb

    from reportgen.data.sources import Source

#: Example rows an error message shows.
EXAMPLES = 5


@dataclass(frozen=True, kw_only=True)
class DatasetQuality:
    """What was read and what could not be used, per dataset (the data-quality appendix)."""

    name: str
    source: str
    rows_read: int
    rows_rejected: dict[str, int]
    first_date: date | None
    last_date: date | None  # the end of what the data covers: data_through, else its latest date
    missing_values: dict[str, int]
    date_formats: dict[str, str] = field(default_factory=dict)
    first_dates: dict[str, date] = field(default_factory=dict)  # earliest value per date column
    last_dates: dict[str, date] = field(default_factory=dict)  # latest value per date column
    examples: tuple[str, ...] = ()  # first offending rows, one line each
    notes: tuple[str, ...] = ()  # how the file was read (encoding guessed, ...)
    unreadable_columns: tuple[str, ...] = ()  # columns with values but not one readable
    data_through: date | None = None  # configured end of coverage
    number_formats: dict[str, str] = field(default_factory=dict)  # how text numbers were read, per column
    #: Which loader produced the table: "typed read" (clean CSV typed in one strict pass) or "general".
    #: Not part of equality: both loaders must give the same record, and tests compare them.
    loader: str = field(default="general", compare=False)
    #: The lookup files joined on, each read and checked like a dataset.
    lookups: tuple[DatasetQuality, ...] = ()
    #: Rows whose lookup key found no match, per lookup ("order_id not in orders.csv").
    unmatched: dict[str, int] = field(default_factory=dict)
    #: Of those, rows that lost a required column (they cannot be used where it is needed: gated).
    unmatched_required: int = 0
    #: A snapshot dataset's as-of column and its days that had happened (``data.snapshot``): its coverage.
    snapshot: str | None = None
    snapshots: tuple[date, ...] = ()

    @property
    def total_rejected(self) -> int:
        """Rows that were data but cannot be used (rows that are not data, such as a total row, are shown
        with their lines but not held against the gate)."""
        return sum(v for k, v in self.rows_rejected.items() if not k.startswith("won/lost without")
                   and k not in NOT_DATA)


@dataclass(frozen=True)
class Unreadable:
    """A column whose values may fail to read, and how they were expected to be written."""

    column: str
    type: str
    style: str
    expr: str  # the source expression, to fetch the raw text of example rows


def measure_quality(con: duckdb.DuckDBPyConnection, name: str, staged: str, source: Source, view: str,
                    unreadable: list[Unreadable], kinds: dict[str, str], rule_counts: dict[str, int],
                    data_through: date | None, today: date,
                    first_rows: dict[str, list[int]] | None = None) -> DatasetQuality:
    """Count rows read, unreadable values (from the staged flags) and the date span of the kept rows.

    The span counts only dates of things that happened (kpi-spec.md, "Coverage"): never an open deal's
    expected close date, never a date after ``today`` (the day the scorecard is computed). A CRM export
    full of planned closes next quarter is not data about next quarter."""
    lines = _ragged_lines(con, source)
    ragged = [(line, error) for line, error, total in lines if not total]
    totals = [line for line, _, total in lines if total]
    parts = ["count(*)"] + [f"count(*) FILTER (WHERE {q('__bad_' + u.column)})" for u in unreadable]
    parts += [f"count({q(u.column)})" for u in unreadable]
    row = one_row(con, f"SELECT {', '.join(parts)} FROM {q(staged)}")
    total = int(row[0])
    bad = {u.column: int(n) for u, n in zip(unreadable, row[1:1 + len(unreadable)])}
    readable = {u.column: int(n) for u, n in zip(unreadable, row[1 + len(unreadable):])}
    rejected: dict[str, int] = {}
    if ragged:
        rejected["ragged line (too few or too many fields)"] = len(ragged)
    for col, n in bad.items():
        if n:
            rejected[f"unreadable {col}"] = n
    rejected.update({k: v for k, v in rule_counts.items() if v})
    skipped = _skipped_lines(source, [line for line, _, _ in lines], bool(first_rows) or any(bad.values()))
    where = source.path.name if source.path else name
    header = source.path is not None
    rule_lines = {label: [_line_of(r, skipped, header) for r in rows] for label, rows in (first_rows or {}).items()}
    if totals:  # a ragged "Total,,,123456" is a total row, with its line
        rejected[TOTAL] = rejected.get(TOTAL, 0) + len(totals)
        rule_lines[TOTAL] = sorted(totals + rule_lines.get(TOTAL, []))[:EXAMPLES]
    whole = tuple(c for c, n in bad.items() if n and readable[c] == 0)
    cols = [c for c in kinds]
    missing_row = one_row(con, "SELECT " + ", ".join(f"count(*) - count({q(c)})" for c in cols)
                          + f" FROM {q(name)}") if cols else ()
    missing = {c: int(v) for c, v in zip(cols, missing_row) if v}
    date_cols = [c for c, k in kinds.items() if k in ("date", "timestamp")]
    firsts: dict[str, date] = {}
    lasts: dict[str, date] = {}
    if date_cols:
        bounds = one_row(con, "SELECT " + ", ".join(
            f"min({q(c)}) FILTER (WHERE {happened_sql(name, c, kinds, today)}), "
            f"max({q(c)}) FILTER (WHERE {happened_sql(name, c, kinds, today)})" for c in date_cols)
                         + f" FROM {q(name)}")
        firsts = {c: d for c, d in zip(date_cols, bounds[0::2]) if d is not None}
        lasts = {c: d for c, d in zip(date_cols, bounds[1::2]) if d is not None}
    first = min(firsts.values(), default=None)
    last = data_through or max(lasts.values(), default=None)
    examples: list[str] = [f"{where}:{line}: {error}" for line, error in ragged[:EXAMPLES]]
    if any(bad.values()) and len(examples) < EXAMPLES:
        examples += _unreadable_examples(con, staged, source, view, [u for u in unreadable if bad[u.column]],
                                         skipped, EXAMPLES - len(examples))
    examples += rule_examples(where, rule_lines, limit=EXAMPLES)
    notes = tuple(source.notes) + not_data_notes(rejected, rule_lines)
    return DatasetQuality(name=name, source=source.description, rows_read=total + len(lines), rows_rejected=rejected,
                          first_date=first, last_date=last, missing_values=missing, first_dates=firsts,
                          last_dates=lasts, examples=tuple(examples), notes=notes, unreadable_columns=whole,
                          data_through=data_through)


def rule_examples(where: str, rule_lines: dict[str, list[int]], limit: int) -> list[str]:
    """``file:line: rule`` for the first rows each rule left out (rows that are not data have their
    lines in a note instead: they do not count against the gate these examples explain)."""
    from reportgen.data.rules import keep_hint

    out = []
    for label in sorted(k for k in rule_lines if k not in NOT_DATA):
        hint = keep_hint(label)
        out += [f"{where}:{line}: {label}" + (f" (kept with {hint})" if hint else "")
                for line in rule_lines[label][:limit]]
    return out


def not_data_notes(rejected: dict[str, int], rule_lines: dict[str, list[int]]) -> tuple[str, ...]:
    """One note per kind of row that is not data, with its first lines: they are left out of every KPI
    without counting against the gate, so the record says where they were."""
    from reportgen.data.rules import keep_hint

    notes = []
    for label in NOT_DATA:
        if rejected.get(label):
            lines = rule_lines.get(label, [])
            shown = ", ".join(str(n) for n in lines) + (", ..." if rejected[label] > len(lines) else "")
            notes.append(f"{rejected[label]} {label}{'s' if rejected[label] != 1 else ''} left out"
                         + (f" (line {shown})" if lines else "") + f"; {keep_hint(label)} keeps them")
    return tuple(notes)


def lookup_quality(con: duckdb.DuckDBPyConnection, name: str, source: Source, rows: int, counts: dict[str, int],
                   first_rows: dict[str, list[int]]) -> DatasetQuality:
    """The quality record of a lookup file: lines read, ragged and rule-rejected lines with their numbers."""
    lines = _ragged_lines(con, source)
    ragged = [(line, error) for line, error, total in lines if not total]
    totals = [line for line, _, total in lines if total]
    rejected = {"ragged line (too few or too many fields)": len(ragged)} if ragged else {}
    rejected.update({k: v for k, v in counts.items() if v})
    skipped = _skipped_lines(source, [line for line, _, _ in lines], bool(first_rows))
    header = source.path is not None
    rule_lines = {label: [_line_of(r, skipped, header) for r in rs] for label, rs in first_rows.items()}
    if totals:
        rejected[TOTAL] = rejected.get(TOTAL, 0) + len(totals)
        rule_lines[TOTAL] = sorted(totals + rule_lines.get(TOTAL, []))[:EXAMPLES]
    where = source.path.name if source.path else source.description
    examples = [f"{where}:{line}: {error}" for line, error in ragged[:EXAMPLES]]
    examples += rule_examples(where, rule_lines, limit=EXAMPLES)
    return DatasetQuality(name=name, source=source.description, rows_read=rows + len(lines), rows_rejected=rejected,
                          first_date=None, last_date=None, missing_values={}, examples=tuple(examples),
                          notes=tuple(source.notes) + not_data_notes(rejected, rule_lines))


#: Date columns whose value is an expectation on some rows: (dataset, column) -> SQL condition of the
#: rows on which it records something that happened.
EXPECTED_DATES = {("deals", "close_date"): "stage IN ('won', 'lost')"}


def happened_sql(name: str, column: str, kinds: dict[str, str], today: date) -> str:
    """The SQL condition under which ``column`` dates an event that happened on or before ``today``."""
    cond = f"CAST({q(column)} AS DATE) <= DATE {lit(today.isoformat())}"
    expected = EXPECTED_DATES.get((name, column))
    if expected and "stage" in kinds:
        cond += f" AND {expected}"
    return cond


def _ragged_lines(con: duckdb.DuckDBPyConnection, source: Source) -> list[tuple[int, str, bool]]:
    """(line, what was wrong, whether it is a total row) of every CSV line DuckDB rejected, once per line."""
    import duckdb

    if not source.rejects_table:
        return []
    try:
        rows = con.execute(f"SELECT line, min(error_type), min(error_message), min(csv_line) "
                           f"FROM {q(source.rejects_table)} GROUP BY line ORDER BY line").fetchall()
    except duckdb.Error:  # no rejects table: nothing was rejected
        return []
    return [(int(line), f"{kind.lower()}: {message}", is_total_line(text)) for line, kind, message, text in rows]


def _unreadable_examples(con: duckdb.DuckDBPyConnection, staged: str, source: Source, view: str,
                         columns: list[Unreadable], ragged: list[int], limit: int) -> list[str]:
    """The first rows with an unreadable value, with the raw text fetched again from the source."""
    flags = " OR ".join(q("__bad_" + u.column) for u in columns)
    rows = [r[0] for r in con.execute(f"SELECT __row FROM {q(staged)} WHERE {flags} ORDER BY __row LIMIT {limit}"
                                      ).fetchall()]
    if not rows:
        return []
    raw = ", ".join(clean_text(u.expr) for u in columns)
    flag_cols = ", ".join(q("__bad_" + u.column) for u in columns)
    in_rows = ", ".join(str(r) for r in rows)
    flagged = {r[0]: r[1:] for r in con.execute(f"SELECT __row, {flag_cols} FROM {q(staged)} WHERE __row IN ({in_rows})"
                                                 ).fetchall()}
    values = {r[0]: r[1:] for r in con.execute(f"SELECT __row, {raw} FROM {q(view)} WHERE __row IN ({in_rows})"
                                                ).fetchall()}
    got = [(r, *flagged[r], *values.get(r, (None,) * len(columns))) for r in sorted(flagged)]
    where = source.path.name if source.path else source.description
    out = []
    for r in got:
        line = _line_of(int(r[0]), ragged, header=source.path is not None)
        for i, u in enumerate(columns):
            if r[1 + i]:
                value = r[1 + len(columns) + i]
                out.append(f"{where}:{line}: column {u.column!r}: cannot read {value!r} as {_as(u)}{_hint(u, value)}")
                break
    return out[:limit]


def line_numbers(con: duckdb.DuckDBPyConnection, source: Source, rows: list[int]) -> list[int]:
    """The file lines of read records (``__row``), counting the header and the lines skipped as ragged."""
    skipped = _skipped_lines(source, [line for line, _, _ in _ragged_lines(con, source)], bool(rows))
    return [_line_of(r, skipped, header=source.path is not None) for r in rows]


def _skipped_lines(source: Source, ragged: list[int], needed: bool) -> list[int]:
    """Lines the reader skipped: ragged ones and, when a line number will be shown (``needed``), empty
    ones, which DuckDB passes over without a word (one pass over the file, on that path only)."""
    path = source.read_path
    if not needed or path is None or source.encoding == "utf-16":
        return ragged
    empty = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if raw in (b"\n", b"\r\n"):
                empty.append(number)
    return sorted(set(ragged) | set(empty))


def _line_of(row: int, ragged: list[int], header: bool) -> int:
    """The file line of the ``row``-th read record, counting the header and the lines skipped as ragged."""
    line = row + (1 if header else 0)
    for skipped in ragged:
        if skipped <= line:
            line += 1
    return line


def _as(u: Unreadable) -> str:
    return {"number": "a number", "date": "a date", "timestamp": "a date"}.get(u.type, f"one of the {u.column} values")


def _hint(u: Unreadable, value: str | None) -> str:
    if u.type == "number" and value:
        core = fmt.number_core(value)
        if core is not None:
            other = "," if "decimal: '.'" in u.style else "."
            return (f" (read with {u.style}; if the data writes numbers that way, set decimal: '{other}' and "
                    f"thousands: '{'.' if other == ',' else ','}')")
        return " (not a number; fix the value or map the right column)"
    if u.type in ("date", "timestamp"):
        return (
            f" (expected {u.style or 'ISO dates'}; set date_formats for {u.column} "
            "if the data writes dates another way)"
        )
    if u.type == "category":
        return f" (map it under values: {{{u.column}: ...}})"
    return ""


def check_quality(quality: dict[str, DatasetQuality], max_share: float) -> None:
    """Refuse to go on when a dataset (or a lookup file joined onto it) lost too many rows or a whole
    column: one headline per dataset, then its first offending rows."""
    lines = gate_lines(list(quality.values()), max_share)
    if lines:
        raise DataError("\n".join(lines))


def gate_lines(quality: list[DatasetQuality], max_share: float) -> list[str]:
    """The gate's message lines for these records and their lookups (none: the data may be used)."""
    lines: list[str] = []
    for q_ in quality:
        reasons = ", ".join(f"{n} {k}" for k, n in q_.rows_rejected.items())
        if q_.unreadable_columns:
            cols = ", ".join(repr(c) for c in q_.unreadable_columns)
            lines.append(f"dataset {q_.name!r} ({q_.source}): no value of column {cols} can be read; "
                         "check the column mapping and the number/date settings")
            lines += list(q_.examples)  # at most EXAMPLES, as under the share gate's headline
            continue
        unusable = q_.total_rejected + q_.unmatched_required
        share = unusable / q_.rows_read if q_.rows_read else 0.0
        if share > max_share:
            if q_.unmatched_required:
                reasons = ", ".join(filter(None, [reasons, f"{q_.unmatched_required} without a lookup match for "
                                                  "a required column"]))
            what = (f"lookup {q_.source} of dataset {q_.name.removesuffix(' lookup')!r}" if q_.name.endswith(" lookup")
                    else f"dataset {q_.name!r} ({q_.source})")
            lines.append(f"{what}: {unusable} of {q_.rows_read} rows ({share:.1%}) cannot be used, over the "
                         f"{max_share:.0%} allowed (quality.max_rejected_share): {reasons}"
                         f"{gate_hint(q_)}")
            lines += list(q_.examples)
        lines += gate_lines(list(q_.lookups), max_share)
    return lines


def gate_hint(q_: DatasetQuality) -> str:
    """The setting that changes the gate's outcome, when one rule explains at least half of it (duplicate
    ids from an order-line export: half the lost rows is already the shape of one)."""
    dup = q_.rows_rejected.get("duplicate deal_id", 0)
    if dup and dup * 2 >= q_.total_rejected:
        return ("; if each row is one line of an order, set order_lines: true for the dataset to sum the lines "
                "into one deal per order")
    return ""
