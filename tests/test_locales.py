"""Locales (reportgen/pipeline/checks.py: check_locale): a locale reportgen has no translations for is
an error in `validate`, for the scorecard and for every inline recipient, not a silent English
fallback beside local numbers; a regional variant of a shipped language passes."""
from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.config.load import load_config
from reportgen.pipeline.checks import run_checks
from reportgen.render.labels import LABELS
from tests.hostile import cli, config_folder, one_error_line

RECIPIENT = ("smtp: {host: 127.0.0.1, from_address: a@example.com}\ndeliveries:\n  - name: monthly\n"
             "    audience: executive\n    schedule: '0 7 1 * *'\n"
             "    recipients: [{email: x@example.com, locale: @LOCALE@}]\n")


def test_a_scorecard_locale_without_translations_fails_validate(tmp_path: Path) -> None:
    assert "es" not in LABELS  # when Spanish ships, pick another language for this test
    line = one_error_line(cli("validate", config_folder(tmp_path, scorecard="locale: es_ES\n")))
    assert line.startswith("error: ") and "c.yaml:" in line
    assert ("scorecard.locale 'es_ES': reportgen has no translations for 'es' "
            f"(shipped: {', '.join(sorted(LABELS))}); use a locale of one of those languages") in line


def test_a_recipient_locale_without_translations_fails_validate(tmp_path: Path) -> None:
    config = config_folder(tmp_path, extra=RECIPIENT.replace("@LOCALE@", "pt_BR"))
    line = one_error_line(cli("validate", config))
    assert "deliveries[0].recipients[0].locale 'pt_BR': reportgen has no translations for 'pt'" in line


@pytest.mark.parametrize("locale", ["de_AT", "fr_CH", "en_GB"])
def test_a_regional_variant_of_a_shipped_language_passes(tmp_path: Path, locale: str) -> None:
    config = config_folder(tmp_path, scorecard=f"locale: {locale}\n", extra=RECIPIENT.replace("@LOCALE@", locale))
    assert [i for i in run_checks(load_config(config)) if "locale" in i] == []
