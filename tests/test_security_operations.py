"""Operations under hostile conditions: burst names, a full disk, the ledger folder, unknown outcomes,
relative paths on a cluster (issue 8)."""
from __future__ import annotations

import os
import resource
import signal
import socket
import sqlite3
from pathlib import Path

from reportgen.config.load import load_config
from reportgen.delivery.ledger import Ledger
from reportgen.pipeline.build import MAX_NAME_PART, Segment, output_stem
from tests.fixtures.smtp import SmtpServerHandle
from tests.hostile import cli, config_folder, one_error_line
from tests.test_cli_delivery import MONTHLY
from tests.test_deliver import config_text, run_cli


def test_burst_names_are_unique_safe_and_bounded(tmp_path: Path) -> None:
    loaded = load_config(config_folder(tmp_path))
    values = ["a/b", "a?b", "a_b", "../../etc", "x" * 500, "Nörd", "", "North"]
    stems = [output_stem(loaded, "executive", Segment("region", v)) for v in values]
    assert len(set(stems)) == len(values)
    for stem in stems:
        assert all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in stem), stem
        assert len(stem) < 4 * MAX_NAME_PART + 40
    assert stems[-1] == "c-executive-region-North"  # a clean value keeps its plain name


def test_burst_segments_that_sanitise_alike_write_different_files(tmp_path: Path) -> None:
    config = config_folder(tmp_path)
    for value in ("a/b", "a?b"):
        assert cli("build", config, "--segment", f"region={value}", "-o", tmp_path / "out").returncode == 0
    assert len(list((tmp_path / "out").glob("c-executive-region-a_b-*.pdf"))) == 2


def _file_size_limit() -> None:
    """In the child: files may not grow past 400 KB: the fonts WeasyPrint unpacks fit, the 640 KB HTML does not
    (as on a full disk, the write fails with an OSError)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))


def test_a_write_the_disk_refuses_is_one_line_naming_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    config = config_folder(tmp_path)
    line = one_error_line(cli("build", config, "-o", tmp_path / "out", preexec_fn=_file_size_limit))
    assert "cannot write" in line and "c-executive" in line and "File too large" in line, line
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp file left


def test_send_creates_the_ledger_folder(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=MONTHLY) + "ledger: state/ledgers/ledger.sqlite\n")
    result = run_cli("send", config, "--now", "2026-01-01T07:00+01:00")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "state" / "ledgers" / "ledger.sqlite").exists()


def test_a_message_in_flight_elsewhere_is_unknown_not_already_sent(tmp_path: Path,
                                                                   smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=MONTHLY))
    other_run = Ledger(tmp_path / "reportgen-ledger.sqlite")
    assert other_run.claim("exec-monthly", "2025-12", "ceo@example.com")
    with sqlite3.connect(tmp_path / "reportgen-ledger.sqlite") as db:  # another live process (our parent), sending
        db.execute("UPDATE deliveries SET owner = ?", (f"{socket.gethostname()}:{os.getppid()}:other",))
    result = run_cli("send", config, "--now", "2026-01-01T07:00+01:00")
    assert result.exit_code == 1, result.output
    assert "unknown      exec-monthly 2025-12 ceo@example.com: " in result.output
    assert "already_sent" not in result.output
    assert smtp_server.messages() == []


def test_cluster_jobs_carry_absolute_paths(tmp_path: Path, monkeypatch) -> None:
    from reportgen.batch import build_jobs

    config_folder(tmp_path / "client")
    monkeypatch.chdir(tmp_path)
    jobs, failures = build_jobs([Path("client/c.yaml")], output_dir=Path("out"))
    assert failures == [] and jobs
    assert all(job.config.is_absolute() and job.output_dir.is_absolute() for job in jobs)
