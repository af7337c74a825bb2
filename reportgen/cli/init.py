"""``reportgen init EXPORT... -o scorecard.yaml``: a commented config from raw exports, checked before it is written.

Each export is profiled and placed by :mod:`reportgen.data.infer`; the datasets are then loaded by the
real loader, the reporting month is the latest one the pipeline's own coverage check accepts, and the
KPIs are the built-ins the loaded data can compute (the engine's ``availability``). What was guessed,
how sure, and what could not be placed is printed; the config is then loaded and checked as
``validate`` would, so what ``init`` writes validates or ``init`` says why not.
"""
from __future__ import annotations

import calendar
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from reportgen.cli.app import main
from reportgen.data.infer import DatasetGuess, Guess, Inference, infer
from reportgen.data.mapping import ROW_NUMBER
from reportgen.data.profile import profile_file
from reportgen.errors import ReportgenError

#: KPIs that say nothing when every row is a won order (no stage column) or created and closed on one date.
NO_PIPELINE = {"win_rate", "pipeline_value", "open_opportunities", "sales_velocity", "opportunities_created"}
ONE_DATE = {"sales_cycle_days", "sales_velocity"}
#: At most this many KPIs on the executive audience (two pages).
EXECUTIVE_KPIS = 12


@dataclass
class Written:
    """The config text and what the checks found."""

    text: str
    as_of: date | None
    kpis: list[str]
    dropped: list[tuple[str, str]]  # dataset, why it was left out
    left_out: tuple[str, ...] = ()  # KPIs the data can compute but has no value for the reporting month


def flow(value: Any) -> str:
    """A YAML flow value (quoted only when it has to be)."""
    return str(yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)).strip() \
        .removesuffix("\n...").removesuffix("...").strip()


def rel(path: Path, base: Path) -> str:
    return os.path.relpath(path, base)


def dataset_yaml(g: DatasetGuess, base: Path) -> list[str]:
    p = g.profile
    lines = [f"  {g.name}:   # {p.path.name}: {p.rows} rows" + ("" if g.canonical else " (custom dataset)"),
             f"    path: {flow(rel(p.path, base))}"]
    if p.encoding and p.encoding not in ("utf-8",):
        lines.append(f"    encoding: {p.encoding}   # detected: the bytes are not UTF-8")
    if p.delimiter and p.delimiter != ",":
        lines.append(f"    delimiter: {flow(p.delimiter)}")
    if g.decimal:
        lines.append(f"    decimal: {flow(g.decimal)}   # numbers are written with a decimal comma")
    if g.order_lines:
        lines.append("    order_lines: true   # the id repeats on every line of an order: lines are summed")
    lines.append("    columns:")
    for src, canons in g.columns.items():
        target = canons[0] if len(canons) == 1 else canons
        note = "   # no id column: the row number" if src == ROW_NUMBER else ""
        lines.append(f"      {flow(src)}: {flow(target)}{note}")
    if g.constants:
        lines.append(f"    constants: {flow(g.constants)}   # not in the export")
    if g.stages is not None:
        lines.append("    stages:   # from the stage column's distinct values; an unmapped value stops the load")
        lines += [f"      {k}: {flow(v)}" for k, v in g.stages.items()]
    if g.date_formats:
        lines.append(f"    date_formats: {flow(g.date_formats)}   # settled from the values")
    for lk in g.lookups:
        lines.append(f"    lookups:   # {lk['path'].name} joined on {lk['column']}")
        lines.append(f"      - {{path: {flow(rel(lk['path'], base))}, column: {flow(lk['column'])}, "
                     f"columns: {flow(lk['columns'])}}}")
    return lines


def custom_kpis(g: DatasetGuess) -> list[dict[str, Any]]:
    """A count of a dataset's rows by its first date, and the sum of each amount column: for a custom
    dataset, and for a canonical one no built-in KPI reads on its own (spend without leads or deals)."""
    renamed = [(src, c[0]) for src, c in g.columns.items() if src != ROW_NUMBER]
    dates = [c for src, c in renamed if g.profile.column(src).kind == "date"]
    amounts = [c for src, c in renamed if g.profile.column(src).kind == "number"]
    out = [{"id": g.name if not g.canonical else f"{g.name}_records", "name": g.profile.path.stem.replace("_", " "),
            "unit": "count", "objective": "activity",
            "measure": {"dataset": g.name, "agg": "count", "date": dates[0]}}]
    out += [{"id": f"{g.name}_{a}", "name": f"{g.profile.path.stem} {a}".replace("_", " "), "unit": "money",
             "objective": "growth", "measure": {"dataset": g.name, "agg": "sum", "column": a, "date": dates[0]}}
            for a in amounts]
    return out


