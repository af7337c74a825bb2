"""Batch builds and burst deliveries on a real Dask cluster: one `dask scheduler` and two `dask worker`
processes on 127.0.0.1, sharing this machine's filesystem (as cluster nodes share an NFS mount)."""
from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reportgen.atomic import check_pdf
from reportgen.delivery.ledger import Ledger
from tests.fixtures.smtp import SmtpServerHandle
from tests.test_batch import small_config
from tests.test_cli_delivery import CLI
from tests.test_deliver import REGIONAL, config_text, run_cli

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Address of a scheduler with two single-threaded workers; all three processes stopped afterwards."""
    from distributed import Client

    workdir = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    log = open(workdir / "cluster.log", "w")
    processes = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                   "--no-dashboard"], cwd=workdir, stdout=log, stderr=log)]
    processes += [
        subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                          "--host", "127.0.0.1", "--local-directory", str(workdir / f"w{i}"), "--name", f"w{i}"],
                         cwd=workdir, stdout=log, stderr=log)
        for i in range(2)
    ]
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        # workers first, while their scheduler is still there to say goodbye to; a worker whose
        # scheduler vanished first waits out its connect timeout (30 s) before exiting
        for process in [*processes[1:], processes[0]]:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def test_batch_on_the_cluster_builds_both_configs(tmp_path: Path, dask_scheduler: str) -> None:
    configs = [
        small_config(tmp_path / "north.yaml", title="North"),
        small_config(tmp_path / "south.yaml", title="South"),
    ]

    result = run_cli(
        "batch", *configs, "--cluster", dask_scheduler, "-o", tmp_path / "out", "--now", "2026-01-02T00:00Z"
    )

    assert result.exit_code == 0, result.output
    for config in configs:
        assert check_pdf(tmp_path / "out" / f"{config.stem}-executive.pdf") >= 1
    assert result.stdout.count(" ok ") == 2


def test_two_burst_runs_racing_on_the_cluster_send_each_message_once(
    tmp_path: Path, smtp_server: SmtpServerHandle, dask_scheduler: str
) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=REGIONAL))
    (tmp_path / "managers.csv").write_text(
        "segment,email\nNorth,north@example.com\nSouth,south@example.com\nEast,east@example.com\n")
    command = [*CLI, "send", str(config), "--cluster", dask_scheduler, "--now", "2026-01-01T07:00+01:00"]

    # two schedulers firing the same delivery at once (e.g. a cron job on two hosts)
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]

    # The run that lost a claim reports each message as already sent or, if the winner is still sending
    # it, as unknown ("being sent by another run") and then fails loudly: which one is down to timing.
    # (outcomes that are not delivered go to stderr, so a run's whole output is both streams)
    racing = "being sent by another run"
    assert [run.returncode for run in runs] == [1 if racing in out + err else 0 for out, err in outputs], outputs
    received = Counter(rcpt for message in smtp_server.messages() for rcpt in message.rcpt_tos)
    assert received == {"north@example.com": 1, "south@example.com": 1, "east@example.com": 1}
    combined = "".join(stdout + stderr for stdout, stderr in outputs)
    assert combined.count("sent         regional") == 3
    assert combined.count("already_sent regional") + combined.count(racing) == 3, outputs
    assert combined.count("unknown ") == combined.count(racing)
    ledger = Ledger(tmp_path / "reportgen-ledger.sqlite")
    assert {(e.recipient, e.status, e.attempts) for e in ledger.history("regional")} == {
        ("north@example.com", "sent", 1), ("south@example.com", "sent", 1), ("east@example.com", "sent", 1)}
