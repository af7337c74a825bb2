"""One validation (issue 20): every problem of a config in one run, the same checks in every command and the
API, typed issues (issue 22), and a published schema that accepts every shipped config.

Messages are asserted exactly, the way tests/test_config.py does; configs are real files over a real
CSV and the commands run as a user runs them (a fresh ``python -m reportgen`` process).
"""
from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

import reportgen
from reportgen.config.issues import InvalidConfig, Issue, validate_safely
from reportgen.config.load import parse_config
from reportgen.config.yamlmarks import Mark
from tests.hostile import HOSTILE_DEALS, REPO, cli

TEMPLATES = REPO / "templates"
SMTP = "smtp: {host: localhost, port: 25, security: none, from_address: reports@example.com}\n"


def write_config(folder: Path, text: str) -> Path:
    """``folder/c.yaml`` with ``text`` beside a small real deals export; returns the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deals.csv").write_text(HOSTILE_DEALS, encoding="utf-8")
    config = folder / "c.yaml"
    config.write_text(textwrap.dedent(text), encoding="utf-8")
    return config


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The run failed with exit 2, no traceback and only ``error:`` lines; those lines without the prefix."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), result.stderr
    return [line.removeprefix("error: ") for line in lines]


GOOD_HEAD = textwrap.dedent("""\
    scorecard:
      as_of: 2025-12-31
      allow_partial_period: true
      history: 3
      forecast_periods: 0
      breakdowns: [rep, region, product]
    datasets:
      deals: {path: deals.csv}
    kpis: [revenue, deals_won, win_rate]
    """)

SIX_PROBLEMS = """\
    scorecard:
      titel: Sales
      as_of: 2025-12-31
      logo: missing.png
    datasets:
      deals: {path: deals.csv}
    kpis: [revenue, deals_won, win_rate]
    audiences:
      executive: {template: executiv, kpis: [revenue, pipline_value]}
    smtp: {host: localhost, port: 25, security: none, from_address: reports@example.com}
    deliveries:
      - name: monthly
        audience: executve
        schedule: '0 0 30 2 *'
        recipients: [{email: ana@example.com}]
    """


def test_every_kind_of_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    """Shape, files, templates, meaning, deliveries and schedules: six problems, six lines, one run.

    Before, the unknown key stopped everything (pydantic), the next run showed the meaning errors,
    a third the template and the logo; the delivery's audience passed validate altogether."""
    config = write_config(tmp_path, SIX_PROBLEMS)
    assert error_lines(cli("validate", config)) == [
        f"{config}:2:3: unknown key 'titel' in scorecard - did you mean 'title'?",
        f"{config}:4:9: scorecard.logo: {tmp_path / 'missing.png'} does not exist",
        f"{config}:9:25: audiences.executive.template: template 'executiv' not found - did you mean 'executive'? "
        f"(searched {TEMPLATES}); a user template is a file name ending in .html",
        f"{config}:9:51: audience 'executive' lists unknown KPI 'pipline_value' - did you mean 'pipeline_value'? "
        "(a built-in KPI the config does not list: add it under 'kpis')",
        f"{config}:13:15: delivery 'monthly' sends audience 'executve', which is not declared under 'audiences' - "
        "did you mean 'executive'?",
        f"{config}:14:15: schedule '0 0 30 2 *' of delivery 'monthly' never fires (CroniterBadDateError) - "
        "check day and month",
    ]


