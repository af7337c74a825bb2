#!/usr/bin/env bash
# Mutation testing (cosmic-ray) over the code that guards numbers and delivery (issue 22).
#
#   scripts/mutation.sh [TARGET...]          default: every target below
#   TARGET: exports | period | coverage | spans | quality | ledger | ledger-file
#
# Each target is one module (or some of its functions, by line ranges) and a fast test selection that
# covers it. cosmic-ray changes the module on disk for each mutant, so the run works on a copy of
# this checkout (tracked and new files, with ../shared linked beside it) and the checkout is never
# touched. The tests import the copy (PYTHONPATH), including the CLI subprocesses they start.
#
# Results: out/mutation/TARGET.sqlite (the session), TARGET.txt (cr-report: every survivor with its
# diff) and the killed share on stdout. Heavy: run it niced (nice -n 19 scripts/mutation.sh exports);
# on a shared 2-core machine a target takes 5-15 minutes.
#
# Measured 2026-12-06 (issue 22), killed share before (main's tests) -> after (this branch's):
#   exports  28/40 (70%) -> 36/40 (90%); the 4 left are equivalent: `if not TYPE_CHECKING` (imports
#            only), the two `or -> and` in export_table's skip of number/flag/date columns and
#            `fillna(True)` in its clean-column shortcut (both send a column through the rewrite,
#            whose Series.map gives the same values back: slower, not different)
#   period   24/44 (55%) -> 44/44 (100%)   (coverage.reporting_period_problem)
# Measured 2026-12-06 with MUTATION_OPERATORS=selective (docs/mutation.md has every survivor):
#   coverage 38/50 (76%) -> 50/50 (100%); with main's snapshot datasets 51/67 -> 65/67 (2 equivalent)
#   spans    18/25 (72%) -> 23/25 (92%);  with snapshots 28/36 -> 33/36
#   quality  19/28 (68%) -> 23/28 (82%) -> 24/26 (92%) after the headline lists every example row and
#            the hint's edge was pinned; the 2 left are equivalent
#   ledger   35/45 (78%) -> 45/45 (100%)
#   ledger-file 36/54 (67%) -> 49/59 (83%; 5 of the 10 left equivalent); it found a bug: a lost
#            database beside its journal was restarted empty (fixed)
#
# Environment: MUTATION_TIMEOUT (seconds per mutant, default 120), MUTATION_TESTS (pytest arguments
# instead of the target's own selection, e.g. to measure an older test file), MUTATION_OUT,
# MUTATION_OPERATORS (all, the default, or selective: see SELECTIVE below), MUTATION_SURVIVORS (set:
# rerun only the survivors of the target's last session in MUTATION_OUT, after adding tests).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY="$REPO/.venv/bin/python"
BIN="$REPO/.venv/bin"
OUT=${MUTATION_OUT:-$REPO/out/mutation}
TIMEOUT=${MUTATION_TIMEOUT:-120}
OPERATORS=${MUTATION_OPERATORS:-all}
case "$OPERATORS" in all|selective) ;; *) echo "error: MUTATION_OPERATORS must be all or selective" >&2; exit 2 ;; esac
[ -x "$BIN/cosmic-ray" ] || { echo "error: cosmic-ray is not installed; run: $PY -m pip install -e '.[test]'" >&2; exit 2; }

