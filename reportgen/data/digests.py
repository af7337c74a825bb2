"""The SHA-256 of a data file, hashed once: remembered with the file's status, and trusted again only
while the file provably has not been written since.

Why: the warm caches key on the bytes of every data file (a date alone could bring back last run's
numbers), and hashing an 80 MB export costs a warm build 0.1-0.2 s of its one second. Git's index
faces the same question for every file of a work tree and answers it the same way:

- **What is remembered** (``digests/<hash of the path>.json`` in the cache folder): the digest and the
  file's device, inode, size, modification time and change time (``ctime``), in nanoseconds.
- **When it is trusted:** only when all five are unchanged. Any write to the file sets its ``ctime`` to
  the moment of the write, and no program can set ``ctime`` back (``touch -d`` and ``cp -p`` set the
  modification time, and move ``ctime`` to now while doing so); a file replaced by another (``mv``,
  a new export) has another inode.
- **The racy case:** a write within the same clock tick as the status that was remembered leaves
  ``ctime`` as it was. So a status is remembered only when its ``ctime`` is at least ``SETTLED_NS``
  older than the moment the file was hashed, and the status taken after the hash equals the one taken
  before it (the file did not change while it was read). A file written a moment ago is hashed on
  every build until it has settled.

A cache folder that cannot be written costs speed only: the file is hashed each time.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

FOLDER = "digests"
SETTLED_NS = 2_000_000_000
"""How much older than its hash a file's last change must be for its status to be remembered: more
than the coarsest clock tick of a file system in use (FAT's 2 s)."""
HASH_CHUNK = 16 * 1024 * 1024


def remembered(path: Path, cache: Path | None) -> bytes | None:
    """The SHA-256 of the file at ``path`` if ``cache`` remembers it for the file as it is now, else None."""
    if cache is None:
        return None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        known = json.loads(_record(path, cache).read_text(encoding="utf-8"))
        if known["status"] == _status(path):
            return bytes.fromhex(known["sha256"])
    return None


def file_digest(path: Path, cache: Path | None) -> bytes:
    """The SHA-256 of the file at ``path``: remembered in ``cache`` (the cache folder; None: never)
    while the file is unchanged, else read and hashed (:func:`hashed`)."""
    return remembered(path, cache) or hashed(path, cache)


def hashed(path: Path, cache: Path | None) -> bytes:
    """The SHA-256 of the file at ``path``, read and hashed, and remembered in ``cache`` when the file
    has settled and did not change while it was read."""
    before = _status(path)
    started = time.time_ns()
    digest = hash_bytes(path)
    if cache is not None and started - before[4] >= SETTLED_NS and _status(path) == before:
        _remember(_record(path, cache), {"path": os.fsdecode(path), "status": before, "sha256": digest.hex()})
    return digest


def hash_bytes(path: Path) -> bytes:
    """SHA-256 of a file's bytes. SHA-256 because processors hash it in hardware: an 80 MB export takes
    about 0.07 s here (BLAKE2b: 0.15 s).

    The file is read and hashed in 16 MB pieces (both calls let go of the GIL): ``hashlib.file_digest``
    loops in Python over 256 KB chunks, and each of its 320 turns waited for the GIL while the import
    thread (pandas, WeasyPrint) held it, so the same hash took 0.34 s inside a build. (Not ``mmap``: a
    file truncated while mapped kills the process with SIGBUS.)"""
    file_hash = hashlib.sha256()
    buffer = bytearray(HASH_CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        while size := f.readinto(buffer):
            file_hash.update(view[:size])
    return file_hash.digest()


def _record(path: Path, cache: Path) -> Path:
    return cache / FOLDER / f"{hashlib.sha256(os.fsencode(path)).hexdigest()}.json"


def _status(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _remember(record: Path, value: dict[str, object]) -> None:
    """Write ``record`` atomically (a concurrent reader sees the old record or the new one)."""
    tmp = ""
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=record.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f)
        os.replace(tmp, record)
        tmp = ""
    except OSError:
        pass
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.remove(tmp)
