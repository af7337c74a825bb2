"""The command line as a user meets it: real processes, one-line errors, exit codes."""
from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

from tests.shared import CONFORMANCE, needs_shared


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reportgen", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_help_is_fast_and_lists_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("build", "compute", "kpis", "validate", "send", "deliver", "schedule", "batch", "history"):
        assert command in result.stdout


def test_kpis_catalogue_csv_has_every_builtin_with_definition() -> None:
    from reportgen.kpis.catalogue import BUILTIN_KPIS

    result = run("kpis", "--format", "csv")
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [r["id"] for r in rows] == list(BUILTIN_KPIS)
    assert all(r["definition"] and r["datasets"] and r["unit"] for r in rows)
    churn = next(r for r in rows if r["id"] == "churn_rate")
    assert (churn["better"], churn["datasets"]) == ("lower", "subscriptions")


def test_kpis_into_a_pipe_is_one_line_per_kpi_and_a_closed_pipe_is_quiet() -> None:
    from reportgen.kpis.catalogue import BUILTIN_KPIS

    result = run("kpis")
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(BUILTIN_KPIS)
    head = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m reportgen kpis | head -1"],
                          capture_output=True, text=True, timeout=60)
    assert (head.returncode, head.stderr) == (0, "")
    assert head.stdout.startswith("revenue ")


@needs_shared
def test_compute_datasets_shortcut_matches_conformance_quarter(tmp_path: Path) -> None:
    case = CONFORMANCE / "seed-examples"
    out = tmp_path / "q.csv"
    result = run("compute", "--datasets", str(case / "data"), "--from", "2025-01", "--to", "2025-06",
                 "--grain", "quarter", "-o", str(out))
    assert result.returncode == 0, result.stderr
    got = {(r["period"], r["kpi"]): r["value"] for r in csv.DictReader(out.open())}
    for r in csv.DictReader((case / "expected_quarter.csv").open()):
        value = got[(r["period"], r["kpi"])]
        if r["value"] == "":
            assert value == "", (r, value)   # missing stays an empty cell, never 0
        else:
            assert math.isclose(float(value), float(r["value"]), rel_tol=1e-9, abs_tol=1e-9)


