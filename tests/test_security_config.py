"""Hostile configs: alias bombs, paths that leave the config's folder, checks validate runs, fuzzing (issue 8)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.config.load import load_config, parse_config
from reportgen.errors import ConfigError, ReportgenError
from reportgen.pipeline.checks import run_checks
from tests.hostile import cli, config_folder, one_error_line

BOMB = "\n".join(["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
                 + [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]) + "\n"


def test_alias_bomb_fails_in_under_a_second_with_one_line(tmp_path: Path) -> None:
    assert len(BOMB) < 400
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"bomb.yaml:\d+:\d+: with its aliases \(\*name\) expanded"):
        parse_config(BOMB, tmp_path / "bomb.yaml")
    assert time.monotonic() - start < 1.0
    (tmp_path / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    assert "aliases" in one_error_line(cli("validate", tmp_path / "bomb.yaml"))


def test_oversized_config_is_refused_before_parsing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="over the limit"):
        parse_config("x: " + "a" * 2_000_000, tmp_path / "big.yaml")


def test_unquoted_cron_gets_a_hint_to_quote_it(tmp_path: Path) -> None:
    text = "datasets: {deals: {path: d.csv}}\ndeliveries:\n  - name: x\n    schedule: */5 * * * *\n"
    with pytest.raises(ConfigError, match=r"x.yaml:4:\d+: invalid YAML: .*a cron expression must be quoted"):
        parse_config(text, tmp_path / "x.yaml")


def test_data_path_outside_the_config_folder_is_refused_and_not_echoed(tmp_path: Path) -> None:
    config = config_folder(tmp_path, datasets="deals: {path: /etc/passwd}")
    line = one_error_line(cli("validate", config))
    assert "datasets.deals.path: /etc/passwd is outside the config's folder" in line
    assert "scorecard.allowed_roots" in line and "root:" not in line
    assert "c.yaml:" in line


@pytest.mark.parametrize(("key", "scorecard"), [
    ("scorecard.output_dir", "output_dir: ../../escaped\n"),
    ("scorecard.logo", "logo: /etc/hostname\n"),
    ("scorecard.template_dirs[0]", "template_dirs: [/etc]\n"),
])
def test_every_config_path_is_confined(tmp_path: Path, key: str, scorecard: str) -> None:
    config = config_folder(tmp_path / "cfg", scorecard=scorecard)
    line = one_error_line(cli("build", config))
    assert f"{key}:" in line and "outside the config's folder" in line, line
    assert not (tmp_path / "escaped").exists()


def test_a_symlinked_data_file_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    config = config_folder(tmp_path / "cfg", datasets="deals: {path: linked.csv}")
    outside.write_text((tmp_path / "cfg" / "deals.csv").read_text())
    (tmp_path / "cfg" / "linked.csv").symlink_to(outside)
    with pytest.raises(ConfigError, match=r"datasets.deals.path: linked.csv \(really .*outside.csv\) is outside"):
        from reportgen.data import load_datasets

        load_datasets(load_config(config))


def test_allowed_roots_lets_a_listed_folder_in(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    config = config_folder(tmp_path / "cfg", datasets=f"deals: {{path: {shared / 'deals.csv'}}}",
                           scorecard="allowed_roots: [../shared]\n")
    (shared / "deals.csv").write_text((tmp_path / "cfg" / "deals.csv").read_text())
    assert run_checks(load_config(config)) == []


def test_shipped_configs_list_their_roots_and_pass_the_checks() -> None:
    root = Path(__file__).resolve().parent.parent / "configs"
    for config in sorted(root.glob("*.yaml")):
        assert run_checks(load_config(config)) == [], config


@pytest.mark.parametrize(
    ("scorecard", "extra", "expected"),
    [
        ("locale: xx_YY\n", "", "scorecard.locale 'xx_YY' is not a known locale"),
        ("breakdowns: [regoin]\n", "", "breakdown 'regoin' is not a column of any dataset - did you mean 'region'?"),
        ("logo: missing.png\n", "", "scorecard.logo:"),
        ("font_family: No Such Font Family\n", "", "font family 'No Such Font Family' is not installed"),
        (
            "",
            "smtp: {host: 127.0.0.1, from_address: a@example.com}\ndeliveries:\n  - name: feb30\n"
            "    audience: executive\n"
            "    schedule: '0 0 30 2 *'\n    recipients: [{email: x@example.com}]\n",
            "schedule '0 0 30 2 *' of delivery 'feb30' never fires",
        ),
    ],
)
def test_validate_fails_what_build_would_fail_or_drop(
    tmp_path: Path, scorecard: str, extra: str, expected: str
) -> None:
    config = config_folder(tmp_path, scorecard=scorecard.replace("breakdowns: [regoin]\n", ""), extra=extra)
    if "regoin" in scorecard:
        config.write_text(config.read_text().replace("[rep, region, product]", "[regoin]"))
    line = one_error_line(cli("validate", config))
    assert expected in line and "c.yaml:" in line, line


# -- fuzzing: whatever the YAML, only ReportgenError escapes, fast ---------------------------------------

FUZZ_CASES = {"n": 0}
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                     st.text(max_size=30), st.sampled_from(["/etc/passwd", "../..", "*", "&a", "0 0 30 2 *",
                                                            "executive", "revenue", "deals", "{{ x }}", "=1+1"]))
_keys = st.sampled_from(["scorecard", "datasets", "kpis", "audiences", "deliveries", "smtp", "path", "template",
                         "locale", "logo", "output_dir", "deals", "columns", "schedule", "id", "expression",
                         "allowed_roots", "breakdowns", "ledger"]) | st.text(max_size=10)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
                       max_leaves=20)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(document=st.dictionaries(_keys, _values, max_size=6), raw=st.text(max_size=200), use_raw=st.booleans())
def test_fuzzed_config_yaml_raises_only_reportgen_errors(tmp_path: Path, document: dict, raw: str,
                                                         use_raw: bool) -> None:
    import yaml

    FUZZ_CASES["n"] += 1
    text = raw if use_raw else yaml.safe_dump(document, allow_unicode=True)
    start = time.monotonic()
    try:
        loaded = parse_config(text, tmp_path / "fuzz.yaml")
        run_checks(loaded)
    except ReportgenError:
        pass
    assert time.monotonic() - start < 2.0


def test_zz_report_fuzz_cases() -> None:
    print(f"\nfuzzed config cases run: {FUZZ_CASES['n']}")
    assert FUZZ_CASES["n"] >= 300 or FUZZ_CASES["n"] == 0
