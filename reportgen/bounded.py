"""Files reportgen reads whole (a logo, a template, an image or font a template names) are read only
when they are regular files under a size cap.

Why: ``read_bytes()`` on a 3 GB file is a ``MemoryError``, and opening a named pipe (FIFO) waits
for a writer that never comes, so a build hung. Here the file is opened without blocking, checked
on its open descriptor (so a file swapped between the check and the read is caught too) and read
up to its cap plus one byte; anything else is one line naming the file and the limit.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from reportgen.errors import ReportgenError

MAX_LOGO_BYTES = 10_000_000
"""A logo is a few hundred KB; ten megabytes is a photograph or the wrong file."""
MAX_TEMPLATE_BYTES = 5_000_000
"""A template file is a few KB of HTML; megabytes are generated or hostile."""
MAX_ASSET_BYTES = 20_000_000
"""An image or font a template loads from its folder (the PDF embeds it whole)."""


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words a user recognises."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def regular_file_problem(path: Path, limit: int | None = None) -> str | None:
    """Why ``path`` cannot be read as a file of at most ``limit`` bytes (``None``: it can).
    ``stat`` never blocks, even on a FIFO."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "not found"
    except OSError as exc:
        return exc.strerror or str(exc)
    return _problem(info, limit)


def _problem(info: os.stat_result, limit: int | None) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return f"not a regular file ({file_kind(info.st_mode)})"
    if limit is not None and info.st_size > limit:
        return f"{info.st_size:,} bytes, over the limit of {limit:,} bytes"
    return None


def read_regular_file(path: Path, *, limit: int, what: str,
                      error: type[ReportgenError] = ReportgenError) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes; else ``error``
    with one line: ``logo /x/big.png: 3,000,000,000 bytes, over the limit of 10,000,000 bytes``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
        raise error(f"{what} {path}: {reason}") from None
    try:
        problem = _problem(os.fstat(fd), limit)
        if problem:
            raise error(f"{what} {path}: {explain(problem, what)}")
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size) or 1):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew after the check
                raise error(f"{what} {path}: over the limit of {limit:,} bytes; give a smaller file")
        return b"".join(chunks)
    finally:
        os.close(fd)


def explain(problem: str, what: str) -> str:
    """``problem`` with what to do: ``not a regular file (a FIFO); a logo must be a regular file``."""
    if "over the limit" in problem:
        return f"{problem} for a {what}; use a smaller file"
    if problem.startswith("not a regular file"):
        return f"{problem}; a {what} must be a regular file"
    return problem
