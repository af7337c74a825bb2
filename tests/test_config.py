"""Config validation: shape and meaning, with messages a person can act on.

Messages are asserted exactly (file:line:column, what was found, the nearest valid name), the way
mkdocs and dbt-semantic-interfaces test theirs.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reportgen.config.load import parse_config
from reportgen.config.models import Config, KpiSpec
from reportgen.errors import ConfigError

BASE = """\
datasets:
  deals: {path: deals.csv}
"""


def errors_of(yaml_text: str, name: str = "configs/x.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(yaml_text), Path(name))
    return str(info.value)


def test_minimal_config_is_valid() -> None:
    loaded = parse_config(BASE, Path("c.yaml"))
    assert loaded.config.scorecard.grain == "month"
    assert set(loaded.config.datasets) == {"deals"}


def test_unknown_kpi_names_file_line_and_nearest() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        kpis:
          - revenue
          - win_rte
        """))
    assert msg == ("configs/x.yaml:5:5: unknown KPI 'win_rte' - did you mean 'win_rate'? "
                   "(a custom KPI needs 'expression' or 'measure'; `reportgen kpis` lists the built-ins)")


def test_unknown_key_suggests_nearest_field() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        scorecard:
          titel: Q1
        """))
    assert msg == "configs/x.yaml:4:3: unknown key 'titel' in scorecard - did you mean 'title'?"


def test_unknown_key_inside_a_kpi_mapping() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        kpis:
          - id: revenue
            tagret: 1000
        """))
    assert msg == "configs/x.yaml:5:5: unknown key 'tagret' in kpis[0] - did you mean 'target'?"


def test_wrong_type_reports_found_value() -> None:
    msg = errors_of(BASE + "scorecard:\n  grain: monthly\n")
    assert msg.startswith("configs/x.yaml:4:10: scorecard.grain: Input should be 'month', 'quarter', 'year' or 'week'")
    assert msg.endswith("found 'monthly'")


def test_duplicate_keys_are_rejected() -> None:
    msg = errors_of("datasets:\n  deals: {path: a.csv}\n  deals: {path: b.csv}\n")
    assert msg == ("configs/x.yaml:3:3: duplicate key 'deals' (first at line 2); YAML would silently keep only "
                   "the last one - remove or rename one of them")


def test_yaml_syntax_error_has_position() -> None:
    msg = errors_of("datasets:\n  deals: {path: a.csv\n")
    assert msg.startswith("configs/x.yaml:3:1: invalid YAML")


def test_column_mapping_to_misspelt_canonical_name() -> None:
    msg = errors_of("""\
        datasets:
          deals:
            path: d.csv
            columns: {engage_date: created_dat}
        """)
    assert msg.startswith("configs/x.yaml:4:28: column mapping 'engage_date' -> 'created_dat': 'created_dat' is not "
                          "a column of deals - did you mean 'created_date'?")


def test_audience_with_unknown_kpi() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        audiences:
          executive:
            template: executive
            kpis: [revenue, pipline_value]
        """))
    assert msg == ("configs/x.yaml:6:21: audience 'executive' lists unknown KPI 'pipline_value' - "
                   "did you mean 'pipeline_value'?")


def test_expression_reading_unknown_name_and_functions() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        kpis:
          - revenue
          - id: rev_per_opp
            unit: money
            expression: revenue / oportunities_created
        """))
    assert "formula of 'rev_per_opp' reads unknown name 'oportunities_created' - did you mean " \
           "'opportunities_created'?" in msg
    assert msg.startswith("configs/x.yaml:7:17:")
    msg = errors_of(BASE + "kpis:\n  - {id: x, unit: money, expression: \"__import__('os')\"}\n")
    assert "unknown function '__import__'" in msg


def test_expression_is_never_evaluated_as_python() -> None:
    msg = errors_of(BASE + "kpis:\n  - {id: x, unit: money, expression: 'revenue.__class__'}\n")
    assert "Attribute is not allowed" in msg


def test_all_problems_reported_together() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        kpis: [revnue, win_rte]
        audiences:
          a: {template: executive, kpis: [nps2]}
        """))
    assert len(msg.splitlines()) == 3


def test_password_in_yaml_is_refused() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        smtp:
          host: localhost
          port: 25
          from_address: a@example.com
          password: hunter2
        """))
    assert msg.startswith("configs/x.yaml:7:3: smtp: smtp.password is not allowed")
    assert "password_env" in msg


def test_custom_kpi_needs_unit_and_declared_dataset() -> None:
    msg = errors_of(BASE + textwrap.dedent("""\
        kpis:
          - id: calls_per_day
            measure: {dataset: calls, agg: count, date: day}
        """))
    assert "reads dataset 'calls', which is not declared under 'datasets'" in msg
    assert "needs a 'unit'" in msg


def test_dataset_needs_a_source() -> None:
    msg = errors_of("datasets:\n  deals: {columns: {a: deal_id}}\n")
    assert "needs 'path'" in msg and "configs/x.yaml:2:10" in msg


def test_every_config_field_has_a_description() -> None:
    """A field without a description is a field nobody can look up: the schema is the docs."""
    from pydantic import BaseModel

    seen: set[type] = set()

    def walk(model: type[BaseModel]) -> list[str]:
        if model in seen:
            return []
        seen.add(model)
        missing = [f"{model.__name__}.{n}" for n, f in model.model_fields.items() if not f.description]
        for f in model.model_fields.values():
            for arg in [f.annotation, *getattr(f.annotation, "__args__", ())]:
                for inner in [arg, *getattr(arg, "__args__", ())]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        missing += walk(inner)
        return missing

    assert walk(Config) == []
    assert KpiSpec.model_fields["id"].description


def test_example_config_is_valid(repo_root: Path) -> None:
    from reportgen.config.load import load_config

    loaded = load_config(repo_root / "configs" / "example.yaml")
    assert set(loaded.config.audiences) == {"executive", "sales_manager", "client"}
