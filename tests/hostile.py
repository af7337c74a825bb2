"""Shared pieces of the security tests: a small config folder with hostile CRM values, and the CLI."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

HOSTILE_DEALS = textwrap.dedent('''\
    deal_id,created_date,close_date,stage,amount,rep,region,product
    1,2025-10-01,2025-11-05,won,1000,"=HYPERLINK(""http://evil.example/"",""click"")",North,Widget
    2,2025-10-02,2025-11-06,won,2000,Ann,"+cmd|' /C calc'!A0",Widget
    3,2025-10-03,2025-12-07,won,1500,Bob,North,@SUM(1+1)
    4,2025-11-04,2025-12-08,lost,700,Ann,a/b,Gadget
    5,2025-11-05,2025-12-09,won,900,Bob,a?b,Gadget
    6,2025-12-01,,open,400,"-2+3",North,Widget
    ''')


def config_folder(folder: Path, *, scorecard: str = "", audiences: str = "executive: {template: executive}",
                  datasets: str = "deals: {path: deals.csv}", extra: str = "") -> Path:
    """``folder/c.yaml`` over ``folder/deals.csv`` (the hostile deals); returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deals.csv").write_text(HOSTILE_DEALS, encoding="utf-8")
    config = folder / "c.yaml"
    config.write_text(
        "scorecard:\n  as_of: 2025-12-31\n  allow_partial_period: true\n  history: 3\n  forecast_periods: 0\n"
        "  breakdowns: [rep, region, product]\n"
        + textwrap.indent(textwrap.dedent(scorecard), "  ")
        + f"datasets:\n  {datasets}\nkpis: [revenue, deals_won, win_rate]\naudiences:\n  {audiences}\n"
        + extra,
        encoding="utf-8",
    )
    return config


def cli(*args: object, cwd: Path | None = None, timeout: float = 120,
        preexec_fn=None) -> subprocess.CompletedProcess[str]:
    """``python -m reportgen ARGS`` in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "reportgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout, preexec_fn=preexec_fn)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exit 2 and exactly one ``error:`` line, no traceback; that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]