# target -> module path, function (empty: the whole module), pytest arguments (fastest tests first)
target() {
  case "$1" in
    exports)  echo "reportgen/pipeline/exports.py||tests/test_security_exports.py -k 'not compute and not only_when_asked'" ;;
    period)   echo "reportgen/engine/coverage.py|reporting_period_problem|tests/test_gates.py tests/test_compute.py -k 'period or partial'" ;;
    coverage) echo "reportgen/engine/coverage.py|text,reasons_of,note,combined,with_bases,period_coverage,window_coverage|tests/test_mutation_kills_coverage.py tests/test_compute.py tests/test_snapshots.py -k '(mutation_kills or snapshot or reasons or coverage or header_only or partial or empty_month or growth or ytd) and not postgresql'" ;;
    quality)  echo "reportgen/data/quality.py|check_quality,gate_lines,gate_hint,total_rejected|tests/test_mutation_kills_quality.py tests/test_refusals.py tests/test_rows_and_lookups.py tests/test_gates.py -k 'mutation_kills or limit or share or column or gate_shows or ragged_lookup'" ;;
    ledger)   echo "reportgen/delivery/ledger.py|claim,mark_transmitting,mark_sent,mark_failed,mark_unknown,resolve,_finish,_is_abandoned,states|tests/test_mutation_kills_ledger.py tests/test_ledger.py -k 'not enqueue and not concurrent and not killed_run and not send_once'" ;;
    spans)    echo "reportgen/engine/coverage.py|kpi_spans,base_functions,history_start|tests/test_mutation_kills_coverage.py tests/test_compute.py tests/test_snapshots.py -k '(mutation_kills or cycle or snapshot or reasons or coverage or header_only or partial or empty_month or growth or ytd) and not postgresql'" ;;
    ledger-file) echo "reportgen/delivery/ledger.py|__init__,_refuse_a_lost_database,check_writable,record_run,last_run,history,_prepare,_journal_row,_transaction,_rollback,table_rows,_process_exists|tests/test_mutation_kills_ledger.py tests/test_ledger.py tests/test_ledger_file.py -k 'not enqueue and not killed_run and not send_once'" ;;
    *) echo "error: unknown target '$1' (exports, period, coverage, spans, quality, ledger, ledger-file)" >&2; exit 2 ;;
  esac
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reportgen-mutation.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo" "$OUT"
(cd "$REPO" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$WORK/repo")
[ -d "$REPO/../shared" ] && ln -s "$(cd "$REPO/../shared" && pwd)" "$WORK/shared"
export PYTHONPATH="$WORK/repo" REPORTGEN_CACHE_DIR="" PYTHONDONTWRITEBYTECODE=1

for name in "${@:-exports period coverage quality ledger}"; do
  for name in $name; do
    IFS='|' read -r module function tests <<<"$(target "$name")"
    tests=${MUTATION_TESTS:-$tests}
    config="$WORK/$name.toml"
    session="$WORK/$name.sqlite"
    lines=""
    if [ -n "$function" ]; then
      lines=$("$PY" - "$WORK/repo/$module" "$function" <<'EOF'
import ast, sys
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
spans = []
for name in sys.argv[2].split(","):
    [node] = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    spans.append(f'"{node.lineno}-{node.end_lineno}"')
print(", ".join(spans))
EOF
)
    fi
    cat >"$config" <<EOF
[cosmic-ray]
module-path = "$module"
timeout = $TIMEOUT
excluded-modules = []
test-command = "$PY -m pytest -x -q -p no:cacheprovider $tests"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.line-filter]
lines = { "$module" = [${lines:-"1-100000"}] }
EOF
    echo "mutation: $name: $module${function:+ ($function, lines $lines)}; tests: $tests"
    cd "$WORK/repo"
    if [ -n "${MUTATION_SURVIVORS:-}" ]; then
      # the last session of this target, with only its survivors to run again: a mutant the old
      # tests killed is killed by the new ones too, when tests were only added
      [ -f "$OUT/$name.sqlite" ] || { echo "error: no earlier session $OUT/$name.sqlite to rerun" >&2; exit 2; }
      cp "$OUT/$name.sqlite" "$session"
      "$PY" -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(\"DELETE FROM work_results WHERE test_outcome = 'SURVIVED'\"); db.commit()" "$session"
    else
      "$BIN/cosmic-ray" init "$config" "$session" >/dev/null
      "$BIN/cr-filter-lines" --config "$config" "$session"
      # A mutant inside a type annotation is equivalent: with `from __future__ import annotations`
      # (every reportgen module) annotations are never evaluated, so no test can tell. Skip those.
      "$PY" - "$session" "$WORK/repo/$module" "$OPERATORS" <<'EOF'
import ast, sys
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult
source = open(sys.argv[2], encoding="utf-8").read()
assert "from __future__ import annotations" in source, "annotations are evaluated here: cannot skip them"
spans = []
for node in ast.walk(ast.parse(source)):
    notes = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        notes = [x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x]
        notes.append(node.returns)
    elif isinstance(node, ast.AnnAssign):
        notes = [node.annotation]
    spans += [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in notes if n is not None]
lines = source.splitlines()
# MUTATION_OPERATORS=selective: of cosmic-ray's 7-11 replacements per comparison or arithmetic
# operator keep the negation and the off-by-one (`<`: `>=`, `<=`; `==`: `!=`) and one arithmetic
# swap; every other operator kind (not, and/or, numbers, True/False, break/continue, loops,
# exceptions, decorators) is kept whole.
SELECTIVE = {
    "ReplaceComparisonOperator": {("Eq", "NotEq"), ("NotEq", "Eq"), ("Lt", "GtE"), ("Lt", "LtE"), ("LtE", "Gt"),
                                  ("LtE", "Lt"), ("Gt", "LtE"), ("Gt", "GtE"), ("GtE", "Lt"), ("GtE", "Gt"),
                                  ("Is", "IsNot"), ("IsNot", "Is"), ("In", "NotIn"), ("NotIn", "In")},
    "ReplaceBinaryOperator": {("Add", "Sub"), ("Sub", "Add"), ("Mul", "Div"), ("Div", "Mul"), ("FloorDiv", "Mul"),
                              ("Mod", "FloorDiv"), ("Pow", "Mul"), ("BitOr", "BitAnd"), ("BitAnd", "BitOr"),
                              ("BitXor", "BitOr"), ("LShift", "RShift"), ("RShift", "LShift")},
}
def selected(m):
    family, _, pair = m.operator_name.split("/")[-1].partition("_")
    return family not in SELECTIVE or tuple(pair.split("_")) in SELECTIVE[family]
def bare_star(m):
    """The `*` that ends a def's positional parameters: parso sees a multiplication there, and each
    of its 11 "mutants" is a syntax error (reported killed, though no test judged it)."""
    line, col = m.start_pos
    text = lines[line - 1]
    return "ReplaceBinaryOperator_Mul_" in m.operator_name and text[col:col + 1] == "*" \
        and text[col + 1:].lstrip()[:1] in (",", ")")
with use_db(sys.argv[1], WorkDB.Mode.open) as db:
    items = list(db.pending_work_items)
    skip = [item.job_id for item in items
            if all(any(s <= tuple(m.start_pos) and tuple(m.end_pos) <= e for s, e in spans) for m in item.mutations)]
    if skip:
        db.set_multiple_results(skip, WorkResult(output="in a type annotation (never evaluated)",
                                                 worker_outcome=WorkerOutcome.SKIPPED))
    stars = [item.job_id for item in items if item.job_id not in set(skip) and all(map(bare_star, item.mutations))]
    if stars:
        db.set_multiple_results(stars, WorkResult(output="the bare * of a def (a syntax error, not a mutant)",
                                                  worker_outcome=WorkerOutcome.SKIPPED))
    if sys.argv[3] == "selective":
        done = set(skip) | set(stars)
        unselected = [item.job_id for item in items if item.job_id not in done
                      and not all(map(selected, item.mutations))]
        if unselected:
            db.set_multiple_results(unselected, WorkResult(output="not in the selective operator set",
                                                           worker_outcome=WorkerOutcome.SKIPPED))
EOF
    fi
    "$BIN/cosmic-ray" baseline "$config" >/dev/null 2>&1 || {
      echo "error: $name: the tests fail without any mutation: $tests" >&2; exit 1; }
    started=$(date +%s)
    "$BIN/cosmic-ray" exec "$config" "$session"
    "$BIN/cr-report" --show-diff "$session" >"$OUT/$name.txt" || true
    cp "$session" "$OUT/$name.sqlite"
    "$PY" - "$session" "$name" "$(( $(date +%s) - started ))" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT worker_outcome, test_outcome FROM work_results").fetchall()
ran = [str(t).lower() for w, t in rows if str(w).lower() != "skipped"]  # stored as NORMAL/SKIPPED, KILLED/SURVIVED
killed = sum(1 for t in ran if t != "survived")
share = f"{killed / len(ran):.0%}" if ran else "n/a"
print(f"mutation: {sys.argv[2]}: {killed} of {len(ran)} mutants killed ({share}), "
      f"{len(ran) - killed} survived, {len(rows) - len(ran)} skipped (outside the target, in an "
      f"annotation, a bare * or not selected); {sys.argv[3]} s")
EOF
    cd "$REPO"
  done
done
echo "mutation: reports (survivors with their diffs) in $OUT"