def config_text(inf: Inference, base: Path, title: str, as_of: date | None, kpis: list[Any], history: int,
                roots: list[str], left_out: tuple[str, ...] = (), lasts: dict[str, date] | None = None) -> str:
    code, conf, why = inf.currency
    lines = ["# Written by `reportgen init` from raw exports; every guess is commented. Check it, then:",
             "#   reportgen validate THIS_FILE && reportgen serve THIS_FILE",
             "scorecard:", f"  title: {flow(title)}", f"  currency: {code}   # {conf}: {why}",
             f"  as_of: {as_of.isoformat() if as_of else 'latest'}   # the latest month every dataset covers",
             f"  history: {history}", f"  breakdowns: {flow(inf.breakdowns)}", "  output_dir: out"]
    if roots:
        lines.append(f"  allowed_roots: {flow(roots)}   # the exports' folders")
    lines.append("")
    lines.append("datasets:")
    for g in inf.datasets:
        lines += dataset_yaml(g, base)
        last = (lasts or {}).get(g.name)  # the loader's coverage: an open deal's expected close never extends it
        if last and last != _month_end(last):
            lines.append(f"    # data_through: {_month_end(last).isoformat()}   # only if the export covers every "
                         f"day to the month's end (its last date is {last.isoformat()})")
    lines += ["", "kpis:" if kpis else "kpis: []"]
    if left_out:
        lines.append(f"  # left out, no value in the reporting month from this data: {', '.join(left_out)}")
    lines += [f"  - {flow(k)}" for k in kpis]
    ids = [k if isinstance(k, str) else k["id"] for k in kpis]
    lines += ["", "audiences:", "  executive:", "    template: executive",
              f"    kpis: {flow(ids[:EXECUTIVE_KPIS])}", ""]
    return "\n".join(lines)


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def write_config(inf: Inference, output: Path, title: str, now: datetime) -> Written:
    """Load the placed datasets with the real loader, settle as_of and the KPIs, and write the config;
    a dataset the loader refuses is left out (and said) rather than written into a config that fails."""
    from reportgen.config.load import load_config
    from reportgen.data import load_datasets
    from reportgen.engine import availability, kpi_datasets, resolve_kpis
    from reportgen.errors import DataError

    base = output.parent.resolve()
    dropped: list[tuple[str, str]] = []
    while True:
        roots = sorted({rel(p.parent, base) for g in inf.datasets
                        for p in [g.profile.path, *(lk["path"] for lk in g.lookups)]
                        if not p.resolve().is_relative_to(base)})
        output.write_text(config_text(inf, base, title, None, [], 12, roots), encoding="utf-8")
        loaded = load_config(output)
        try:
            data = load_datasets(loaded, today=now.date(), check=False)
            break
        except DataError as exc:
            name = next((g.name for g in inf.datasets if f"'{g.name}'" in str(exc)), inf.datasets[-1].name)
            dropped.append((name, str(exc).splitlines()[0]))
            inf.datasets = [g for g in inf.datasets if g.name != name]
            if not inf.datasets:
                output.unlink()
                raise ReportgenError("no export could be loaded: " + "; ".join(f"{n}: {w}" for n, w in dropped)) \
                    from None
    builtins = resolve_kpis(None)
    missing = availability(builtins, data)
    deals = next((g for g in inf.datasets if g.name == "deals"), None)
    won_only = deals and ("stage" in deals.constants
                          or (deals.stages and not deals.stages["lost"] + deals.stages["open"]))
    skip = set(NO_PIPELINE if won_only else ())
    if deals and len({s for s, c in deals.columns.items() if {"created_date", "close_date"} & set(c)}) == 1:
        skip |= ONE_DATE
    kpis: list[Any] = [k for k in builtins if k not in missing and k not in skip]
    used = {d for k in kpis for d in kpi_datasets(builtins[k], builtins)}
    for g in inf.datasets:
        if not g.canonical or g.name not in used:
            kpis += custom_kpis(g)
    as_of, history = settle_as_of(kpis, data, loaded)
    lasts = {n: q.last_date for n, q in data.quality.items() if q.last_date}
    text = config_text(inf, base, title, as_of, kpis, history, roots, lasts=lasts)
    output.write_text(text, encoding="utf-8")
    empty: set[str] = set()
    if as_of is not None:  # a KPI the data can compute but has no value for the month shows n/a: leave it out
        empty = empty_kpis(load_config(output), data, now)
        if empty and len(empty) < len(kpis):
            kpis = [k for k in kpis if (k if isinstance(k, str) else k["id"]) not in empty]
            text = config_text(inf, base, title, as_of, kpis, history, roots, tuple(sorted(empty)), lasts)
            output.write_text(text, encoding="utf-8")
    ids = [k if isinstance(k, str) else k["id"] for k in kpis]
    return Written(text, as_of, ids, dropped, tuple(sorted(empty - set(ids))))