def test_five_problems_through_the_python_api_are_five_typed_issues(tmp_path: Path) -> None:
    config = write_config(tmp_path, """\
        scorecard:
          grain: monthly
        datasets:
          deals: {path: deals.csv, colums: {a: deal_id}}
        kpis: [revenue, win_rte]
        audiences:
          executive: {template: executive, kpis: [revenue, pipline_value]}
        deliveries:
          - {name: m, audience: executve, schedule: '0 8 1 * *', recipients: [{email: ana@example.com}]}
        """)
    issues = reportgen.validate(config)
    assert [(i.level, i.location, i.key, i.hint) for i in issues] == [
        ("error", Mark(str(config), 2, 10), ("scorecard", "grain"), ""),
        ("error", Mark(str(config), 4, 28), ("datasets", "deals", "colums"), "did you mean 'columns'?"),
        ("error", Mark(str(config), 5, 17), ("kpis", 1, "id"),
         "did you mean 'win_rate'? (a custom KPI needs 'expression' or 'measure'; `reportgen kpis` lists the "
         "built-ins)"),
        ("error", Mark(str(config), 7, 52), ("audiences", "executive", "kpis", 1),
         "did you mean 'pipeline_value'? (a built-in KPI the config does not list: add it under 'kpis')"),
        ("error", Mark(str(config), 9, 25), ("deliveries", 0, "audience"), "did you mean 'executive'?"),
    ]
    assert issues[0].message == ("scorecard.grain: Input should be 'month', 'quarter', 'year' or 'week'; "
                                 "found 'monthly'")
    assert issues[4].message == ("delivery 'm' sends audience 'executve', which is not declared under 'audiences'")
    with pytest.raises(InvalidConfig) as info:
        reportgen.load_config(config)
    assert info.value.issues == tuple(issues)
    assert str(info.value).splitlines() == [str(i) for i in issues]


@pytest.mark.parametrize(("snippet", "expected"), [
    ("audiences:\n  executive: {template: executiv}\n",
     "11:25: audiences.executive.template: template 'executiv' not found - did you mean 'executive'? "
     f"(searched {TEMPLATES}); a user template is a file name ending in .html"),
    ("audiences:\n  executive: {template: executive, kpis: [revenue, pipline_value]}\n",
     "11:52: audience 'executive' lists unknown KPI 'pipline_value' - did you mean 'pipeline_value'? "
     "(a built-in KPI the config does not list: add it under 'kpis')"),
    ("audiences:\n  executive: {template: executive, kpis: [revenue, deal_won]}\n",
     "11:52: audience 'executive' lists unknown KPI 'deal_won' - did you mean 'deals_won'?"),
    (f"audiences:\n  executive: {{template: executive}}\n{SMTP}deliveries:\n"
     "  - {name: m, audience: executve, schedule: '0 8 1 * *', recipients: [{email: ana@example.com}]}\n",
     "14:25: delivery 'm' sends audience 'executve', which is not declared under 'audiences' - "
     "did you mean 'executive'?"),
])
def test_each_symptom_of_issue_20_is_one_exact_line_from_validate(tmp_path: Path, snippet: str,
                                                                  expected: str) -> None:
    config = write_config(tmp_path, GOOD_HEAD + snippet)
    lines = error_lines(cli("validate", config))
    assert lines == [f"{config}:{expected}"], lines


def test_shape_errors_no_longer_hide_meaning_errors() -> None:
    """The first of the three rounds: a wrong type and an unknown KPI used to need two runs."""
    text = "datasets:\n  deals: {path: d.csv}\nscorecard: {history: many}\nkpis: [revenue, win_rte]\n"
    with pytest.raises(InvalidConfig) as info:
        parse_config(text, Path("x.yaml"))
    assert str(info.value).splitlines() == [
        "x.yaml:3:22: scorecard.history: Input should be a valid integer, unable to parse string as an integer; "
        "found 'many'",
        "x.yaml:4:17: unknown KPI 'win_rte' - did you mean 'win_rate'? (a custom KPI needs 'expression' or 'measure'; "
        "`reportgen kpis` lists the built-ins)",
    ]


def test_an_item_set_aside_does_not_move_later_issues_off_their_line() -> None:
    """A KPI item that fails its shape is left out of the partial config; the issues after it keep their line
    and their key in the file (kpis[2], not the partial list's kpis[1])."""
    text = textwrap.dedent("""\
        datasets:
          deals: {path: d.csv}
        kpis:
          - {unit: money}
          - revenue
          - win_rte
        audiences:
          a: {template: executive, kpis: [revenue, revnue]}
        """)
    with pytest.raises(InvalidConfig) as info:
        parse_config(text, Path("x.yaml"))
    assert [(str(i.location), i.key) for i in info.value.issues] == [
        ("x.yaml:4:5", ("kpis", 0, "id")),
        ("x.yaml:6:5", ("kpis", 2, "id")),
        ("x.yaml:8:44", ("audiences", "a", "kpis", 1)),
    ]


