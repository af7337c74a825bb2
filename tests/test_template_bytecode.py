"""Compiled templates are kept in the warm cache's folder (render/sandbox.py, Jinja's bytecode cache): a
second process renders without compiling, an edited template is compiled again, and code from the
cache runs in the same sandbox, with the same file:line errors, as freshly compiled code."""
from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from reportgen.errors import RenderError
from reportgen.render.environment import make_environment
from reportgen.render.sandbox import render_template


def _template(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "acme.html").write_text(text, encoding="utf-8")
    return folder


def _refuse_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)


def test_a_fresh_environment_renders_from_the_cache_and_recompiles_an_edit(
        tmp_path: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tpl = _template(tmp_path / "tpl", "<p>{{ company }} {{ 1200|number }}</p>")
    first = render_template(make_environment([tpl]), "acme.html", {"company": "Acme & Co"})
    assert first == "<p>Acme &amp; Co 1,200</p>"
    assert list((cache_folder / "templates").rglob("*.cache"))
    with monkeypatch.context() as m:
        _refuse_compiling(m)  # a new environment, as in the next process: no compile
        assert render_template(make_environment([tpl]), "acme.html", {"company": "Acme & Co"}) == first
        _template(tpl, "<p>{{ company }} edited</p>")
        with pytest.raises(AssertionError, match="compiled again"):  # the edit is not served stale
            render_template(make_environment([tpl]), "acme.html", {"company": "Acme"})
    assert render_template(make_environment([tpl]), "acme.html", {"company": "Acme"}) == "<p>Acme edited</p>"


def test_cached_code_runs_in_the_same_sandbox_with_the_same_error_lines(tmp_path: Path, cache_folder: Path) -> None:
    tpl = _template(tmp_path / "tpl", "<p>\n{{ cycler.__init__.__globals__ }}\n")
    lines = []
    for _ in range(2):  # compiled, then from the cache
        with pytest.raises(RenderError) as err:
            render_template(make_environment([tpl]), "acme.html", {})
        lines.append(str(err.value))
    assert lines[0] == lines[1] and lines[0].startswith("template acme.html:2: not allowed in a template:")
    _template(tpl, "<h1>\n{{ title }}\n{{ custmer }}")
    for _ in range(2):
        with pytest.raises(RenderError, match=r"^template acme.html:3: 'custmer' is undefined"):
            render_template(make_environment([tpl]), "acme.html", {"title": "T"})


def test_no_cache_folder_when_the_cache_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", "off")
    tpl = _template(tmp_path / "tpl", "<p>ok</p>")
    assert render_template(make_environment([tpl]), "acme.html", {}) == "<p>ok</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tpl"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(blocker / "cache"))  # cannot be a folder: no failure
    assert render_template(make_environment([tpl]), "acme.html", {}) == "<p>ok</p>"


def test_compiled_templates_carry_no_locale(tmp_path: Path, cache_folder: Path) -> None:
    """Jinja runs a plain filter on a constant while compiling; compiled code is shared by every locale,
    so a German build must not leave "Empfehlungen" in the code a French build then runs."""
    from reportgen.render.formats import Formats

    tpl = _template(tmp_path / "tpl", "<h2>{{ 'Recommendations'|t }}</h2><p>{{ 1234.5|number }}</p>")
    german = render_template(make_environment([tpl], Formats(locale="de_DE")), "acme.html", {})
    french = render_template(make_environment([tpl], Formats(locale="fr_FR")), "acme.html", {})
    english = render_template(make_environment([tpl]), "acme.html", {})
    assert german.startswith("<h2>Empfehlungen</h2>") and french.startswith("<h2>Recommandations</h2>")
    assert english.startswith("<h2>Recommendations</h2>")
    assert german != french != english