def empty_kpis(loaded: Any, data: Any, now: datetime) -> set[str]:
    """The config's KPIs whose company-wide value for the reporting period is missing."""
    from reportgen.pipeline.build import compute_for_config

    metrics = compute_for_config(loaded, now=now, data=data, breakdowns=[])
    t = metrics.table
    rows = t[(t["period"] == metrics.periods[-1].label) & (t["window"] == "") & (t["dimension"].fillna("") == "")]
    return set(rows.loc[rows["value"].isna(), "kpi"]) & {k.id for k in loaded.config.kpis}


def settle_as_of(kpis: list[Any], data: Any, loaded: Any) -> tuple[date | None, int]:
    """The latest month the pipeline's own coverage check accepts for these KPIs, and how many months
    of history the data has before it (2 to 12)."""
    from reportgen.config.models import KpiSpec
    from reportgen.engine import resolve_kpis
    from reportgen.kpis.periods import period_containing
    from reportgen.pipeline.build import check_reporting_period

    resolved = resolve_kpis([KpiSpec.model_validate(k if isinstance(k, dict) else {"id": k}) for k in kpis])
    lasts = [q.last_date for q in data.quality.values() if q.last_date]
    firsts = [q.first_date for q in data.quality.values() if q.first_date]
    if not lasts:
        return None, 12
    period = period_containing(max(lasts), "month")
    for _ in range(36):
        try:
            check_reporting_period(resolved, data, period, False)
            months = (period.start.year - min(firsts).year) * 12 + period.start.month - min(firsts).month + 1
            return period.end, max(2, min(12, months))
        except ReportgenError:
            period = period.shift(-1)
    return None, 12


def print_report(inf: Inference, written: Written, output: Path) -> None:
    guesses: list[Guess] = [g for d in inf.datasets for g in d.guesses]
    click.echo(f"wrote {output}: {len(inf.datasets)} datasets, {len(written.kpis)} KPIs, "
               f"as_of {written.as_of or 'latest'}")
    for g in inf.datasets:
        p = g.profile
        click.echo(f"  {p.path.name} -> {g.name} ({p.rows} rows, encoding {p.encoding}, delimiter {p.delimiter!r})")
        for guess in (x for x in guesses if x.file == p.path.name):
            click.echo(f"    [{guess.confidence:<6}] {guess.what}  ({guess.why})")
        left = [c.name for c in p.columns if c.name not in g.columns]
        if left:
            click.echo(f"    not mapped: {', '.join(left)}")
    for p, why in inf.unplaced:
        click.echo(f"  could not place {p.path.name}: {why}")
    for name, why in written.dropped:
        click.echo(f"  left out {name}: {why}")
    if written.left_out:
        click.echo(f"  KPIs left out (no value for {written.as_of:%Y-%m} from this data): "
                   f"{', '.join(written.left_out)}")
    click.echo(f"  currency {inf.currency[0]} ({inf.currency[1]}: {inf.currency[2]}); breakdowns: "
               f"{', '.join(inf.breakdowns) or 'none'}")


@main.command("init")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("scorecard.yaml"), show_default=True,
              help="Config file to write.")
@click.option("--title", default="Sales scorecard", show_default=True, help="Scorecard title.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def init_command(exports: tuple[Path, ...], output: Path, title: str, force: bool) -> None:
    """Write a commented config from raw exports (CSV, Excel, Parquet) and say what was guessed."""
    if output.exists() and not force:
        raise ReportgenError(f"{output} exists; pass --force to overwrite it, or -o another file")
    output.parent.mkdir(parents=True, exist_ok=True)
    inf = infer([profile_file(p) for p in exports])
    if not inf.datasets:
        raise ReportgenError("no export could be placed: " + "; ".join(f"{p.path.name}: {why}" for p, why in
                                                                         inf.unplaced))
    written = write_config(inf, output, title, datetime.now(UTC))
    print_report(inf, written, output)
    from reportgen.config.load import load_config
    from reportgen.pipeline.build import compute_for_config
    from reportgen.pipeline.checks import raise_on_issues

    loaded = load_config(output)
    raise_on_issues(loaded)
    compute_for_config(loaded, now=datetime.now(UTC), breakdowns=[])
    click.echo(f"  {output} validates; next: reportgen serve {output}")
