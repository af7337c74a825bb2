"""The scorecard's locale and currency bound to :mod:`reportgen.render.fmt`: what the template filters call."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reportgen.kpis.catalogue import Unit
from reportgen.render import fmt
from reportgen.render.kpiformat import KpiFormat, kpi_format


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _missing(v: Any) -> bool:
    return not math.isfinite(_num(v))


def _number_of(kpi: Any) -> KpiFormat | None:
    """The one number format a KPI view carries (None for a bare unit, or a view without one)."""
    number = getattr(kpi, "number", None)
    return number if isinstance(number, KpiFormat) else None


@dataclass(frozen=True)
class Formats:
    """The scorecard's locale and currency bound to the fmt functions: what the template filters call."""

    locale: str = "en_US"
    currency: str = "USD"

    # The templates pass a KPI (its view, which carries the KPI's one number format, ``number``) where
    # they format one of its values: ``k.year_ago|value(k)``, so a KPI's actual, references, variances
    # and to-date values share one scale on every page (kpiformat.py). A bare unit (``'percent'``)
    # formats a value that belongs to no single KPI: a rep's quota, a breakdown's row.

    def value(self, v: Any, unit: Unit | Any, compact: bool = False) -> str:
        number = _number_of(unit)
        if number is not None:
            return number.value(_num(v))
        return fmt.format_value(_num(v), unit, locale=self.locale, currency=self.currency, compact=compact)

    def compact(self, v: Any, unit: Unit | Any) -> str:
        return self.value(v, unit, compact=True)

    def delta(self, v: Any, unit: Unit | Any) -> str:
        number = _number_of(unit)
        if number is not None:
            return number.delta(_num(v))
        return fmt.format_delta(_num(v), unit, locale=self.locale, currency=self.currency)

    def change(self, v: Any) -> str:
        return fmt.format_change(_num(v), locale=self.locale)

    def period(self, label: str) -> str:
        return fmt.format_period(label, locale=self.locale)

    def period_short(self, label: str) -> str:
        return fmt.format_period_short(label, locale=self.locale)

    def date(self, d: Any) -> str:
        return fmt.format_date(d, locale=self.locale) if d is not None else self.t("n/a")

    def number(self, v: Any) -> str:
        return fmt.format_value(_num(v), "count", locale=self.locale)

    def day_month(self, d: Any) -> str:
        return fmt.format_day_month(d, locale=self.locale) if d is not None else self.t("n/a")

    def coverage_note(self, note: str) -> str:
        return fmt.format_coverage_note(note, locale=self.locale)

    def kpi_format(self, values: Iterable[float | None], unit: Unit) -> KpiFormat:
        """The one number format of a KPI showing ``values`` (see :mod:`reportgen.render.kpiformat`)."""
        return kpi_format(values, unit, locale=self.locale, currency=self.currency)

    def t(self, key: str) -> str:
        return fmt.translate(key, self.locale)

