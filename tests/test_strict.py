"""``build --strict`` (issue 22): a scorecard whose rendering warned fails instead of being written as if
all were well; without it the warning is printed, never dropped."""
from __future__ import annotations

from pathlib import Path

from tests.hostile import cli, config_folder, one_error_line

TEMPLATE = ('{% extends "builtin:executive.html" %}{% block content %}{{ super() }}'
            '<p><img src="no-such-image.png" alt="a picture that is not there"></p>{% endblock %}')


def _config(tmp_path: Path) -> Path:
    config = config_folder(tmp_path, scorecard="template_dirs: [tpl]\n", audiences="executive: {template: acme.html}")
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "acme.html").write_text(TEMPLATE, encoding="utf-8")
    return config


def test_a_warning_is_printed_without_strict_and_fails_the_scorecard_with_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    lenient = cli("build", config, "-o", tmp_path / "out")
    assert lenient.returncode == 0, lenient.stderr
    warnings = [line for line in lenient.stderr.splitlines() if line.startswith("warning: audience 'executive': ")]
    assert warnings and "no-such-image.png" in warnings[0] and warnings[0].endswith("(--strict makes this an error)")
    strict = cli("build", config, "-o", tmp_path / "strict", "--strict")
    line = one_error_line(strict)
    assert line.startswith("error: audience 'executive': rendering warned (--strict): "), line
    assert "no-such-image.png" in line
    assert not any((tmp_path / "strict").glob("*.pdf"))


def test_the_shipped_templates_build_clean_under_strict(tmp_path: Path) -> None:
    audiences = "executive: {template: executive}\n  manager: {template: sales_manager}\n  client: {template: client}"
    config = config_folder(tmp_path, audiences=audiences)
    result = cli("build", config, "-o", tmp_path / "out", "--strict")
    assert result.returncode == 0, result.stderr
    assert "warning:" not in result.stderr
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 3
