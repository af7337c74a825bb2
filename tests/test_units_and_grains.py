"""The vocabulary's closed lists have one home each in ``kpis`` (units, directions, forecast methods,
grains, to-date windows, deal stages): the config's schema, the CLI's choices, the engine and the
formatters read them, nobody spells them again."""
from __future__ import annotations

import ast
from pathlib import Path

import click

import reportgen
from reportgen.cli.app import compute_command
from reportgen.config.models import KpiSpec, Scorecard
from reportgen.kpis.catalogue import UNITS
from reportgen.kpis.periods import GRAINS

PACKAGE = Path(reportgen.__file__).parent
HOMES = {PACKAGE / "kpis" / "catalogue.py", PACKAGE / "kpis" / "periods.py", PACKAGE / "kpis" / "datasets.py"}
UNIT_NAMES = {"money", "percent", "count", "days", "hours", "score", "ratio"}  # kpi-spec.md, "Units"
GRAIN_NAMES = {"month", "quarter", "year", "week"}
#: kpi-spec.md's other closed lists: to-date windows, deal stages, directions, forecast methods
OTHER_LISTS = ({"ytd", "qtd", "r12"}, {"won", "lost", "open"}, {"higher", "lower"}, {"moving_average", "linear_trend"})


def _literal_values(node: ast.Subscript) -> set[str]:
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    return {item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)}


def test_the_homes_hold_every_unit_and_grain() -> None:
    assert set(UNITS) == UNIT_NAMES and len(UNITS) == len(UNIT_NAMES)
    assert set(GRAINS) == GRAIN_NAMES and len(GRAINS) == len(GRAIN_NAMES)


def test_no_module_spells_the_units_or_grains_again() -> None:
    """A second ``Literal[...]`` of the same names drifts: a unit added to the catalogue would be refused
    by the config, or formatted by nobody. Every module imports the home's alias instead."""
    again = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
                if _literal_values(node) in (UNIT_NAMES, GRAIN_NAMES, *OTHER_LISTS):
                    again.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
            elif isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) > 1:
                values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if len(values) == len(node.elts) and set(values) in (UNIT_NAMES, GRAIN_NAMES, *OTHER_LISTS):
                    again.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert again == []


def test_config_and_cli_offer_what_the_homes_hold() -> None:
    assert Scorecard.model_json_schema()["properties"]["grain"]["enum"] == list(GRAINS)
    unit = KpiSpec.model_json_schema()["properties"]["unit"]["anyOf"][0]
    assert unit["enum"] == list(UNITS)
    [grain] = [p for p in compute_command.params if p.name == "grain"]
    assert isinstance(grain.type, click.Choice) and list(grain.type.choices) == list(GRAINS)
