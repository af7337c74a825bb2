"""Checks that `validate` runs, and every other command and the API run too, so none passes what build fails.

The config models check shape and names; these check what only the environment can answer: is the
locale known to Babel, does the template exist, is the breakdown dimension a column, do the logo
and the font exist, does a cron expression ever fire, does every path stay inside the allowed
folders, does every delivery name an audience that exists. Each check is a small function returning
:class:`~reportgen.config.issues.Issue` values and runs through ``validate_safely``, so one run
reports every problem at once.
"""
from __future__ import annotations

import shutil
import subprocess
import weakref
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from reportgen.bounded import MAX_LOGO_BYTES, explain, regular_file_problem
from reportgen.config.issues import Check, Issue, in_file_order, issue_at, raise_on_errors, suggestion, validate_safely
from reportgen.config.load import collect_issues
from reportgen.config.models import LoadedConfig
from reportgen.config.shape import names_set_aside, original_key
from reportgen.errors import ConfigError, ReportgenError
from reportgen.kpis.catalogue import CANONICAL_DATASETS


def check_locale(loaded: LoadedConfig) -> list[Issue]:
    """An unknown locale would fail deep inside Babel at render time with a traceback; a known one
    whose language reportgen has no translations for would silently print English words beside
    local numbers. Both are errors, for the scorecard and for every inline recipient."""
    places: list[tuple[tuple[str | int, ...], str, str]] = [
        (("scorecard", "locale"), "scorecard.locale", loaded.config.scorecard.locale)]
    for i, delivery in enumerate(loaded.config.deliveries):
        places += [(("deliveries", i, "recipients", j, "locale"), f"deliveries[{i}].recipients[{j}].locale",
                    r.locale) for j, r in enumerate(delivery.recipients) if r.locale]
    issues = []
    for key, name, locale in places:
        problem = locale_problem(locale)
        if problem:
            issues.append(issue_at(loaded, key, f"{name} {problem}"))
    return issues


def locale_problem(locale: str) -> str:
    """'' for a locale reportgen can write a scorecard in, else what is wrong and the fix."""
    from babel import Locale, UnknownLocaleError

    from reportgen.render.catalogues import catalogue_languages
    from reportgen.render.labels import LABELS

    try:
        Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        return f"{locale!r} is not a known locale ({exc}); use a code like en_US, de_DE or fr_FR"
    language = locale.replace("-", "_").split("_", 1)[0].lower()
    if language not in LABELS:
        shipped = ", ".join(sorted(set(LABELS) | set(catalogue_languages())))
        return (f"{locale!r}: reportgen has no translations for {language!r} (shipped: {shipped}); "
                "use a locale of one of those languages, such as en_US, de_DE or fr_FR")
    return ""


def check_templates(loaded: LoadedConfig) -> list[Issue]:
    """Every audience's template exists (a user template is a file name ending in .html) and compiles.

    Checked in the environment the scorecard will be rendered with (same folders, locale and currency),
    so a build compiles each template once: here, not again when it renders."""
    import jinja2

    from reportgen.render import BUILTIN_TEMPLATES, Formats, shared_environment, template_dirs, template_name
    from reportgen.render.sandbox import template_error_line

    issues = []
    sc = loaded.config.scorecard
    try:
        folders = template_dirs(loaded)
        env = shared_environment(folders, Formats(sc.locale, sc.currency))
    except ReportgenError:
        return []  # a template folder outside the allowed roots: check_paths reports it
    for name, audience in loaded.config.audiences.items():
        file = template_name(audience.template)
        key = ("audiences", name, "template")
        try:
            env.get_template(file)
        except Exception as exc:  # noqa: BLE001 - every template failure is reported as one line
            text = str(exc) if isinstance(exc, ReportgenError) else template_error_line(exc, file, env)
            head = f"template {file!r} not found"
            if type(exc) is jinja2.TemplateNotFound and exc.name == file and text.startswith(head):
                user_files = [p.name for d in folders if d.is_dir() for p in d.glob("*.html")]
                near = suggestion(audience.template, [*BUILTIN_TEMPLATES, *user_files])
                rest = text.removeprefix(head).strip()
                issues.append(issue_at(loaded, key, f"audiences.{name}.template: {head}",
                                       " ".join(h for h in (near, rest) if h)))
            else:
                issues.append(issue_at(loaded, key, f"audiences.{name}.template: {text}"))
    return issues


