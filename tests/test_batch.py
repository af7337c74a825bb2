"""`reportgen batch` and reportgen.batch: parallel builds in spawned worker processes, one failure isolated."""
from __future__ import annotations

import dataclasses
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from reportgen.atomic import check_pdf
from reportgen.batch import BuildJob, JobResult, PreparedBuild, run_jobs
from tests.pdftools import pdf_text
from tests.test_deliver import SAMPLES, run_cli


def small_config(path: Path, *, title: str, deals: Path = SAMPLES / "deals.csv") -> Path:
    path.write_text(textwrap.dedent(f"""\
        scorecard:
          title: {title}
          as_of: 2025-12-31
          history: 6
          forecast_periods: 0
          breakdowns: []
          allowed_roots: ["{SAMPLES}"]
        datasets:
          deals: {{path: {deals}}}
        kpis: [revenue, deals_won, win_rate]
        audiences:
          executive: {{template: executive}}
        """))
    return path


def test_batch_builds_the_good_configs_and_names_the_broken_one(tmp_path: Path) -> None:
    good = [small_config(tmp_path / "east.yaml", title="East"), small_config(tmp_path / "west.yaml", title="West")]
    broken = small_config(tmp_path / "broken.yaml", title="Broken", deals=tmp_path / "missing" / "deals.csv")
    out = tmp_path / "out"

    result = run_cli("batch", good[0], broken, good[1], "--workers", "2", "-o", out, "--now", "2026-01-02T00:00Z")

    assert result.exit_code == 1
    for config in good:
        pdf = out / f"{config.stem}-executive.pdf"
        assert check_pdf(pdf) >= 1
    assert not (out / "broken-executive.pdf").exists()
    failure_lines = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failure_lines) == 1
    assert failure_lines[0].startswith(f"FAILED {broken} [executive]: ")
    assert "missing/deals.csv" in failure_lines[0]
    assert "batch summary" in result.stdout and "failed" in result.stdout
    assert result.stdout.count(" ok ") == 2


def test_a_config_that_does_not_load_is_a_failed_row_not_a_crash(tmp_path: Path) -> None:
    good = small_config(tmp_path / "good.yaml", title="Good")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("datasets: {deals: {path: x.csv}}\nkpis: [revenu]\n")

    result = run_cli("batch", good, invalid, "-o", tmp_path / "out")

    assert result.exit_code == 1
    assert check_pdf(tmp_path / "out" / "good-executive.pdf") >= 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert line == f"FAILED {invalid} [*]: {invalid}:2:8: unknown KPI 'revenu' - did you mean 'revenue'? " \
                   "(a custom KPI needs 'expression' or 'measure'; `reportgen kpis` lists the built-ins)"


class _Explodes:
    """A job with a bug in it (not a ReportgenError): reported with its type, the others still run."""

    def run(self) -> JobResult:
        raise ZeroDivisionError("division by zero")


def test_run_jobs_in_process_keeps_order_and_isolates_a_bug(tmp_path: Path) -> None:
    config = small_config(tmp_path / "a.yaml", title="A")
    seen: list[str] = []

    results = run_jobs([_Explodes(), BuildJob(config, "executive", tmp_path / "out")],
                       on_result=lambda r: seen.append(r.status))

    assert [r.status for r in results] == ["failed", "ok"] == seen
    assert results[0].error == "ZeroDivisionError: division by zero"
    assert results[1].pages and results[1].seconds > 0
    assert check_pdf(tmp_path / "out" / "a-executive.pdf") == results[1].pages


@dataclasses.dataclass(frozen=True)
class _Logged(BuildJob):
    """A real build job that logs when each of its halves starts and ends (shared list, in order)."""

    log: list[tuple[str, str, float]] = dataclasses.field(default_factory=list, compare=False)

    def prepare(self) -> PreparedBuild:
        self.log.append(("prepare", self.config.stem, time.perf_counter()))
        prepared = super().prepare()
        self.log.append(("prepared", self.config.stem, time.perf_counter()))
        return prepared

    def finish(self, prepared: PreparedBuild) -> JobResult:
        self.log.append(("finish", self.config.stem, time.perf_counter()))
        result = super().finish(prepared)
        self.log.append(("finished", self.config.stem, time.perf_counter()))
        return result


def test_in_process_batch_computes_the_next_config_while_this_one_renders(tmp_path: Path) -> None:
    """One worker: each config's data half runs while the config before it renders; the files are
    those of configs built one at a time, a config whose data fails fails alone and in its place."""
    log: list[tuple[str, str, float]] = []
    configs = [small_config(tmp_path / f"{name}.yaml", title=name.title()) for name in ("north", "south", "west")]
    broken = small_config(tmp_path / "broken.yaml", title="Broken", deals=tmp_path / "missing.csv")
    now = datetime(2026, 1, 2, tzinfo=UTC)
    jobs = [_Logged(c, "executive", tmp_path / "out", now=now, log=log) for c in (configs[0], broken, *configs[1:])]
    seen: list[str] = []

    results = run_jobs(jobs, on_result=lambda r: seen.append(Path(r.config).stem))

    assert [Path(r.config).stem for r in results] == seen == ["north", "broken", "south", "west"]
    assert [r.status for r in results] == ["ok", "failed", "ok", "ok"]
    assert "missing.csv" in (results[1].error or "")
    assert all(r.seconds > 0 for r in results)
    at = {(step, stem): t for step, stem, t in log}
    # broken's data half ran (and failed) while north rendered, west's while south rendered
    assert at["prepare", "broken"] < at["finished", "north"]
    assert at["prepare", "west"] < at["finished", "south"]
    assert ("finish", "broken") not in at  # nothing rendered, nothing written for it
    assert not list((tmp_path / "out").glob("broken*"))
    # the same PDFs as building each config alone
    for config in configs:
        alone = run_jobs([BuildJob(config, "executive", tmp_path / "alone", now=now)])
        assert alone[0].status == "ok"
        assert pdf_text(tmp_path / "out" / f"{config.stem}-executive.pdf") == \
            pdf_text(tmp_path / "alone" / f"{config.stem}-executive.pdf")


