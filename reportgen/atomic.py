"""Write output files so a reader never sees half of one, and check PDFs before they leave.

A scorecard PDF is written once and then attached, archived or served; if the process dies during
the write, yesterday's good file must still be there rather than a truncated one. So every write
goes to a temporary file in the same directory (same filesystem, so the rename is atomic), is
fsynced, and only then replaces the target with ``os.replace``. On any failure the temporary file
is removed and the previous file is untouched.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from reportgen.errors import RenderError, ReportgenError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: readers see the old file or the new one, never a mix."""
    target = Path(path)
    mode = _mode_for(target)
    try:
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReportgenError(_cannot_write(target, exc)) from exc
    try:
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except OSError as exc:  # a full disk (ENOSPC), a quota, a read-only mount: the user's to fix
        _remove_quietly(temp_name)
        raise ReportgenError(_cannot_write(target, exc)) from exc
    except BaseException:
        # BaseException too: a KeyboardInterrupt mid-write must not leave a stray temp file.
        _remove_quietly(temp_name)
        raise
    _fsync_directory(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Text flavour of :func:`atomic_write_bytes` (no newline translation, so output is byte-stable)."""
    atomic_write_bytes(path, text.encode(encoding))


def check_pdf(data_or_path: bytes | str | os.PathLike[str]) -> int:
    """Return the page count of a PDF, or raise ``RenderError`` if it does not parse or is empty.

    Run before attaching or archiving: mailing a corrupt or zero-page PDF to an executive is worse
    than failing loudly.
    """
    if isinstance(data_or_path, bytes):
        data, label = data_or_path, "PDF"
    else:
        label = f"PDF {os.fspath(data_or_path)!r}"
        try:
            data = Path(data_or_path).read_bytes()
        except OSError as exc:
            raise RenderError(f"cannot read {label}: {exc.strerror or exc}") from exc
    if not data.startswith(b"%PDF-"):
        raise RenderError(f"{label} is not a PDF: it does not start with '%PDF-' (found {data[:8]!r})")
    from pypdf import PdfReader  # here, not at the top: `compute` writes through this module and reads no PDF
    from pypdf.errors import PdfReadError

    try:
        page_count = len(PdfReader(io.BytesIO(data), strict=False).pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise RenderError(f"{label} does not parse: {exc}") from exc
    if page_count == 0:
        raise RenderError(f"{label} has no pages")
    return page_count


def _cannot_write(target: Path, exc: OSError) -> str:
    """``cannot write out/x.pdf: No space left on device (the previous file is unchanged)``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot write {target}: {reason} (nothing was half-written; the previous file, if any, is unchanged)"


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; new files get the usual 0666 minus umask, not mkstemp's 0600."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