def check_breakdowns(loaded: LoadedConfig) -> list[Issue]:
    """A breakdown dimension no dataset has would be dropped silently by the build."""
    config = loaded.config
    if any(name not in CANONICAL_DATASETS for name in config.datasets) or names_set_aside(loaded, "datasets"):
        return []  # a custom dataset may carry any column; one set aside for a shape error: its columns are unknown
    known = dimension_columns(loaded)
    issues = []
    missing = [dim for dim in config.scorecard.breakdowns if dim not in known]
    if missing and "breakdowns" not in config.scorecard.model_fields_set:  # the defaults: name the setting
        return [issue_at(loaded, ("scorecard", "breakdowns"),
                         f"the default breakdowns {', '.join(missing)} are not columns of any dataset "
                         f"(columns: {', '.join(sorted(known))})",
                         "set scorecard.breakdowns: [] or list the dimensions your data has")]
    for i, dim in enumerate(config.scorecard.breakdowns):
        if dim not in known:
            issues.append(issue_at(loaded, ("scorecard", "breakdowns", i),
                                   f"breakdown {dim!r} is not a column of any dataset",
                                   suggestion(dim, known) or f"(columns: {', '.join(sorted(known))})"))
    return issues


def dimension_columns(loaded: LoadedConfig) -> set[str]:
    """The columns a scorecard can be broken down or burst by: canonical text columns and mapped ones."""
    known: set[str] = set()
    for name, ds in loaded.config.datasets.items():
        known |= {c.name for c in CANONICAL_DATASETS.get(name, ()) if c.type in ("text", "category", "id")}
        for target in ds.columns.values():
            known |= {target} if isinstance(target, str) else set(target)
        known |= set(ds.constants)
        for lookup in ds.lookups:
            known |= set(lookup.columns.values())
    return known


def check_files(loaded: LoadedConfig) -> list[Issue]:
    """The logo must exist and the font family must be installed (WeasyPrint would silently substitute)."""
    from reportgen.assets import FONT_FAMILY

    sc = loaded.config.scorecard
    issues = []
    if sc.logo:
        try:
            logo = loaded.resolve(sc.logo, key=("scorecard", "logo"))
        except ConfigError:
            logo = None  # check_paths reports it
        problem = regular_file_problem(logo, MAX_LOGO_BYTES) if logo is not None else None
        if problem == "not found":
            issues.append(issue_at(loaded, ("scorecard", "logo"), f"scorecard.logo: {logo} does not exist"))
        elif problem:
            issues.append(issue_at(loaded, ("scorecard", "logo"),
                                   f"scorecard.logo: {logo}: {explain(problem, 'logo')}"))
    if sc.font_family and sc.font_family != FONT_FAMILY and sc.font_family not in installed_fonts():
        near = suggestion(sc.font_family, installed_fonts())
        issues.append(issue_at(loaded, ("scorecard", "font_family"), f"font family {sc.font_family!r} is not installed",
                               f"{near + '; ' if near else ''}install it or remove font_family to use the shipped "
                               f"{FONT_FAMILY}"))
    return issues


