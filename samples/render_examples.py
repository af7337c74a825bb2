"""Regenerate samples/output: each audience of configs/example.yaml as PDF plus one PNG per page.

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
from reportgen.pipeline.build import build

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "samples" / "output"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DPI = 60


def main() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.p*"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for built in build(load_config(REPO / "configs" / "example.yaml"), now=NOW, output_dir=Path(tmp),
                           exports=False):
            pdf = OUTPUT / f"{built.audience}.pdf"
            shutil.copyfile(built.pdf, pdf)
            subprocess.run(["pdftoppm", "-png", "-r", str(DPI), str(pdf), str(OUTPUT / built.audience)], check=True)
            for png in OUTPUT.glob(f"{built.audience}-*.png"):  # pdftoppm pads: -01 when >= 10 pages
                png.rename(png.with_name(f"{built.audience}-{int(png.stem.rsplit('-', 1)[1])}.png"))
            print(f"{built.audience}: {built.pages} pages -> {pdf.relative_to(REPO)}")


if __name__ == "__main__":
    main()
