"""An installed reportgen (a wheel, no repository beside it) finds its templates and fonts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_wheel_ships_templates_and_fonts_and_builds_outside_the_repo(tmp_path: Path, repo_root: Path) -> None:
    # --no-build-isolation: hatchling comes with the test extras, so no network is needed
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(repo_root),
                    "-w", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("reportgen-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    assert (target / "reportgen" / "templates" / "executive.html").is_file()
    assert (target / "reportgen" / "assets" / "fonts" / "LICENSE.txt").is_file()
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (f"import reportgen; assert reportgen.__file__.startswith({str(target)!r}), reportgen.__file__;"
            "from reportgen.cli.app import main; main()")
    result = subprocess.run([sys.executable, "-c", code, "build", str(repo_root / "configs" / "example.yaml"),
                             "--audience", "executive", "-o", str(out)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "example-executive.pdf").stat().st_size > 10_000