@lru_cache(maxsize=1)
def installed_fonts() -> frozenset[str]:
    """Font families fontconfig knows (empty when fc-list is missing: then nothing is reported)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return frozenset()
    out = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, timeout=30, check=False).stdout
    return frozenset(f.strip() for line in out.splitlines() for f in line.split(","))


def check_schedules(loaded: LoadedConfig, *, now: datetime | None = None) -> list[Issue]:
    """A cron that never fires (``0 0 30 2 *``: 30 February) is valid syntax and a silent no-op."""
    from croniter import croniter

    start = now or datetime.now(UTC)
    issues = []
    for i, spec in enumerate(loaded.config.deliveries):
        try:
            croniter(spec.schedule, start, max_years_between_matches=10).get_next(datetime)
        except Exception as exc:  # noqa: BLE001 - croniter raises several types for "no match"
            issues.append(issue_at(loaded, ("deliveries", i, "schedule"), f"schedule {spec.schedule!r} of delivery "
                                   f"{spec.name!r} never fires ({type(exc).__name__})", "check day and month"))
    return issues


def check_deliveries(loaded: LoadedConfig) -> list[Issue]:
    """Every delivery can be sent: its audience exists, its name is unique, it bursts by a known column,
    its fixed period is a label of the grain, its recipients file exists and its schedule fires.
    `send` runs this before the first message leaves."""
    config = loaded.config
    # no audiences: the default executive scorecard; one set aside for a shape error is not "undeclared"
    audiences = (set(config.audiences) or {"executive"}) | names_set_aside(loaded, "audiences")
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    dimensions = dimension_columns(loaded)
    custom_data = any(name not in CANONICAL_DATASETS for name in config.datasets) or names_set_aside(loaded, "datasets")
    for i, spec in enumerate(config.deliveries):
        if spec.name in seen:
            issues.append(issue_at(loaded, ("deliveries", i, "name"), f"delivery name {spec.name!r} is used twice "
                                   f"(first as deliveries[{seen[spec.name]}])",
                                   "the ledger records sends by name; rename one"))
        seen.setdefault(spec.name, i)
        if spec.audience not in audiences:
            issues.append(issue_at(loaded, ("deliveries", i, "audience"), f"delivery {spec.name!r} sends audience "
                                   f"{spec.audience!r}, which is not declared under 'audiences'",
                                   suggestion(spec.audience, audiences)
                                   or f"(declared: {', '.join(sorted(audiences))})"))
        if spec.burst_by and not custom_data and spec.burst_by not in dimensions:
            issues.append(issue_at(loaded, ("deliveries", i, "burst_by"), f"delivery {spec.name!r} bursts by "
                                   f"{spec.burst_by!r}, which is not a column of any dataset",
                                   suggestion(spec.burst_by, dimensions)
                                   or f"(columns: {', '.join(sorted(dimensions))})"))
        if spec.period != "last_complete":
            issues += _check_period_label(loaded, i)
        if spec.recipients_csv is not None:
            key = ("deliveries", i, "recipients_csv")
            try:
                csv_path: Path | None = loaded.resolve(str(spec.recipients_csv), key=key)
            except ConfigError:
                csv_path = None  # check_paths reports it
            if csv_path is not None and not csv_path.is_file():
                issues.append(issue_at(loaded, key, f"recipients file {csv_path} of delivery {spec.name!r} "
                                       "does not exist"))
    return issues + check_schedules(loaded)


def _check_period_label(loaded: LoadedConfig, i: int) -> list[Issue]:
    """A delivery's fixed period must be a label of the scorecard's grain (found at send time otherwise)."""
    from reportgen.kpis.periods import parse_period

    sc, spec = loaded.config.scorecard, loaded.config.deliveries[i]
    try:
        parse_period(spec.period, sc.grain, sc.fiscal_year_start)
    except ValueError as exc:
        return [issue_at(loaded, ("deliveries", i, "period"), f"period {spec.period!r} of delivery {spec.name!r}: "
                         f"{exc}", f"use 'last_complete' or a {sc.grain} label")]
    return []


def check_paths(loaded: LoadedConfig) -> list[Issue]:
    """Every path the config names stays inside its folder or ``scorecard.allowed_roots``."""
    issues = []
    for key, value in loaded.path_values():
        try:
            loaded.resolve(value, key=key)
        except ConfigError as exc:
            issues.append(issue_at(loaded, key, str(exc).removeprefix(f"{loaded.where(key)}: ")))
    return issues


def check_charts(loaded: LoadedConfig) -> list[Issue]:
    """Every chart in ``scorecard.charts`` names a function that exists in a file where charts may
    live (found and loaded, not drawn: drawing needs the metrics)."""
    from reportgen.charts.custom import resolve_chart

    issues = []
    for name in loaded.config.scorecard.charts:
        try:
            resolve_chart(loaded, name)
        except ReportgenError as exc:
            # the message already starts with the key's file:line
            issues.append(Issue("error", "", ("scorecard", "charts", name), str(exc)))
    return issues


CHECKS: tuple[Check, ...] = (check_paths, check_locale, check_templates, check_breakdowns, check_files,
                             check_deliveries, check_charts)


def run_checks(loaded: LoadedConfig) -> list[Issue]:
    """Every issue of every check, in order; a check that crashes is one issue, not a traceback."""
    found = [issue for check in CHECKS for issue in validate_safely(check)(loaded)]
    return [i if original_key(loaded, i.key) == i.key else _with_key(i, original_key(loaded, i.key)) for i in found]


def _with_key(issue: Issue, key: tuple[str | int, ...]) -> Issue:
    from dataclasses import replace

    return replace(issue, key=key)


_CHECKED: weakref.WeakSet[LoadedConfig] = weakref.WeakSet()
"""Configs whose checks passed in this process: each is checked once however many builds use it."""


def raise_on_issues(loaded: LoadedConfig) -> None:
    """Run every check once per loaded config; raise one ConfigError listing every error, or return."""
    if loaded in _CHECKED:
        return
    raise_on_errors(run_checks(loaded))
    _CHECKED.add(loaded)


def validate_config(path: str | Path) -> tuple[LoadedConfig | None, list[Issue]]:
    """Every issue of a config file in one run: YAML, shape, meaning, files, templates, deliveries, schedules.

    Shape errors do not stop the run: the parts that are wrong are set aside and the rest is checked
    (``loaded`` is then a config without them, good for checking only, and ``None`` when too little of
    the file can be read)."""
    loaded, issues = collect_issues(path)
    if loaded is not None:
        issues += run_checks(loaded)
        if not any(i.is_error for i in issues):
            _CHECKED.add(loaded)
    return loaded, in_file_order(issues)


def load_checked(path: str | Path) -> LoadedConfig:
    """The config at ``path`` with every check passed: what every command and the Python API load."""
    loaded, issues = validate_config(path)
    raise_on_errors(issues)
    if loaded is None:  # pragma: no cover - collect_issues returns None only with an error
        raise ConfigError(f"{path}: the config could not be read")
    return loaded
