"""Locales: the gettext catalogues (reportgen/render/locales, read by render/catalogues.py) hold every
label and sentence pattern with the English placeholders, and a scorecard renders in their language;
a locale reportgen has no translations for is an error in `validate` (pipeline/checks.py:
check_locale), for the scorecard and for every inline recipient, not a silent English fallback beside
local numbers; a regional variant of a shipped language passes."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reportgen.config.load import load_config
from reportgen.pipeline.checks import run_checks
from reportgen.render import narrative
from reportgen.render.catalogues import catalogue_labels, catalogue_languages, catalogue_section
from reportgen.render.labels import LABELS
from tests.hostile import cli, config_folder, one_error_line

RECIPIENT = ("smtp: {host: 127.0.0.1, from_address: a@example.com}\ndeliveries:\n  - name: monthly\n"
             "    audience: executive\n    schedule: '0 7 1 * *'\n"
             "    recipients: [{email: x@example.com, locale: @LOCALE@}]\n")


def test_a_scorecard_locale_without_translations_fails_validate(tmp_path: Path) -> None:
    assert "sv" not in LABELS  # when Swedish ships, pick another language for this test
    line = one_error_line(cli("validate", config_folder(tmp_path, scorecard="locale: sv_SE\n")))
    assert line.startswith("error: ") and "c.yaml:" in line
    assert ("scorecard.locale 'sv_SE': reportgen has no translations for 'sv' "
            "(shipped: de, en, es, fr, it, ja, nl, pt); use a locale of one of those languages") in line


def test_a_recipient_locale_without_translations_fails_validate(tmp_path: Path) -> None:
    config = config_folder(tmp_path, extra=RECIPIENT.replace("@LOCALE@", "pl_PL"))
    line = one_error_line(cli("validate", config))
    assert "deliveries[0].recipients[0].locale 'pl_PL': reportgen has no translations for 'pl'" in line


@pytest.mark.parametrize("locale", ["de_AT", "fr_CH", "en_GB", "es_MX", "it_IT", "pt_BR", "nl_BE", "ja_JP"])
def test_a_regional_variant_of_a_shipped_language_passes(tmp_path: Path, locale: str) -> None:
    config = config_folder(tmp_path, scorecard=f"locale: {locale}\n", extra=RECIPIENT.replace("@LOCALE@", locale))
    assert [i for i in run_checks(load_config(config)) if "locale" in i] == []


CATALOGUES = ("es", "it", "ja", "nl", "pt")


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[a-z_]*\}", text))


def test_the_catalogues_are_the_shipped_ones() -> None:
    assert catalogue_languages() == CATALOGUES


@pytest.mark.parametrize("language", CATALOGUES)
def test_a_catalogue_translates_every_label_and_sentence_with_the_same_placeholders(language: str) -> None:
    english = LABELS["en"]
    labels = catalogue_labels(language)
    assert set(labels) == set(english)
    assert [k for k in english if placeholders(labels[k]) != placeholders(k)] == []
    for section, table in (("sentence", narrative._PATTERNS), ("grain", narrative._GRAIN_PHRASES)):
        entries = catalogue_section(language, section)
        expected = set(table["en"]) | ({"driver"} if section == "sentence" else set())
        assert set(entries) == expected, section
        assert [k for k in table["en"] if placeholders(entries[k]) != placeholders(table["en"][k])] == []
    # no label left in English by accident (short codes and names that are the same word aside)
    same = {k for k in english if labels[k] == k}
    assert len(same) < 16, sorted(same)


def test_a_spanish_scorecard_reads_spanish(tmp_path: Path) -> None:
    from reportgen.pipeline.build import audiences_of, scorecard_metrics
    from reportgen.render import render_audience
    from reportgen.render.email import render_email_body

    loaded = load_config(Path(__file__).resolve().parent.parent / "configs" / "example.yaml")
    now = datetime(2026, 1, 1, 6, tzinfo=UTC)
    metrics = scorecard_metrics(loaded, now=now, audience="executive")
    audience = audiences_of(loaded, "executive")["executive"]
    rendered = render_audience(metrics, loaded, "executive", audience, now=now, locale="es_ES")
    assert rendered.warnings == ()
    for word in ("Qué ha cambiado", "Ingresos por ventas", "Tasa de abandono", "diciembre de 2025",
                 "respecto al mes anterior"):
        assert word in rendered.html, word
    for english in (">What changed<", ">Sales revenue<", "last month", "December 2025"):
        assert english not in rendered.html, english
    body = render_email_body(metrics, loaded, audience, locale="es_ES", charts=[])
    assert "Qué ha cambiado" in body.text and "[malo]" in body.text
