"""Templates are code: they render in the budgeted sandbox and fail as one line (GitHub issue 8)."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from reportgen.errors import RenderError
from reportgen.render.sandbox import make_sandbox, render_template
from tests.hostile import cli, config_folder, one_error_line

USER_TEMPLATE = "executive: {template: acme.html}"


def _build_with(tmp_path: Path, template: str) -> tuple[str, Path]:
    config = config_folder(tmp_path, scorecard="template_dirs: [tpl]\n", audiences=USER_TEMPLATE)
    (tmp_path / "tpl").mkdir(exist_ok=True)
    (tmp_path / "tpl" / "acme.html").write_text(template, encoding="utf-8")
    return one_error_line(cli("build", config, "-o", tmp_path / "out")), tmp_path / "out"


def test_template_cannot_reach_os_system(tmp_path: Path) -> None:
    line, out = _build_with(tmp_path, "<p>\n{{ cycler.__init__.__globals__.os.system('touch " + str(tmp_path / "PWNED")
                            + "') }}\n")
    assert line.startswith("error: audience 'executive': template acme.html:2: not allowed in a template:"), line
    assert not (tmp_path / "PWNED").exists()
    assert not any(out.glob("*.pdf"))


def test_attr_format_escape_is_refused(tmp_path: Path) -> None:
    line, _ = _build_with(tmp_path, '{% set f = "{0.__class__.__mro__}"|attr("format") %}{{ f(1) }}')
    assert "not allowed in a template" in line and "<class" not in line


def test_huge_range_fails_at_once(tmp_path: Path) -> None:
    start = time.monotonic()
    line, _ = _build_with(tmp_path, "{% for i in range(10**9) %}x{% endfor %}")
    assert "range of 1000000000 numbers is over the limit" in line
    assert time.monotonic() - start < 60


@pytest.mark.parametrize(("template", "expected"), [
    ("<h1>\n{{ title }}\n{{ custmer }}", "template acme.html:3: 'custmer' is undefined"),
    ('<p>\n{% include "nope.html" %}', "template acme.html:2: template 'nope.html' not found"),
    ("{% if %}", "template acme.html:1: syntax error: Expected an expression"),
    ('{{ "x" * 10**9 }}', "template acme.html:1: repeating a value 1000000000 times is over the limit"),
])
def test_template_errors_are_one_line_with_file_and_line(tmp_path: Path, template: str, expected: str) -> None:
    line, _ = _build_with(tmp_path, template)
    assert line.startswith("error: ") and expected in line, line


def test_template_name_without_html_says_so(tmp_path: Path) -> None:
    config = config_folder(tmp_path, audiences="executive: {template: acme}")
    line = one_error_line(cli("build", config, "-o", tmp_path / "out"))
    assert "template 'acme' not found" in line and "ending in .html" in line


def test_runaway_loop_hits_the_deadline(tmp_path: Path) -> None:
    (tmp_path / "loop.html").write_text("{% for i in range(99999) %}{% for j in range(99999) %}"
                                        "{% endfor %}{% endfor %}", encoding="utf-8")
    env = make_sandbox([tmp_path], tmp_path, "builtin")
    env.seconds = 1.0
    start = time.monotonic()
    with pytest.raises(RenderError, match=r"^template loop.html:1: rendering took longer than 1 s"):
        render_template(env, "loop.html", {})
    assert time.monotonic() - start < 5


def test_symlink_out_of_the_template_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "secret.html"
    secret.parent.mkdir()
    secret.write_text("SECRET", encoding="utf-8")
    config = config_folder(tmp_path / "cfg", scorecard="template_dirs: [tpl]\n", audiences=USER_TEMPLATE)
    (tmp_path / "cfg" / "tpl").mkdir()
    (tmp_path / "cfg" / "tpl" / "acme.html").symlink_to(secret)
    line = one_error_line(cli("build", config, "-o", tmp_path / "out"))
    assert "is a link to" in line and "outside the template folder" in line


BUILTIN_AUDIENCES = ("executive: {template: executive}\n  sales_manager: {template: sales_manager}\n"
                     "  client: {template: client}")
HOSTILE_REP = '=HYPERLINK("http://evil.example/","click")'


def test_builtin_templates_render_in_the_sandbox_too(tmp_path: Path) -> None:
    """Every built-in template renders its whole scorecard under the sandbox's rules: the KPIs and the
    December revenue of the hostile deals (1,500 + 900, closed 7 and 9 December) are on the page, CRM
    text is escaped text in the HTML and plain text in the PDF, and nothing links outside the page."""
    from pypdf import PdfReader

    from tests.pdftools import pdf_text

    config = config_folder(tmp_path, audiences=BUILTIN_AUDIENCES)
    result = cli("build", config, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    for audience in ("executive", "sales_manager", "client"):
        pdf, html = tmp_path / "out" / f"c-{audience}.pdf", (tmp_path / "out" / f"c-{audience}.html").read_text()
        text = pdf_text(pdf)
        for name in ("Sales revenue", "Deals won", "Opportunity win rate"):
            assert name in text, (audience, name)
        assert "$2,400" in text, audience
        hrefs = re.findall(r"""<a [^>]*href=["']([^"']*)""", html)
        assert "<script" not in html and all(h.startswith("#") for h in hrefs), (audience, hrefs)
        links = [a.get_object().get("/A", {}).get("/URI") for page in PdfReader(pdf).pages
                 for a in page.get("/Annots") or []]
        assert not [u for u in links if u], (audience, links)
    manager = (tmp_path / "out" / "c-sales_manager.html").read_text()
    assert HOSTILE_REP not in manager and HOSTILE_REP.replace('"', "&#34;") in manager  # autoescaped
    assert HOSTILE_REP in pdf_text(tmp_path / "out" / "c-sales_manager.pdf")  # shown as the text it is


def test_one_hostile_template_leaves_the_other_reports_of_a_batch_alone(tmp_path: Path) -> None:
    from reportgen.batch import build_jobs, run_jobs

    good = config_folder(tmp_path / "good")
    bad = config_folder(tmp_path / "bad", scorecard="template_dirs: [tpl]\n", audiences=USER_TEMPLATE)
    (tmp_path / "bad" / "tpl").mkdir()
    (tmp_path / "bad" / "tpl" / "acme.html").write_text("{{ cycler.__init__.__globals__ }}", encoding="utf-8")
    jobs, failures = build_jobs([good, bad])
    results = failures + run_jobs(jobs)
    by_config = {Path(r.config).parent.name: r for r in results}
    assert by_config["good"].status == "ok" and by_config["bad"].status == "failed"
    assert by_config["bad"].error.startswith("template acme.html:1: not allowed in a template")
    assert (tmp_path / "good" / "out" / "c-executive.pdf").exists()
