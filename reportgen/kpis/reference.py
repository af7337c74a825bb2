"""The KPI reference (docs/kpis.md), generated from the catalogue so the document and the engine
cannot drift apart: ``python -m reportgen.kpis.reference > docs/kpis.md``; a test fails when it is stale.
"""
from __future__ import annotations

from reportgen.kpis.catalogue import ANCHORS, BUILTIN_KPIS, CANONICAL_DATASETS, MEASURES

RULES = """\
## Periods, coverage and comparisons

- A period is a closed interval of whole days (month by default; quarter, year, ISO week, fiscal quarter and
  year with `fiscal_year_start`). A date is in a period when it falls on one of its days; a timestamp counts
  on its calendar day. A subscription is active on day d when it started on or before d and has no end date
  or ends after d.
- A ratio whose denominator is zero or missing is missing ("n/a"), never 0 and never infinite.
- **Coverage.** The data speaks for a KPI from the first date of the column that places its rows (revenue:
  the first close date) up to the dataset's last date, or up to `data_through` when the config gives one.
  Outside that span a value is missing, with the reason ("deals end 2025-12-31"); inside it an empty
  period is a real 0 for counts and sums. A period only partly covered is computed and marked partial. A sum
  over rows whose values are all unreadable is missing, not 0.
- **To-date windows** (`ytd`, `qtd`, `r12`) apply a KPI's own definition to the window as one period,
  never a sum or average of period values. Growth, target achievement and forecast accuracy have no window
  form.
- **Comparisons** on every value: prior period, the same period a year earlier (each with absolute and
  relative change), target (from the targets dataset or the config; coarser grains sum their months for
  additive KPIs), benchmark with its source, and status: good at 100% of target or more, warning from 90%,
  bad below (configurable; inverted where lower is better). No target and no benchmark: no status.
- A breakdown applies the same definition to one segment's rows: numerator and denominator both restricted.
"""


def _datasets() -> list[str]:
    lines = ["## Canonical datasets", "", "Column names after the config's mapping; required columns in bold.", "",
             "| dataset | columns |", "|---|---|"]
    for name, specs in CANONICAL_DATASETS.items():
        cols = ", ".join(f"**{s.name}**" if s.required else s.name for s in specs)
        lines.append(f"| {name} | {cols} |")
    return lines


def _kpis() -> list[str]:
    lines = [
        "## Built-in KPIs",
        "",
        "| id | name | unit | better | formula | definition |",
        "|---|---|---|---|---|---|",
    ]
    for k in BUILTIN_KPIS.values():
        params = "".join(f" ({p} = {v:g}, configurable)" for p, v in k.params.items())
        lines.append(f"| `{k.id}` | {k.name} | {k.unit} | {k.direction} | `{k.expression}` | {k.definition}{params} |")
    return lines


def _measures() -> list[str]:
    lines = [
        "## Measures the formulas read",
        "",
        "Each is one SQL aggregate over rows anchored to the period "
        "(`reportgen compute --explain` prints the queries). `fsum` is DuckDB's compensated sum: the "
        "same total as `sum`, but the same on every run whatever order the rows are added in.",
        "",
        "| measure | rows | aggregate |",
        "|---|---|---|",
    ]
    for m in MEASURES.values():
        anchor = ANCHORS[m.anchor]
        lines.append(f"| `{m.id}` | {anchor.description} | `{m.sql}` |")
    return lines


def kpi_reference() -> str:
    """The whole reference as Markdown."""
    parts = [
        "# KPI reference",
        "",
        "Generated from `reportgen/catalogue.py` by `python -m reportgen.kpis.reference`; do not edit by hand. Any "
        "definition can be overridden in a config (`filter`, `params`, `name`, `target`, `benchmark`, "
        "`thresholds`), never silently.",
        "",
        RULES,
        *_datasets(),
        "",
        *_kpis(),
        "",
        *_measures(),
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover - the documented regeneration command
    print(kpi_reference(), end="")
