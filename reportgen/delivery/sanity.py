"""The last look before any mail leaves: is the data fresh, does the condition hold, does the PDF read like
a scorecard?

A template that renders an empty body still makes a valid one-page PDF, and the renderer, the page
budget and the SMTP server all accept it; three executives then get a blank page. So the PDF that is
about to be attached is read back (pypdf, the text a reader would select) and the delivery is held,
in one line, when it has fewer pages than the delivery's ``min_pages``, no text at all, or none of
the KPI values the scorecard reports for the period (as the template formats them, full or compact).
"""
from __future__ import annotations

import io
import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reportgen.errors import DeliveryError

if TYPE_CHECKING:
    from reportgen.config.models import LoadedConfig
    from reportgen.engine import Metrics

_SPACE = re.compile(r"\s+")


class DeliveryHeld(DeliveryError):
    """The scorecard is not fit to mail; nothing of this group is sent."""


class ConditionNotMet(DeliveryError):
    """The delivery's ``when:`` does not hold for this period: nothing to send, and nothing wrong."""


def check_condition(when: str, metrics: Metrics, period: str) -> None:
    """Raise :class:`ConditionNotMet` with the values read unless ``when`` holds on ``metrics`` for ``period``."""
    from reportgen.config.conditions import evaluate_condition, parse_condition

    verdict = evaluate_condition(parse_condition(when), lambda kpi: metrics.row(kpi, period))
    if not verdict.met:
        raise ConditionNotMet(f"condition not met: {when} ({verdict.detail})")


def stale_datasets(loaded: LoadedConfig, now: datetime) -> list[str]:
    """One reason per dataset whose file is older than its ``max_age`` at the run's time ``now``.

    Coverage says which days the rows reach; this says whether the export was refreshed at all: a
    nightly job that stopped writing leaves a file whose last month still looks complete."""
    reasons = []
    for name, dataset in loaded.config.datasets.items():
        if dataset.max_age is None or not dataset.path:
            continue
        path = loaded.resolve(dataset.path, key=("datasets", name, "path"))
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        except OSError as exc:
            reasons.append(f"dataset {name!r} ({dataset.path}) cannot be read: {exc.strerror or exc}")
            continue
        age = (now - modified).total_seconds() / 86400
        if age > dataset.max_age:
            reasons.append(f"dataset {name!r} ({dataset.path}) is {age:.1f} days old, over its max_age of "
                           f"{dataset.max_age:g} days (last written {modified:%Y-%m-%d %H:%M} UTC); refresh the export")
    return reasons


def check_scorecard(pdf: bytes, metrics: Metrics, *, kpis: list[str], period: str, locale: str, currency: str,
                    min_pages: int) -> None:
    """Raise :class:`DeliveryHeld` with the reason if the PDF is not fit to mail."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf), strict=False)
    pages = len(reader.pages)
    if pages < min_pages:
        raise DeliveryHeld(f"the PDF has {pages} page(s), fewer than the delivery's min_pages {min_pages}")
    shown = kpi_values(metrics, kpis, period, locale=locale, currency=currency)
    wanted = [_squeeze(form) for forms in shown.values() for form in forms]
    any_text = False
    for page in reader.pages:  # page by page: a value on page 1 spares extracting the other four
        text = _squeeze(page.extract_text() or "")
        any_text = any_text or bool(text)
        if any(form in text for form in wanted):
            return
    if not any_text:
        raise DeliveryHeld(f"the PDF has no text on its {pages} page(s); the template rendered an empty scorecard")
    if not shown:
        raise DeliveryHeld(f"no KPI has a value for {period}; nothing to report")
    kpi, forms = next(iter(shown.items()))
    raise DeliveryHeld(f"the PDF shows none of the {len(shown)} KPI value(s) of {period} "
                       f"(e.g. {kpi} {forms[0]}); check the template")


def kpi_values(metrics: Metrics, kpis: list[str], period: str, *, locale: str, currency: str) -> dict[str, list[str]]:
    """KPI id -> the ways the template may print its value for ``period`` (full and compact)."""
    from reportgen.render.fmt import format_value

    shown: dict[str, list[str]] = {}
    for kpi in kpis or list(metrics.kpis):
        row = metrics.row(kpi, period)
        resolved = metrics.kpis.get(kpi)
        if row is None or resolved is None:
            continue
        value = row.get("value")
        if value is None or not math.isfinite(float(value)):
            continue
        shown[kpi] = [format_value(float(value), resolved.unit, locale=locale, currency=currency, compact=compact)
                      for compact in (False, True)]
    return shown


def _squeeze(text: str) -> str:
    """Text without any spacing and with one kind of minus: line breaks and thin spaces differ between
    the PDF's extracted text and a formatted value, the digits do not."""
    return _SPACE.sub("", text.replace("\u2212", "-").replace("\u00a0", "").replace("\u202f", ""))
