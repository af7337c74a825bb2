"""The scorecard config's shape: one pydantic model per YAML section, and the validated config with its origin.

Validation runs in two passes, as dbt-semantic-interfaces does: *shape* (these models: types, unknown
keys) and *meaning* (:mod:`reportgen.config.meaning`: a KPI that does not exist, an audience naming an
unknown KPI, a formula reading an unknown name). :mod:`reportgen.config.load` reads the file, runs both
and reports every problem together, each with where (file:line:column), what was expected, what was
found and the nearest valid name.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reportgen.config.base import ConfigModel
from reportgen.config.datasets import Dataset, Quality  # the data side of the config
from reportgen.config.delivery import DeliverySpec, LedgerSettings, SmtpSettings  # live with the delivery code
from reportgen.config.yamlmarks import KeyPath, MarkedYaml
from reportgen.errors import ConfigError
from reportgen.kpis.catalogue import Direction, ForecastMethod, Unit
from reportgen.kpis.periods import Grain, Window, year_problem


class Scorecard(ConfigModel):
    """What the scorecard is about and how it reads."""

    title: str = Field(
        default="Sales scorecard", description="Title on the cover, the running header and the email subject.")
    company: str = Field(default="", description="Company or client name shown on the scorecard.")
    currency: str = Field(default="USD", description="ISO 4217 code of the money in the data (no conversion is made).")
    locale: str = Field(default="en_US", description="Locale for numbers, dates and labels, e.g. en_US, de_DE, fr_FR.")
    grain: Grain = Field(default="month", description="Reporting period grain.")
    fiscal_year_start: int = Field(
        default=1, ge=1, le=12, description="First month of the fiscal year (1 = calendar year).")
    as_of: date | Literal["latest"] = Field(
        default="latest",
        description="The scorecard reports on the period containing this date; 'latest' means the last "
        "complete period at run time.",
    )
    history: int = Field(default=12, ge=2, le=60, description="How many periods the trend charts and sparklines show.")
    forecast_periods: int = Field(default=3, ge=0, le=3, description="How many future periods to forecast (0 = none).")
    forecast_method: ForecastMethod = Field(
        default="linear_trend", description="Forecast method: moving average of the last 3 periods or a linear trend.")
    logo: str | None = Field(
        default=None, description="Path to a logo image (PNG or SVG), relative to the config file.")
    primary_color: str = Field(default="#1f3a5f", description="Brand colour for headings and rules (CSS colour).")
    accent_color: str = Field(default="#44709e", description="Secondary brand colour (CSS colour).")
    font_family: str | None = Field(default=None, description="Font family to use instead of the shipped Inter.")
    page_size: Literal["A4", "Letter"] = Field(default="A4", description="PDF page size.")
    orientation: Literal["portrait", "landscape"] = Field(default="portrait", description="PDF page orientation.")
    pdf_a: bool = Field(default=False, description="Write PDF/A-3b for archiving.")
    author: str = Field(default="reportgen", description="PDF author metadata.")
    output_dir: str = Field(default="out", description="Folder for built scorecards, relative to the config file.")
    template_dirs: list[str] = Field(
        default_factory=list,
        description="Folders searched before the built-in templates; a template there can extend "
        "'builtin:executive.html' and override one block.")
    charts: dict[str, str] = Field(
        default_factory=dict,
        description="Charts of one's own: name -> 'module:function', a function in module.py in the config's "
        "folder or a template folder that takes the scorecard's metrics and returns a matplotlib Figure; "
        "a template shows it with {{ custom_chart('name') }}.")
    windows: list[Window] = Field(
        default_factory=lambda: list[Window](["ytd"]),
        description="To-date windows computed beside each period (ytd: (fiscal) year to date, qtd: quarter to "
        "date, r12: the 12 months ending the period), each as one period with the KPI's own definition.")
    allow_partial_period: bool = Field(
        default=False, description="Report a period the data covers only partly (e.g. the export ends on the 20th) as "
        "partial instead of failing; a period the data does not cover at all is always an error.")
    breakdowns: list[str] = Field(
        default_factory=lambda: ["region", "rep", "product", "source"],
        description="Dimension columns to break KPIs down by (the sales manager and client audiences show them).")
    allowed_roots: list[str] = Field(
        default_factory=list,
        description="Folders outside the config's own folder that its paths (data, lookups, logo, templates, "
        "output, ledger, recipients) may point into, relative to the config file. Every other path must lie "
        "inside the config's folder (symlinks followed).")
    export_xlsx: bool = Field(
        default=False,
        description="Also write the metric table as XLSX beside the CSV (costs about a second per scorecard).")

    @field_validator("as_of")
    @classmethod
    def _reportable_year(cls, value: date | str) -> date | str:
        """``as_of: 9999-12-31`` or ``0001-01-31`` is a typo, and its history or forecast would leave
        the calendar Python can represent: refused here, in one line."""
        if isinstance(value, date) and (problem := year_problem(value.year)):
            raise ValueError(f"{problem}; write the date the scorecard reports on, e.g. 2025-12-31")
        return value


class Measure(ConfigModel):
    """A custom base aggregate: agg(column) over rows of a dataset dated in the period (a flow), or over
    the rows of the period's last snapshot (``snapshot: true``, a stock)."""

    dataset: str = Field(description="Dataset name (a key of 'datasets').")
    agg: Literal["sum", "count", "count_distinct", "avg", "min", "max"] = Field(description="Aggregate function.")
    column: str | None = Field(default=None, description="Canonical column to aggregate (not needed for count).")
    date: str | None = Field(
        default=None, description="Date column that places a row in a period (not for a snapshot measure).")
    filter: str | None = Field(default=None, description="SQL condition on the dataset's canonical columns.")
    snapshot: bool = Field(
        default=False, description="A stock: the value for a period is agg over the rows of the last snapshot "
        "within it (a quarter's is its last month's); the dataset must declare 'snapshot'. No year-to-date sum.")

    @model_validator(mode="after")
    def _placed(self) -> Measure:
        """A flow measure needs the column that places its rows; a snapshot measure is placed by its
        dataset's as-of dates, so a second date would be a contradiction."""
        if self.snapshot and self.date is not None:
            raise ValueError("a snapshot measure is placed by its dataset's snapshot dates; remove 'date'")
        if not self.snapshot and self.date is None:
            raise ValueError("a measure needs 'date' (the date column that places a row in a period), or "
                             "snapshot: true on a snapshot dataset")
        return self


