"""Rendering under real limits (GitHub issue 21): asset files only as regular files under a size cap,
format widths bounded, the PDF layout in a process with a deadline and a memory cap, and one
audience's failure failing only that audience's scorecard. Each case runs the CLI as a user does
and checks its one error line; every run is bounded by a subprocess timeout and the layout's own
limits."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reportgen.errors import RenderError
from reportgen.render.sandbox import make_sandbox, render_template
from tests.hostile import REPO, cli, config_folder, one_error_line

TWO_AUDIENCES = "acme: {template: acme.html}\n  executive: {template: executive}"
HUGE = 3_000_000_000
"""A sparse file: 3 GB as far as ``stat`` and ``read`` know, no disk used."""


def _sparse(path: Path, size: int = HUGE) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def _build(tmp_path: Path, template: str, *, audiences: str = TWO_AUDIENCES, scorecard: str = "",
           timeout: float = 120) -> tuple[str, Path, float]:
    config = config_folder(tmp_path, scorecard="template_dirs: [tpl]\n" + scorecard, audiences=audiences)
    (tmp_path / "tpl").mkdir(exist_ok=True)
    (tmp_path / "tpl" / "acme.html").write_text(template, encoding="utf-8")
    start = time.monotonic()
    result = cli("build", config, "-o", tmp_path / "out", timeout=timeout)
    return one_error_line(result), tmp_path / "out", time.monotonic() - start


def _only_executive_written(out: Path) -> None:
    assert sorted(p.name for p in out.glob("*.pdf")) == ["c-executive.pdf"]


# -- files: regular, under a cap ---------------------------------------------------------------

def test_template_that_is_a_fifo_or_huge_is_one_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.html")
    _sparse(tmp_path / "big.html")
    (tmp_path / "inc.html").write_text('{% include "pipe.html" %}', encoding="utf-8")
    env = make_sandbox([tmp_path], tmp_path, "builtin")
    with pytest.raises(RenderError) as fifo:
        render_template(env, "inc.html", {})
    assert str(fifo.value) == (f"template pipe.html: {tmp_path}/pipe.html: not a regular file (a FIFO); "
                               "a template must be a regular file")
    with pytest.raises(RenderError) as big:
        render_template(env, "big.html", {})
    assert str(big.value) == (f"template big.html: {tmp_path}/big.html: 3,000,000,000 bytes, over the limit of "
                              "5,000,000 bytes for a template; use a smaller file")


@pytest.mark.parametrize("kind", ["huge", "fifo"])
def test_logo_that_is_huge_or_a_fifo_is_one_line(tmp_path: Path, kind: str) -> None:
    logo = tmp_path / "logo.png"
    if kind == "huge":
        _sparse(logo)
        expected = "3,000,000,000 bytes, over the limit of 10,000,000 bytes for a logo; use a smaller file"
    else:
        os.mkfifo(logo)
        expected = "not a regular file (a FIFO); a logo must be a regular file"
    config = config_folder(tmp_path, scorecard="logo: logo.png\n")
    line = one_error_line(cli("build", config, "-o", tmp_path / "out", timeout=120))
    assert line == f"error: {config}:7:9: scorecard.logo: {logo}: {expected}", line


def test_data_path_that_is_a_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    config = config_folder(tmp_path, datasets="deals: {path: pipe.csv}")
    os.mkfifo(tmp_path / "pipe.csv")
    line = one_error_line(cli("build", config, "-o", tmp_path / "out", timeout=120))
    assert line == ("error: dataset 'deals': pipe.csv: not a regular file (a FIFO); a dataset file must be a "
                    "regular file")


@pytest.mark.parametrize("kind", ["huge", "fifo"])
def test_image_in_the_template_folder_is_read_only_as_a_small_regular_file(tmp_path: Path, kind: str) -> None:
    (tmp_path / "tpl").mkdir()
    image = tmp_path / "tpl" / "big.png"
    _sparse(image) if kind == "huge" else os.mkfifo(image)
    problem = ("3,000,000,000 bytes, over the limit of 20,000,000 bytes" if kind == "huge"
               else "not a regular file (a FIFO)")
    line, out, seconds = _build(tmp_path, f'<html><body><img src="{image.as_uri()}"></body></html>')
    assert line == (f"error: audience 'acme': the PDF refers to {image}: {problem}; an image or font of the "
                    "template folder must be a regular file of at most 20,000,000 bytes (1 other scorecard written)")
    _only_executive_written(out)


@pytest.mark.parametrize("template", ['{{ "%0999999999d"|format(1) }}', '{{ "%0999999999d" % 1 }}',
                                      '{{ "{:0999999999d}".format(1) }}'])
def test_huge_format_width_is_refused(tmp_path: Path, template: str) -> None:
    (tmp_path / "t.html").write_text(template, encoding="utf-8")
    with pytest.raises(RenderError) as refused:
        render_template(make_sandbox([tmp_path], tmp_path, "builtin"), "t.html", {})
    assert str(refused.value) == "template t.html:1: a format width of 999999999 is over the limit of 1,000"


def test_huge_format_width_fails_the_build_in_one_line(tmp_path: Path) -> None:
    line, out, _ = _build(tmp_path, '<p>\n{{ "%0999999999d"|format(1) }}</p>')
    assert line == ("error: audience 'acme': template acme.html:2: a format width of 999999999 is over the limit "
                    "of 1,000 (1 other scorecard written)")
    _only_executive_written(out)


def test_ordinary_formats_are_unchanged() -> None:
    env = make_sandbox([], Path("."), "builtin")
    out = env.from_string('{{ "%05.2f"|format(3.14159) }}|{{ "{:>6}".format("a") }}|{{ "%d%%" % 5 }}').render()
    assert out == "03.14|     a|5%"


# -- the PDF layout: deadline, memory cap, Python's limits ----------------------------------------

ROWS = "<table>{% for i in range(50000) %}<tr><td>{{ i }}</td><td>row</td></tr>{% endfor %}</table>"


def test_a_50000_row_table_hits_the_layout_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTGEN_PDF_SECONDS", "4")
    line, out, seconds = _build(tmp_path, ROWS)
    assert line == ("error: audience 'acme': the PDF layout took longer than 4 s (REPORTGEN_PDF_SECONDS); show "
                    "fewer rows or raise the limit (1 other scorecard written)")
    _only_executive_written(out)
    assert seconds < 60


def test_a_50000_row_table_hits_the_memory_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTGEN_PDF_MEMORY_MB", "150")
    line, out, seconds = _build(tmp_path, ROWS)
    assert line == ("error: audience 'acme': the PDF layout needed more than 150 MB of memory "
                    "(REPORTGEN_PDF_MEMORY_MB); show fewer rows or raise the limit (1 other scorecard written)")
    _only_executive_written(out)
    assert seconds < 90


def test_letter_spacing_overflow_is_one_line(tmp_path: Path) -> None:
    line, out, _ = _build(tmp_path, '<p style="letter-spacing: 1e9px">hello</p>')
    assert line.startswith("error: audience 'acme': the PDF layout gave up: a size in the template's CSS is too "
                           "large (OverflowError: "), line
    assert line.endswith("; use a smaller length (1 other scorecard written)"), line
    _only_executive_written(out)


def test_ten_thousand_nested_divs_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTGEN_PDF_SECONDS", "150")  # a busy machine must not turn it into a timeout
    line, out, _ = _build(tmp_path, "<div>" * 10_000 + "x" + "</div>" * 10_000, timeout=240)
    assert line == ("error: audience 'acme': the PDF layout gave up: the HTML nests elements too deep "
                    "(RecursionError); flatten the template's markup (1 other scorecard written)")
    _only_executive_written(out)


@pytest.mark.parametrize("value", ["-1", "0", "nan", "lots"])
def test_a_limit_that_is_not_positive_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  value: str) -> None:
    monkeypatch.setenv("REPORTGEN_PDF_SECONDS", value)
    line, _, _ = _build(tmp_path, "<p>hi</p>", audiences="acme: {template: acme.html}")
    # one setting for every audience: the build stops before it reads any data, not per audience
    assert line == (f"error: environment variable REPORTGEN_PDF_SECONDS={value!r}: expected a "
                    "positive number (default 60)")


# -- isolation: one audience fails, the others are written ----------------------------------------

def test_one_failing_audience_does_not_stop_the_others(tmp_path: Path) -> None:
    line, out, _ = _build(tmp_path, "<h1>\n{{ custmer }}</h1>",
                          audiences="acme: {template: acme.html}\n  executive: {template: executive}\n"
                                    "  client: {template: client}")
    assert line == "error: audience 'acme': template acme.html:2: 'custmer' is undefined (2 other scorecards written)"
    assert sorted(p.name for p in out.glob("*.pdf")) == ["c-client.pdf", "c-executive.pdf"]


def test_a_layout_process_killed_between_documents_is_replaced(tmp_path: Path) -> None:
    import signal
    from datetime import UTC, datetime

    from reportgen.config.load import load_config
    from reportgen.pdf import limits
    from reportgen.pipeline.build import build

    loaded = load_config(config_folder(tmp_path))
    now = datetime(2026, 1, 5, tzinfo=UTC)
    assert build(loaded, now=now, output_dir=tmp_path / "out", exports=False)[0].pages >= 1
    assert limits._worker is not None
    os.kill(limits._worker.pid, signal.SIGKILL)  # as the system's OOM killer would
    time.sleep(0.2)
    assert build(loaded, now=now, output_dir=tmp_path / "out", exports=False)[0].pages >= 1


# -- the layout process starts before the data step ---------------------------------------------

def _cli_env(tmp_path: Path, *args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, **env})


def test_the_build_process_never_imports_weasyprint_its_layout_process_does(tmp_path: Path) -> None:
    """The layout process is forked before the data step and imports WeasyPrint on another core: the
    build's own process must not import it as well (0.4 s on a warm build's critical path), and the
    PDF still comes out whole."""
    config = config_folder(tmp_path)
    run = _cli_env(tmp_path, "-X", "importtime", "-m", "reportgen", "build", config, "-o", tmp_path / "out",
                   env={"REPORTGEN_CACHE_DIR": "off"})
    assert run.returncode == 0, run.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time")}
    assert "pandas.core.frame" in imported  # the import log is this process's own (the child's goes nowhere)
    assert not {name for name in imported if name.split(".")[0] == "weasyprint"}
    from reportgen.atomic import check_pdf

    assert check_pdf(tmp_path / "out" / "c-executive.pdf") >= 1


def test_the_layout_process_imports_weasyprint_itself_only_from_a_one_thread_parent(tmp_path: Path) -> None:
    """A fork copies only the calling thread: a lock another thread (Python's, or a library's own:
    OpenBLAS, DuckDB, Arrow) held at that moment stays locked in the child, so the child may import
    only when nothing else runs; otherwise the parent imports WeasyPrint before the fork, as it did."""
    code = ("import threading, reportgen.pdf.limits as L\n"
            "print(L._forks_cleanly())\n"
            "import numpy\n"
            "print(L._forks_cleanly())\n")
    run = _cli_env(tmp_path, "-c", code, env={})
    assert run.returncode == 0 and run.stdout.split() == ["True", "False"], run.stderr
    code = ("import threading, time, reportgen.pdf.limits as L\n"
            "threading.Thread(target=time.sleep, args=(1,)).start()\n"
            "print(L._forks_cleanly())\n")
    run = _cli_env(tmp_path, "-c", code, env={})
    assert run.returncode == 0 and run.stdout.split() == ["False"], run.stderr


def test_the_layout_process_keeps_none_of_its_parent_s_pipes_open(tmp_path: Path) -> None:
    """A pipe the parent closes must reach end of file at the other end even while the layout process
    lives (a session's Chromium driver waited 60 s for it at shutdown)."""
    code = ("import os, select, reportgen.pdf.limits as L\n"
            "r, w = os.pipe()\n"
            "L.start_layout_process()\n"
            "os.close(w)\n"
            "ready, _, _ = select.select([r], [], [], 10)\n"
            "print('eof' if ready and os.read(r, 1) == b'' else 'held open')\n")
    run = _cli_env(tmp_path, "-c", code, env={})
    assert run.returncode == 0 and run.stdout.strip() == "eof", (run.stdout, run.stderr)


def test_a_weasyprint_that_cannot_load_is_one_line(tmp_path: Path) -> None:
    """WeasyPrint's system libraries missing (Pango): the layout process reports it as the answer to
    the document, in one line, instead of dying unexplained."""
    fake = tmp_path / "fake" / "weasyprint"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise OSError(\"cannot load library 'libpango-1.0-0': not found\")\n")
    config = config_folder(tmp_path / "cfg")
    run = _cli_env(tmp_path, "-m", "reportgen", "build", config, "-o", tmp_path / "out",
                   env={"PYTHONPATH": f"{tmp_path / 'fake'}{os.pathsep}{REPO}", "REPORTGEN_CACHE_DIR": "off"})
    assert one_error_line(run) == ("error: audience 'executive': WeasyPrint could not be loaded: OSError: cannot "
                                   "load library 'libpango-1.0-0': not found")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.pdf"))


def test_the_warm_up_parses_the_very_stylesheets_a_scorecard_starts_with(tmp_path: Path) -> None:
    """The warm-up only helps if its texts are the ones the print HTML carries (the parsed sheets are
    kept by their exact text): for every shipped template, a Latin and a CJK page."""
    from reportgen.config.load import load_config
    from reportgen.pdf.printdoc import split_styles
    from reportgen.render.document import layout_warm_up

    for template in ("executive", "client", "sales_manager"):
        for locale in ("en_US", "ja_JP"):
            folder = tmp_path / f"{template}-{locale}"
            loaded = load_config(config_folder(folder, scorecard=f"locale: {locale}\n",
                                               audiences=f"a: {{template: {template}}}"))
            request = _print_request(loaded)
            split = split_styles(request.html)
            assert split is not None
            warm = layout_warm_up(loaded)
            assert (warm.base_url, warm.roots, warm.files) == (request.base_url, request.roots, request.files)
            assert warm.styles[1] in split[1], (template, locale)  # the shipped stylesheet, always
            if locale == "en_US":
                assert warm.styles[0] in split[1], template  # the Latin font rules


def _print_request(loaded: Any) -> Any:
    """The request the build sends to the layout process for the config's one audience."""
    from datetime import UTC, datetime

    from reportgen.pdf import limits
    from reportgen.pipeline.build import build

    sent: list[Any] = []
    real = limits._LayoutProcess.run

    def run(self: Any, request: Any) -> Any:
        sent.append(request)
        return real(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits._LayoutProcess, "run", run)
        build(loaded, now=datetime(2026, 1, 5, tzinfo=UTC), output_dir=loaded.path.parent / "out", exports=False)
    return sent[0]
