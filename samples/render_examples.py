"""Regenerate samples/output: each audience of configs/example.yaml as PDF plus one PNG per page, and the
same for each real-data config whose data is present (``../shared/real-data``), in a folder per config.

Run: python samples/render_examples.py   (the README shows samples/output/<audience>-1.png)
The clock is fixed so the committed files only change when the code or the data does.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from reportgen.config.load import load_config
from reportgen.errors import ReportgenError
from reportgen.pipeline.build import build

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "samples" / "output"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DPI = 60
REAL_DATA = ("crm-sales-opportunities", "superstore", "sales-data-sample", "paid-media-funnel")
"""Configs over the public exports in ../shared/real-data (not committed here: read where they are)."""


def render(config: Path, output: Path) -> None:
    """Every audience of ``config`` into ``output``: ``<audience>.pdf`` and ``<audience>-<page>.png``."""
    output.mkdir(parents=True, exist_ok=True)
    for old in output.glob("*.p*"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for built in build(load_config(config), now=NOW, output_dir=Path(tmp), exports=False):
            pdf = output / f"{built.audience}.pdf"
            shutil.copyfile(built.pdf, pdf)
            subprocess.run(["pdftoppm", "-png", "-r", str(DPI), str(pdf), str(output / built.audience)], check=True)
            for png in output.glob(f"{built.audience}-*.png"):  # pdftoppm pads: -01 when >= 10 pages
                png.rename(png.with_name(f"{built.audience}-{int(png.stem.rsplit('-', 1)[1])}.png"))
            print(f"{built.audience}: {built.pages} pages -> {pdf.relative_to(REPO)}")


def main() -> None:
    render(REPO / "configs" / "example.yaml", OUTPUT)
    for name in REAL_DATA:
        config = REPO / "configs" / f"{name}.yaml"
        try:
            render(config, OUTPUT / name)
        except (ReportgenError, OSError) as error:  # the shared data is not on this machine
            print(f"{name}: skipped ({error})")


if __name__ == "__main__":
    main()