class Thresholds(ConfigModel):
    """Status bands on achievement (value / target, or target / value when lower is better)."""

    good: float = Field(default=1.0, description="Achievement at or above which the status is good.")
    warning: float = Field(default=0.9, description="Achievement at or above which the status is warning (else bad).")


class Benchmark(ConfigModel):
    """An external reference value (e.g. an industry median) and where it comes from."""

    value: float = Field(description="Benchmark value in the KPI's unit (fractions for percents).")
    source: str = Field(description="Where the benchmark comes from, printed beside it.")


class KpiSpec(ConfigModel):
    """A KPI on the scorecard: a built-in picked by id (optionally overridden) or a custom one."""

    id: str = Field(description="Built-in KPI id (see `reportgen kpis`) or the id of a custom KPI.")
    name: str | None = Field(default=None, description="Display name (default: the catalogue's).")
    unit: Unit | None = Field(
        default=None, description="Unit of a custom KPI.")
    direction: Direction | None = Field(default=None, description="Whether higher or lower is better.")
    objective: str | None = Field(default=None, description="Business objective the KPI is grouped under.")
    expression: str | None = Field(
        default=None, description="Formula over other KPI ids, e.g. revenue / opportunities_created."
    )
    measure: Measure | None = Field(default=None, description="A custom aggregate (instead of an expression).")
    filter: str | None = Field(
        default=None, description="SQL condition restricting the rows of a built-in KPI's datasets.")
    params: dict[str, float] = Field(default_factory=dict, description="Parameters, e.g. customer_lifespan_years: 4.")
    target: float | dict[str, float] | None = Field(
        default=None,
        description="Target: one value for every period, or period label -> value. The targets dataset wins.")
    benchmark: Benchmark | None = Field(default=None, description="External benchmark with its source.")
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Status thresholds.")
    commentary: str | None = Field(default=None, description="Commentary shown beside the generated text.")
    definition: str | None = Field(default=None, description="Definition text for the appendix (custom KPIs).")


