"""Checks that `validate` runs (and `build` runs first) so validate never passes what build fails.

The config models check shape and names; these check what only the environment can answer: is the
locale known to Babel, does the template exist, is the breakdown dimension a column, do the logo
and the font exist, does a cron expression ever fire, does every path stay inside the allowed
folders. Each check is a small function returning one-line issues (``file:line:col: what; the fix``),
so the CLI can print them all at once.
"""
from __future__ import annotations

import difflib
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from reportgen.config.models import LoadedConfig
from reportgen.errors import ConfigError, ReportgenError
from reportgen.kpis.catalogue import CANONICAL_DATASETS

Check = Callable[[LoadedConfig], list[str]]


def check_locale(loaded: LoadedConfig) -> list[str]:
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
            issues.append(f"{loaded.where(key)}: {name} {problem}")
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


def check_templates(loaded: LoadedConfig) -> list[str]:
    """Every audience's template exists (a user template is a file name ending in .html).

    Checked in the environment the scorecard will be rendered with (same folders, locale and currency),
    so a build compiles each template once: here, not again when it renders."""
    from reportgen.render import Formats, shared_environment, template_dirs, template_name
    from reportgen.render.sandbox import template_error_line

    issues = []
    sc = loaded.config.scorecard
    try:
        env = shared_environment(template_dirs(loaded), Formats(sc.locale, sc.currency))
    except ReportgenError:
        return []  # a template folder outside the allowed roots: check_paths reports it
    for name, audience in loaded.config.audiences.items():
        file = template_name(audience.template)
        try:
            env.get_template(file)
        except Exception as exc:  # noqa: BLE001 - every template failure is reported as one line
            text = str(exc) if isinstance(exc, ReportgenError) else template_error_line(exc, file, env)
            issues.append(f"{loaded.where(('audiences', name, 'template'))}: audiences.{name}.template: {text}")
    return issues


def check_breakdowns(loaded: LoadedConfig) -> list[str]:
    """A breakdown dimension no dataset has would be dropped silently by the build."""
    config = loaded.config
    if any(name not in CANONICAL_DATASETS for name in config.datasets):
        return []  # a custom dataset may carry any column
    known: set[str] = set()
    for name, ds in config.datasets.items():
        known |= {c.name for c in CANONICAL_DATASETS[name] if c.type in ("text", "category", "id")}
        for target in ds.columns.values():
            known |= {target} if isinstance(target, str) else set(target)
        known |= set(ds.constants)
        for lookup in ds.lookups:
            known |= set(lookup.columns.values())
    issues = []
    for i, dim in enumerate(config.scorecard.breakdowns):
        if dim not in known:
            close = difflib.get_close_matches(dim, sorted(known), n=1)
            hint = f" - did you mean {close[0]!r}?" if close else f" (columns: {', '.join(sorted(known))})"
            issues.append(f"{loaded.where(('scorecard', 'breakdowns', i))}: breakdown {dim!r} is not a column of "
                          f"any dataset{hint}")
    return issues


def check_files(loaded: LoadedConfig) -> list[str]:
    """The logo must exist and the font family must be installed (WeasyPrint would silently substitute)."""
    from reportgen.assets import FONT_FAMILY

    sc = loaded.config.scorecard
    issues = []
    if sc.logo:
        try:
            logo = loaded.resolve(sc.logo, key=("scorecard", "logo"))
        except ConfigError:
            logo = None  # check_paths reports it
        if logo is not None and not logo.is_file():
            issues.append(f"{loaded.where(('scorecard', 'logo'))}: scorecard.logo: {logo} does not exist")
    if sc.font_family and sc.font_family != FONT_FAMILY and sc.font_family not in installed_fonts():
        issues.append(f"{loaded.where(('scorecard', 'font_family'))}: font family {sc.font_family!r} is not "
                      f"installed{_close(sc.font_family, installed_fonts())}; install it or remove font_family "
                      f"to use the shipped {FONT_FAMILY}")
    return issues


@lru_cache(maxsize=1)
def installed_fonts() -> frozenset[str]:
    """Font families fontconfig knows (empty when fc-list is missing: then nothing is reported)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return frozenset()
    out = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, timeout=30, check=False).stdout
    return frozenset(f.strip() for line in out.splitlines() for f in line.split(","))


def check_schedules(loaded: LoadedConfig, *, now: datetime | None = None) -> list[str]:
    """A cron that never fires (``0 0 30 2 *``: 30 February) is valid syntax and a silent no-op."""
    from croniter import croniter

    start = now or datetime.now(UTC)
    issues = []
    for i, spec in enumerate(loaded.config.deliveries):
        try:
            croniter(spec.schedule, start, max_years_between_matches=10).get_next(datetime)
        except Exception as exc:  # noqa: BLE001 - croniter raises several types for "no match"
            issues.append(f"{loaded.where(('deliveries', i, 'schedule'))}: schedule {spec.schedule!r} of delivery "
                          f"{spec.name!r} never fires ({type(exc).__name__}); check day and month")
    return issues


def check_paths(loaded: LoadedConfig) -> list[str]:
    """Every path the config names stays inside its folder or ``scorecard.allowed_roots``."""
    issues = []
    for key, value in loaded.path_values():
        try:
            loaded.resolve(value, key=key)
        except ConfigError as exc:
            issues.append(str(exc))
    return issues


def check_charts(loaded: LoadedConfig) -> list[str]:
    """Every chart in ``scorecard.charts`` names a function that exists in a file where charts may
    live (found and loaded, not drawn: drawing needs the metrics)."""
    from reportgen.charts.custom import resolve_chart

    issues = []
    for name in loaded.config.scorecard.charts:
        try:
            resolve_chart(loaded, name)
        except ReportgenError as exc:
            issues.append(str(exc))
    return issues


CHECKS: tuple[Check, ...] = (check_paths, check_locale, check_templates, check_breakdowns, check_files,
                             check_schedules, check_charts)


def run_checks(loaded: LoadedConfig) -> list[str]:
    """Every issue of every check, in order."""
    return [issue for check in CHECKS for issue in check(loaded)]


def raise_on_issues(loaded: LoadedConfig) -> None:
    """What `validate` and `build` call: all issues as one ConfigError (one line each), or nothing."""
    issues = run_checks(loaded)
    if issues:
        raise ConfigError("\n".join(issues))


def _close(name: str, candidates: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f" - did you mean {close[0]!r}?" if close else ""
