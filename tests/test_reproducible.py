"""Reproducible files: SOURCE_DATE_EPOCH (and ``build --now``) fix every date a scorecard carries, so two
builds of configs/example.yaml in separate processes are byte-identical (PDF and HTML).

Separate processes, because what one process keeps between builds (parsed stylesheets, fonts, chart
ids) must not be what makes two builds agree.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent
EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def build(out: Path, *args: str, epoch: int | None = EPOCH) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    return subprocess.run([sys.executable, "-m", "reportgen", "build", str(REPO / "configs" / "example.yaml"),
                           "--audience", "executive", "-o", str(out), *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    for out in (first, second):
        result = build(out)
        assert result.returncode == 0, result.stderr
    return first, second


def test_two_builds_under_source_date_epoch_are_byte_identical(two_builds: tuple[Path, Path]) -> None:
    first, second = two_builds
    for name in ("example-executive.pdf", "example-executive.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_every_date_is_the_epoch(two_builds: tuple[Path, Path]) -> None:
    first, _ = two_builds
    info = PdfReader(io.BytesIO((first / "example-executive.pdf").read_bytes())).metadata
    assert info is not None
    assert info["/CreationDate"] == info["/ModDate"] == "D:20260101000000+00'00"
    html = (first / "example-executive.html").read_text(encoding="utf-8")
    assert '<meta name="dcterms.created" content="2026-01-01T00:00:00+00:00">' in html
    assert '<meta name="dcterms.modified" content="2026-01-01T00:00:00+00:00">' in html
    assert "Generated Jan 1, 2026" in html


def test_build_now_fixes_the_dates_too(tmp_path: Path) -> None:
    result = build(tmp_path, "--now", "2026-02-03T04:05:06+00:00", epoch=None)
    assert result.returncode == 0, result.stderr
    info = PdfReader(io.BytesIO((tmp_path / "example-executive.pdf").read_bytes())).metadata
    assert info is not None and info["/CreationDate"] == "D:20260203040506+00'00"


def test_a_bad_source_date_epoch_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "yesterday"}
    result = subprocess.run([sys.executable, "-m", "reportgen", "build", str(REPO / "configs" / "example.yaml"),
                             "-o", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: SOURCE_DATE_EPOCH='yesterday' is not a number of seconds since 1970-01-01 UTC; "
        "set it to e.g. $(git log -1 --format=%ct) or unset it"]


def test_a_batch_build_job_takes_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen.batch import BuildJob

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    BuildJob(config=REPO / "configs" / "example.yaml", audience="executive", output_dir=tmp_path).run()
    info = PdfReader(io.BytesIO((tmp_path / "example-executive.pdf").read_bytes())).metadata
    assert info is not None and info["/CreationDate"] == "D:20260101000000+00'00"