# -- every command and the API run the checks validate runs --------------------------------------------------

ONLY_A_DELIVERY_PROBLEM = GOOD_HEAD + textwrap.dedent("""\
    audiences:
      executive: {template: executive}
    smtp: {host: localhost, port: 25, security: none, from_address: reports@example.com}
    deliveries:
      - name: monthly
        audience: executve
        schedule: '0 8 1 * *'
        recipients: [{email: ana@example.com}]
    """)
DELIVERY_LINE = ("15:15: delivery 'monthly' sends audience 'executve', which is not declared under 'audiences' - "
                 "did you mean 'executive'?")


@pytest.mark.parametrize("command", [
    ["build", "{config}", "-o", "{out}"],
    ["compute", "{config}", "-o", "{out}/m.csv"],
    ["send", "{config}", "--dry-run", "-o", "{out}", "--now", "2026-01-05T08:00"],
    ["deliver", "{config}", "--due", "--now", "2026-01-05T08:00"],
])
def test_every_command_refuses_what_validate_refuses(tmp_path: Path, command: list[str]) -> None:
    """A config whose only problem is a delivery's audience: `build`, `compute`, `send` and `deliver`
    used to go ahead (send failed only on reaching that delivery); now each stops with validate's line
    before writing or sending anything."""
    config = write_config(tmp_path / "cfg", ONLY_A_DELIVERY_PROBLEM)
    out = tmp_path / "out"
    args = [a.format(config=config, out=out) for a in command]
    assert error_lines(cli(*args)) == [f"{config}:{DELIVERY_LINE}"]
    assert not out.exists() or not any(out.iterdir())


def test_batch_fails_the_config_with_validates_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", ONLY_A_DELIVERY_PROBLEM)
    result = cli("batch", config, "-o", tmp_path / "out")
    assert result.returncode != 0, result.stdout
    assert f"{config}:{DELIVERY_LINE}" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_python_api_refuses_what_validate_refuses(tmp_path: Path) -> None:
    """``reportgen.build()`` and ``compute()`` check a path and a config loaded by the lower layer alike."""
    from reportgen.config.load import load_config as shape_and_meaning_only

    config = write_config(tmp_path / "cfg", ONLY_A_DELIVERY_PROBLEM)
    for given in (config, str(config), shape_and_meaning_only(config)):
        with pytest.raises(InvalidConfig) as info:
            reportgen.build(given, output_dir=tmp_path / "out")
        assert str(info.value) == f"{config}:{DELIVERY_LINE}"
        with pytest.raises(InvalidConfig):
            reportgen.compute(given)
    assert not (tmp_path / "out").exists()


# -- typed issues -----------------------------------------------------------------------------------------------

def test_a_crashing_check_becomes_one_issue_and_the_others_still_run(tmp_path: Path) -> None:
    loaded = parse_config("datasets:\n  deals: {path: d.csv}\n", tmp_path / "x.yaml")

    def check_widgets(_loaded: object) -> list[Issue]:
        return [{"not": "a list of issues"}[0]]  # type: ignore[index]  # a bug: KeyError

    issues = validate_safely(check_widgets)(loaded)
    assert [str(i) for i in issues] == [
        f"{tmp_path / 'x.yaml'}: the check check_widgets crashed: KeyError: 0 - this is a bug in reportgen; the "
        "other checks ran - please report it with --verbose"]
    assert issues[0].level == "error" and issues[0].key == ()


def test_did_you_mean_has_one_home() -> None:
    """Issue 22: nine get_close_matches calls beside did_you_mean drifted (cutoffs, wording); one remains."""
    users = sorted(str(p.relative_to(REPO)) for p in (REPO / "reportgen").rglob("*.py")
                   if "get_close_matches" in p.read_text(encoding="utf-8"))
    assert users == ["reportgen/config/issues.py"]


# -- the published schema -------------------------------------------------------------------------------------

class EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server reads it (YAML 1.2 core): ``2025-12-31`` is a string, not a date."""


EditorLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def schema_validator() -> object:
    import jsonschema

    schema = json.loads((REPO / "reportgen.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


SHIPPED = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_validates_against_the_published_schema(config: Path) -> None:
    """`reportgen schema` rejected the shipped configs (31 errors on example.yaml): bare KPI ids and dates."""
    validator = schema_validator()
    text = config.read_text(encoding="utf-8")
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(yaml.load(text, Loader=EditorLoader))]  # type: ignore[attr-defined]
    assert errors == []
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../reportgen.schema.json"


def test_the_schema_still_rejects_what_the_loader_rejects() -> None:
    validator = schema_validator()
    bad = yaml.load("datasets: {deals: {path: d.csv}}\nkpis: [revenue, 5]\nscorecard: {titel: x, as_of: 2025-13-01}\n",
                    Loader=EditorLoader)
    paths = sorted(".".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad))  # type: ignore[attr-defined]
    assert paths == ["kpis.1", "scorecard", "scorecard.as_of"]


def test_the_published_schema_is_current_and_is_what_the_command_prints(tmp_path: Path) -> None:
    from reportgen.config.schema import schema_text

    published = (REPO / "reportgen.schema.json").read_text(encoding="utf-8")
    assert published == schema_text(), "reportgen.schema.json is stale: run scripts/write_schema.py"
    result = cli("schema")
    assert result.returncode == 0 and result.stdout == published
    assert cli("schema", "-o", tmp_path / "s.json").returncode == 0
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == published


def test_check_deliveries_finds_what_send_would_fail_on_before_any_message(tmp_path: Path) -> None:
    """What the sender asks before the first message leaves: every delivery, every problem."""
    from reportgen.pipeline.checks import check_deliveries

    config = write_config(tmp_path, GOOD_HEAD + textwrap.dedent("""\
        audiences:
          executive: {template: executive}
        smtp: {host: localhost, port: 25, security: none, from_address: reports@example.com}
        deliveries:
          - {name: m, audience: executive, schedule: '0 8 1 * *', burst_by: regoin, recipients_csv: people.csv}
          - {name: m, audience: executive, schedule: '0 8 1 * *', period: 2025-13,
             recipients: [{email: ana@example.com}]}
        """))
    loaded = parse_config(config.read_text(encoding="utf-8"), config)
    assert [str(i) for i in check_deliveries(loaded)] == [
        f"{config}:14:69: delivery 'm' bursts by 'regoin', which is not a column of any dataset - "
        "did you mean 'region'?",
        f"{config}:14:93: recipients file {tmp_path / 'people.csv'} of delivery 'm' does not exist",
        f"{config}:15:12: delivery name 'm' is used twice (first as deliveries[0]) - the ledger records sends by "
        "name; rename one",
        f"{config}:15:67: period '2025-13' of delivery 'm': '2025-13' is not a valid month label - use "
        "'last_complete' or a month label",
    ]


def test_what_a_shape_error_uncovers_is_reported_and_what_it_causes_is_not(tmp_path: Path) -> None:
    """A dataset's own check ran only once its keys were right (a second round before); entries set aside
    for a shape error make no noise elsewhere (no "breakdown is not a column", no "undeclared audience")."""
    text = textwrap.dedent("""\
        datasets:
          deals: {colums: {a: deal_id}}
        scorecard: {breakdowns: [region]}
        kpis: [revenue, {unit: money, name: Net}]
        audiences:
          a: {kpis: [revenue]}
        smtp: {host: localhost, port: 25, security: none, from_address: r@example.com}
        deliveries: [{name: m, audience: a, schedule: '0 8 1 * *', recipients: [{email: ana@example.com}]}]
        """)
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")
    assert [str(i) for i in reportgen.validate(config)] == [
        f"{config}:2:10: datasets.deals: a dataset needs 'path' (a file) or 'url' (a SQL database)",
        f"{config}:2:11: unknown key 'colums' in datasets.deals - did you mean 'columns'?",
        f"{config}:4:17: kpis[1].id: required key missing",
        f"{config}:6:3: audiences.a.template: required key missing",
    ]
