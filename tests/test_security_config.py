"""Hostile configs: alias bombs, paths that leave the config's folder, checks validate runs, fuzzing (issue 8)."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime
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


# -- fuzzing dates, nesting and ranges (issue 21): the config, --period and the period arithmetic -----

DATE_FUZZ_CASES = {"n": 0}
_years = st.sampled_from([0, 1, 999, 1899, 1900, 1901, 2025, 2199, 2200, 9998, 9999, 10000])
_date_text = st.one_of(
    st.builds("{:04d}-{:02d}-{:02d}".format, _years | st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)),
    st.dates().map(date.isoformat), st.just("latest"), st.text(max_size=12))
_label = st.one_of(
    st.builds("{:04d}-{:02d}".format, _years, st.integers(0, 13)),
    st.builds("{}{:04d}-Q{}".format, st.sampled_from(["", "FY"]), _years, st.integers(0, 5)),
    st.builds("{:04d}-W{:02d}".format, _years, st.integers(0, 54)),
    st.builds("{}{:04d}".format, st.sampled_from(["", "FY"]), _years), st.none())
_number = st.integers(-10**6, 10**6) | st.sampled_from([0, -1, -5, 1, 2, 3, 12, 60, 61, 10**20])


def _nested(depth: int, kind: str) -> str:
    return ("[" * depth + "1" + "]" * depth) if kind == "flow" else ("{a: " * depth + "1" + "}" * depth)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(as_of=_date_text, label=_label, grain=st.sampled_from(["month", "quarter", "year", "week"]),
       fys=st.integers(-1, 13), history=_number, forecast=_number, max_pages=_number,
       through=_date_text, depth=st.integers(0, 25_000), kind=st.sampled_from(["flow", "map"]),
       windows=st.sampled_from(["[ytd]", "[qtd, r12]", "[]"]))
def test_fuzzed_dates_nesting_and_ranges_raise_only_reportgen_errors(
        tmp_path: Path, as_of: str, label: str | None, grain: str, fys: int, history: int, forecast: int,
        max_pages: int, through: str, depth: int, kind: str, windows: str) -> None:
    """Whatever the dates, depths and numbers of a config and its --period: a ReportgenError line or a
    period the build can compute with (its history, forecast and to-date windows included)."""
    import json

    from reportgen.kpis.periods import period_range, window_start
    from reportgen.pipeline.build import reporting_period

    DATE_FUZZ_CASES["n"] += 1
    text = (f"scorecard:\n  as_of: {as_of if as_of.strip() else 'latest'}\n  grain: {grain}\n"
            f"  fiscal_year_start: {fys}\n  history: {history}\n  forecast_periods: {forecast}\n"
            f"  windows: {windows}\n  title: {_nested(depth % 60 if depth < 20_000 else depth, kind)}\n"
            f"datasets:\n  deals: {{path: deals.csv, data_through: {json.dumps(through)}}}\n"
            f"audiences:\n  a: {{template: executive, max_pages: {max_pages}}}\n")
    start = time.monotonic()
    try:
        loaded = parse_config(text, tmp_path / "fuzz.yaml")
        run_checks(loaded)
        sc = loaded.config.scorecard
        report = reporting_period(sc, now=datetime(2026, 1, 5, tzinfo=UTC), period=label)
        period_range(report.shift(-(sc.history - 1)), report.shift(sc.forecast_periods))
        for window in sc.windows:
            window_start(report, window)
    except ReportgenError:
        pass
    assert time.monotonic() - start < 2.0


def test_zz_report_date_fuzz_cases() -> None:
    print(f"\nfuzzed date/nesting/range cases run: {DATE_FUZZ_CASES['n']}")
    assert DATE_FUZZ_CASES["n"] >= 2000 or DATE_FUZZ_CASES["n"] == 0


@pytest.mark.parametrize(("config", "expected"), [
    ("scorecard: {as_of: 2025-02-30}\n",
     "c.yaml:1:20: invalid YAML: '2025-02-30' is not a real calendar date (day is out of range for month); "
     "write YYYY-MM-DD"),
    ("scorecard: {as_of: 9999-12-31}\n",
     "c.yaml:1:20: scorecard.as_of: year 9999 is outside 1900-2199; write the date the scorecard reports on, "
     "e.g. 2025-12-31; found 9999-12-31"),
    ("scorecard: {as_of: 0001-01-31}\n",
     "c.yaml:1:20: scorecard.as_of: year 1 is outside 1900-2199; write the date the scorecard reports on, "
     "e.g. 2025-12-31; found 0001-01-31"),
    ("audiences: {a: {template: executive, max_pages: -5}}\n",
     "c.yaml:1:49: audiences.a.max_pages: Input should be greater than 0; found -5"),
    ("scorecard: {title: " + "[" * 20_000 + "}\n",
     "c.yaml:1:58: invalid YAML: nested more than 40 levels deep; a config is a few levels of mappings and lists"),
])
def test_dates_depth_and_budgets_are_one_line(tmp_path: Path, config: str, expected: str) -> None:
    (tmp_path / "deals.csv").write_text("deal_id,created_date\n1,2025-01-01\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(config + "datasets: {deals: {path: deals.csv}}\n", encoding="utf-8")
    result = cli("validate", tmp_path / "c.yaml", timeout=60)
    assert one_error_line(result) == f"error: {tmp_path}/{expected}"


def test_a_period_outside_the_years_is_one_line(tmp_path: Path) -> None:
    config = config_folder(tmp_path)
    line = one_error_line(cli("build", config, "--period", "0001-01", "-o", tmp_path / "out", timeout=120))
    assert line == "error: --period '0001-01': year 1 is outside 1900-2199"