class Correlations(ConfigModel):
    """The "What moves together" section of the sales-manager and client reports."""

    min_periods: int = Field(
        default=12, ge=3, description="Periods both KPIs of a pair must fully cover before the pair is shown.")
    top: int = Field(default=3, ge=0, description="At most this many pairs, strongest first (0: no section).")
    min_r: float = Field(
        default=0.6, ge=0, le=1, description="Smallest |r| shown: weaker co-movement over a year is mostly chance.")


class Audience(ConfigModel):
    """A named selection of KPIs rendered with one template."""

    template: Literal["executive", "sales_manager", "client"] | str = Field(
        description="Built-in template (executive, sales_manager, client) or a user template file name.")
    title: str | None = Field(
        default=None, description="Title for this audience's scorecard (default: scorecard title).")
    kpis: list[str] = Field(default_factory=list, description="KPI ids shown (default: every KPI in the config).")
    max_pages: int | None = Field(
        default=None, gt=0, description="Page budget; the build fails when the PDF is longer.")
    recommendations: list[str] = Field(default_factory=list, description="Recommendations printed in a client report.")
    summary: str | None = Field(default=None, description="Executive summary text written by a person.")
    layout: Literal["table", "cards"] = Field(
        default="table", description="Executive template only: one IBCS table row per KPI on one page (table), "
                                     "or a card per KPI, two to a row (cards).")
    correlations: Correlations = Field(
        default_factory=Correlations,
        description="Sales-manager and client templates: which KPI pairs 'What moves together' shows.")


def _bare_id_allowed(schema: dict[str, Any]) -> None:
    """The schema of ``kpis`` says what the loader accepts: a KPI as a mapping or as its bare id."""
    schema["items"] = {"anyOf": [schema["items"], {"type": "string", "description": "A KPI id alone, as {id: ...}."}]}


class Config(ConfigModel):
    """A whole reportgen config file."""

    scorecard: Scorecard = Field(default_factory=Scorecard, description="Title, period, locale and branding.")
    datasets: dict[str, Dataset] = Field(description="Datasets by name: deals, leads, activities, ...")
    quality: Quality = Field(default_factory=Quality, description="Row rules and the share of unusable rows tolerated.")
    kpis: list[KpiSpec] = Field(default_factory=list, description="KPIs on the scorecard (default: every built-in "
                                "whose datasets are present).", json_schema_extra=_bare_id_allowed)
    objectives: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Business objectives -> KPI ids, for grouping tiles (default: the catalogue's).",
    )
    audiences: dict[str, Audience] = Field(default_factory=dict, description="Audiences by name.")
    smtp: SmtpSettings | None = Field(default=None, description="Mail server used by deliveries.")
    deliveries: list[DeliverySpec] = Field(default_factory=list, description="Scheduled email deliveries.")
    ledger: str | LedgerSettings = Field(
        default="reportgen-ledger.sqlite",
        description="Delivery ledger file, relative to the config file, or {path, lock_timeout_seconds}.")

    @field_validator("kpis", mode="before")
    @classmethod
    def _ids_as_specs(cls, value: Any) -> Any:
        """Let a KPI be written as a bare id (``- revenue``) or as a mapping."""
        if isinstance(value, list):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value


