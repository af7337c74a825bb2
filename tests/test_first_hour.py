"""docs/first-hour.md, run as written: every ```bash block, in order, in a fresh folder with an export.

The export is a CRM opportunity export ending with the last complete month, so the delivery's period
(the last complete month at run time) is covered, as it would be for a user's fresh export.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from tests.test_init import crm_pipeline

DOC = Path(__file__).resolve().parents[1] / "docs" / "first-hour.md"


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_every_command_of_the_first_hour_runs(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    last_month_end = date.today().replace(day=1) - timedelta(days=1)
    crm_pipeline(tmp_path / "exports" / "opportunities.csv", end=last_month_end)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    blocks = bash_blocks(DOC.read_text())
    assert len(blocks) == 6
    for block in blocks:
        if block.startswith("reportgen serve "):
            serve(block.strip(), tmp_path, env)
            continue
        result = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "out" / "scorecard-executive.pdf").is_file()
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 1


def serve(command: str, cwd: Path, env: dict[str, str]) -> None:
    """The serve command as written, on any free port (8000 may be taken on a test machine)."""
    proc = subprocess.Popen(["bash", "-c", f"exec {command} --port 0"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[1]
        with urllib.request.urlopen(url, timeout=60) as response:
            assert b"report-footer" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
