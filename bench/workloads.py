"""The commands bench/run.py times: reportgen's real CLI and the reference programs, as argv lists.

Every workload is a fresh process, so imports, start-up and teardown are paid as a user pays them.
The configs are generated here for the generated data (bench/gen_data.py), so the bench never
depends on the sample data or on a user's config.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.gen_data import AS_OF, REPS

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO.parent / "shared" / "baseline"
"""The shared reference programs (floor.py, e2e_scorecard.py); optional, see baseline_available()."""
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
REPORTGEN = str(Path(PYTHON).parent / "reportgen")

EXECUTIVE_KPIS = ["revenue", "deals_won", "win_rate", "average_deal_size", "sales_cycle_days", "pipeline_value",
                  "open_opportunities", "opportunities_created"]
"""The deal KPIs the generated data can speak for (no leads, targets or subscriptions)."""


@dataclass(frozen=True)
class Command:
    """One process to time: argv and the folder it runs in."""

    argv: list[str]
    cwd: Path = REPO
    cache: str = "off"  # REPORTGEN_CACHE_DIR for the process: "off", or the warm cache's folder
    leaves: tuple[Path, ...] = ()  # folders that must hold files once it ran (a cache it was timed writing)


def build_cached(config: Path, out: Path, cache: Path) -> Command:
    """The executive build with the warm cache of loaded data in ``cache`` (empty: a cold build that
    pays for writing the entry; filled by an earlier build of the same config: a warm one). Either
    way, the data entry and the metrics entry must be there when it is done: a build whose cache
    writer failed quietly would time as a cold build that costs nothing."""
    return Command(build(config, out).argv, cache=str(cache), leaves=(cache, cache / "metrics"))


def baseline_available() -> bool:
    """The reference scripts live next to the repo (../shared/baseline); without them only the
    rows that need no reference program can run."""
    return (BASELINE / "floor.py").exists() and (BASELINE / "e2e_scorecard.py").exists()


def write_config(path: Path, data: Path, *, title: str = "Bench Scorecard", burst_reps: int = 0) -> Path:
    """A config for the generated deals: executive audience, the deal KPIs, December 2024.

    With ``burst_reps`` it also declares a delivery that bursts by rep to that many reps (one
    recipient each), which `reportgen send --dry-run` builds and writes as .eml files.
    """
    kpis = ", ".join(EXECUTIVE_KPIS)
    text = (
        f"scorecard:\n  title: {title}\n  company: Bench Co\n  currency: USD\n  locale: en_US\n  grain: month\n"
        f"  as_of: {AS_OF}\n  history: 12\n  breakdowns: [region, rep, product, source]\n"
        f"  output_dir: {path.parent / 'out'}\n"
        f"  allowed_roots: [{data.parent}]\n"
        f"datasets:\n  deals: {{path: {data}}}\n"
        f"kpis: [{kpis}]\n"
        f"audiences:\n  executive: {{template: executive, max_pages: 2}}\n"
        f"ledger: {path.parent / (path.stem + '-ledger.sqlite')}\n"
    )
    if burst_reps:
        recipients = "".join(f"      - {{email: {rep.replace('_', '')}@example.com, segment: {rep}}}\n"
                             for rep in REPS[:burst_reps])
        text += (
            "smtp: {host: localhost, port: 2525, security: none, from_address: bench@example.com}\n"
            "deliveries:\n  - name: burst\n    audience: executive\n    schedule: '0 7 1 * *'\n"
            f"    burst_by: rep\n    period: '2024-12'\n    recipients:\n{recipients}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def build(config: Path, out: Path) -> Command:
    return Command([REPORTGEN, "build", str(config), "--audience", "executive", "-o", str(out)])


def compute(config: Path, out: Path) -> Command:
    return Command([REPORTGEN, "compute", str(config), "-o", str(out / "metrics.csv")])


def burst(config: Path, out: Path, workers: int = 1) -> Command:
    extra = ["--workers", str(workers)] if workers > 1 else []
    return Command([REPORTGEN, "send", str(config), "--dry-run", "-o", str(out), *extra])


def batch(configs: list[Path], out: Path, workers: int = 1) -> Command:
    extra = ["--workers", str(workers)] if workers > 1 else []
    return Command([REPORTGEN, "batch", *map(str, configs), "--audience", "executive", "-o", str(out), *extra])


def kpis() -> Command:
    return Command([REPORTGEN, "kpis"])


def validate_help() -> Command:
    return Command([REPORTGEN, "validate", "--help"])


def reportgen_help() -> Command:
    return Command([REPORTGEN, "--help"])


def python_pass() -> Command:
    return Command([PYTHON, "-c", "pass"])


def floor(data: Path, out: Path) -> Command:
    return Command([PYTHON, str(BASELINE / "floor.py"), str(data), str(out / "floor.pdf")], cwd=BASELINE)


def script(data: Path, out: Path) -> Command:
    return Command([PYTHON, str(BASELINE / "e2e_scorecard.py"), "pandas", str(data), str(out / "script.pdf"),
                    "--fmt", "svg"], cwd=BASELINE)


def duckdb_scan(data: Path) -> Command:
    """A plain DuckDB scan of the file (sum of won amounts by close month), as one whole process."""
    return Command([PYTHON, str(REPO / "bench" / "duckdb_scan.py"), str(data)])