def test_two_clients_that_would_write_the_same_file_both_fail_before_building(tmp_path: Path) -> None:
    """clients/acme/scorecard.yaml and clients/globex/scorecard.yaml into one folder: neither is
    built (one client's PDF must never overwrite another's); a third, distinct config still is."""
    acme = small_config((tmp_path / "acme").mkdir() or tmp_path / "acme" / "scorecard.yaml", title="Acme")
    globex = small_config((tmp_path / "globex").mkdir() or tmp_path / "globex" / "scorecard.yaml", title="Globex")
    initech = small_config(tmp_path / "initech.yaml", title="Initech")
    out = tmp_path / "out"

    result = run_cli("batch", acme, globex, initech, "-o", out, "--now", "2026-01-02T00:00Z")

    assert result.exit_code == 1
    assert not (out / "scorecard-executive.pdf").exists()
    assert check_pdf(out / "initech-executive.pdf") >= 1
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 2 and all("would all write" in line for line in failures)


# ------------------------------------------------------------------------------------------------
# Workers give the same messages as one process
# ------------------------------------------------------------------------------------------------

def _message_parts(folder: Path) -> dict[str, list[tuple[str, bytes]]]:
    """Each .eml's parts (content type, decoded bytes), headers aside (the Date header is the clock)."""
    from tests.test_deliver import parse

    parts = {}
    for eml in sorted(folder.glob("*.eml")):
        msg = parse(eml.read_bytes())
        parts[eml.name] = [(p.get_content_type(), p.get_payload(decode=True)) for p in msg.walk()
                           if not p.is_multipart()]
        parts[eml.name].append(("subject", str(msg["Subject"]).encode()))
    return parts


def test_a_burst_on_two_workers_writes_the_same_messages_as_on_one(tmp_path: Path) -> None:
    """Workers load the data once each and build their share of the segments: the bodies, the
    charts and the PDFs are byte-identical to the one-process run (only the Date header differs)."""
    from tests.test_deliver import MANAGERS, NOW, REGIONAL, config_text

    config = tmp_path / "sales.yaml"
    config.write_text(config_text(2525, deliveries=REGIONAL))
    (tmp_path / "managers.csv").write_text(MANAGERS)

    one = run_cli("send", config, "--dry-run", "-o", tmp_path / "one", "--now", NOW)
    two = run_cli("send", config, "--dry-run", "-o", tmp_path / "two", "--now", NOW, "--workers", "2")

    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    expected = _message_parts(tmp_path / "one")
    assert len(expected) == 5
    assert _message_parts(tmp_path / "two") == expected
    pngs = [body for parts in expected.values() for kind, body in parts if kind == "image/png"]
    assert pngs and all(body.startswith(b"\x89PNG\r\n\x1a\n") for body in pngs)


def test_a_layout_past_its_deadline_fails_only_its_job_in_a_worker_process(tmp_path: Path, monkeypatch) -> None:
    """Issue 21: each worker process forks its own layout process at warm-up; a runaway layout is
    killed at REPORTGEN_PDF_SECONDS and fails its job with one line, the other job is built."""
    monkeypatch.setenv("REPORTGEN_PDF_SECONDS", "4")
    good = small_config(tmp_path / "good.yaml", title="Good")
    slow = small_config(tmp_path / "slow.yaml", title="Slow")
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "rows.html").write_text(
        "<table>{% for i in range(50000) %}<tr><td>{{ i }}</td></tr>{% endfor %}</table>", encoding="utf-8")
    slow.write_text(slow.read_text().replace("executive: {template: executive}", "executive: {template: rows.html}")
                    .replace("breakdowns: []", "breakdowns: []\n  template_dirs: [tpl]"))
    out = tmp_path / "out"
    start = time.monotonic()
    result = run_cli("batch", good, slow, "--workers", "2", "-o", out, "--now", "2026-01-02T00:00Z")
    assert time.monotonic() - start < 120
    assert result.exit_code == 1
    assert check_pdf(out / "good-executive.pdf") >= 1
    assert not (out / "slow-executive.pdf").exists()
    assert [line for line in result.stderr.splitlines() if line.startswith("FAILED")] == [
        f"FAILED {slow} [executive]: the PDF layout took longer than 4 s (REPORTGEN_PDF_SECONDS); show fewer rows "
        "or raise the limit"]
