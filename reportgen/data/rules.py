"""Row rules: rows that read fine but must not count (and order lines summed into orders).

Each rule is a SQL condition over the typed rows with a label the data-quality report prints. A
rejected row is left out of every KPI and counted under its rule; the ``quality:`` section of the
config can keep a rule's rows instead (``negative_amounts: keep`` for credit notes). Rules run in one
pass: the counts come from one aggregate and, only when some rule fired, one more pass writes the
kept rows.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from reportgen.data.sql import lit, one_row, q
from reportgen.data.structure import SETTINGS

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset, Quality

#: The id column of each dataset whose rows have one.
ID_COLUMNS = {"deals": "deal_id", "leads": "lead_id", "activities": "activity_id", "tickets": "ticket_id"}
#: Date columns a row may legitimately have in the future (a subscription's scheduled end).
FUTURE_ALLOWED = {("subscriptions", "end_date")}
#: Rejected rows per rule whose line numbers the quality record keeps.
EXAMPLE_ROWS = 5
#: Rules counted but not cutting rows (the engine already leaves them out where the value is needed).
COUNT_ONLY = "won/lost without close_date"


def rule_conditions(name: str, kinds: dict[str, str], quality: Quality, today: date) -> list[tuple[str, str]]:
    """(label, SQL condition) of every rule that applies to this dataset, in the order they are tested."""
    rules: list[tuple[str, str]] = []
    id_col = ID_COLUMNS.get(name)
    if id_col in kinds and quality.duplicate_ids == "reject":
        rules.append((f"duplicate {id_col}",
                      f"{q(id_col)} IS NOT NULL AND row_number() OVER (PARTITION BY {q(id_col)} ORDER BY __row) > 1"))
    if name == "deals":
        if quality.negative_amounts == "reject" and "amount" in kinds:
            rules.append(("won deal with a negative amount", "stage = 'won' AND amount < 0"))
        if quality.close_before_create == "reject" and "close_date" in kinds:
            rules.append(("closed before created", "stage IN ('won', 'lost') AND close_date < created_date"))
    if quality.future_dates == "reject":
        limit = today + timedelta(days=quality.future_days)
        for col, kind in kinds.items():
            if kind not in ("date", "timestamp") or (name, col) in FUTURE_ALLOWED:
                continue
            cond = f"{q(col)} > DATE {lit(limit.isoformat())}"
            if name == "deals" and col == "close_date":  # an open deal's close date is an expectation
                cond += " AND stage IN ('won', 'lost')"
            rules.append((f"dated after {limit.isoformat()}", cond))
    return rules


def group_order_lines(con: duckdb.DuckDBPyConnection, staged: str, kinds: dict[str, str],
                      kept: str = "true") -> tuple[str, dict[str, int]]:
    """One deal per order: amounts and profit summed, the earliest created and latest close date, the
    first line's text values; an order whose lines disagree on the stage is rejected, and a text value
    that differs between lines (a product per line) becomes "(mixed)" rather than crediting one line."""
    orders = f"{staged}__orders"
    select = ["min(__row) AS __row", "deal_id"]
    for col, kind in kinds.items():
        if col == "deal_id":
            continue
        if kind == "number":
            select.append(f"fsum({q(col)}) AS {q(col)}")  # the same total whatever order lines arrive in
        elif col == "created_date":
            select.append(f"min({q(col)}) AS {q(col)}")
        elif kind in ("date", "timestamp"):
            select.append(f"max({q(col)}) AS {q(col)}")
        elif col == "stage":
            select.append("CASE WHEN count(DISTINCT stage) > 1 THEN '__mixed__' ELSE any_value(stage) END AS stage")
        else:
            select.append(f"CASE WHEN count(DISTINCT {q(col)}) > 1 THEN '(mixed)' ELSE arg_min({q(col)}, __row) END "
                          f"AS {q(col)}")
        if col + "__ts" in kinds:
            select.append(f"min({q(col + '__ts')}) AS {q(col + '__ts')}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(orders)} AS SELECT {', '.join(select)} FROM {q(staged)} "
                f"WHERE deal_id IS NOT NULL AND {kept} GROUP BY deal_id")
    mixed = one_row(con, f"SELECT count(*) FROM {q(orders)} WHERE stage = '__mixed__'")[0]
    counts = {"order whose lines differ in stage": int(mixed)} if mixed else {}
    if mixed:
        con.execute(f"DELETE FROM {q(orders)} WHERE stage = '__mixed__'")
    return orders, counts


def keep_hint(label: str) -> str:
    """The ``quality:`` setting that keeps a rule's rows (for the gate's message), or ""."""
    if label in SETTINGS:
        return f"quality.{SETTINGS[label]}: keep"
    if label.startswith("duplicate "):
        return "quality.duplicate_ids: keep"
    if label.startswith("dated after "):
        return "quality.future_dates: keep (or a larger quality.future_days)"
    return {"won deal with a negative amount": "quality.negative_amounts: keep",
            "closed before created": "quality.close_before_create: keep"}.get(label, "")


def apply_rules(con: duckdb.DuckDBPyConnection, staged: str, name: str, kinds: dict[str, str],
                ds: Dataset, quality: Quality, today: date, *, table: str | None = None,
                duplicates: bool | None = None, structure: str | None = None,
                first_rows: dict[str, list[int]] | None = None) -> dict[str, int]:
    """Write the canonical table ``name`` from ``staged`` without rejected rows; return counts per rule.

    ``table``: the table holding ``staged``'s rows (the table itself, or for the typed read the table a
    view numbers). When no rule rejects a row, it is renamed to ``name`` instead of copied: a million rows
    not written twice. A copy has no ``__`` columns (row numbers, flags); a renamed table keeps them for
    the caller to drop once the quality record is measured.
    ``duplicates``: what :func:`has_duplicate_ids` already said of these rows (None: ask it here).
    ``structure``: the SQL labelling rows that are not data (``structure.structure_case``), tested first.
    ``first_rows``: filled with the first row numbers (``__row``) each rule rejected, for the messages.
    """
    source: str = staged
    counts: dict[str, int] = {}
    if name == "deals" and ds.order_lines and "deal_id" in kinds:
        lines_kept = "true"
        if structure:  # lines that are not data are left out before lines are summed into orders
            labelled = f"(SELECT __row, {structure} AS __rule FROM {q(staged)})"
            hits = con.execute(f"SELECT __rule, count(*) FROM {labelled} WHERE __rule IS NOT NULL "
                               "GROUP BY 1 ORDER BY 2 DESC, 1"
                               ).fetchall()
            counts.update({label: int(n) for label, n in hits})
            if hits and first_rows is not None:
                first_rows.update(_first_rows(con, labelled, "__rule"))
            lines_kept, structure = f"({structure}) IS NULL", None
        source, grouped = group_order_lines(con, staged, kinds, lines_kept)
        counts.update(grouped)
        duplicates = None  # one order per deal_id now: what was said of the lines no longer holds
    rules = rule_conditions(name, kinds, quality, today)
    id_col = ID_COLUMNS.get(name)
    if duplicates is None:
        duplicates = has_duplicate_ids(con, source, name, kinds, quality)
    if id_col is not None and rules and rules[0][0] == f"duplicate {id_col}" and not duplicates:
        rules = rules[1:]  # the window over every row is the costliest rule: skip it when no id repeats
    keep = ", ".join(q(c) for c in _table_columns(con, source) if not c.startswith("__"))
    if rules or structure:
        case = ("CASE " + " ".join(f"WHEN {cond} THEN {lit(label)}" for label, cond in rules) + " END") if rules \
            else "NULL"
        if structure:  # rows that are not data first: a total row is not also "closed before created"
            case = f"coalesce({structure}, {case})"
        ruled = f"(SELECT *, {case} AS __rule FROM {q(source)})"
        hits = con.execute(f"SELECT __rule, count(*) FROM {ruled} WHERE __rule IS NOT NULL "
                               "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        counts.update({label: int(n) for label, n in hits})
        if hits and first_rows is not None:
            first_rows.update(_first_rows(con, ruled, "__rule"))
        if hits:
            con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT {keep} FROM {ruled} WHERE __rule IS NULL")
            return _with_count_only(con, name, counts)
    if table is not None and source == staged:
        con.execute(f"DROP TABLE IF EXISTS {q(name)}")
        con.execute(f"ALTER TABLE {q(table)} RENAME TO {q(name)}")
    else:
        con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT {keep} FROM {q(source)}")
    return _with_count_only(con, name, counts)


def _first_rows(con: duckdb.DuckDBPyConnection, ruled: str, label: str) -> dict[str, list[int]]:
    """The first ``EXAMPLE_ROWS`` row numbers per rule (plain SQL: it also runs in a pushed-down database)."""
    rows = con.execute(f"SELECT {label}, __row FROM (SELECT {label}, __row, row_number() OVER (PARTITION BY {label} "
                       f"ORDER BY __row) AS __n FROM {ruled} AS r WHERE {label} IS NOT NULL) AS f "
                       f"WHERE __n <= {EXAMPLE_ROWS} ORDER BY 1, 2").fetchall()
    out: dict[str, list[int]] = {}
    for rule, row in rows:
        out.setdefault(str(rule), []).append(int(row))
    return out


def has_duplicate_ids(con: duckdb.DuckDBPyConnection, table: str, name: str, kinds: dict[str, str],
                      quality: Quality) -> bool:
    """Whether the duplicate-id rule applies to dataset ``name`` and some id of ``table`` occurs twice
    (one aggregate, no sort): only then does the order of its rows decide which one is kept."""
    id_col = ID_COLUMNS.get(name)
    if id_col not in kinds or quality.duplicate_ids != "reject":
        return False
    n, distinct = one_row(con, f"SELECT count({q(id_col)}), count(DISTINCT {q(id_col)}) FROM {q(table)}")
    return bool(n != distinct)


def _with_count_only(con: duckdb.DuckDBPyConnection, name: str, counts: dict[str, int]) -> dict[str, int]:
    if name == "deals":
        n = one_row(con, "SELECT count(*) FROM deals WHERE stage IN ('won', 'lost') AND close_date IS NULL"
                    )[0] if _has(con, "deals", "close_date") else 0
        if n:
            counts[COUNT_ONLY] = int(n)
    return counts


def _has(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return column in _table_columns(con, table)


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {q(table)}").fetchall()]