class LoadedConfig:
    """A validated config plus where it came from (for relative paths and error positions)."""

    def __init__(self, config: Config, path: Path, source: MarkedYaml | None, text: str = "") -> None:
        self.config = config
        self.path = path
        self.source = source
        self.text = text

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def allowed_roots(self) -> list[Path]:
        """The config's folder and the folders its ``scorecard.allowed_roots`` lists, symlinks resolved."""
        listed = [(self.base_dir / Path(r).expanduser()).resolve() for r in self.config.scorecard.allowed_roots]
        return [self.base_dir.resolve(), *listed]

    def resolve(self, relative: str | Path, key: KeyPath | None = None) -> Path:
        """A path from the config, made absolute against the config's folder with symlinks followed.

        A config is not allowed to reach the whole filesystem (``path: /etc/passwd``, a logo from
        someone's home, an ``output_dir`` of ``../../..``): the real path must lie inside the config's
        folder or a folder listed in ``scorecard.allowed_roots``, else a ConfigError names the key
        (found by value when ``key`` is not given) and says how to allow it.
        """
        p = Path(relative).expanduser()
        p = p if p.is_absolute() else (self.base_dir / p)
        real = p.resolve()
        roots = self.allowed_roots()
        if any(real.is_relative_to(root) for root in roots):
            return real
        key = key if key is not None else self._key_of(str(relative))
        where = f"{self.where(key)}: {dotted_path(key)}: " if key else f"{self.path}: "
        shown = f"{relative} (really {real})" if str(real) != str(relative) else str(relative)
        raise ConfigError(f"{where}{shown} is outside the config's folder {roots[0]}; to allow it, list its folder "
                          f"under scorecard.allowed_roots (e.g. allowed_roots: [{real.parent}])")

    def path_values(self) -> list[tuple[KeyPath, str]]:
        """Every path the config names, with its key: what :meth:`resolve` guards."""
        c = self.config
        found: list[tuple[KeyPath, str]] = [(("scorecard", "output_dir"), c.scorecard.output_dir),
                                            ledger_path_value(c.ledger)]
        if c.scorecard.logo:
            found.append((("scorecard", "logo"), c.scorecard.logo))
        found += [(("scorecard", "template_dirs", i), d) for i, d in enumerate(c.scorecard.template_dirs)]
        for name, ds in c.datasets.items():
            if ds.path:
                found.append((("datasets", name, "path"), ds.path))
            found += [(("datasets", name, "lookups", j, "path"), lk.path) for j, lk in enumerate(ds.lookups)]
        found += [(("deliveries", i, "recipients_csv"), str(d.recipients_csv))
                  for i, d in enumerate(c.deliveries) if d.recipients_csv]
        return found

    def _key_of(self, value: str) -> KeyPath | None:
        return next((key for key, v in self.path_values() if v == value), None)

    def where(self, path: KeyPath) -> str:
        """Position of the value at ``path`` (meaning errors are about values)."""
        return str(self.source.value_mark(path)) if self.source else str(self.path)


def ledger_settings(value: str | LedgerSettings) -> LedgerSettings:
    """The ``ledger:`` value in its long form (a bare path is the most common way to write it)."""
    return LedgerSettings(path=value) if isinstance(value, str) else value


def ledger_path_value(value: str | LedgerSettings) -> tuple[KeyPath, str]:
    """The ledger's path with its key, for the path policy."""
    return (("ledger",), value) if isinstance(value, str) else (("ledger", "path"), value.path)


def computed_kpi_ids(config: Config) -> set[str]:
    """The KPIs a config computes: the ones it lists, or every built-in KPI when it lists none."""
    from reportgen.kpis.catalogue import BUILTIN_KPIS

    return {k.id for k in config.kpis} or set(BUILTIN_KPIS)


def dotted_path(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