@needs_shared
def test_compute_by_dimension_adds_breakdown_rows(tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = run("compute", "--datasets", str(CONFORMANCE / "seed-examples" / "data"), "--from", "2025-01",
                 "--to", "2025-02", "--by", "region", "--by", "rep", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert {"period", "kpi", "value", "dimension", "segment"} <= set(rows[0])
    assert {r["dimension"] for r in rows} == {"", "region", "rep"}
    whole = [r for r in rows if r["dimension"] == ""]
    assert all(r["segment"] == "" for r in whole)


def test_config_error_is_one_line_per_problem_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("datasets:\n  deals: {path: d.csv}\nkpis: [revenue, win_rte]\n")
    result = run("validate", str(cfg))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {cfg}:3:17: unknown KPI 'win_rte' - did you mean 'win_rate'? (a custom KPI needs 'expression' "
        "or 'measure'; `reportgen kpis` lists the built-ins)"]
    assert "Traceback" not in result.stderr


def test_missing_data_file_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("datasets:\n  deals: {path: nowhere.csv}\n")
    result = run("validate", str(cfg))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: dataset 'deals': file not found: nowhere.csv (looked in {tmp_path})"


def test_validate_reports_data_quality(repo_root: Path) -> None:
    result = run("validate", str(repo_root / "configs" / "example.yaml"))
    assert result.returncode == 0, result.stderr
    assert "deals: 2761 rows (1 unreadable amount, 2 won/lost without close_date; missing: 3 created_date, " \
        in result.stdout
    assert "reporting period 2025-12" in result.stdout


def test_unknown_audience_suggests(repo_root: Path, tmp_path: Path) -> None:
    result = run("build", str(repo_root / "configs" / "example.yaml"), "--audience", "executiv", "-o", str(tmp_path))
    assert result.returncode == 2
    assert "audience 'executiv' is not declared" in result.stderr and "did you mean 'executive'?" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


@needs_shared
def test_compute_explain_prints_the_sql(repo_root: Path) -> None:
    result = run("compute", str(repo_root / "configs" / "crm-sales-opportunities.yaml"), "--explain")
    assert result.returncode == 0, result.stderr
    # sums and counts per atom of days first (with every breakdown at once), then per period
    assert "GROUP BY GROUPING SETS ((a.atom), (a.atom, t.\"region\")" in result.stdout
    assert "JOIN days_atom_ord o ON s.__k = o.atom" in result.stdout
    assert result.stdout.count("WITH base AS") >= 5


def test_build_one_segment(repo_root: Path, tmp_path: Path) -> None:
    result = run("build", str(repo_root / "configs" / "example.yaml"), "--audience", "executive",
                 "--segment", "region=West", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    from tests.pdftools import pdf_text

    text = pdf_text(tmp_path / "example-executive-region-West.pdf")
    assert "Region: West" in text and "Unavailable: needs dataset spend" in text
    bad = run("build", str(repo_root / "configs" / "example.yaml"), "--segment", "region", "-o", str(tmp_path))
    assert bad.returncode == 2 and "expected DIMENSION=VALUE" in bad.stderr
    # a blank value is refused as the Python API refuses it (one parser), not read as the blank segment
    blank = run("build", str(repo_root / "configs" / "example.yaml"), "--segment", "region= ", "-o", str(tmp_path))
    assert blank.returncode == 2 and "segment 'region= ': expected DIMENSION=VALUE" in blank.stderr


def test_schema_describes_every_config_field() -> None:
    import json

    result = run("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    for name, model in schema["$defs"].items():
        for field, spec in model.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"
    assert set(schema["properties"]) >= {"scorecard", "datasets", "kpis", "audiences", "deliveries"}


@needs_shared
def test_compute_window_writes_one_row_per_month_matching_conformance(tmp_path: Path) -> None:
    case = CONFORMANCE / "seed-examples"
    out = tmp_path / "ytd.csv"
    result = run("compute", "--datasets", str(case / "data"), "--from", "2025-01", "--to", "2025-04",
                 "--window", "ytd", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert {"period", "kpi", "value"} <= set(rows[0]) and {r["window"] for r in rows} == {"ytd"}
    got = {(r["period"], r["kpi"]): r["value"] for r in rows}
    assert len(got) == len(rows)  # one row per KPI and month
    expected = [r for r in csv.DictReader((case / "expected_windows.csv").open()) if r["window"] == "ytd"]
    assert expected
    for r in expected:
        value = got[(r["period"], r["kpi"])]
        if r["value"] == "":
            assert value == "", (r, value)
        else:
            assert math.isclose(float(value), float(r["value"]), rel_tol=1e-9, abs_tol=1e-9), (r, value)
    bad = run("compute", "--datasets", str(case / "data"), "--from", "2025-01", "--to", "2025-04",
              "--window", "mtd", "-o", str(out))
    assert bad.returncode == 2 and "mtd" in bad.stderr


def test_the_command_line_collects_garbage_less_often_and_the_library_does_not() -> None:
    """The CLI sets a young-generation threshold for WeasyPrint's many short-lived objects; a program
    that only imports reportgen (and builds with it) keeps Python's own."""
    import subprocess
    import sys

    from reportgen.prefetch import GC_YOUNG_THRESHOLD

    def threshold(code: str) -> int:
        out = subprocess.run([sys.executable, "-c", code + "\nimport gc; print(gc.get_threshold()[0])"],
                             capture_output=True, text=True, check=True).stdout
        return int(out.split()[-1])

    default = threshold("pass")
    assert threshold("import reportgen.pipeline.build, reportgen.batch, reportgen.cli.app") == default
    assert threshold("from reportgen.cli.app import main\n"
                     "main(['kpis', '--format', 'csv'], standalone_mode=False)") == GC_YOUNG_THRESHOLD != default


def test_the_cli_freezes_its_heap_when_done_and_still_cleans_up_at_exit(tmp_path: Path, repo_root: Path) -> None:
    """After a command (error or not) the CLI freezes its heap so Python's last full collection skips
    it; a library user's heap is untouched. The exit still runs its clean-up: DuckDB's private spill
    folder and the loader's work folder are gone once `reportgen compute` has exited."""
    import os

    def frozen(code: str) -> int:
        out = subprocess.run([sys.executable, "-c", code + "\nimport gc; print(gc.get_freeze_count())"],
                             capture_output=True, text=True, timeout=120).stdout
        return int(out.split()[-1])

    assert frozen("import reportgen.pipeline.build, reportgen.cli.app") == 0
    assert frozen("from reportgen.cli.app import main\nmain(['kpis', '--format', 'csv'], standalone_mode=False)") > 0
    assert frozen("from reportgen.cli.app import main\ntry:\n    main(['build', 'no-such.yaml'])\n"
                  "except SystemExit as exc:\n    assert exc.code == 2") > 0

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-m", "reportgen", "compute", str(repo_root / "configs" / "example.yaml"),
                             "-o", str(tmp_path / "metrics.csv")], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "metrics.csv").stat().st_size > 0
    assert list(scratch.iterdir()) == []
