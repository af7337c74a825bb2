"""reportgen.atomic: atomic writes and PDF checks."""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from pypdf import PdfWriter

from reportgen import atomic
from reportgen.atomic import atomic_write_bytes, atomic_write_text, check_pdf
from reportgen.errors import RenderError, ReportgenError


def pdf_bytes(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "scorecard.pdf"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")

    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["scorecard.pdf"]


def test_text_is_written_as_utf8_without_newline_translation(tmp_path: Path) -> None:
    target = tmp_path / "body.txt"
    atomic_write_text(target, "Umsatz März\r\n")

    assert target.read_bytes() == "Umsatz März\r\n".encode()


def test_failure_during_write_keeps_previous_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "scorecard.pdf"
    atomic_write_bytes(target, b"yesterday's good report")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(ReportgenError, match=r"^cannot write .*scorecard.pdf: No space left on device \(nothing"):
        atomic_write_bytes(target, b"half of today's")

    assert target.read_bytes() == b"yesterday's good report"
    assert os.listdir(tmp_path) == ["scorecard.pdf"]


def test_failure_to_rename_keeps_previous_file_and_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.mkdir()  # a directory where the file should go: os.replace fails for real
    (target / "keep.txt").write_text("untouched")

    with pytest.raises(ReportgenError, match="cannot write .*reports: Is a directory"):
        atomic_write_bytes(target, b"data")

    assert sorted(os.listdir(tmp_path)) == ["reports"]
    assert (target / "keep.txt").read_text() == "untouched"


def test_new_file_gets_umask_permissions_and_existing_file_keeps_its_own(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pdf"
    old_umask = os.umask(0o022)
    try:
        atomic_write_bytes(fresh, b"x")
    finally:
        os.umask(old_umask)
    private = tmp_path / "private.pdf"
    private.write_bytes(b"x")
    private.chmod(0o600)
    atomic_write_bytes(private, b"y")

    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_check_pdf_counts_pages_from_bytes_and_path(tmp_path: Path) -> None:
    path = tmp_path / "scorecard.pdf"
    atomic_write_bytes(path, pdf_bytes(3))

    assert check_pdf(pdf_bytes(2)) == 2
    assert check_pdf(path) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>not a pdf</html>", r"^PDF is not a PDF: it does not start with '%PDF-' \(found b'<html>no'\)$"),
        (pdf_bytes(2)[:300], "^PDF does not parse: "),
        (pdf_bytes(0), "^PDF has no pages$"),
    ],
)
def test_check_pdf_rejects_broken_or_empty(data: bytes, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        check_pdf(data)


def test_check_pdf_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"^cannot read PDF '.*missing.pdf': No such file or directory$"):
        check_pdf(tmp_path / "missing.pdf")
